package sigma

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/testutil"
)

func TestExpand(t *testing.T) {
	rule := itemRule("User|expand", `'%Admins%'`)
	opt := Options{Placeholders: map[string][]string{"Admins": {`CORP\adm_*`, "root"}}}
	rs, errs := LoadBytes("t.yml", []byte(rule), opt)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	for _, c := range []struct {
		user string
		want bool
	}{{`corp\ADM_bob`, true}, {"root", true}, {"bob", false}} {
		if got := len(fired(rs, sysmonEvent("User", c.user))) == 1; got != c.want {
			t.Errorf("expand User=%s: fired %v, want %v", c.user, got, c.want)
		}
	}
	// The specification's example: \%plain%name% is "%plain" then the
	// placeholder name.
	rs, errs = LoadBytes("t.yml", []byte(itemRule("TargetFilename|expand", `'\%plain%name%'`)),
		Options{Placeholders: map[string][]string{"name": {"X", "Y*"}}})
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	for _, c := range []struct {
		v    string
		want bool
	}{{"%plainX", true}, {"%plainYzz", true}, {"%plainZ", false}, {"%plain%name%", false}} {
		if got := len(fired(rs, sysmonEvent("TargetFilename", c.v))) == 1; got != c.want {
			t.Errorf("expand %q: fired %v, want %v", c.v, got, c.want)
		}
	}
	// Without |expand, %name% is literal.
	runMatchCases(t, []matchCase{
		{"User", `'%Admins%'`, "User", "%Admins%", true},
	})
	// Unresolved: the rule loads, is Degraded, and never fires.
	rs, errs = LoadBytes("t.yml", []byte(rule), Options{})
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	r := rs.Rules()[0]
	if !strings.Contains(r.Degraded, "%Admins%") {
		t.Errorf("Degraded = %q", r.Degraded)
	}
	if len(fired(rs, sysmonEvent("User", "%Admins%"))) != 0 {
		t.Error("a degraded rule fired")
	}
	if st := rs.Stats(); st.Degraded != 1 {
		t.Errorf("stats: %+v", st)
	}
}

// TestPlaceholderRules loads SigmaHQ's rules-placeholder: without values all
// are degraded with the placeholder named; with values for every standard
// placeholder none is.
func TestPlaceholderRules(t *testing.T) {
	dir := testutil.Dataset(t, "sigma/rules-placeholder")
	rs, errs := LoadPaths([]string{dir}, Options{})
	for _, e := range errs {
		t.Errorf("load: %v", e)
	}
	names := map[string]bool{}
	for _, r := range rs.Rules() {
		if r.Degraded == "" {
			t.Errorf("%s: not degraded without placeholder values", filepath.Base(r.Path))
			continue
		}
		i := strings.Index(r.Degraded, "%")
		j := strings.Index(r.Degraded[i+1:], "%")
		names[r.Degraded[i+1:i+1+j]] = true
	}
	if len(rs.Rules()) < 20 {
		t.Fatalf("%d placeholder rules, want 23", len(rs.Rules()))
	}
	ph := map[string][]string{}
	for n := range names {
		ph[n] = []string{"value-of-" + n}
	}
	// A rule may use more than one placeholder: repeat until none is left.
	for round := 0; round < 5; round++ {
		rs, _ = LoadPaths([]string{dir}, Options{Placeholders: ph})
		more := false
		for _, r := range rs.Rules() {
			if i := strings.Index(r.Degraded, "%"); i >= 0 {
				j := strings.Index(r.Degraded[i+1:], "%")
				ph[r.Degraded[i+1:i+1+j]] = []string{"v"}
				more = true
			}
		}
		if !more {
			break
		}
	}
	for _, r := range rs.Rules() {
		if r.Degraded != "" {
			t.Errorf("%s: still degraded with values for %d placeholders: %s", filepath.Base(r.Path), len(ph), r.Degraded)
		}
	}
	t.Logf("%d placeholder rules, placeholders %v", len(rs.Rules()), keys(ph))
}

func keys(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
