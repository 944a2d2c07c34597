package sigma

import "sort"

// The prefilter of an instance is up to maxPreSets sets of (field, literal)
// such that, whenever the instance matches an event, each set has at least
// one literal occurring in its field's (lower-cased) value. A rule whose
// condition is "image AND flag" is evaluated only on events that have both
// some image literal and some flag literal. The sets are derived from the
// condition:
//
//	item (Field: values)  one set: the union of its values' literals; none
//	                      when a value has none (a regex without literal,
//	                      a number comparison, null...) or the item is
//	                      negated; with |all, the values' sets (each needed)
//	AND-group / and       the best sets of all the parts (each part is
//	                      needed)
//	list / or / 1 of      the i-th sets of the parts, united, for each i all
//	                      parts have ((A1 and A2) or (B1 and B2) implies
//	                      (A1 or B1) and (A2 or B2)); none when a part has
//	                      none
//	not                   none
//
// "Best" prefers sets whose weakest literal is strongest, then smaller sets.
// A literal's strength is its length as scanned (a 12-character path
// fragment is rarer than "3"), plus a bonus when it comes from an equality
// (GrantedAccess: '0x1028' is rarer than its 6 characters suggest), minus a
// penalty when it comes from a regular expression (whose literals are often
// the fixed frame every value has, and whose evaluation is the costliest).
// Keyword literals are looked for in every field (kwFID). An instance
// without a prefilter is evaluated on every event of its bucket.

// maxPreSets is the number of literal sets an instance's prefilter keeps.
const maxPreSets = 2

type flit struct {
	fid   int32 // slot, or kwFID: any field (keywords)
	lit   string
	kind  litKind
	exact bool // from an equality: selective even when short (not part of a scanner key)
	weak  bool // from a regular expression (not part of a scanner key)
}

// kwFID stands for "any field value (and the raw record where the
// logsource searches it)" in a prefilter literal.
const kwFID = -1

// preSets is a conjunction of literal sets, best first.
type preSets [][]flit

func prefilter(in *inst) preSets {
	parts := []preSets{necNode(in, in.cond)}
	// The route's own conditions are AND-ed with the rule.
	for i := range in.where {
		parts = append(parts, necItem(&in.where[i]))
	}
	return bestSets(parts)
}

// bestSets keeps the best maxPreSets sets of a conjunction.
func bestSets(parts []preSets) preSets {
	var all preSets
	for _, p := range parts {
		all = append(all, p...)
	}
	sort.SliceStable(all, func(i, j int) bool { return betterSet(all[i], all[j]) })
	if len(all) > maxPreSets {
		all = all[:maxPreSets]
	}
	return all
}

func necNode(in *inst, n *cnode) preSets {
	switch n.op {
	case cSel:
		return necSel(in.sels[n.sel])
	case cAnd:
		parts := make([]preSets, len(n.kids))
		for i, k := range n.kids {
			parts[i] = necNode(in, k)
		}
		return bestSets(parts)
	case cOr, cAtLeast:
		if n.op == cAtLeast && n.n == len(n.kids) {
			return necNode(in, &cnode{op: cAnd, kids: n.kids})
		}
		parts := make([]preSets, len(n.kids))
		for i, k := range n.kids {
			parts[i] = necNode(in, k)
		}
		return unite(parts)
	}
	return nil
}

// unite is the prefilter of an OR of parts. A part with fewer sets than
// another gives its last set again: (A1 and A2) or B implies (A1 or B) and
// (A2 or B), so "Image has \windows\ and CommandLine has \..\ , or
// CommandLine has .exe\..\" keeps its selective second set instead of
// being cut to the first.
func unite(parts []preSets) preSets {
	n := 0
	for _, p := range parts {
		if len(p) == 0 {
			return nil
		}
		n = max(n, len(p))
	}
	n = min(n, maxPreSets)
	if n == 0 {
		return nil
	}
	out := make(preSets, n)
	for i := range out {
		for _, p := range parts {
			out[i] = append(out[i], p[min(i, len(p)-1)]...)
		}
	}
	return out
}

func necSel(s csel) preSets {
	parts := make([]preSets, len(s))
	for i, alt := range s {
		items := make([]preSets, len(alt))
		for j := range alt {
			items[j] = necItem(&alt[j])
		}
		parts[i] = bestSets(items)
	}
	return unite(parts)
}

func necItem(it *citem) preSets {
	if it.negate {
		return nil
	}
	group := func(g []check) []flit {
		var out []flit
		for _, c := range g {
			if len(c.lits) == 0 {
				return nil
			}
			for _, l := range c.lits {
				if l.s == "" {
					return nil
				}
				k := l.kind
				if it.fid == kwFID {
					k = litContains // a keyword may sit anywhere in a value
				}
				out = append(out, flit{it.fid, l.s, k, l.exact && it.fid != kwFID, l.weak})
			}
		}
		return out
	}
	if it.all {
		var parts []preSets
		for _, g := range it.groups {
			if s := group(g); s != nil {
				parts = append(parts, preSets{s})
			}
		}
		return bestSets(parts)
	}
	var out []flit
	for _, g := range it.groups {
		s := group(g)
		if s == nil {
			return nil
		}
		out = append(out, s...)
	}
	if out == nil {
		return nil
	}
	return preSets{out}
}

// betterSet reports whether prefilter set a is better than b.
func betterSet(a, b []flit) bool {
	if len(a) == 0 {
		return false
	}
	if len(b) == 0 {
		return true
	}
	ma, mb := minFlit(a), minFlit(b)
	if ma != mb {
		return ma > mb
	}
	return len(a) < len(b)
}

// minFlit is the strength of a set's weakest literal.
func minFlit(s []flit) int {
	m := -1
	for _, f := range s {
		w := min(len(f.lit), maxScanLen(f.kind))
		if f.exact {
			w += 6
		}
		if f.weak {
			w -= 4
		}
		if m < 0 || w < m {
			m = w
		}
	}
	return m
}
