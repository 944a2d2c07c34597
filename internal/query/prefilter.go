package query

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Prefilter returns token requirements in conjunctive form: a row can
// match only if, for every inner list, the row's tokens (Tokens of every
// value Each yields) contain at least one of the list's tokens. nil means
// no requirement. The index uses it to skip blocks whose token filter
// lacks a required token.
//
// It is conservative: it never excludes a row Match would accept. It only
// asks for tokens that any accepted value must contain:
//
//   - free text: every token of the word or phrase;
//   - field:value: every token of the value; with wildcards, the tokens
//     of its literal parts that are whole (bounded by punctuation or by
//     the start or end of the value on both sides: *\cmd.exe asks for cmd
//     and exe, *evil.com* for nothing, as evil could be part of devil);
//   - an IPv4 address or prefix: each of its whole octets, or "ffff"
//     (the same address written as IPv4-mapped IPv6 has that token
//     instead);
//   - nothing for NOT, comparisons, field:*, IPv6, wildcard words matched
//     against tokens (mimi*), and terms on origin (not among Each's
//     values).
//
// AND concatenates the requirements of its operands; OR distributes
// (a∧b)∨c = (a∨c)∧(b∨c), keeping at most maxClauses lists of at most
// maxClauseLen tokens (dropping a list only weakens the requirement).
func (q *Query) Prefilter() [][]string {
	if q.MatchAll() {
		return nil
	}
	cnf := prefilter(q.root)
	for i, c := range cnf {
		slices.Sort(c)
		cnf[i] = slices.Compact(c)
	}
	slices.SortFunc(cnf, slices.Compare)
	cnf = slices.CompactFunc(cnf, slices.Equal)
	// A list that contains another is implied by it.
	out := cnf[:0]
	for i, c := range cnf {
		implied := false
		for j, d := range cnf {
			if i != j && len(d) < len(c) && subset(d, c) {
				implied = true
				break
			}
		}
		if !implied {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

const (
	maxClauses   = 64
	maxClauseLen = 64
)

// subset reports whether sorted a is contained in sorted b.
func subset(a, b []string) bool {
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j == len(b) || b[j] != x {
			return false
		}
	}
	return true
}

func prefilter(n *node) [][]string {
	if n == nil {
		return nil
	}
	switch n.op {
	case nodeNot:
		return nil
	case nodeAnd:
		var out [][]string
		for _, k := range n.kids {
			out = append(out, prefilter(k)...)
		}
		if len(out) > maxClauses {
			out = out[:maxClauses]
		}
		return out
	case nodeOr:
		out := prefilter(n.kids[0])
		for _, k := range n.kids[1:] {
			if len(out) == 0 {
				return nil
			}
			out = orCNF(out, prefilter(k))
		}
		return out
	}
	return termPrefilter(n.term)
}

// orCNF returns the conjunctive form of a ∨ b.
func orCNF(a, b [][]string) [][]string {
	var out [][]string
	for _, x := range a {
		for _, y := range b {
			if len(out) == maxClauses {
				return out
			}
			if len(x)+len(y) > maxClauseLen {
				continue
			}
			c := make([]string, 0, len(x)+len(y))
			out = append(out, append(append(c, x...), y...))
		}
	}
	return out
}

func termPrefilter(t *term) [][]string {
	switch t.kind {
	case termText:
		return each(tokenList(t.val.literal()))
	case termWild:
		if tokenPattern(t.val) {
			return nil
		}
		return each(boundedTokens(t.val))
	case termValue:
		if strings.EqualFold(t.field, "origin") {
			return nil
		}
		switch {
		case t.val.hasWild():
			return each(boundedTokens(t.val))
		case t.prefix.IsValid():
			return octets(t.prefix.Addr(), t.prefix.Bits()/8)
		case t.addr.IsValid():
			return octets(t.addr, 4)
		}
		return each(tokenList(t.val.literal()))
	}
	return nil
}

// each makes one single-token list per token.
func each(toks []string) [][]string {
	var out [][]string
	for _, t := range toks {
		out = append(out, []string{t})
	}
	return out
}

// octets requires the first n octets of an IPv4 address, each as written
// in dotted decimal or, for an IPv4-mapped IPv6 spelling, "ffff".
func octets(a netip.Addr, n int) [][]string {
	if !a.Is4() {
		return nil
	}
	b := a.As4()
	var out [][]string
	for _, o := range b[:min(n, 4)] {
		out = append(out, []string{strconv.Itoa(int(o)), "ffff"})
	}
	return out
}

// boundedTokens returns the tokens (as Tokens gives them) that every
// value matching the wildcard pattern contains: the tokens of its literal
// pieces that no wildcard touches. A token at the edge of a piece is
// whole only at the start or end of the pattern, anchored to the start or
// end of the value, or when it is a CJK character (always a token alone).
func boundedTokens(p pattern) []string {
	var out []string
	for i, pc := range p {
		if pc.wild != 0 {
			continue
		}
		lit := pc.lit
		for k := 0; k < len(lit); {
			a, b, _ := nextToken(lit, k)
			if a < 0 {
				break
			}
			r, _ := utf8.DecodeRuneInString(lit[a:])
			whole := isCJK(r) || (a > 0 || i == 0) && (b < len(lit) || i == len(p)-1)
			if whole {
				out = append(out, canonToken(lit[a:b]))
			}
			k = b
		}
	}
	return out
}
