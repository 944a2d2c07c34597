package query

import (
	"errors"
	"strings"
	"testing"
)

// Every parse error names its column and what was expected.
func TestParseErrors(t *testing.T) {
	f := func(query, want string) {
		t.Helper()
		q, err := Parse(query)
		if err == nil {
			t.Errorf("Parse(%q) = %q, want error %q", query, q, want)
			return
		}
		if err.Error() != want {
			t.Errorf("Parse(%q):\n got %s\nwant %s", query, err, want)
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q): %T is not a *SyntaxError", query, err)
		} else if se.Column > 0 && column(query, se.Offset) != se.Column {
			t.Errorf("Parse(%q): offset %d is column %d, not %d", query, se.Offset, column(query, se.Offset), se.Column)
		}
	}
	f(`user:x (a OR b`, `query: column 15: expected ")" to close "(" at column 8`)
	f(`user:(admin OR root)`, `query: column 6: expected a value right after "user:" (to match one of several values, write (user:a OR user:b))`)
	f(`a)`, `query: column 2: unexpected ")" without a matching "("`)
	f(`()`, `query: column 2: expected a search term after "(", found ")"`)
	f(`a OR`, `query: column 5: expected a search term after OR, found the end of the query`)
	f(`a AND OR b`, `query: column 7: expected a search term after AND, found OR`)
	f(`AND a`, `query: column 1: expected a search term, found AND`)
	f(`OR`, `query: column 1: expected a search term, found OR`)
	f(`NOT`, `query: column 4: expected a search term after NOT, found the end of the query`)
	f(`a NOT | stats count`, `query: column 7: expected a search term after NOT, found "|"`)
	f(`-`, `query: column 1: expected a term right after "-" (to search for a dash, write "-" in quotes)`)
	f(`a - b`, `query: column 3: expected a term right after "-" (to search for a dash, write "-" in quotes)`)
	f(`-AND`, `query: column 2: expected a search term after "-", found AND`)
	f(`user:`, `query: column 6: expected a value right after "user:"`)
	f(`user: admin`, `query: column 6: expected a value right after "user:"`)
	f(`"failed password`, `query: column 17: expected a closing " for the string that starts at column 1`)
	f(`user:"John`, `query: column 11: expected a closing " for the string that starts at column 6`)
	f(`""`, `query: column 1: empty phrase ""`)
	f(`a"b c"`, `query: column 2: unexpected " inside a word (escape it as \" or put a space before the quoted phrase)`)
	f(`"a b"c`, `query: column 6: expected a space after the string that starts at column 1`)
	f(`bytes_out:>`, `query: column 12: expected a number after "bytes_out:>"`)
	f(`bytes_out:>1MB`, `query: column 12: expected a number after "bytes_out:>", found "1MB"`)
	f(`status>=abc`, `query: column 9: expected a number after "status>=", found "abc"`)
	f(`duration_ms<0x10`, `query: column 13: expected a number after "duration_ms<", found "0x10"`)
	f(`src_ip:10.0.0.0/33`, `query: column 8: "10.0.0.0/33" is not a valid network prefix (the prefix length is at most 32)`)
	f(`src_ip:2001:db8::/129`, `query: column 8: "2001:db8::/129" is not a valid network prefix (the prefix length is at most 128)`)
	f(`ユーザー:x (`, `query: column 9: expected a search term after "(", found the end of the query`)
	// Pipes.
	f(`a |`, `query: column 4: expected a command after "|" (stats or timeline), found the end of the query`)
	f(`a | sort user`, `query: column 5: unknown command "sort" after "|": expected stats or timeline`)
	f(`a | stats`, `query: column 10: expected "count" after "stats", found the end of the query`)
	f(`a | stats sum`, `query: column 11: expected "count" after "stats", found "sum"`)
	f(`a | stats count by`, `query: column 19: expected a field name after "by", found the end of the query`)
	f(`a | stats count by user,`, `query: column 25: expected a field name after ",", found the end of the query`)
	f(`a | stats count by 1x`, `query: column 20: expected a field name after "by", found "1x"`)
	f(`a | stats count by user host`, `query: column 25: unexpected "host" after "stats count by user"`)
	f(`a | timeline span`, `query: column 18: expected "=" after "span", found the end of the query`)
	f(`a | timeline span=5x`, `query: column 19: expected a span from 1s to 365d such as 30s, 5m, 1h or 1d, found "5x"`)
	f(`a | timeline span=0s`, `query: column 19: expected a span from 1s to 365d such as 30s, 5m, 1h or 1d, found "0s"`)
	f(`a | timeline span=366d`, `query: column 19: expected a span from 1s to 365d such as 30s, 5m, 1h or 1d, found "366d"`)
	f(`a | timeline 5m`, `query: column 14: unexpected "5m" after "timeline"`)
	f(`a | stats count | timeline`, `query: column 19: only one command after the filter is supported (found timeline after stats)`)
	f(`a | stats count | foo`, `query: column 19: unknown command "foo" after "|": expected stats or timeline`)
}

// Over a limit: a clear error wrapping ErrLimit, never a crash.
func TestLimits(t *testing.T) {
	f := func(query, want string) {
		t.Helper()
		_, err := Parse(query)
		if err == nil || err.Error() != want || !errors.Is(err, ErrLimit) {
			t.Errorf("Parse(%.40q...): %v, want %s wrapping ErrLimit", query, err, want)
		}
	}
	f(strings.Repeat("a", MaxLength+1), `query: the query is 4097 bytes long; the limit is 4096`)
	f(strings.Repeat("(", 65)+"a"+strings.Repeat(")", 65), `query: column 65: nested deeper than 64 levels of parentheses and NOT`)
	f(strings.Repeat("-", 65)+"a", `query: column 65: nested deeper than 64 levels of parentheses and NOT`)
	f(strings.Repeat("NOT ", 40)+strings.Repeat("(", 30)+"a", `query: column 185: nested deeper than 64 levels of parentheses and NOT`)
	f(strings.Repeat("a ", 257), `query: column 513: more than 256 search terms`)
	f("a | stats count by "+strings.Repeat("f,", 16)+"f", `query: column 52: more than 16 fields after "by"`)
	// At the limits.
	for _, ok := range []string{
		strings.Repeat("(", 64) + "a" + strings.Repeat(")", 64),
		strings.Repeat("-", 64) + "a",
		strings.TrimSpace(strings.Repeat("a ", 256)),
		strings.Repeat("a", MaxLength),
		strings.Repeat("(", 1000), // an error, not a stack overflow
	} {
		_, err := Parse(ok)
		if err != nil && !errors.Is(err, ErrLimit) {
			t.Errorf("Parse(%.40q...): %v", ok, err)
		}
	}
}
