package query

import "fmt"

// The parser is a recursive descent over the grammar of doc.go:
//
//	filter  = [ or ]
//	or      = and { "OR" and }
//	and     = unary { [ "AND" ] unary }
//	unary   = ( "NOT" | "-" ) unary | primary
//	primary = "(" or ")" | term
//
// Only parentheses and NOT recurse, and both count against MaxDepth, so a
// query cannot exhaust the stack however it is written.

type nodeOp uint8

const (
	nodeTerm nodeOp = iota
	nodeAnd
	nodeOr
	nodeNot
)

// node is the filter as parsed. AND and OR are n-ary and flattened: an
// AND directly under an AND (from parentheses) is merged into it, which
// changes nothing to what matches and gives one canonical form.
type node struct {
	op   nodeOp
	kids []*node
	term *term
}

type parser struct {
	src   string
	lx    lexer
	tok   token
	depth int
	terms int
}

func (p *parser) advance() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func startsTerm(k tokKind) bool {
	return k == tokTerm || k == tokLParen || k == tokNot || k == tokMinus
}

// expectTerm fails unless the current token can start a term; after names
// what came before, for the message.
func (p *parser) expectTerm(after string) error {
	if startsTerm(p.tok.kind) {
		return nil
	}
	if after == "" {
		return errorAt(p.src, p.tok.pos, "expected a search term, found %s", p.tok.describe())
	}
	return errorAt(p.src, p.tok.pos, "expected a search term after %s, found %s", after, p.tok.describe())
}

// enter counts one more level of nesting at byte pos.
func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > MaxDepth {
		e := errorAt(p.src, pos, "nested deeper than %d levels of parentheses and NOT", MaxDepth)
		e.Err = ErrLimit
		return e
	}
	return nil
}

// parseFilter parses the filter and stops at the end of the query or at
// the first '|'. It returns nil for an empty filter.
func (p *parser) parseFilter() (*node, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF || p.tok.kind == tokPipe {
		return nil, nil
	}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	switch p.tok.kind {
	case tokEOF, tokPipe:
		return n, nil
	case tokRParen:
		return nil, errorAt(p.src, p.tok.pos, `unexpected ")" without a matching "("`)
	}
	// or() stops only at one of the tokens above; anything else is a bug.
	return nil, errorAt(p.src, p.tok.pos, "unexpected %s", p.tok.describe())
}

func (p *parser) or() (*node, error) {
	first, err := p.and()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokOr {
		return first, nil
	}
	kids := []*node{first}
	for p.tok.kind == tokOr {
		if err := p.advance(); err != nil {
			return nil, err
		}
		if err := p.expectTerm("OR"); err != nil {
			return nil, err
		}
		n, err := p.and()
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	return join(nodeOr, kids), nil
}

func (p *parser) and() (*node, error) {
	first, err := p.unary()
	if err != nil {
		return nil, err
	}
	kids := []*node{first}
	for {
		if p.tok.kind == tokAnd {
			if err := p.advance(); err != nil {
				return nil, err
			}
			if err := p.expectTerm("AND"); err != nil {
				return nil, err
			}
		} else if !startsTerm(p.tok.kind) {
			break
		}
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return join(nodeAnd, kids), nil
}

func (p *parser) unary() (*node, error) {
	if p.tok.kind != tokNot && p.tok.kind != tokMinus {
		return p.primary()
	}
	op := p.tok
	if err := p.enter(op.pos); err != nil {
		return nil, err
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.expectTerm(op.describe()); err != nil {
		return nil, err
	}
	kid, err := p.unary()
	if err != nil {
		return nil, err
	}
	p.depth--
	return &node{op: nodeNot, kids: []*node{kid}}, nil
}

func (p *parser) primary() (*node, error) {
	switch p.tok.kind {
	case tokLParen:
		open := p.tok.pos
		if err := p.enter(open); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		if err := p.expectTerm(`"("`); err != nil {
			return nil, err
		}
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, errorAt(p.src, p.tok.pos, `expected ")" to close "(" at column %d`, column(p.src, open))
		}
		p.depth--
		if err := p.advance(); err != nil {
			return nil, err
		}
		return n, nil
	case tokTerm:
		p.terms++
		if p.terms > MaxTerms {
			e := errorAt(p.src, p.tok.pos, "more than %d search terms", MaxTerms)
			e.Err = ErrLimit
			return nil, e
		}
		n := &node{op: nodeTerm, term: p.tok.term}
		if err := p.advance(); err != nil {
			return nil, err
		}
		return n, nil
	}
	return nil, p.expectTerm("")
}

// join builds an AND or OR node, merging kids of the same operator.
func join(op nodeOp, kids []*node) *node {
	n := &node{op: op}
	for _, k := range kids {
		if k.op == op {
			n.kids = append(n.kids, k.kids...)
		} else {
			n.kids = append(n.kids, k)
		}
	}
	return n
}

// Parse parses a query: a filter, optionally followed by a pipe command
// (see the package documentation for the language). The error is a
// *SyntaxError that says where and what was expected.
func Parse(s string) (*Query, error) {
	if len(s) > MaxLength {
		return nil, &SyntaxError{
			Msg: fmt.Sprintf("the query is %d bytes long; the limit is %d", len(s), MaxLength),
			Err: ErrLimit,
		}
	}
	p := &parser{src: s, lx: lexer{src: s}}
	root, err := p.parseFilter()
	if err != nil {
		return nil, err
	}
	var pipes []*pipe
	if p.tok.kind == tokPipe {
		if pipes, err = parsePipes(s, p.tok.pos); err != nil {
			return nil, err
		}
	}
	return newQuery(root, pipes), nil
}
