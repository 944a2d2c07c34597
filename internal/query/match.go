package query

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The filter is compiled once into a tree of matchers: literals have their
// ASCII letters lower-cased, numbers, addresses and prefixes are parsed,
// wildcard patterns are cut into segments, constant parts are folded
// away, and the children of AND and OR are ordered cheapest first. A
// matcher then reads the row without allocating (on an EventRow).

// matcher is a compiled filter node.
type matcher interface {
	match(t target) bool
}

// pred is a test on one attribute value.
type pred interface {
	test(v string) bool
}

type constMatcher bool

func (m constMatcher) match(target) bool { return bool(m) }

type andMatcher []matcher

func (m andMatcher) match(t target) bool {
	for _, k := range m {
		if !k.match(t) {
			return false
		}
	}
	return true
}

type orMatcher []matcher

func (m orMatcher) match(t target) bool {
	for _, k := range m {
		if k.match(t) {
			return true
		}
	}
	return false
}

type notMatcher struct{ m matcher }

func (m notMatcher) match(t target) bool { return !m.m.match(t) }

// fieldMatcher tests one named attribute.
type fieldMatcher struct {
	ref fieldRef
	p   pred
}

func (m *fieldMatcher) match(t target) bool {
	if v, ok := t.get(&m.ref); ok {
		return m.p.test(v)
	}
	return t.anyFold(&m.ref, m.p)
}

// anyMatcher tests every value of the row (free text).
type anyMatcher struct{ p pred }

func (m *anyMatcher) match(t target) bool { return t.anyValue(m.p) }

// compile compiles a filter; nil (the empty filter) matches everything.
func compile(n *node) matcher {
	if n == nil {
		return constMatcher(true)
	}
	switch n.op {
	case nodeNot:
		k := compile(n.kids[0])
		if c, ok := k.(constMatcher); ok {
			return !c
		}
		return notMatcher{k}
	case nodeAnd, nodeOr:
		and := n.op == nodeAnd
		var kids []matcher
		for _, kn := range n.kids {
			k := compile(kn)
			if c, ok := k.(constMatcher); ok {
				if bool(c) != and {
					return c // false in an AND, true in an OR
				}
				continue // true in an AND, false in an OR
			}
			kids = append(kids, k)
		}
		switch len(kids) {
		case 0:
			return constMatcher(and)
		case 1:
			return kids[0]
		}
		// Cheapest first: one field read before a scan of every value.
		slices.SortStableFunc(kids, func(a, b matcher) int { return cmp.Compare(cost(a), cost(b)) })
		if and {
			return andMatcher(kids)
		}
		return orMatcher(kids)
	}
	return compileTerm(n.term)
}

// cost estimates the work of a matcher, to order the children of AND and
// OR: reading one field is cheap, scanning every value is not.
func cost(m matcher) int {
	switch m := m.(type) {
	case *fieldMatcher:
		if _, ok := m.p.(*globPred); ok {
			return 2
		}
		return 1
	case *anyMatcher:
		return 20
	case notMatcher:
		return cost(m.m)
	case andMatcher:
		return sumCost(m)
	case orMatcher:
		return sumCost(m)
	}
	return 1
}

func sumCost(ms []matcher) int {
	c := 0
	for _, m := range ms {
		c += cost(m)
	}
	return c
}

func compileTerm(t *term) matcher {
	switch t.kind {
	case termAll:
		return constMatcher(true)
	case termText:
		return &anyMatcher{textPred(t.val.literal())}
	case termWild:
		g := compileGlob(t.val)
		if tokenPattern(t.val) {
			lo, up, hint := g.tokenHint()
			return &anyMatcher{&tokenGlobPred{g: g, lo: lo, up: up, hint: hint}}
		}
		return &anyMatcher{&globPred{g}}
	case termExists:
		return &fieldMatcher{newFieldRef(t.field), existsPred{}}
	case termCompare:
		return &fieldMatcher{newFieldRef(t.field), &cmpPred{op: t.op, num: t.num}}
	}
	// termValue
	var p pred
	switch {
	case t.val.hasWild():
		p = &globPred{compileGlob(t.val)}
	case t.prefix.IsValid():
		p = &prefixPred{t.prefix}
	case t.addr.IsValid():
		p = &addrPred{lit: t.val.literal(), addr: t.addr}
	default:
		p = &eqPred{t.val.literal()}
	}
	return &fieldMatcher{newFieldRef(t.field), p}
}

// tokenPattern reports whether every literal character of a wildcard word
// is a token character (and not CJK, whose characters are tokens of one):
// such a word is matched against each token (mimi*), any other against
// each whole value (*evil.com*).
func tokenPattern(p pattern) bool {
	for _, pc := range p {
		for _, r := range pc.lit {
			if !isTokenRune(r) || isCJK(r) {
				return false
			}
		}
	}
	return true
}

// textPred matches free text without wildcards: the tokens of the text,
// in sequence, among the tokens of a value; or, for text without any
// token character ("->"), the text itself anywhere in a value.
func textPred(lit string) pred {
	toks := tokenSpans(lit)
	if len(toks) == 0 {
		lit = lowerASCIIString(lit)
		return &containsPred{lit, rareAnchor(lit)}
	}
	return newPhrasePred(toks)
}

type existsPred struct{}

func (existsPred) test(v string) bool { return v != "" }

type eqPred struct{ lit string }

func (p *eqPred) test(v string) bool { return strings.EqualFold(v, p.lit) }

// addrPred is equality with an IP address: the same text ignoring case,
// or a value that reads as the same address (other IPv6 spelling,
// IPv4-mapped IPv6).
type addrPred struct {
	lit  string
	addr netip.Addr
}

func (p *addrPred) test(v string) bool {
	if strings.EqualFold(v, p.lit) {
		return true
	}
	a, ok := parseAddr(v)
	return ok && a == p.addr
}

type prefixPred struct{ prefix netip.Prefix }

func (p *prefixPred) test(v string) bool {
	a, ok := parseAddr(v)
	return ok && p.prefix.Contains(a)
}

type cmpPred struct {
	op  cmpOp
	num number
}

func (p *cmpPred) test(v string) bool {
	n, ok := parseNumber(v)
	return ok && compare(n, p.op, p.num)
}

type globPred struct{ g *glob }

func (p *globPred) test(v string) bool { return p.g.match(v) }

type containsPred struct {
	lit    string
	anchor anchor
}

func (p *containsPred) test(v string) bool {
	_, _, ok := indexFold(v, p.lit, p.anchor, 0)
	return ok
}

// phrasePred finds a sequence of tokens (one for a plain word) among the
// tokens of a value, each equal ignoring case. When the first token has an
// anchor (an ASCII byte at a fixed offset, the rarest one), candidates are
// found with a byte search for it and compared with the whole token before
// token boundaries are looked at, rather than cutting every value into
// tokens.
type phrasePred struct {
	toks   []string
	anchor anchor // of the first token
	minLen int    // the fewest bytes a value holding the phrase can have
}

func newPhrasePred(toks []string) *phrasePred {
	p := &phrasePred{toks: toks}
	p.anchor = rareAnchor(toks[0])
	for i, t := range toks {
		p.minLen += minFoldLen(t)
		if i > 0 {
			p.minLen++ // a separator
		}
	}
	return p
}

// minFoldLen returns the fewest bytes a string equal to s ignoring case
// can have (the Kelvin sign is 3 bytes, k one).
func minFoldLen(s string) int {
	n := 0
	for _, r := range s {
		m := utf8.RuneLen(r)
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, utf8.RuneLen(f))
		}
		n += m
	}
	return n
}

func (p *phrasePred) test(s string) bool {
	if len(s) < p.minLen {
		return false
	}
	first := p.toks[0]
	if a := p.anchor; a.ok {
		f := newByteFinder(s, a.lo, a.up)
		for j := f.next(a.off); j >= 0; j = f.next(j + 1) {
			i := j - a.off
			n, ok := hasPrefixFold(s[i:], first)
			if !ok || tokenEnd(s, i) != i+n || tokenBefore(s, i) {
				continue
			}
			if p.rest(s, i+n) {
				return true
			}
		}
		return false
	}
	for i := 0; i < len(s); {
		a, b, _ := nextToken(s, i)
		if a < 0 {
			return false
		}
		if strings.EqualFold(s[a:b], first) && p.rest(s, b) {
			return true
		}
		i = b
	}
	return false
}

// rest reports whether the tokens after the first follow from byte i.
func (p *phrasePred) rest(s string, i int) bool {
	for _, tok := range p.toks[1:] {
		a, b, _ := nextToken(s, i)
		if a < 0 || !strings.EqualFold(s[a:b], tok) {
			return false
		}
		i = b
	}
	return true
}

// tokenGlobPred matches a wildcard pattern against each token of a value.
type tokenGlobPred struct {
	g      *glob
	lo, up byte
	hint   bool
}

func (p *tokenGlobPred) test(s string) bool {
	if p.hint {
		f := newByteFinder(s, p.lo, p.up)
		for i := f.next(0); i >= 0; {
			j := tokenEnd(s, i)
			if !tokenBefore(s, i) && p.g.match(s[i:j]) {
				return true
			}
			i = f.next(j)
		}
		return false
	}
	for i := 0; i < len(s); {
		a, b, _ := nextToken(s, i)
		if a < 0 {
			return false
		}
		if p.g.match(s[a:b]) {
			return true
		}
		i = b
	}
	return false
}
