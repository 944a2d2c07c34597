// Package syslog splits the header that syslog daemons put in front of a
// message written to a file: the time stamp, the reporting host and the
// program tag. Postfix, NetScreen, BIND (when it logs to syslog), iptables and
// many firewalls reach a log file this way, so their parsers share this code.
//
// Accepted shapes (an optional "<PRI>" may lead any of them):
//
//	RFC 3164:          Feb 16 11:43:32 mail-server postfix/cleanup[29597]: msg
//	RFC 3164 + year:   Feb 16 2015 11:43:32 host prog: msg
//	ISO 8601 (rsyslog high precision / RFC 3339):
//	                   2014-12-16T01:02:01.258399+09:00 192.168.1.1 ns208-master: msg
//	RFC 5424:          <34>1 2003-10-11T22:14:15.003Z host app procid msgid [sd] msg
//
// The host may be missing (then the first token ends in ':' and is the tag).
package syslog

import (
	"bytes"
	"errors"
	"time"

	"github.com/kizuki-dev/kizuki/internal/parse"
)

// Header is the parsed syslog header of one line.
type Header struct {
	Time    time.Time // UTC
	Host    string
	Program string // e.g. "postfix/cleanup", "named", "kernel"; "" when absent
	PID     string
	Msg     []byte // the message after "tag: " (a sub-slice of the line)
}

var (
	errNoTime = errors.New("syslog: no recognizable time stamp")
	errShort  = errors.New("syslog: line ends inside the header")
)

// Parse splits line. Times without a zone are read in pc.Location; RFC 3164
// times without a year get the year that puts them at or before pc.RefTime.
func Parse(line []byte, pc *parse.Context) (Header, error) {
	var h Header
	b := line
	if len(b) > 0 && b[0] == '<' {
		i := bytes.IndexByte(b, '>')
		if pri, j, ok := digits(b, 1, 1, 3); !ok || j != i || pri > 191 {
			return h, errors.New("syslog: bad <PRI>")
		}
		b = b[i+1:]
		// RFC 5424 version "1 ".
		if len(b) > 2 && b[0] == '1' && b[1] == ' ' {
			return parse5424(b[2:], pc)
		}
	}
	t, rest, ok := ParseTime(b, pc)
	if !ok {
		return h, errNoTime
	}
	h.Time = t
	b = skipSpaces(rest)
	if len(b) == 0 {
		return h, errShort
	}
	// Host, unless the first token is already the tag.
	tok, after := nextToken(b)
	if !isTag(tok) {
		h.Host = string(tok)
		b = skipSpaces(after)
		tok, after = nextToken(b)
	}
	if isTag(tok) {
		tag := tok[:len(tok)-1]
		if i := bytes.IndexByte(tag, '['); i > 0 && tag[len(tag)-1] == ']' {
			h.PID = string(tag[i+1 : len(tag)-1])
			tag = tag[:i]
		}
		h.Program = string(tag)
		b = after
		if len(b) > 0 && b[0] == ' ' {
			b = b[1:]
		}
	}
	h.Msg = b
	return h, nil
}

// isTag reports whether tok looks like "prog:" or "prog[pid]:".
func isTag(tok []byte) bool {
	if len(tok) < 2 || tok[len(tok)-1] != ':' {
		return false
	}
	// "12:34:56:" is not a tag; a tag starts with a letter.
	c := tok[0]
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c == '/'
}

func parse5424(b []byte, pc *parse.Context) (Header, error) {
	var h Header
	tok, rest := nextToken(b)
	if len(tok) == 1 && tok[0] == '-' {
		h.Time = pc.RefTime.UTC()
	} else {
		t, _, ok := ParseTime(tok, pc)
		if !ok {
			return h, errNoTime
		}
		h.Time = t
	}
	fields := [4][]byte{} // HOST APP-NAME PROCID MSGID
	for i := range fields {
		rest = skipSpaces(rest)
		fields[i], rest = nextToken(rest)
		if len(fields[i]) == 0 {
			return h, errShort
		}
	}
	if string(fields[0]) != "-" {
		h.Host = string(fields[0])
	}
	if string(fields[1]) != "-" {
		h.Program = string(fields[1])
	}
	if string(fields[2]) != "-" {
		h.PID = string(fields[2])
	}
	rest = skipSpaces(rest)
	// Structured data: "-" or one or more [..] elements. A ']' ends an
	// element only outside a quoted value (senders do not all escape it).
	if len(rest) == 0 {
		return h, errShort
	}
	if rest[0] == '-' {
		rest = rest[1:]
	} else {
		for len(rest) > 0 && rest[0] == '[' {
			i, quoted := 1, false
			for i < len(rest) && (quoted || rest[i] != ']') {
				switch rest[i] {
				case '\\':
					i++
				case '"':
					quoted = !quoted
				}
				i++
			}
			if i >= len(rest) {
				return h, errShort
			}
			rest = rest[i+1:]
		}
	}
	if len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	// A UTF-8 BOM may lead the message.
	rest = bytes.TrimPrefix(rest, []byte("\xef\xbb\xbf"))
	h.Msg = rest
	return h, nil
}

func nextToken(b []byte) (tok, rest []byte) {
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return b, nil
	}
	return b[:i], b[i:]
}

func skipSpaces(b []byte) []byte {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return b
}

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// Month returns 1..12 for a three-letter English month name, 0 otherwise.
func Month(b []byte) int {
	if len(b) < 3 {
		return 0
	}
	for i, m := range months {
		if (b[0]|0x20) == (m[0]|0x20) && (b[1]|0x20) == m[1] && (b[2]|0x20) == m[2] {
			return i + 1
		}
	}
	return 0
}

// ParseTime reads a time stamp at the start of b: RFC 3164 ("Jan  2 15:04:05",
// optionally with a year after the day and a fraction after the seconds) or
// ISO 8601 ("2006-01-02T15:04:05[.frac][Z|±hh:mm]", also with a space instead
// of the T). It returns the time in UTC and the rest of b.
func ParseTime(b []byte, pc *parse.Context) (time.Time, []byte, bool) {
	if len(b) >= 19 && isDigit(b[0]) && b[4] == '-' {
		return parseISO(b, pc)
	}
	return parse3164(b, pc)
}

func parse3164(b []byte, pc *parse.Context) (time.Time, []byte, bool) {
	if len(b) < 15 {
		return time.Time{}, b, false
	}
	mon := Month(b)
	if mon == 0 || b[3] != ' ' {
		return time.Time{}, b, false
	}
	i := 4
	if b[i] == ' ' {
		i++
	}
	day, i, ok := digits(b, i, 1, 2)
	if !ok || i >= len(b) || b[i] != ' ' || !validDay(2000, mon, day) { // 2000: Feb 29 exists
		return time.Time{}, b, false
	}
	i++
	year := 0
	// Optional year: "Feb 16 2015 11:43:32".
	if i+5 <= len(b) && isDigit(b[i]) && isDigit(b[i+1]) && isDigit(b[i+2]) && isDigit(b[i+3]) && b[i+4] == ' ' {
		year, _, _ = digits(b, i, 4, 4)
		i += 5
	}
	hh, mm, ss, nsec, j, ok := clock(b, i)
	if !ok {
		return time.Time{}, b, false
	}
	loc := pc.Location
	if year == 0 {
		ref := pc.RefTime.In(loc)
		year = ref.Year()
		t := time.Date(year, time.Month(mon), day, hh, mm, ss, nsec, loc)
		// "At or before the file's modification time": a time stamp after it
		// belongs to the previous year.
		if t.After(ref) {
			year--
		}
		// Feb 29 belongs to the latest leap year at or before that.
		for !validDay(year, mon, day) {
			year--
		}
		return time.Date(year, time.Month(mon), day, hh, mm, ss, nsec, loc).UTC(), b[j:], true
	}
	if !validDay(year, mon, day) {
		return time.Time{}, b, false
	}
	return time.Date(year, time.Month(mon), day, hh, mm, ss, nsec, loc).UTC(), b[j:], true
}

// validDay reports whether day exists in month mon of year.
func validDay(year, mon, day int) bool {
	return day >= 1 && day <= time.Date(year, time.Month(mon)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func parseISO(b []byte, pc *parse.Context) (time.Time, []byte, bool) {
	year, i, ok := digits(b, 0, 4, 4)
	if !ok || b[i] != '-' {
		return time.Time{}, b, false
	}
	mon, i, ok := digits(b, i+1, 2, 2)
	if !ok || i >= len(b) || b[i] != '-' {
		return time.Time{}, b, false
	}
	day, i, ok := digits(b, i+1, 2, 2)
	if !ok || i >= len(b) || (b[i] != 'T' && b[i] != ' ') {
		return time.Time{}, b, false
	}
	hh, mm, ss, nsec, i, ok := clock(b, i+1)
	if !ok || mon < 1 || mon > 12 || !validDay(year, mon, day) {
		return time.Time{}, b, false
	}
	loc := pc.Location
	if i < len(b) {
		switch b[i] {
		case 'Z', 'z':
			loc = time.UTC
			i++
		case '+', '-':
			if i+6 <= len(b) && b[i+3] == ':' {
				oh, _, ok1 := digits(b, i+1, 2, 2)
				om, _, ok2 := digits(b, i+4, 2, 2)
				if ok1 && ok2 {
					off := (oh*60 + om) * 60
					if b[i] == '-' {
						off = -off
					}
					loc = time.FixedZone("", off)
					i += 6
				}
			} else if i+5 <= len(b) && isDigit(b[i+1]) && isDigit(b[i+4]) {
				oh, _, ok1 := digits(b, i+1, 2, 2)
				om, _, ok2 := digits(b, i+3, 2, 2)
				if ok1 && ok2 {
					off := (oh*60 + om) * 60
					if b[i] == '-' {
						off = -off
					}
					loc = time.FixedZone("", off)
					i += 5
				}
			}
		}
	}
	return time.Date(year, time.Month(mon), day, hh, mm, ss, nsec, loc).UTC(), b[i:], true
}

// clock reads "hh:mm:ss[.frac]" at b[i:].
func clock(b []byte, i int) (hh, mm, ss, nsec, j int, ok bool) {
	if hh, i, ok = digits(b, i, 2, 2); !ok || i >= len(b) || b[i] != ':' {
		return 0, 0, 0, 0, i, false
	}
	if mm, i, ok = digits(b, i+1, 2, 2); !ok || i >= len(b) || b[i] != ':' {
		return 0, 0, 0, 0, i, false
	}
	if ss, i, ok = digits(b, i+1, 2, 2); !ok {
		return 0, 0, 0, 0, i, false
	}
	if hh > 23 || mm > 59 || ss > 60 {
		return 0, 0, 0, 0, i, false
	}
	if i < len(b) && (b[i] == '.' || b[i] == ',') && i+1 < len(b) && isDigit(b[i+1]) {
		i++
		scale := 100000000
		for i < len(b) && isDigit(b[i]) {
			nsec += int(b[i]-'0') * scale
			scale /= 10
			i++
		}
	}
	return hh, mm, ss, nsec, i, true
}

func digits(b []byte, i, min, max int) (n, j int, ok bool) {
	j = i
	for j < len(b) && j-i < max && isDigit(b[j]) {
		n = n*10 + int(b[j]-'0')
		j++
	}
	return n, j, j-i >= min
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
