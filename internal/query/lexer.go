package query

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The lexer cuts the filter part of a query into parentheses, keywords,
// the '-' prefix, '|' and terms. It reads a whole term at once (field
// name, operator and value), because what a character means depends on
// where it is in the term: a ':' after a field name separates the value,
// a '-' at the start of a term is NOT, a '*' is a wildcard except in a
// free-text phrase.

type tokKind uint8

const (
	tokEOF    tokKind = iota
	tokLParen         // (
	tokRParen         // )
	tokAnd            // AND
	tokOr             // OR
	tokNot            // NOT
	tokMinus          // '-' written directly before a term
	tokPipe           // |
	tokTerm
)

type token struct {
	kind tokKind
	pos  int // byte offset in the query
	term *term
}

// describe names a token in an error message.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "the end of the query"
	case tokLParen:
		return `"("`
	case tokRParen:
		return `")"`
	case tokAnd:
		return "AND"
	case tokOr:
		return "OR"
	case tokNot:
		return "NOT"
	case tokMinus:
		return `"-"`
	case tokPipe:
		return `"|"`
	}
	return strconvQuote(t.term.src)
}

type lexer struct {
	src string
	pos int
}

// escapable lists the characters a backslash escapes. Before any other
// character a backslash is an ordinary character, so that Windows paths
// (C:\Windows\System32) can be written as they are.
const escapable = `\"*?:()|<>-`

func isEscapable(c byte) bool { return strings.IndexByte(escapable, c) >= 0 }

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// spaceAt returns the length of the white space character at byte i of s,
// or 0.
func spaceAt(s string, i int) int {
	c := s[i]
	if c < utf8.RuneSelf {
		if isSpaceByte(c) {
			return 1
		}
		return 0
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	if unicode.IsSpace(r) {
		return n
	}
	return 0
}

func skipSpace(s string, i int) int {
	for i < len(s) {
		n := spaceAt(s, i)
		if n == 0 {
			break
		}
		i += n
	}
	return i
}

// isDelimAt reports whether a term ends before byte i of s: at the end,
// at white space, a parenthesis or '|'.
func isDelimAt(s string, i int) bool {
	if i >= len(s) {
		return true
	}
	switch s[i] {
	case '(', ')', '|':
		return true
	}
	return spaceAt(s, i) > 0
}

// next returns the next token of the filter.
func (l *lexer) next() (token, error) {
	s := l.src
	l.pos = skipSpace(s, l.pos)
	start := l.pos
	if start >= len(s) {
		return token{kind: tokEOF, pos: len(s)}, nil
	}
	switch s[start] {
	case '(':
		l.pos++
		return token{kind: tokLParen, pos: start}, nil
	case ')':
		l.pos++
		return token{kind: tokRParen, pos: start}, nil
	case '|':
		l.pos++
		return token{kind: tokPipe, pos: start}, nil
	case '-':
		if start+1 == len(s) || s[start+1] != '(' && isDelimAt(s, start+1) {
			return token{}, errorAt(s, start, `expected a term right after "-" (to search for a dash, write "-" in quotes)`)
		}
		l.pos++
		return token{kind: tokMinus, pos: start}, nil
	}
	t, err := l.term(start)
	if err != nil {
		return token{}, err
	}
	if t.kind == termText && len(t.src) <= 3 {
		switch t.src {
		case "AND":
			return token{kind: tokAnd, pos: start}, nil
		case "OR":
			return token{kind: tokOr, pos: start}, nil
		case "NOT":
			return token{kind: tokNot, pos: start}, nil
		}
	}
	return token{kind: tokTerm, pos: start, term: t}, nil
}

// term reads the term that starts at byte start.
func (l *lexer) term(start int) (*term, error) {
	s := l.src
	if s[start] == '"' {
		p, end, err := l.quoted(start, false)
		if err != nil {
			return nil, err
		}
		if len(p) == 0 {
			return nil, errorAt(s, start, `empty phrase ""`)
		}
		l.pos = end
		return &term{kind: termText, val: p, src: s[start:end], pos: start}, nil
	}
	if ne := scanName(s, start); ne > start && ne < len(s) {
		switch s[ne] {
		case ':':
			if !pastedText(s[start:ne], s[ne+1:]) {
				return l.fieldTerm(start, ne)
			}
		case '<', '>':
			return l.compareTerm(start, ne, ne)
		}
	}
	p, end, err := l.bare(start)
	if err != nil {
		return nil, err
	}
	l.pos = end
	t := &term{kind: termText, val: p, src: s[start:end], pos: start}
	switch {
	case p.onlyStars():
		t.kind = termAll
	case p.hasWild():
		t.kind = termWild
	}
	return t, nil
}

// pastedText reports whether name:rest is free text pasted as it was
// logged rather than a field term: a URL (http://...) or a Windows path
// (C:\...). No field has a one-letter name or a value that starts with
// "//"; a field value that needs one can be quoted.
func pastedText(name, rest string) bool {
	if strings.HasPrefix(rest, `\`) {
		return len(name) == 1 && isASCIILetter(name[0])
	}
	if strings.HasPrefix(rest, "//") {
		for i := 0; i < len(name); i++ {
			if !isASCIILetter(name[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func isASCIILetter(c byte) bool { u := c &^ 0x20; return 'A' <= u && u <= 'Z' }

// scanName returns the end of the field name that starts at byte i of s,
// or i when none does. A name starts with a letter, '_' or '@' and goes on
// with letters, digits, marks, '_', '.', '-' and '@' (Windows CamelCase,
// snake_case, dotted JSON paths, @timestamp).
func scanName(s string, i int) int {
	start := i
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			ok := asciiToken(c) || c == '_' || c == '@' || (i > start && (c == '.' || c == '-'))
			if !ok || (i == start && '0' <= c && c <= '9') {
				break
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !(unicode.IsLetter(r) || (i > start && (unicode.IsDigit(r) || unicode.IsMark(r)))) {
			break
		}
		i += n
	}
	return i
}

// validName reports whether s is a field name as scanName reads it.
func validName(s string) bool { return s != "" && scanName(s, 0) == len(s) }

// fieldTerm reads name:value; the name ends at byte ne (the ':').
func (l *lexer) fieldTerm(start, ne int) (*term, error) {
	s := l.src
	k := ne + 1
	name := s[start:ne]
	if k < len(s) && s[k] == '(' {
		return nil, errorAt(s, k, "expected a value right after %s (to match one of several values, write (%s:a OR %s:b))", strconvQuote(name+":"), name, name)
	}
	if isDelimAt(s, k) {
		return nil, errorAt(s, k, "expected a value right after %s", strconvQuote(name+":"))
	}
	var (
		p   pattern
		end int
		err error
	)
	switch s[k] {
	case '<', '>':
		return l.compareTerm(start, ne, k)
	case '"':
		p, end, err = l.quoted(k, true)
	default:
		p, end, err = l.bare(k)
	}
	if err != nil {
		return nil, err
	}
	l.pos = end
	t := &term{kind: termValue, field: name, val: p, src: s[start:end], pos: start}
	switch {
	case p.onlyStars():
		t.kind, t.val = termExists, nil
	case !p.hasWild():
		lit := p.literal()
		pf, isPrefix, err := parsePrefix(lit)
		switch {
		case err != nil:
			e := errorAt(s, k, "%s is not a valid network prefix (%v)", strconvQuote(lit), err)
			e.Err = err
			return nil, e
		case isPrefix:
			t.prefix = pf
		default:
			if a, ok := parseAddr(lit); ok {
				t.addr = a
			}
		}
	}
	return t, nil
}

// compareTerm reads a comparison: the name ends at byte ne, the operator
// starts at byte k (ne itself in "bytes_out>1000", ne+1 after a colon).
func (l *lexer) compareTerm(start, ne, k int) (*term, error) {
	s := l.src
	op := opGT
	if s[k] == '<' {
		op = opLT
	}
	k++
	if k < len(s) && s[k] == '=' {
		op++ // opLT → opLE, opGT → opGE
		k++
	}
	end := k
	for !isDelimAt(s, end) {
		_, n := utf8.DecodeRuneInString(s[end:])
		end += n
	}
	text := s[k:end]
	n, ok := parseNumber(text)
	if !ok {
		if text == "" {
			return nil, errorAt(s, k, "expected a number after %s", strconvQuote(s[start:k]))
		}
		return nil, errorAt(s, k, "expected a number after %s, found %s", strconvQuote(s[start:k]), strconvQuote(text))
	}
	l.pos = end
	return &term{kind: termCompare, field: s[start:ne], op: op, num: n, src: s[start:end], pos: start}, nil
}

// bare reads an unquoted word or value from byte i to the next delimiter,
// resolving escapes and noting wildcards.
func (l *lexer) bare(i int) (pattern, int, error) {
	s := l.src
	var b patternBuilder
	for i < len(s) {
		c := s[i]
		if c == '\\' && i+1 < len(s) && isEscapable(s[i+1]) {
			b.addByte(s[i+1])
			i += 2
			continue
		}
		if c < utf8.RuneSelf {
			switch {
			case isSpaceByte(c) || c == '(' || c == ')' || c == '|':
				return b.pattern(), i, nil
			case c == '"':
				return nil, 0, errorAt(s, i, `unexpected " inside a word (escape it as \" or put a space before the quoted phrase)`)
			case c == '*' || c == '?':
				b.addWild(c)
			default:
				b.addByte(c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			break
		}
		b.addLit(s[i : i+n])
		i += n
	}
	return b.pattern(), i, nil
}

// quoted reads the quoted string that starts at byte i (a '"'). In a field
// value (wild) '*' and '?' stay wildcards; in a free-text phrase they are
// ordinary characters.
func (l *lexer) quoted(i int, wild bool) (pattern, int, error) {
	s := l.src
	var b patternBuilder
	for j := i + 1; j < len(s); {
		c := s[j]
		switch {
		case c == '\\' && j+1 < len(s) && isEscapable(s[j+1]):
			b.addByte(s[j+1])
			j += 2
			continue
		case c == '"':
			if !isDelimAt(s, j+1) {
				return nil, 0, errorAt(s, j+1, "expected a space after the string that starts at column %d", column(s, i))
			}
			return b.pattern(), j + 1, nil
		case wild && (c == '*' || c == '?'):
			b.addWild(c)
		default:
			b.addByte(c)
		}
		j++
	}
	return nil, 0, errorAt(s, len(s), `expected a closing " for the string that starts at column %d`, column(s, i))
}

// strconvQuote quotes s for an error message, as %q would but without
// escaping non-ASCII text.
func strconvQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < ' ' || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&15])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
