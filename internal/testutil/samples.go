package testutil

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// Sample is one log line taken from another project's test file, with where
// it was found.
type Sample struct {
	Line string
	File string
	No   int // 1-based line number in File
}

// WazuhLines returns the log lines of a wazuh-ruleset test file (.ini):
// every "log N pass = LINE" and "log N fail = LINE" entry. Wazuh's "fail"
// marks lines its rule must not fire on; they are still real log lines.
func WazuhLines(t testing.TB, path string) []Sample {
	t.Helper()
	var out []Sample
	eachLine(t, path, func(no int, s string) {
		if !strings.HasPrefix(s, "log ") {
			return
		}
		i := strings.Index(s, " = ")
		if i < 0 {
			return
		}
		out = append(out, Sample{Line: s[i+3:], File: path, No: no})
	})
	return out
}

// Fail2banLines returns the log lines of a fail2ban test log: every line that
// is not blank and not a "#" comment.
func Fail2banLines(t testing.TB, path string) []Sample {
	t.Helper()
	var out []Sample
	eachLine(t, path, func(no int, s string) {
		if strings.TrimSpace(s) == "" || strings.HasPrefix(s, "#") {
			return
		}
		out = append(out, Sample{Line: s, File: path, No: no})
	})
	return out
}

func eachLine(t testing.TB, path string, fn func(no int, s string)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	no := 0
	for sc.Scan() {
		no++
		fn(no, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}
