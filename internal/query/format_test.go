package query

import (
	"strings"
	"testing"
)

// roundTrip checks that the canonical form parses back to the same
// canonical form and is no longer than the limit.
func roundTrip(t testing.TB, q *Query) string {
	t.Helper()
	s := q.String()
	q2, err := Parse(s)
	if err != nil {
		t.Fatalf("String() = %q does not parse: %v", s, err)
	}
	if s2 := q2.String(); s2 != s {
		t.Fatalf("String() = %q parses to a query whose String() is %q", s, s2)
	}
	return s
}

func TestString(t *testing.T) {
	f := func(query, want string) {
		t.Helper()
		if got := roundTrip(t, mustParse(t, query)); got != want {
			t.Errorf("Parse(%q).String() = %q, want %q", query, got, want)
		}
	}
	f(``, ``)
	f(`   `, ``)
	f(`*`, `*`)
	f(`***`, `*`)
	f(`a AND b`, `a b`)
	f(`a  b`, `a b`)
	f(`NOT a`, `-a`)
	f(`NOT NOT a`, `--a`)
	f(`a OR (b OR c)`, `a OR b OR c`)
	f(`(a b) c`, `a b c`)
	f(`(a)`, `a`)
	f(`a (b OR c)`, `a (b OR c)`)
	f(`a b OR c`, `a b OR c`)
	f(`(a b) OR c`, `a b OR c`)
	f(`NOT (a OR b)`, `-(a OR b)`)
	f(`NOT (a b)`, `-(a b)`)
	f(`NOT(a)`, `-a`)
	f(`(a OR b)(c OR d)`, `(a OR b) (c OR d)`)
	f(`user:"admin"`, `user:admin`)
	f(`user:"John Smith"`, `user:"John Smith"`)
	f(`user:*`, `user:*`)
	f(`user:"*"`, `user:*`)
	f(`user:""`, `user:""`)
	f(`user:\-x`, `user:-x`)
	f(`user:"<x>"`, `user:\<x>`)
	f(`"mimikatz"`, `mimikatz`)
	f(`"failed password"`, `"failed password"`)
	f(`"AND"`, `"AND"`)
	f(`"-"`, `\-`)
	f(`"a*b"`, `a\*b`)
	f(`f:"a\*b"`, `f:a\*b`)
	f(`f:"a*b"`, `f:a*b`)
	f(`"evil.com:443"`, `evil.com\:443`)
	f(`evil.com\:443`, `evil.com\:443`)
	f(`bytes_out>1000000`, `bytes_out>1000000`)
	f(`bytes_out:>1000000`, `bytes_out:>1000000`)
	f(`status:>=500 duration_ms:<1.5`, `status:>=500 duration_ms:<1.5`)
	f(`C:\Windows\x.exe`, `C:\Windows\x.exe`)
	f(`http://evil.com/x`, `http://evil.com/x`)
	f(`url:*evil.com*`, `url:*evil.com*`)
	f(`url:"http://evil.com/"`, `url:http://evil.com/`)
	f(`http:"//x"`, `http:"//x"`) // unquoted it would be a pasted URL
	f(`c:"\temp"`, `c:"\temp"`)
	f(`src_ip:10.0.0.0/8 src_ip:2001:db8::/32`, `src_ip:10.0.0.0/8 src_ip:2001:db8::/32`)
	f(`Image:"C:\Program Files\\*"`, `Image:"C:\Program Files\\*"`)
	f(`Image:C:\Windows\\*`, `Image:C:\Windows\\*`)
	f(`a\`, `a\`)
	f(`(x a\ )`, `x a\`)
	f(`(x a\\)`, `x a\`)
	f(`(b OR a\ ) c`, `(b OR a\ ) c`)
	f(`-(a\ )`, `-a\`)
	f(`a\ | stats count`, `a\ | stats count`)
	f(`| stats count by a, b`, `| stats count by a,b`)
	f(`a|stats count`, `a | stats count`)
	f(`* | STATS Count BY user`, `* | stats count by user`)
	f(`| TIMELINE span=05m`, `| timeline span=5m`)
	f(`| timeline`, `| timeline`)
	f(`ログオン 失敗`, `ログオン 失敗`)
}

// A query near the length limit whose canonical form with spaces around
// parentheses would pass it: String drops those spaces.
func TestStringNearLimit(t *testing.T) {
	var b strings.Builder
	for range MaxTerms / 3 { // 85 groups of 48 bytes, each one byte longer spaced
		b.WriteString(strings.Repeat("w", 21) + "(" + strings.Repeat("x", 10) + " OR " + strings.Repeat("y", 11) + ")")
	}
	in := b.String()
	q := mustParse(t, in)
	if len(q.render(false)) <= MaxLength {
		t.Fatalf("the spaced form is %d bytes: the test needs more than %d", len(q.render(false)), MaxLength)
	}
	s := roundTrip(t, q)
	if len(s) > len(in) {
		t.Errorf("String() is %d bytes, the query %d", len(s), len(in))
	}
}

// The canonical form of generated queries parses back to itself.
func TestStringGenerated(t *testing.T) {
	g := newQueryGen(fixedEvents(t), 3)
	for range 2000 {
		s := g.query(4)
		q, err := Parse(s)
		if err != nil {
			t.Fatalf("generated %q: %v", s, err)
		}
		roundTrip(t, q)
	}
}
