package sigma

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/testutil"
)

func TestConditionParse(t *testing.T) {
	names := []string{"selection", "filter_a", "filter_b", "keywords", "_private", "sel1", "sel2"}
	f := func(cond, want string) {
		t.Helper()
		n, err := parseCondition(cond, names)
		if err != nil {
			t.Errorf("%q: %v", cond, err)
			return
		}
		if got := n.String(names); got != want {
			t.Errorf("%q = %s, want %s", cond, got, want)
		}
	}
	f("selection", "selection")
	f("selection and not filter_a", "(selection and not filter_a)")
	// Precedence: or < and < not < x of < ( ).
	f("sel1 or sel2 and keywords", "(sel1 or (sel2 and keywords))")
	f("not sel1 and sel2", "(not sel1 and sel2)")
	f("not (sel1 and sel2)", "not (sel1 and sel2)")
	f("(sel1 or sel2) and keywords", "((sel1 or sel2) and keywords)")
	f("sel1 and sel2 and keywords", "(sel1 and sel2 and keywords)")
	f("1 of filter_*", "(filter_a or filter_b)")
	f("all of filter_*", "(filter_a and filter_b)")
	f("1 of sel* and not 1 of filter*", "((selection or sel1 or sel2) and not (filter_a or filter_b))")
	f("not 1 of filter_*", "not (filter_a or filter_b)")
	// them leaves out identifiers starting with "_".
	f("1 of them", "(selection or filter_a or filter_b or keywords or sel1 or sel2)")
	f("all of them", "(selection and filter_a and filter_b and keywords and sel1 and sel2)")
	f("1 of _priv*", "_private")
	f("2 of sel*", "2 of (selection, sel1, sel2)")
	f("sel1 OR NOT sel2", "(sel1 or not sel2)") // keywords are case-insensitive
}

func TestConditionErrors(t *testing.T) {
	names := []string{"selection", "filter"}
	f := func(cond string, col int, msg string) {
		t.Helper()
		_, err := parseCondition(cond, names)
		var ce *condError
		if !errors.As(err, &ce) {
			t.Errorf("%q: error %v, want a condition error", cond, err)
			return
		}
		if ce.col != col || !strings.Contains(ce.msg, msg) {
			t.Errorf("%q: column %d %q, want column %d %q", cond, ce.col, ce.msg, col, msg)
		}
	}
	f("", 1, "empty")
	f("selection and", 14, "end of condition")
	f("selection andd filter", 11, `unexpected "andd"`)
	f("selction", 1, `unknown search identifier "selction"`)
	f("selection and (filter", 22, `expected ")"`)
	f("selection)", 10, `unexpected ")"`)
	f("1 of nothing*", 6, "matches no search identifier")
	f("3 of them", 1, "only 2 identifiers match")
	f("selection | count() by x > 5", 11, "aggregations")
	f("0 of them", 1, "must be 1, all or a positive number")
	f("1 of", 5, "after \"of\"")
	f("not", 4, "end of condition")
	f("Selection or filter", 1, `unknown search identifier "Selection"`) // identifiers are case-sensitive
}

func TestConditionEval(t *testing.T) {
	rs := mustLoad(t, procRule(`
sel_a:
    CommandLine|contains: 'a'
sel_b:
    CommandLine|contains: 'b'
sel_c:
    CommandLine|contains: 'c'
condition: 2 of sel_*`))
	for _, c := range []struct {
		cmd  string
		want bool
	}{{"ab", true}, {"ac", true}, {"abc", true}, {"a", false}, {"x", false}} {
		if got := len(fired(rs, sysmonEvent("CommandLine", c.cmd))) == 1; got != c.want {
			t.Errorf("2 of sel_* on %q: %v, want %v", c.cmd, got, c.want)
		}
	}
	// A list of conditions is OR-ed.
	rs = mustLoad(t, procRule(`
sel_a:
    CommandLine|contains: 'a'
sel_b:
    CommandLine|contains: 'b'
condition:
    - sel_a and sel_b
    - not sel_a and not sel_b`))
	for _, c := range []struct {
		cmd  string
		want bool
	}{{"ab", true}, {"x", true}, {"a", false}, {"b", false}} {
		if got := len(fired(rs, sysmonEvent("CommandLine", c.cmd))) == 1; got != c.want {
			t.Errorf("condition list on %q: %v, want %v", c.cmd, got, c.want)
		}
	}
}

// conditionSeeds returns the conditions of real SigmaHQ rules (and their
// identifiers), for FuzzCondition's corpus.
func conditionSeeds(t testing.TB) [][2]string {
	root := testutil.Dataset(t, "sigma/rules/windows/process_creation")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	for _, e := range entries[:min(len(entries), 200)] {
		rs, _ := LoadPaths([]string{filepath.Join(root, e.Name())}, Options{})
		for _, r := range rs.Rules() {
			for _, c := range r.det.conds {
				out = append(out, [2]string{c, strings.Join(r.det.names, " ")})
			}
		}
	}
	return out
}

func FuzzCondition(f *testing.F) {
	for _, s := range conditionSeeds(f) {
		f.Add(s[0], s[1])
	}
	f.Add("((((a", "a")
	f.Add("not not not a or 1 of them", "a b _c")
	f.Add("all of a* | count() > 1", "a ab")
	f.Fuzz(func(t *testing.T, cond, idents string) {
		names := strings.Fields(idents)
		n, err := parseCondition(cond, names)
		if err != nil {
			var ce *condError
			if errors.As(err, &ce) && (ce.col < 1 || ce.col > len(cond)+1) {
				t.Fatalf("%q: column %d outside the condition", cond, ce.col)
			}
			return
		}
		// A parsed condition refers only to known identifiers and renders.
		var walk func(n *cnode)
		walk = func(n *cnode) {
			if n.op == cSel && (n.sel < 0 || n.sel >= len(names)) {
				t.Fatalf("%q: selection %d of %d", cond, n.sel, len(names))
			}
			for _, k := range n.kids {
				walk(k)
			}
		}
		walk(n)
		_ = n.String(names)
	})
}
