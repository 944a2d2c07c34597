package sigma

import (
	"context"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse/evtx"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// filterAgrees checks a regular expression's filter against the expression
// on one value: the filter may admit a value the expression rejects, never
// the reverse, and when it says its answer is exact (class runs, dotStar
// chains) it must be the expression's.
func filterAgrees(t *testing.T, c *check, v string) {
	t.Helper()
	want := c.re.MatchString(v)
	f := c.rf
	if f == nil {
		return
	}
	if f.run != nil {
		if got := f.run.match(v); got != want {
			t.Errorf("%q on %q: class run says %v, the expression %v", c.re, v, got, want)
		}
		return
	}
	ok, exact := f.admits(v, lowerString(v))
	if want && !ok {
		t.Errorf("%q on %q: the filter rejects a match", c.re, v)
	}
	if exact && ok != want {
		t.Errorf("%q on %q: the filter says %v for sure, the expression %v", c.re, v, ok, want)
	}
}

func regexCheck(t *testing.T, expr, flags string) *check {
	t.Helper()
	c, err := compileCheck(mval{kind: vRegex, text: expr, reFlags: flags})
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestRegexFilterCases(t *testing.T) {
	for _, tc := range []struct {
		expr, flags string
		chain       []string // the chain's first literals, "|" between alternatives
		run         bool     // a class run
		dotStar     bool
		values      []string
	}{
		{`(?i)echo.*clip.*&&.*(?:Clipboard|i` + "`?n`?v`?o`?k`?e`?)", "", []string{"echo", "clip", "&&", "clipboard|i"}, false, false,
			[]string{"ECHO x | clip && iex", "echo clip", "echo && clip", "clip echo && invoke", "echo\nclip && Clipboard", "ECHO CLIP && CLIPBOARD"}},
		{`\+.*\+.*\+`, "", []string{"+", "+", "+"}, false, true,
			[]string{"a+b+c+", "++", "+++", "+\n++", "+ + \n +", "+é+é+", "x"}},
		{`(?s)a.*b`, "", []string{"a", "b"}, false, true, []string{"a\nb", "ab", "ba", "a\u00e9b"}},
		{`a.*b`, "", []string{"a", "b"}, false, true, []string{"a\nb", "ab", "ba", "a\nab"}},
		{`(?i)set.*&&`, "", []string{"set", "&&"}, false, true,
			[]string{"SET x&&", "ſet x&&", "\u017fET &&", "se t&&", "set\n&&"}},
		{`(?i)kill`, "", []string{"kill"}, false, true, []string{"KILL", "\u212aill", "kil"}},
		{`^[A-Za-z0-9]{16}$`, "", nil, true, false,
			[]string{"ABCDEFGH12345678", "ABCDEFGH1234567", "ABCDEFGH123456789", "ABCDEFGH1234567\u00e9", "ABCDEFGH-2345678", ""}},
		{`^[a-f0-9]+$`, "", nil, true, false, []string{"", "abc", "abg", "ABC"}},
		{`^\d{2,4}$`, "", nil, true, false, []string{"1", "12", "1234", "12345", "١٢"}},
		{`cmd.{0,5}(?:/c|/r).+powershell.+(?:\$\{?input\}?|noexit).+\"`, "", []string{"cmd", "/", "powershell", "input|noexit", `"`}, false, false,
			[]string{`cmd /c powershell -noexit "x"`, `cmd /c powershell -NoExit "x"`, `cmd.exe /r powershell ${input} "`}},
		{"\\x{FFFD}x", "", []string{"x"}, false, false, []string{"\xffx", "\uFFFDx", "x"}},
		{`(?i)\s['"]?C:\\Windows\\(?:System32|SysWOW64|WinSxS)`, "", []string{`c:\windows\`, "sys|winsxs"}, false, false,
			[]string{` "C:\WINDOWS\system32`, ` C:\Windows\WinSxS`, ` C:\Windowſ\SyſWOW64`, `C:\Windows\System32`}},
		{`a{3}b`, "", []string{"a", "a", "a", "b"}, false, false, []string{"aaab", "aab", "abab"}},
	} {
		c := regexCheck(t, tc.expr, tc.flags)
		f := c.rf
		if f == nil {
			t.Fatalf("%q: no filter", tc.expr)
		}
		if (f.run != nil) != tc.run || f.dotStar != tc.dotStar {
			t.Errorf("%q: class run %v, dotStar %v; want %v, %v", tc.expr, f.run != nil, f.dotStar, tc.run, tc.dotStar)
		}
		var chain []string
		for _, l := range f.chain {
			chain = append(chain, strings.Join(append([]string{l.s}, l.alts...), "|"))
		}
		if len(chain) > len(tc.chain) {
			chain = chain[:len(tc.chain)]
		}
		if !slices.Equal(chain, tc.chain) {
			t.Errorf("%q: chain %q, want %q", tc.expr, chain, tc.chain)
		}
		for _, v := range tc.values {
			filterAgrees(t, c, v)
		}
	}
}

// TestRegexFilterSigmaHQ checks the filter of every regular expression of
// SigmaHQ's Windows rules against the expression on the values of its
// field in the regression events and the windows dataset's .evtx files,
// each also in upper and lower case and with s and k written as the
// characters that fold to them (ſ, the Kelvin sign).
func TestRegexFilterSigmaHQ(t *testing.T) {
	root := testutil.Dataset(t, "sigma")
	var dirs []string
	for _, d := range []string{"rules/windows", "rules-threat-hunting/windows", "rules-emerging-threats"} {
		dirs = append(dirs, filepath.Join(root, d))
	}
	rs, errs := LoadPaths(dirs, Options{})
	if len(errs) > 0 {
		t.Fatalf("%d load errors, first %v", len(errs), errs[0])
	}
	values := map[string]map[string]bool{}
	add := func(ev *event.Event) {
		ev.Fields(func(k, v string) {
			if values[k] == nil {
				values[k] = map[string]bool{}
			}
			values[k][v] = true
		})
	}
	err := filepath.WalkDir(filepath.Join(root, "regression_data"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		return readWinJSON(p, add)
	})
	if err != nil {
		t.Fatal(err)
	}
	rd := evtx.NewReader(evtx.Options{Workers: 1})
	err = filepath.WalkDir(testutil.Dataset(t, "windows"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(strings.ToLower(p), ".evtx") {
			return err
		}
		_, err = rd.ReadFile(context.Background(), p, func(ev *event.Event) error { add(ev); return nil }, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	fold := strings.NewReplacer("s", "\u017f", "S", "\u017f", "k", "\u212a", "K", "\u212a")
	exprs, checked, matched := 0, 0, 0
	for _, r := range rs.Rules() {
		if r.det == nil {
			continue
		}
		for _, s := range r.det.sels {
			for _, alt := range s.alts {
				for _, it := range alt {
					for _, g := range it.groups {
						for i := range g {
							c := &g[i]
							if c.kind != cRegex || c.rf == nil {
								continue
							}
							exprs++
							for v := range values[it.field] {
								if len(v) > 8192 {
									continue
								}
								filterAgrees(t, c, v)
								checked++
								if c.re.MatchString(v) {
									matched++
									for _, w := range []string{strings.ToUpper(v), strings.ToLower(v), fold.Replace(v), v + "\n" + v} {
										filterAgrees(t, c, w)
									}
								}
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d expressions with a filter, %d values checked, %d matches", exprs, checked, matched)
	if matched < 50 {
		t.Errorf("only %d matches: the test proves little", matched)
	}
}
