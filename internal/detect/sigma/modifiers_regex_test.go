package sigma

import (
	"strings"
	"testing"
)

func TestRegex(t *testing.T) {
	runMatchCases(t, []matchCase{
		// Matched anywhere, case-sensitively by default.
		{"CommandLine|re", `'\s-e(nc)?\s'`, "CommandLine", "powershell -enc abc", true},
		{"CommandLine|re", `'\s-e(nc)?\s'`, "CommandLine", "powershell -ENC abc", false},
		{"CommandLine|re|i", `'\s-e(nc)?\s'`, "CommandLine", "powershell -ENC abc", true},
		{"CommandLine|re", `'^cmd'`, "CommandLine", "cmd /c", true},
		{"CommandLine|re", `'^cmd'`, "CommandLine", "x cmd", false},
		// The value is the expression as written: no wildcard or escape
		// processing (\d stays \d, ? is a quantifier).
		{"CommandLine|re", `'a\d+b?c'`, "CommandLine", "xa123cx", true},
		{"CommandLine|re", `'C:\\Windows\\'`, "CommandLine", `C:\Windows\x`, true},
		// m: ^ and $ at line ends; s: . matches a newline.
		{"Payload|re", `'^b$'`, "Payload", "a\nb\nc", false},
		{"Payload|re|m", `'^b$'`, "Payload", "a\nb\nc", true},
		{"Payload|re", `'a.b'`, "Payload", "a\nb", false},
		{"Payload|re|s", `'a.b'`, "Payload", "a\nb", true},
		{"Payload|re|i|m", `'^B$'`, "Payload", "a\nb", true},
		// A missing field does not match.
		{"Payload|re", `'.*'`, "", "", false},
	})
	// What RE2 cannot do is a load error that names the expression.
	for _, expr := range []string{`'(?<=a)b'`, `'(a)\1'`, `'a++'`, `'('`} {
		err := loadErr(t, itemRule("CommandLine|re", expr))
		if !strings.Contains(err.Error(), "regular expression") {
			t.Errorf("%s: %v", expr, err)
		}
	}
	if err := loadErr(t, itemRule("CommandLine|contains|re", `'a'`)); !strings.Contains(err.Error(), "re only applies") {
		t.Errorf("contains|re: %v", err)
	}
	if err := loadErr(t, itemRule("CommandLine|i", `'a'`)); !strings.Contains(err.Error(), "needs |re") {
		t.Errorf("|i without re: %v", err)
	}
}

func TestRegexLiterals(t *testing.T) {
	f := func(expr string, want ...string) {
		t.Helper()
		got := regexLiterals(expr, "")
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%q: literals %q, want %q", expr, got, want)
		}
	}
	f(`abc`, "abc")
	f(`^C:\\Windows\\SYSTEM32\\ntdll\.dll\+[a-z]+`, `c:\windows\system32\ntdll.dll+`)
	f(`(foo|barbaz)\d`, "foo", "barbaz")
	f(`(foo|\d+)x`, "x")
	f(`\d+`)
	f(`a*`)
}
