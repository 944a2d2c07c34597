package sigma

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// The rules specification's "General", "String Wildcard" and "Escape
// Character" sections, and the string modifiers of the modifiers appendix.

func TestPlainValues(t *testing.T) {
	runMatchCases(t, []matchCase{
		// All values are case-insensitive strings.
		{"Image", `'C:\Windows\System32\whoami.exe'`, "Image", `C:\Windows\System32\whoami.exe`, true},
		{"Image", `'C:\Windows\System32\whoami.exe'`, "Image", `c:\windows\system32\WHOAMI.EXE`, true},
		{"Image", `'C:\Windows\System32\whoami.exe'`, "Image", `C:\Windows\System32\whoami.exe2`, false},
		{"Image", `'C:\Windows\System32\whoami.exe'`, "Image", `D:\Windows\System32\whoami.exe`, false},
		// Unicode case folding, both ways.
		{"Description", `'ÉCRAN'`, "Description", "écran", true},
		{"Description", `'écran'`, "Description", "ÉCRAN", true},
		// Wildcards: ? is exactly one character, * any run.
		{"Image", `'prog?.exe'`, "Image", "progA.exe", true},
		{"Image", `'prog?.exe'`, "Image", "prog.exe", false},
		{"Image", `'prog?.exe'`, "Image", "progAB.exe", false},
		{"Image", `'prog?.exe'`, "Image", "progé.exe", true}, // one character, two bytes
		{"Image", `'antivirus_V*.exe'`, "Image", "antivirus_V1.exe", true},
		{"Image", `'antivirus_V*.exe'`, "Image", "antivirus_V21.2.1.exe", true},
		{"Image", `'antivirus_V*.exe'`, "Image", "antivirus_V.exe", true},
		{"Image", `'antivirus_V*.exe'`, "Image", "antivirus_X1.exe", false},
		{"Image", `'*\cmd.exe'`, "Image", `C:\Windows\cmd.exe`, true},
		{"Image", `'*\cmd.exe'`, "Image", `C:\Windows\xcmd.exe`, false},
		{"CommandLine", `'*a*b*a*'`, "CommandLine", "xxaxxbxxaxx", true},
		{"CommandLine", `'*a*b*a*'`, "CommandLine", "xxaxxbxx", false},
		{"CommandLine", `'a*a'`, "CommandLine", "a", false},
		{"CommandLine", `'a*a'`, "CommandLine", "aa", true},
		{"CommandLine", `'*'`, "CommandLine", "", true},
		{"CommandLine", `'*'`, "", "", false}, // a wildcard needs the field
		// Numbers are matched as text (and as numbers).
		{"EventID", `1`, "", "", true},
		{"EventID", `2`, "", "", false},
		{"ProcessId", `4688`, "ProcessId", "4688", true},
		{"ProcessId", `4688`, "ProcessId", "04688", true},
		{"ProcessId", `4688`, "ProcessId", "14688", false},
		{"ProcessId", `'4688'`, "ProcessId", "4688", true},
		{"Ratio", `1.5`, "Ratio", "1.50", true},
		// Booleans as text, case-insensitively (Sysmon writes "true").
		{"Initiated", `true`, "Initiated", "true", true},
		{"Initiated", `true`, "Initiated", "True", true},
		{"Initiated", `true`, "Initiated", "false", false},
		// Lists are OR.
		{"Image", `['a.exe', 'b.exe']`, "Image", "b.exe", true},
		{"Image", `['a.exe', 'b.exe']`, "Image", "c.exe", false},
	})
}

func TestEscapes(t *testing.T) {
	runMatchCases(t, []matchCase{
		// A plain backslash not followed by a wildcard: single or double.
		{"Image", `'C:\Windows\x.exe'`, "Image", `C:\Windows\x.exe`, true},
		{"Image", `'C:\\Windows\\x.exe'`, "Image", `C:\Windows\x.exe`, true},
		{"Image", `'C:\\Windows\\x.exe'`, "Image", `C:\\Windows\\x.exe`, false},
		// An escaped wildcard is a plain character.
		{"CommandLine", `'a\*b'`, "CommandLine", "a*b", true},
		{"CommandLine", `'a\*b'`, "CommandLine", "axb", false},
		{"CommandLine", `'a\?b'`, "CommandLine", "a?b", true},
		{"CommandLine", `'a\?b'`, "CommandLine", "axb", false},
		// \\* is a backslash followed by a wildcard.
		{"Image", `'C:\\*'`, "Image", `C:\Users\x.exe`, true},
		{"Image", `'C:\\*'`, "Image", `C:/Users`, false},
		// \\\* is a backslash followed by a plain *.
		{"Image", `'C:\\\*'`, "Image", `C:\*`, true},
		{"Image", `'C:\\\*'`, "Image", `C:\Users`, false},
		// Three or four backslashes are two.
		{"CommandLine", `'a\\\\b'`, "CommandLine", `a\\b`, true},
		{"CommandLine", `'a\\\b'`, "CommandLine", `a\\b`, true},
		{"CommandLine", `'a\\\\b'`, "CommandLine", `a\b`, false},
		// A backslash at the end stays.
		{"CommandLine", `'a\'`, "CommandLine", `a\`, true},
	})
}

func TestParseSigmaString(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := parseSigmaString(in, false).String(); got != want {
			t.Errorf("parse %q = %q, want %q", in, got, want)
		}
	}
	// String renders literal \ * ? escaped, so that the round trip shows
	// what was a wildcard.
	f(`C:\Windows\`, `C:\\Windows\\`)
	f(`a*b?c`, `a*b?c`)
	f(`a\*b\?c`, `a\*b\?c`)
	f(`\\*`, `\\*`)
	f(`\\\*`, `\\\*`)
	f(`%USERPROFILE%`, `%USERPROFILE%`)
}

func TestStringModifiers(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"CommandLine|contains", `'-enc'`, "CommandLine", "powershell -ENC abc", true},
		{"CommandLine|contains", `'-enc'`, "CommandLine", "powershell -e abc", false},
		{"CommandLine|contains", `'*-enc*'`, "CommandLine", "x -enc y", true},
		{"CommandLine|contains", `'a?c'`, "CommandLine", "xxabcxx", true},
		{"Image|startswith", `'C:\Windows\'`, "Image", `c:\windows\system32\a.exe`, true},
		{"Image|startswith", `'C:\Windows\'`, "Image", `D:\C:\Windows\`, false},
		{"Image|endswith", `'\cmd.exe'`, "Image", `C:\Windows\System32\CMD.EXE`, true},
		{"Image|endswith", `'\cmd.exe'`, "Image", `C:\Windows\System32\cmd.exe.bak`, false},
		{"Image|endswith", `['\a.exe', '\b.exe']`, "Image", `C:\b.exe`, true},
		// cased: case-sensitive.
		{"CommandLine|cased", `'Invoke'`, "CommandLine", "Invoke", true},
		{"CommandLine|cased", `'Invoke'`, "CommandLine", "invoke", false},
		{"CommandLine|contains|cased", `'Invoke'`, "CommandLine", "x Invoke y", true},
		{"CommandLine|contains|cased", `'Invoke'`, "CommandLine", "x INVOKE y", false},
		{"CommandLine|cased|contains", `'Invoke'`, "CommandLine", "x Invoke y", true},
	})
}

func TestManyValues(t *testing.T) {
	// Items with many values are tested as a set (strSet): the result must
	// be the same as one by one.
	exes := []string{`'\a1.exe'`, `'\a2.exe'`, `'\a3.exe'`, `'\a4.exe'`, `'\a5.exe'`, `'\a6.exe'`, `'\a7.exe'`}
	list := "[" + strings.Join(exes, ", ") + "]"
	mixed := `['x1', 'x2*', '*x3', '*x4*', 'x?5', '', 'X6', '*é7']`
	runMatchCases(t, []matchCase{
		{"Image|endswith", list, "Image", `C:\A7.EXE`, true},
		{"Image|endswith", list, "Image", `C:\a8.exe`, false},
		{"Image|endswith", list, "Image", `\a1.exe.txt`, false},
		{"Image|contains", list, "Image", `x\a3.exey`, true},
		{"Image|startswith", list, "Image", `\a4.exe\z`, true},
		{"Image|startswith", list, "Image", `z\a4.exe`, false},
		{"Image", mixed, "Image", "X1", true},
		{"Image", mixed, "Image", "x1y", false},
		{"Image", mixed, "Image", "x2yz", true},
		{"Image", mixed, "Image", "zzx3", true},
		{"Image", mixed, "Image", "zx4z", true},
		{"Image", mixed, "Image", "xz5", true},
		{"Image", mixed, "Image", "", true},
		{"Image", mixed, "Image", "zz", false},
		{"Image", mixed, "Image", "É7", true},
		{"Image", mixed, "Image", "aÉ7", true},
		{"Image", mixed, "Image", "aÉ8", false},
		{"Image", mixed, "", "", false},
	})
}

func TestWindash(t *testing.T) {
	// The modifiers appendix: -, /, en dash, em dash and horizontal bar
	// stand for each other where they start a flag.
	runMatchCases(t, []matchCase{
		{"CommandLine|windash|contains", `' -exec '`, "CommandLine", "x -exec y", true},
		{"CommandLine|windash|contains", `' -exec '`, "CommandLine", "x /exec y", true},
		{"CommandLine|windash|contains", `' -exec '`, "CommandLine", "x \u2013exec y", true},
		{"CommandLine|windash|contains", `' -exec '`, "CommandLine", "x \u2014exec y", true},
		{"CommandLine|windash|contains", `' -exec '`, "CommandLine", "x \u2015exec y", true},
		{"CommandLine|windash|contains", `' -exec '`, "CommandLine", "x +exec y", false},
		{"CommandLine|contains|windash", `' -exec '`, "CommandLine", "x /exec y", true},
		// Every combination of several flags.
		{"CommandLine|windash|contains", `'-a -b'`, "CommandLine", "/a \u2013b", true},
		{"CommandLine|windash|contains", `'-a -b'`, "CommandLine", "-a /b", true},
		// A dash inside a word is not a flag: left as it is.
		{"CommandLine|windash|contains", `'Set-Item'`, "CommandLine", "Set/Item", false},
		{"CommandLine|windash|contains", `'Set-Item'`, "CommandLine", "set-item", true},
		// A dash not followed by a word character neither.
		{"CommandLine|windash|contains", `'a - b'`, "CommandLine", "a / b", false},
		// all with windash: each value, in any dash form, must be there.
		{"CommandLine|windash|contains|all", `[' -a', ' -b']`, "CommandLine", "x /a \u2014b", true},
		{"CommandLine|windash|contains|all", `[' -a', ' -b']`, "CommandLine", "x /a", false},
	})
}

func TestGlobMatch(t *testing.T) {
	f := func(pat, v string, want bool) {
		t.Helper()
		p := compileString(parseSigmaString(pat, false), true)
		if got := p.match(v); got != want {
			t.Errorf("%q ~ %q = %v, want %v (kind %d)", pat, v, got, want, p.kind)
		}
	}
	f("", "", true)
	f("", "a", false)
	f("*", "", true)
	f("**", "abc", true)
	f("a*", "abc", true)
	f("*c", "abc", true)
	f("*b*", "abc", true)
	f("a*c", "abc", true)
	f("a*c", "ab", false)
	f("a*b*c", "aXbYc", true)
	f("a*b*c", "aXcYb", false)
	f("?", "é", true)
	f("??", "é", false)
	f("a?c*", "abcdef", true)
	f("*?", "", false)
	f("*x*x*x*", "xxx", true)
	f("*x*x*x*", "xx", false)
	f("ab*ab", "abab", true)
	f("ab*ab", "aba", false)
	f("*aab", "aaab", true)
}

// TestLargeContainsSet uses SigmaHQ's largest value list (the 4,400 driver
// hashes of driver_load_win_vuln_drivers, too many for a scanner table:
// matched by length windows instead) on events built from its own values.
func TestLargeContainsSet(t *testing.T) {
	path := filepath.Join(testutil.Dataset(t, "sigma/rules/windows/driver_load"), "driver_load_win_vuln_drivers.yml")
	rs, errs := LoadPaths([]string{path}, Options{})
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	r := rs.Rules()[0]
	var it *item
	for _, s := range r.det.sels {
		for _, alt := range s.alts {
			for _, x := range alt {
				if x.set != nil && len(x.set.byLen) > 0 {
					it = x
				}
			}
		}
	}
	if it == nil {
		t.Fatal("no item uses length windows")
	}
	m := rs.NewMatcher()
	n := 0
	for _, g := range it.groups {
		for _, c := range g {
			if c.kind != cString || c.pat.kind != patContains {
				continue
			}
			n++
			if n%97 != 0 {
				continue
			}
			// The hash inside a Sysmon Hashes value, in upper case.
			v := "SHA256=0000,IMPHASH=1111," + strings.ToUpper(c.pat.lit) + ",X=2"
			ev := winEv(sysmonChannel, "6", "Hashes", v)
			hit := false
			m.Match(ev, func(*Rule) { hit = true })
			if !hit {
				t.Errorf("Hashes=%s: no match", v)
			}
		}
	}
	if n < 1000 {
		t.Errorf("%d contains values, want thousands", n)
	}
	ev := winEv(sysmonChannel, "6", "Hashes", "SHA256=0123456789ABCDEF,IMPHASH=0000")
	m.Match(ev, func(*Rule) { t.Error("unknown hash matched") })
}

// TestLowerAppend checks the lower-casing of values against a rune by rune
// reference: the ASCII fast path, the switch to runes part way, bytes that
// are not UTF-8, and needsLower (which must not allocate) agreeing with it.
func TestLowerAppend(t *testing.T) {
	ref := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b.WriteByte(s[i])
			} else {
				b.WriteRune(unicode.ToLower(r))
			}
			i += n
		}
		return b.String()
	}
	for _, s := range []string{
		"", "abc", "ABC", `C:\Windows\System32\CMD.EXE`, "ÉCRAN", "écran", "x\xffY", "\xff", "AB\xc3",
		"İSTANBUL", "\u212a", "ſ", "abc\uFFFDdef", "MiXeD ÜBER straße", strings.Repeat("Ab", 100) + "É",
	} {
		want := ref(s)
		for _, pre := range []string{"", "prefix "} {
			if got := string(lowerAppend([]byte(pre), s)); got != pre+want {
				t.Errorf("lowerAppend(%q, %q) = %q, want %q", pre, s, got, pre+want)
			}
		}
		if got := needsLower(s); got != (want != s) {
			t.Errorf("needsLower(%q) = %v, want %v", s, got, want != s)
		}
		if n := testing.AllocsPerRun(10, func() { needsLower(s) }); n != 0 {
			t.Errorf("needsLower(%q) allocates %v times", s, n)
		}
	}
}
