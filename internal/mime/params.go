package mime

import (
	"sort"
	"strconv"
	"strings"
)

// Param is one parameter of a Content-Type or Content-Disposition value as
// written: RFC 2231 sections ("name*0*") are not merged yet.
type Param struct {
	Name  string // lower-cased, including any "*N" / "*" suffix
	Value string // unquoted
}

// MediaType returns the part of a Content-Type (or Content-Disposition) value
// before the first ";", trimmed and lower-cased: "application/pdf",
// "attachment".
func MediaType(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	v = strings.TrimSpace(v)
	// Postfix prints a folded line break as "?"; a value cut right after the
	// type can end in one.
	v = strings.TrimRight(v, "? \t")
	if v == "" {
		return ""
	}
	return strings.ToLower(v)
}

// Params splits the parameters of a Content-Type / Content-Disposition value
// (everything after the first ";"). It is tolerant: parameters may be
// separated by ";" with any white space, stray "?" (how Postfix prints a
// folded line break) is skipped, a quoted string may be unterminated (a
// truncated log line), and an unquoted value runs to the next ";".
func Params(v string) []Param {
	i := strings.IndexByte(v, ';')
	if i < 0 {
		return nil
	}
	var out []Param
	s := v[i+1:]
	for len(s) > 0 {
		// Skip separators and print artefacts.
		k := 0
		for k < len(s) && (s[k] == ';' || s[k] == ' ' || s[k] == '\t' || s[k] == '\r' || s[k] == '\n' || s[k] == '?') {
			k++
		}
		s = s[k:]
		if s == "" {
			break
		}
		eq := strings.IndexByte(s, '=')
		semi := strings.IndexByte(s, ';')
		if eq < 0 || (semi >= 0 && semi < eq) {
			// No value: skip to the next ";".
			if semi < 0 {
				break
			}
			s = s[semi+1:]
			continue
		}
		name := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val string
		if len(s) > 0 && s[0] == '"' {
			val, s = quoted(s)
		} else {
			if semi := strings.IndexByte(s, ';'); semi >= 0 {
				val, s = s[:semi], s[semi:]
			} else {
				val, s = s, ""
			}
			val = strings.TrimRight(val, " \t\r\n")
		}
		if name != "" && !strings.ContainsAny(name, " \t\"") {
			out = append(out, Param{Name: name, Value: val})
		}
	}
	return out
}

// quoted reads a quoted string at s[0] == '"' and returns its content
// (backslash escapes removed) and the rest after the closing quote. An
// unterminated string runs to the end.
func quoted(s string) (string, string) {
	end := -1
	esc := false
	for k := 1; k < len(s); k++ {
		if esc {
			esc = false
			continue
		}
		switch s[k] {
		case '\\':
			esc = true
		case '"':
			end = k
		}
		if end >= 0 {
			break
		}
	}
	var body, rest string
	if end < 0 {
		body, rest = s[1:], ""
	} else {
		body, rest = s[1:end], s[end+1:]
	}
	if strings.IndexByte(body, '\\') >= 0 {
		var b strings.Builder
		for k := 0; k < len(body); k++ {
			if body[k] == '\\' && k+1 < len(body) {
				k++
			}
			b.WriteByte(body[k])
		}
		body = b.String()
	}
	return body, rest
}

// ParamValue returns the decoded value of parameter name (lower case, without
// "*") of a Content-Type / Content-Disposition value, or "" when absent.
//
// The RFC 2231 forms take precedence over the plain one: "name*=charset'lang'
// %XX..." and the continuations "name*0*=", "name*1*=", "name*0=" … are
// joined and decoded. A plain value ("name=..." quoted or not) is decoded as
// RFC 2047 encoded words when it holds some, which is what most mailers send
// for non-ASCII file names.
func ParamValue(v, name string) string {
	ps := Params(v)
	if len(ps) == 0 {
		return ""
	}
	return paramValue(ps, name)
}

func paramValue(ps []Param, name string) string {
	if s, ok := rfc2231Value(ps, name); ok {
		return s
	}
	for _, p := range ps {
		if p.Name == name {
			return DecodeHeader(p.Value)
		}
	}
	return ""
}

// rfc2231Value joins and decodes the RFC 2231 sections of name.
func rfc2231Value(ps []Param, name string) (string, bool) {
	type section struct {
		n       int
		encoded bool
		value   string
	}
	var secs []section
	for _, p := range ps {
		if len(p.Name) <= len(name) || !strings.HasPrefix(p.Name, name) || p.Name[len(name)] != '*' {
			continue
		}
		rest := p.Name[len(name)+1:]
		switch {
		case rest == "":
			// name*=charset'lang'value: a single encoded section.
			secs = append(secs, section{n: 0, encoded: true, value: p.Value})
		default:
			enc := strings.HasSuffix(rest, "*")
			rest = strings.TrimSuffix(rest, "*")
			n, err := strconv.Atoi(rest)
			if err != nil || n < 0 || n > 999 {
				continue
			}
			secs = append(secs, section{n: n, encoded: enc, value: p.Value})
		}
	}
	if len(secs) == 0 {
		return "", false
	}
	sort.SliceStable(secs, func(a, b int) bool { return secs[a].n < secs[b].n })
	charset := ""
	var buf []byte
	for i, s := range secs {
		if i > 0 && s.n == secs[i-1].n {
			continue // duplicate section: keep the first
		}
		val := s.value
		if s.encoded {
			if i == 0 {
				// charset'language'value; tolerate a missing language part.
				if a := strings.IndexByte(val, '\''); a >= 0 {
					charset = val[:a]
					val = val[a+1:]
					if b := strings.IndexByte(val, '\''); b >= 0 {
						val = val[b+1:]
					}
				}
			}
			buf = appendPercentDecoded(buf, val)
		} else {
			buf = append(buf, val...)
		}
	}
	if charset == "" {
		charset = "us-ascii"
	}
	if s, ok := DecodeCharset(charset, buf); ok {
		return s, true
	}
	// Unknown charset: keep the octets as they are.
	return string(buf), true
}

// DecodeRFC2231 decodes one RFC 2231 extended value "charset'lang'%XX..."
// (the part after "name*="). ok is false when the value has no charset part
// or the charset is unknown; the percent-decoded octets are returned anyway.
func DecodeRFC2231(v string) (string, bool) {
	a := strings.IndexByte(v, '\'')
	if a < 0 {
		return string(appendPercentDecoded(nil, v)), false
	}
	charset := v[:a]
	rest := v[a+1:]
	if b := strings.IndexByte(rest, '\''); b >= 0 {
		rest = rest[b+1:]
	}
	buf := appendPercentDecoded(nil, rest)
	if charset == "" {
		charset = "us-ascii"
	}
	return DecodeCharset(charset, buf)
}

// appendPercentDecoded appends s with %XX sequences decoded; a "%" not
// followed by two hex digits is kept literally.
func appendPercentDecoded(dst []byte, s string) []byte {
	for k := 0; k < len(s); k++ {
		c := s[k]
		if c == '%' && k+2 < len(s) && isHex(s[k+1]) && isHex(s[k+2]) {
			dst = append(dst, unhex(s[k+1])<<4|unhex(s[k+2]))
			k += 2
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// FileName returns the attachment file name a Content-Type or
// Content-Disposition header value names, decoded to UTF-8: the
// "filename" parameter (Content-Disposition) or else "name" (Content-Type),
// each in its RFC 2231 form first. It returns "" when there is none.
func FileName(v string) string {
	ps := Params(v)
	if len(ps) == 0 {
		return ""
	}
	if s := paramValue(ps, "filename"); s != "" {
		return s
	}
	return paramValue(ps, "name")
}
