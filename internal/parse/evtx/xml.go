package evtx

import (
	"strconv"
	"unicode/utf8"
)

// xmlSink renders a record as one line of Windows event XML, as `wevtutil qe
// /f:xml` prints it (attributes in single quotes, empty elements as <x/>), so
// that winxml parses it back to the same fields.
//
// Escaping: &, <, > in text; also ' and " in attributes, where tab, line feed
// and carriage return are written as character references (attribute value
// normalization would turn them into spaces). A carriage return in text is
// written as &#xD; too, because XML readers turn "\r\n" into "\n". Characters
// XML 1.0 cannot carry (control characters) are written as character
// references: strict XML readers refuse them, but they are not lost.
type xmlSink struct {
	b    []byte
	open bool // a start tag waits for its '>' (or "/>" if the element stays empty)
}

func (x *xmlSink) reset() { x.b, x.open = x.b[:0], false }

func (x *xmlSink) closeTag() {
	if x.open {
		x.b = append(x.b, '>')
		x.open = false
	}
}

func (x *xmlSink) start(name string, attrs []attrVal, scratch []byte) {
	x.closeTag()
	x.b = append(x.b, '<')
	x.b = append(x.b, name...)
	for _, a := range attrs {
		x.b = append(x.b, ' ')
		x.b = append(x.b, a.def.name...)
		x.b = append(x.b, '=', '\'')
		x.b = appendEscaped(x.b, scratch[a.start:a.end], true)
		x.b = append(x.b, '\'')
	}
	x.open = true
}

func (x *xmlSink) text(b []byte) {
	x.closeTag()
	x.b = appendEscaped(x.b, b, false)
}

func (x *xmlSink) end(name string) {
	if x.open {
		x.b = append(x.b, '/', '>')
		x.open = false
		return
	}
	x.b = append(x.b, '<', '/')
	x.b = append(x.b, name...)
	x.b = append(x.b, '>')
}

func (x *xmlSink) pi(target, data []byte) {
	x.closeTag()
	x.b = append(x.b, '<', '?')
	x.b = append(x.b, target...)
	if len(data) > 0 {
		x.b = append(x.b, ' ')
		x.b = append(x.b, data...)
	}
	x.b = append(x.b, '?', '>')
}

func appendEscaped(dst, s []byte, attr bool) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRune(s[i:])
			if r == 0xFFFE || r == 0xFFFF {
				dst = appendCharRef(dst, r)
			} else {
				dst = append(dst, s[i:i+n]...)
			}
			i += n
			continue
		}
		i++
		switch {
		case c == '&':
			dst = append(dst, "&amp;"...)
		case c == '<':
			dst = append(dst, "&lt;"...)
		case c == '>':
			dst = append(dst, "&gt;"...)
		case c == '\'' && attr:
			dst = append(dst, "&apos;"...)
		case c == '"' && attr:
			dst = append(dst, "&quot;"...)
		case c == '\r' || ((c == '\t' || c == '\n') && attr) || (c < 0x20 && c != '\t' && c != '\n'):
			dst = appendCharRef(dst, rune(c))
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func appendCharRef(dst []byte, r rune) []byte {
	dst = append(dst, '&', '#', 'x')
	dst = strconv.AppendUint(dst, uint64(r), 16)
	return append(dst, ';')
}
