package sigma

import (
	"fmt"
	"strconv"
	"strings"
)

// The condition language:
//
//	expr    := or
//	or      := and { "or" and }
//	and     := not { "and" not }
//	not     := "not" not | primary
//	primary := "(" expr ")" | quant "of" target | identifier
//	quant   := "1" | "all" | "any" | a positive number
//	target  := "them" | identifier pattern (with * wildcards)
//
// Precedence, loosest first: or, and, not, "x of", parentheses, as the
// specification lists it. Keywords are case-insensitive. "them" covers every
// search identifier not starting with "_". A pattern that matches no
// identifier, an unknown identifier and the Sigma 1.x aggregations
// ("| count() by ...", replaced by correlation rules) are errors naming the
// column.

// MaxConditionLength caps a condition's text.
const MaxConditionLength = 64 << 10

type cop uint8

const (
	cSel cop = iota // a search identifier
	cAnd
	cOr
	cNot
	cAtLeast // at least n of kids
)

// cnode is a node of a parsed condition. It only refers to selections by
// index, so one tree serves every compiled instance of a rule.
type cnode struct {
	op   cop
	sel  int // cSel: index into detection.sels
	n    int // cAtLeast
	kids []*cnode
}

// condError is a condition syntax error at a 1-based column.
type condError struct {
	col int
	msg string
}

func (e *condError) Error() string { return fmt.Sprintf("condition column %d: %s", e.col, e.msg) }

type ctokKind uint8

const (
	tkEOF ctokKind = iota
	tkIdent
	tkLParen
	tkRParen
	tkPipe
)

type ctok struct {
	kind ctokKind
	text string
	col  int // 1-based
}

// tokenizeCondition splits a condition into identifiers (which include the
// keywords and numbers), parentheses and "|".
func tokenizeCondition(s string) []ctok {
	var out []ctok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			out = append(out, ctok{tkLParen, "(", i + 1})
			i++
		case c == ')':
			out = append(out, ctok{tkRParen, ")", i + 1})
			i++
		case c == '|':
			out = append(out, ctok{tkPipe, "|", i + 1})
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()|", rune(s[j])) {
				j++
			}
			out = append(out, ctok{tkIdent, s[i:j], i + 1})
			i = j
		}
	}
	return append(out, ctok{tkEOF, "", len(s) + 1})
}

type condParser struct {
	toks  []ctok
	pos   int
	names []string // search identifiers, in detection order
	depth int
}

// parseCondition parses one condition string against the search identifiers
// names.
func parseCondition(s string, names []string) (*cnode, error) {
	if len(s) > MaxConditionLength {
		return nil, fmt.Errorf("condition longer than %d bytes", MaxConditionLength)
	}
	p := &condParser{toks: tokenizeCondition(s), names: names}
	if p.peek().kind == tkEOF {
		return nil, &condError{1, "empty condition"}
	}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tkEOF {
		if t.kind == tkPipe {
			return nil, &condError{t.col, "Sigma 1.x aggregations (| count() ...) are not supported: use a correlation rule"}
		}
		return nil, &condError{t.col, fmt.Sprintf("unexpected %q", t.text)}
	}
	return n, nil
}

func (p *condParser) peek() ctok { return p.toks[p.pos] }
func (p *condParser) next() ctok {
	t := p.toks[p.pos]
	if t.kind != tkEOF {
		p.pos++
	}
	return t
}

func isKeyword(t ctok, kw string) bool { return t.kind == tkIdent && strings.EqualFold(t.text, kw) }

func (p *condParser) or() (*cnode, error) {
	n, err := p.and()
	if err != nil {
		return nil, err
	}
	for isKeyword(p.peek(), "or") {
		p.next()
		m, err := p.and()
		if err != nil {
			return nil, err
		}
		n = join(cOr, n, m)
	}
	return n, nil
}

func (p *condParser) and() (*cnode, error) {
	n, err := p.not()
	if err != nil {
		return nil, err
	}
	for isKeyword(p.peek(), "and") {
		p.next()
		m, err := p.not()
		if err != nil {
			return nil, err
		}
		n = join(cAnd, n, m)
	}
	return n, nil
}

// join builds a flat n-ary and/or node.
func join(op cop, a, b *cnode) *cnode {
	if a.op == op {
		a.kids = append(a.kids, b)
		return a
	}
	return &cnode{op: op, kids: []*cnode{a, b}}
}

func (p *condParser) not() (*cnode, error) {
	if isKeyword(p.peek(), "not") {
		p.next()
		p.depth++
		if p.depth > MaxDepth {
			return nil, &condError{p.peek().col, "condition nested too deeply"}
		}
		n, err := p.not()
		p.depth--
		if err != nil {
			return nil, err
		}
		return &cnode{op: cNot, kids: []*cnode{n}}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (*cnode, error) {
	t := p.next()
	switch t.kind {
	case tkEOF:
		return nil, &condError{t.col, "unexpected end of condition"}
	case tkRParen:
		return nil, &condError{t.col, `unexpected ")"`}
	case tkPipe:
		return nil, &condError{t.col, "Sigma 1.x aggregations (| count() ...) are not supported: use a correlation rule"}
	case tkLParen:
		p.depth++
		if p.depth > MaxDepth {
			return nil, &condError{t.col, "condition nested too deeply"}
		}
		n, err := p.or()
		p.depth--
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tkRParen {
			return nil, &condError{c.col, fmt.Sprintf(`expected ")" to close the "(" at column %d`, t.col)}
		}
		return n, nil
	}
	for _, kw := range []string{"and", "or", "them", "of"} {
		if isKeyword(t, kw) {
			return nil, &condError{t.col, fmt.Sprintf("unexpected %q", t.text)}
		}
	}
	if isKeyword(p.peek(), "of") {
		return p.quantified(t)
	}
	for i, name := range p.names {
		if name == t.text {
			return &cnode{op: cSel, sel: i}, nil
		}
	}
	return nil, &condError{t.col, fmt.Sprintf("unknown search identifier %q", t.text)}
}

// quantified parses "quant of target" once quant (t) has been read.
func (p *condParser) quantified(t ctok) (*cnode, error) {
	n := 0
	all := false
	switch {
	case isKeyword(t, "all"):
		all = true
	case isKeyword(t, "any"):
		n = 1
	default:
		v, err := strconv.Atoi(t.text)
		if err != nil || v < 1 {
			return nil, &condError{t.col, fmt.Sprintf("%q before \"of\" must be 1, all or a positive number", t.text)}
		}
		n = v
	}
	p.next() // of
	target := p.next()
	if target.kind != tkIdent {
		return nil, &condError{target.col, `expected "them" or an identifier pattern after "of"`}
	}
	var kids []*cnode
	them := isKeyword(target, "them")
	for i, name := range p.names {
		if them && strings.HasPrefix(name, "_") {
			continue
		}
		if them || matchIdentPattern(target.text, name) {
			kids = append(kids, &cnode{op: cSel, sel: i})
		}
	}
	if len(kids) == 0 {
		return nil, &condError{target.col, fmt.Sprintf("%q matches no search identifier", target.text)}
	}
	switch {
	case all:
		n = len(kids)
	case n > len(kids):
		return nil, &condError{t.col, fmt.Sprintf("%d of %q: only %d identifiers match", n, target.text, len(kids))}
	}
	if len(kids) == 1 {
		return kids[0], nil
	}
	switch n {
	case 1:
		return &cnode{op: cOr, kids: kids}, nil
	case len(kids):
		return &cnode{op: cAnd, kids: kids}, nil
	}
	return &cnode{op: cAtLeast, n: n, kids: kids}, nil
}

// matchIdentPattern matches an identifier against a pattern whose only
// special character is * (any run of characters).
func matchIdentPattern(pat, name string) bool {
	ps := parseSigmaString(strings.ReplaceAll(strings.ReplaceAll(pat, `\`, `\\`), "?", `\?`), false)
	return globMatch(ps, name)
}

// String renders a condition tree (for tests and messages).
func (n *cnode) String(names []string) string {
	switch n.op {
	case cSel:
		return names[n.sel]
	case cNot:
		return "not " + n.kids[0].String(names)
	}
	parts := make([]string, len(n.kids))
	for i, k := range n.kids {
		parts[i] = k.String(names)
	}
	switch n.op {
	case cAnd:
		return "(" + strings.Join(parts, " and ") + ")"
	case cOr:
		return "(" + strings.Join(parts, " or ") + ")"
	}
	return fmt.Sprintf("%d of (%s)", n.n, strings.Join(parts, ", "))
}
