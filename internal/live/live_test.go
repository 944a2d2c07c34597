package live

import "testing"

func TestStripPRI(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := string(stripPRI([]byte(in))); got != want {
			t.Errorf("stripPRI(%q) = %q, want %q", in, got, want)
		}
	}
	f("<13>Feb  1 10:00:00 mx postfix/smtpd[1]: connect", "Feb  1 10:00:00 mx postfix/smtpd[1]: connect")
	f("<165>1 2026-11-23T10:00:00Z host app - - - msg\n", "2026-11-23T10:00:00Z host app - - - msg")
	f("<Event xmlns='x'>", "<Event xmlns='x'>")
	f("1600000000.123 5 10.0.0.1 TCP_MISS/200", "1600000000.123 5 10.0.0.1 TCP_MISS/200")
	f("<1>", "")
	f("", "")
}
