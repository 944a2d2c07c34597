package sigma

import (
	"strings"
)

// A Sigma string value is text with wildcards: "*" (any run of characters)
// and "?" (one character), where a backslash escapes "*", "?" and itself.
// The rules of the specification ("Escape Character"), as pySigma applies
// them:
//
//	\*  \?    a literal * or ?
//	\\        one literal backslash
//	\x        (x anything else) a backslash followed by x: C:\Windows stays
//	          as written
//	\ at end  a literal backslash
//
// so "\\*" is a backslash then a wildcard, "\\\*" a backslash then a literal
// star, and three or four backslashes before other text are two.
//
// With |expand, %name% is a placeholder and "\%" a literal percent sign.

// partKind tells literal text from a wildcard or a placeholder.
type partKind uint8

const (
	pLit         partKind = iota // literal text
	pStar                        // * : any run of characters, possibly empty
	pOne                         // ? : exactly one character
	pPlaceholder                 // %name% (only after |expand)
)

type part struct {
	kind partKind
	s    string // literal text, or placeholder name
}

// sstring is a parsed Sigma string: literal runs and special parts.
type sstring []part

// parseSigmaString parses a rule value into literal runs and wildcards.
// With placeholders, %name% becomes a placeholder part.
func parseSigmaString(s string, placeholders bool) sstring {
	var out sstring
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, part{kind: pLit, s: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				lit.WriteByte('\\')
				continue
			}
			n := s[i+1]
			switch {
			case n == '*' || n == '?' || n == '\\':
				lit.WriteByte(n)
				i++
			case n == '%' && placeholders:
				lit.WriteByte('%')
				i++
			default:
				lit.WriteByte('\\')
			}
		case c == '*':
			flush()
			out = append(out, part{kind: pStar})
		case c == '?':
			flush()
			out = append(out, part{kind: pOne})
		case c == '%' && placeholders:
			end := strings.IndexByte(s[i+1:], '%')
			if end <= 0 || !isPlaceholderName(s[i+1:i+1+end]) {
				lit.WriteByte('%')
				continue
			}
			flush()
			out = append(out, part{kind: pPlaceholder, s: s[i+1 : i+1+end]})
			i += end + 1
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return out
}

func isPlaceholderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// plainString returns the value as a literal, when it has no wildcard or
// placeholder.
func (s sstring) plain() (string, bool) {
	var b strings.Builder
	for _, p := range s {
		if p.kind != pLit {
			return "", false
		}
		b.WriteString(p.s)
	}
	return b.String(), true
}

// withStar returns s with a leading (front) or trailing * added unless it
// is already there (contains, startswith, endswith).
func (s sstring) withStar(front, back bool) sstring {
	out := append(sstring(nil), s...)
	if front && (len(out) == 0 || out[0].kind != pStar) {
		out = append(sstring{{kind: pStar}}, out...)
	}
	if back && (len(out) == 0 || out[len(out)-1].kind != pStar) {
		out = append(out, part{kind: pStar})
	}
	return out
}

// mapLiterals returns s with every literal run replaced by f(run), keeping
// wildcards; it merges adjacent literals. f may return "" to drop a run.
func (s sstring) mapLiterals(f func(string) string) sstring {
	var out sstring
	for _, p := range s {
		if p.kind == pLit {
			t := f(p.s)
			if t == "" {
				continue
			}
			if n := len(out); n > 0 && out[n-1].kind == pLit {
				out[n-1].s += t
				continue
			}
			out = append(out, part{kind: pLit, s: t})
			continue
		}
		out = append(out, p)
	}
	return out
}

// String renders s back in Sigma notation (for messages).
func (s sstring) String() string {
	var b strings.Builder
	for _, p := range s {
		switch p.kind {
		case pLit:
			for i := 0; i < len(p.s); i++ {
				if c := p.s[i]; c == '*' || c == '?' || c == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(p.s[i])
			}
		case pStar:
			b.WriteByte('*')
		case pOne:
			b.WriteByte('?')
		case pPlaceholder:
			b.WriteString("%" + p.s + "%")
		}
	}
	return b.String()
}
