package event

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the event as one JSON object (no trailing newline):
//
//	{"time":…,"source":…,"host":…,"origin":…,"raw":…,"fields":{…}}
//
// This is the shape `kizuki parse --format json` prints and the alert
// evidence reuses. A raw record that is not valid UTF-8 cannot be carried
// byte-exact in a JSON string, so it is also given as "raw_base64".
func (e *Event) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"time":`...)
	if e.Time.IsZero() {
		dst = append(dst, "null"...)
	} else {
		dst = AppendString(dst, FormatTime(e.Time))
	}
	dst = append(dst, `,"source":`...)
	dst = AppendString(dst, e.Source)
	dst = append(dst, `,"host":`...)
	dst = AppendString(dst, e.Host)
	dst = append(dst, `,"origin":`...)
	dst = AppendString(dst, e.Origin.String())
	dst = append(dst, `,"raw":`...)
	dst = AppendString(dst, e.Raw)
	if !utf8.ValidString(e.Raw) {
		dst = append(dst, `,"raw_base64":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, []byte(e.Raw))
		dst = append(dst, '"')
	}
	dst = append(dst, `,"fields":{`...)
	first := true
	e.Fields(func(k, v string) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = AppendString(dst, k)
		dst = append(dst, ':')
		dst = AppendString(dst, v)
	})
	dst = append(dst, "}}"...)
	return dst
}

const hexDigits = "0123456789abcdef"

// jsonSafe[c] says ASCII byte c needs no escape in a JSON string.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// AppendString appends s as a JSON string literal. Invalid UTF-8 becomes
// U+FFFD (the raw_base64 field keeps the exact bytes where it matters).
// <, > and & are written as they are (encoding/json escapes them for HTML;
// this output is for log tools, and Windows XML records stay readable).
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs a look: most values
		// (paths, names, numbers) are plain ASCII.
		for i+8 <= len(s) && plain8(s[i:i+8]) {
			i += 8
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\u202`...)
			dst = append(dst, hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// plain8 reports whether the 8 bytes of s are ASCII that a JSON string
// holds as they are: no control byte, no '"', no '\\' and none >= 0x80.
// The tests work on all bytes at once; each "any byte" test is exact.
func plain8(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	quote := w ^ (ones * '"')
	slash := w ^ (ones * '\\')
	bad := w | // >= 0x80
		(w-ones*0x20) & ^w | // < 0x20
		(quote-ones) & ^quote | // '"'
		(slash-ones) & ^slash // '\\'
	return bad&highs == 0
}

// AppendInt appends n in decimal.
func AppendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }
