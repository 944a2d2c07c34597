package sigma

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// TestScannersAgainstStrings checks the prefilter scanners against the
// strings package: SigmaHQ's literals for CommandLine and Image, every kind,
// over every field value of the regression events (and those values cut at
// every length around the interleaving thresholds).
func TestScannersAgainstStrings(t *testing.T) {
	root := testutil.Dataset(t, "sigma")
	rs, errs := LoadPaths([]string{filepath.Join(root, "rules/windows/process_creation")}, Options{})
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	lits := map[litKind]map[string]bool{litContains: {}, litPrefix: {}, litSuffix: {}}
	for _, r := range rs.Rules() {
		for _, s := range r.det.sels {
			for _, alt := range s.alts {
				for _, it := range alt {
					for _, g := range it.groups {
						for _, c := range g {
							for _, l := range c.lits {
								lits[l.kind][trimLiteral(l.s, l.kind)] = true
							}
						}
					}
				}
			}
		}
	}
	var texts []string
	err := filepath.WalkDir(filepath.Join(root, "regression_data"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		return readWinJSON(p, func(ev *event.Event) {
			ev.Fields(func(_, v string) { texts = append(texts, v) })
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	// Cuts around the thresholds of the interleaved loops.
	for _, v := range texts[:min(len(texts), 3000)] {
		for _, n := range []int{31, 32, 33, 95, 96, 97, 130} {
			if len(v) > n {
				texts = append(texts, v[:n], v[len(v)-n:])
			}
		}
	}
	for kind, set := range lits {
		var list []string
		for l := range set {
			list = append(list, l)
		}
		slices.Sort(list)
		payload := make([][]int32, len(list))
		for i := range list {
			payload[i] = []int32{int32(i)}
		}
		sc := buildScanner(kind, list, payload, false)
		exact := buildScanner(kind, list, payload, true)
		checked, found := 0, 0
		for _, v := range texts {
			low := lowerString(v)
			var want []int32
			for i, l := range list {
				ok := false
				switch kind {
				case litContains:
					ok = strings.Contains(low, l)
				case litPrefix:
					ok = strings.HasPrefix(low, l)
				case litSuffix:
					ok = strings.HasSuffix(low, l)
				}
				if ok {
					want = append(want, int32(i))
				}
			}
			got := dedup(sc.scan(v, nil))
			ascii := low == strings.ToLower(v) && isASCII(v)
			if ascii && !slices.Equal(got, want) {
				t.Errorf("kind %d, %q: scanner found %v, strings %v", kind, v, got, want)
			}
			for _, w := range want {
				if !slices.Contains(got, w) {
					t.Errorf("kind %d, %q: scanner misses %q", kind, v, list[w])
				}
			}
			if e := dedup(exact.scan(low, nil)); !slices.Equal(e, want) {
				t.Errorf("kind %d, %q: exact scanner found %v, strings %v", kind, low, e, want)
			}
			if exact.any(low) != (len(want) > 0) {
				t.Errorf("kind %d, %q: any = %v", kind, low, !(len(want) > 0))
			}
			checked++
			found += len(want)
		}
		t.Logf("kind %d: %d literals, %d texts, %d occurrences", kind, len(list), checked, found)
		if found == 0 {
			t.Errorf("kind %d: no literal found anywhere: the test proves nothing", kind)
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
