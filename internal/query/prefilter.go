package query

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Prefilter returns token requirements in conjunctive form: a row can
// match only if, for every inner list, the row's tokens contain at least
// one of the list's entries. nil means no requirement. The index uses it
// to skip blocks whose token filter lacks a required entry.
//
// An entry is a token (of Tokens) or a pair of tokens, Pair(a, b): the
// row has it when some value Each yields has token a immediately followed
// by token b (Pairs gives a value's pairs). A single token is in almost
// every block when it is a number or a common word (198, 51, 100 and 237
// all are); the pairs of 198.51.100.237 are not, which is what lets an IP
// address, a host name or a phrase skip blocks. An index that did not
// record pairs must treat a list holding one as no requirement (IsPair
// tells them apart; a token never contains the byte 0).
//
// It is conservative: it never excludes a row Match would accept. It only
// asks for tokens and pairs that any accepted value must contain:
//
//   - free text: every token of the word or phrase, and every pair of
//     consecutive tokens (the phrase's tokens follow each other in the
//     value);
//   - field:value: every token of the value and its pairs; with
//     wildcards, the tokens of its literal parts that are whole (bounded
//     by punctuation or by the start or end of the value on both sides:
//     *\cmd.exe asks for cmd and exe, *evil.com* for nothing, as evil
//     could be part of devil), and the pairs of whole tokens next to each
//     other inside one literal part (cmd then exe);
//   - an IPv4 address: each of its octets and each pair of consecutive
//     octets, or "ffff" (the same address written as IPv4-mapped IPv6 has
//     that token instead, maybe with the low 32 bits in hex);
//   - an IPv4 prefix: each of its whole octets, or "ffff" (no pairs: a
//     value in the prefix is read as an address, in any of its
//     spellings, and none is worth the risk for a range search);
//   - nothing for NOT, comparisons, field:*, IPv6, wildcard words matched
//     against tokens (mimi*), and terms on origin (not among Each's
//     values).
//
// AND concatenates the requirements of its operands; OR distributes
// (a∧b)∨c = (a∨c)∧(b∨c), keeping at most maxClauses lists of at most
// maxClauseLen entries (dropping a list only weakens the requirement).
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
		return runs(tokenList(t.val.literal()))
	case termWild:
		if tokenPattern(t.val) {
			return nil
		}
		return runs(boundedTokens(t.val)...)
	case termValue:
		if strings.EqualFold(t.field, "origin") {
			return nil
		}
		switch {
		case t.val.hasWild():
			return runs(boundedTokens(t.val)...)
		case t.prefix.IsValid():
			return octets(t.prefix.Addr(), t.prefix.Bits()/8, false)
		case t.addr.IsValid():
			return octets(t.addr, 4, true)
		}
		return runs(tokenList(t.val.literal()))
	}
	return nil
}

// runs requires every token of each run, and every pair of consecutive
// tokens of a run: a run is tokens that follow each other in any value
// that matches.
func runs(rs ...[]string) [][]string {
	var out [][]string
	for _, r := range rs {
		for i, t := range r {
			out = append(out, []string{t})
			if i > 0 {
				out = append(out, []string{Pair(r[i-1], t)})
			}
		}
	}
	return out
}

// octets requires the first n octets of an IPv4 address, each as written
// in dotted decimal or, for an IPv4-mapped IPv6 spelling, "ffff"; with
// pairs, also each pair of consecutive octets among them, or "ffff" (the
// mapped address may be written in hex, ::ffff:a01:203, with neither
// octets nor their pairs).
func octets(a netip.Addr, n int, pairs bool) [][]string {
	if !a.Is4() {
		return nil
	}
	b := a.As4()
	var out [][]string
	for i, o := range b[:min(n, 4)] {
		out = append(out, []string{strconv.Itoa(int(o)), "ffff"})
		if pairs && i > 0 {
			out = append(out, []string{Pair(strconv.Itoa(int(b[i-1])), strconv.Itoa(int(o))), "ffff"})
		}
	}
	return out
}

// boundedTokens returns the tokens (as Tokens gives them) that every
// value matching the wildcard pattern contains, in runs: the tokens of its
// literal pieces that no wildcard touches, one run per piece. A token at
// the edge of a piece is whole only at the start or end of the pattern,
// anchored to the start or end of the value, or when it is a CJK character
// (always a token alone); a token inside a piece is always whole. The
// whole tokens of a piece are then consecutive tokens of the piece, with
// only separators between them, and so consecutive tokens of any value
// the pattern matches: a run.
func boundedTokens(p pattern) [][]string {
	var out [][]string
	for i, pc := range p {
		if pc.wild != 0 {
			continue
		}
		lit := pc.lit
		var run []string
		for k := 0; k < len(lit); {
			a, b, _ := nextToken(lit, k)
			if a < 0 {
				break
			}
			r, _ := utf8.DecodeRuneInString(lit[a:])
			whole := isCJK(r) || (a > 0 || i == 0) && (b < len(lit) || i == len(p)-1)
			if whole {
				run = append(run, canonToken(lit[a:b]))
			} else if len(run) > 0 {
				// Only the last token of a piece can be cut after whole
				// ones; end the run there all the same.
				out = append(out, run)
				run = nil
			}
			k = b
		}
		if len(run) > 0 {
			out = append(out, run)
		}
	}
	return out
}
