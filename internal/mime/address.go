package mime

import "strings"

// SplitFrom splits a From (or Sender, Reply-To) header value into the
// decoded display name and the address:
//
//	"Taro Yamada" <taro@example.jp>        -> Taro Yamada, taro@example.jp
//	Taro Yamada <taro@example.jp>          -> Taro Yamada, taro@example.jp
//	=?UTF-8?B?5bGx55Sw?= <taro@example.jp> -> 山田, taro@example.jp
//	taro@example.jp                        -> "", taro@example.jp
//	taro@example.jp (Taro Yamada)          -> Taro Yamada, taro@example.jp
//
// The first mailbox is taken when there are several. A value cut short by a
// logger ("Name <taro@exa") yields what is there. Encoded words are decoded
// in the display name, also inside quotes (which RFC 2047 forbids and every
// mailer does).
func SplitFrom(v string) (display, addr string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", ""
	}
	lt := -1
	inQuote, esc, depth := false, false, 0
scan:
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case esc:
			esc = false
		case c == '\\' && (inQuote || depth > 0):
			esc = true
		case c == '"' && depth == 0:
			inQuote = !inQuote
		case inQuote:
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		case c == '<':
			lt = i
			break scan
		case c == ',':
			// End of the first mailbox of a list without angle brackets.
			v = strings.TrimSpace(v[:i])
			break scan
		}
	}
	if lt >= 0 {
		rest := v[lt+1:]
		if gt := strings.IndexByte(rest, '>'); gt >= 0 {
			rest = rest[:gt]
		}
		addr = strings.TrimSpace(rest)
		display = displayName(strings.TrimSpace(v[:lt]))
		return display, addr
	}
	// addr-spec, possibly with an old-style "(Full Name)" comment.
	if o := strings.IndexByte(v, '('); o >= 0 {
		c := v[o+1:]
		if e := strings.LastIndexByte(c, ')'); e >= 0 {
			c = c[:e]
		}
		display = DecodeHeader(strings.TrimSpace(c))
		v = strings.TrimSpace(v[:o])
	}
	if strings.HasPrefix(v, "\"") && strings.HasSuffix(v, "\"") && len(v) >= 2 && strings.IndexByte(v, '@') < 0 {
		// Only a quoted name and no address at all.
		return DecodeHeader(unquote(v)), ""
	}
	return display, v
}

// displayName turns the phrase before "<" into text: quoted parts are
// unquoted, encoded words decoded.
func displayName(p string) string {
	if p == "" {
		return ""
	}
	if strings.IndexByte(p, '"') < 0 {
		return strings.TrimSpace(DecodeHeader(p))
	}
	// Mixed phrase: decode unquoted runs and quoted strings separately,
	// keeping the spacing between them.
	var b strings.Builder
	for len(p) > 0 {
		q := strings.IndexByte(p, '"')
		if q < 0 {
			b.WriteString(DecodeHeader(p))
			break
		}
		b.WriteString(DecodeHeader(p[:q]))
		body, rest := quoted(p[q:])
		b.WriteString(DecodeHeader(body))
		p = rest
	}
	return strings.TrimSpace(b.String())
}

func unquote(s string) string {
	body, _ := quoted(s)
	return body
}
