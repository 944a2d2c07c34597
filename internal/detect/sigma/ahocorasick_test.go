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

// TestSampledScan checks scanSampled, which looks at every stride-th q-gram
// only, against the full DFA scan: SigmaHQ's contains literals of at least
// n bytes (n = 8 to 12: strides of 6 to 10), the hex digits of its hashes
// (longer q-grams), over the field values of the regression events,
// each alone and all of an event's values joined (with a separator, as
// keywords are scanned), and every phase of the samples.
func TestSampledScan(t *testing.T) {
	root := testutil.Dataset(t, "sigma")
	rs, errs := LoadPaths([]string{filepath.Join(root, "rules/windows")}, Options{})
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	all := map[string]bool{}
	for _, r := range rs.Rules() {
		for _, s := range r.det.sels {
			for _, alt := range s.alts {
				for _, it := range alt {
					for _, g := range it.groups {
						for _, c := range g {
							for _, l := range c.lits {
								all[trimLiteral(l.s, litContains)] = true
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
			var joined []byte
			ev.Fields(func(_, v string) {
				texts = append(texts, v)
				joined = append(append(joined, v...), '\n')
			})
			texts = append(texts, string(joined))
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		n     int
		chars string // every byte of a literal is one of these
	}{
		{8, "abcdefghijklmnopqrstuvwxyz.\\: "},
		{9, "abcdefghijklmnopqrstuvwxyz.\\: "},
		{10, "abcdefghijklmnopqrstuvwxyz.\\: "},
		{12, "abcdefghijklmnopqrstuvwxyz.\\: "},
		{12, "0123456789abcdef"},
		{12, "0123456789abcdef="},
	} {
		var list []string
		for l := range all {
			if len(l) >= tc.n && strings.Trim(l, tc.chars) == "" {
				list = append(list, l)
			}
		}
		slices.Sort(list)
		// A bucket's worth of literals (some tens: the sampler's bitmap
		// holds no more), those that occur in the texts first.
		payload := make([][]int32, len(list))
		for i := range list {
			payload[i] = []int32{int32(i)}
		}
		whole := buildScanner(litContains, list, payload, false)
		occurs := map[int32]bool{}
		for _, v := range texts {
			for _, id := range whole.scan(v, nil) {
				occurs[id] = true
			}
		}
		var some []string
		for i, l := range list {
			if occurs[int32(i)] && len(some) < 40 {
				some = append(some, l)
			}
		}
		for i := 0; len(some) < 60 && i < len(list); i += 7 {
			if !occurs[int32(i)] {
				some = append(some, list[i])
			}
		}
		list = some
		payload = payload[:len(list)]
		sc := buildScanner(litContains, list, payload, false)
		if sc.samp == nil || sc.samp.stride != sc.minLen-sc.samp.q+1 {
			t.Fatalf("n=%d %q: %d literals, %d classes: no sampling", tc.n, tc.chars, len(list), sc.nclass)
		}
		full := *sc
		full.samp = nil
		found := 0
		for _, v := range texts {
			want := dedup(full.scan(v, nil))
			found += len(want)
			for i := 0; i < len(v) && i <= sc.samp.stride && (i == 0 || len(want) > 0); i++ {
				want := dedup(full.scan(v[i:], nil))
				if got := dedup(sc.scan(v[i:], nil)); !slices.Equal(got, want) {
					t.Errorf("n=%d, %q: sampled scan found %v, full scan %v", tc.n, v[i:], got, want)
				}
			}
		}
		t.Logf("n=%d %q: %d literals, q %d, stride %d: %d texts, %d literals found", tc.n, tc.chars, len(list), sc.samp.q, sc.samp.stride, len(texts), found)
		if found == 0 {
			t.Errorf("n=%d %q: no literal found anywhere: the test proves nothing", tc.n, tc.chars)
		}
	}
}
