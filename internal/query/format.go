package query

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// String returns the query in canonical form: AND written as a space, NOT
// as '-', OR and parentheses only where needed, each term in its shortest
// spelling (values unquoted when they can be, escapes only where needed;
// a term is kept as the user wrote it when that is shorter still), and
// the pipe command after " | ". Parse(q.String()) gives a query with the
// same String.
//
// The canonical form is never longer than a query that gives it, with one
// exception handled here: the spaces it puts around parentheses and '|'
// may be missing in the input. When the spaced form would pass MaxLength,
// String drops them, so that the canonical form of any valid query is
// itself valid.
func (q *Query) String() string {
	s := q.render(false)
	if len(s) > MaxLength {
		s = q.render(true)
	}
	return s
}

func (q *Query) render(compact bool) string {
	r := renderer{compact: compact}
	if q.root != nil {
		r.node(q.root)
	}
	for _, p := range q.pipes {
		if r.b.Len() > 0 && !compact {
			r.b.WriteByte(' ')
			r.lone = false
		}
		r.punct('|')
		if !compact {
			r.b.WriteByte(' ')
		}
		r.b.WriteString(p.name())
		switch p.kind {
		case pipeStats:
			r.b.WriteString(" count")
			for i, f := range p.by {
				if i == 0 {
					r.b.WriteString(" by ")
				} else {
					r.b.WriteByte(',')
				}
				r.b.WriteString(f)
			}
		case pipeTimeline:
			if p.spanText != "" {
				r.b.WriteString(" span=")
				r.b.WriteString(p.spanText)
			}
		}
	}
	return r.b.String()
}

type renderer struct {
	b       strings.Builder
	compact bool
	// lone says the last term written ends with a backslash that stands
	// for itself: a ')' or '|' right after it would be escaped by it.
	lone bool
}

// punct writes ')' or '|', with a space before it after a lone backslash.
func (r *renderer) punct(c byte) {
	if r.lone {
		r.b.WriteByte(' ')
	}
	r.b.WriteByte(c)
	r.lone = false
}

// sep writes the space between two operands, unless compact and a
// parenthesis is next to it.
func (r *renderer) sep(next *node) {
	if r.compact && !r.lone && (strings.HasSuffix(r.b.String(), ")") || needsParens(next, nodeAnd)) {
		return
	}
	r.b.WriteByte(' ')
	r.lone = false
}

func (r *renderer) node(n *node) {
	switch n.op {
	case nodeTerm:
		s := termString(n.term)
		r.b.WriteString(s)
		r.lone = loneBackslash(s)
	case nodeNot:
		r.b.WriteByte('-')
		r.operand(n.kids[0], nodeNot)
	case nodeAnd:
		for i, k := range n.kids {
			if i > 0 {
				r.sep(k)
			}
			r.operand(k, nodeAnd)
		}
	case nodeOr:
		for i, k := range n.kids {
			if i > 0 {
				if !r.compact || !strings.HasSuffix(r.b.String(), ")") {
					r.b.WriteByte(' ')
				}
				r.b.WriteString("OR ")
				r.lone = false
			}
			r.operand(k, nodeOr)
		}
	}
}

// needsParens reports whether n, as an operand of parent, must be put in
// parentheses: an OR under an AND, an AND or OR under a NOT.
func needsParens(n *node, parent nodeOp) bool {
	switch parent {
	case nodeAnd:
		return n.op == nodeOr
	case nodeNot:
		return n.op == nodeAnd || n.op == nodeOr
	}
	return false
}

func (r *renderer) operand(n *node, parent nodeOp) {
	if !needsParens(n, parent) {
		r.node(n)
		return
	}
	r.b.WriteByte('(')
	r.lone = false
	r.node(n)
	r.punct(')')
}

// loneBackslash reports whether a term as written ends with a backslash
// that is not escaped (an odd run of them).
func loneBackslash(s string) bool {
	n := 0
	for n < len(s) && s[len(s)-1-n] == '\\' {
		n++
	}
	return n%2 == 1
}

// termString returns the shortest of the term's normalized spellings and
// the way it was written.
func termString(t *term) string {
	best := t.src
	try := func(s string, ok bool) {
		if ok && len(s) <= len(best) {
			best = s
		}
	}
	switch t.kind {
	case termAll:
		try("*", true)
	case termText:
		try(quoted(t.val, false))
		try(bare(t.val, true, ""))
	case termWild:
		try(bare(t.val, true, ""))
	case termExists:
		try(t.field+":*", true)
	case termValue:
		if s, ok := quoted(t.val, true); ok {
			try(t.field+":"+s, true)
		}
		if s, ok := bare(t.val, false, t.field); ok {
			try(t.field+":"+s, true)
		}
	case termCompare:
		try(t.field+":"+t.op.String()+t.num.text, true)
	}
	return best
}

// quoted spells a value in double quotes. In a field value (wild) '*'
// and '?' are wildcards and literal ones are escaped; in a phrase they are
// ordinary characters.
func quoted(p pattern, wild bool) (string, bool) {
	var b strings.Builder
	b.WriteByte('"')
	for i, pc := range p {
		if pc.wild != 0 {
			if !wild {
				return "", false
			}
			b.WriteByte(pc.wild)
			continue
		}
		for j := 0; j < len(pc.lit); j++ {
			c := pc.lit[j]
			switch {
			case c == '"' || (wild && (c == '*' || c == '?')):
				b.WriteByte('\\')
			case c == '\\' && backslashEscaped(p, i, j, true):
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String(), true
}

// backslashEscaped reports whether the literal backslash at byte j of
// piece i must be written "\\": when what follows it would otherwise be
// read as escaped (an escapable character, a wildcard, or the closing
// quote of a quoted string).
func backslashEscaped(p pattern, i, j int, inQuotes bool) bool {
	if j+1 < len(p[i].lit) {
		return isEscapable(p[i].lit[j+1])
	}
	if i+1 < len(p) {
		return true // a literal piece is always followed by a wildcard
	}
	return inQuotes
}

// bare spells a value without quotes, if it can be: free text (free) or
// the value of field. It cannot hold white space, be empty, be a keyword
// (free text), or start the way a pasted URL or path does after field.
func bare(p pattern, free bool, field string) (string, bool) {
	if len(p) == 0 {
		return "", false
	}
	if free && len(p) == 1 && (p[0].lit == "AND" || p[0].lit == "OR" || p[0].lit == "NOT") {
		return "", false
	}
	var b strings.Builder
	for i, pc := range p {
		if pc.wild != 0 {
			b.WriteByte(pc.wild)
			continue
		}
		for j := 0; j < len(pc.lit); {
			c := pc.lit[j]
			if c >= utf8.RuneSelf {
				r, n := utf8.DecodeRuneInString(pc.lit[j:])
				if unicode.IsSpace(r) {
					return "", false
				}
				b.WriteString(pc.lit[j : j+n])
				j += n
				continue
			}
			first := i == 0 && j == 0
			switch {
			case isSpaceByte(c):
				return "", false
			case c == '"' || c == '(' || c == ')' || c == '|' || c == '*' || c == '?':
				b.WriteByte('\\')
			case c == '\\' && backslashEscaped(p, i, j, false):
				b.WriteByte('\\')
			case first && free && c == '-':
				b.WriteByte('\\')
			case first && !free && (c == '<' || c == '>'):
				b.WriteByte('\\')
			}
			b.WriteByte(c)
			j++
		}
	}
	s := b.String()
	if free {
		// A name followed by ':', '<' or '>' would be read as a field
		// term: escape that character.
		if ne := scanName(s, 0); ne > 0 && ne < len(s) && (s[ne] == ':' || s[ne] == '<' || s[ne] == '>') {
			s = s[:ne] + `\` + s[ne:]
		}
	} else if pastedText(field, s) {
		return "", false
	}
	return s, true
}
