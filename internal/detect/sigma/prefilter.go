package sigma

// The prefilter of an instance is a set of (field, literal): whenever the
// instance matches an event, at least one of the literals occurs in the
// lower-cased value of its field. It is derived from the condition:
//
//	item (Field: values)  the union of its values' literals; none when one
//	                      value has none (a regex without literal, a
//	                      number comparison, null...) or the item is negated
//	AND-group / and       the best set among the parts (any part is needed)
//	list / or / 1 of      the union of the parts' sets; none when one has none
//	not                   none
//
// "Best" prefers sets whose weakest literal is strongest, then smaller sets.
// A literal's strength is its length as scanned (a 12-character path
// fragment is rarer than "3"), plus a bonus when it comes from an equality
// (GrantedAccess: '0x1028' is rarer than its 6 characters suggest), minus a
// penalty when it comes from a regular expression (whose literals are often
// the fixed frame every value has, and whose evaluation is the costliest). Keyword literals are
// looked for in every field (kwFID). An instance without a prefilter is
// evaluated on every event of its bucket.

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

func prefilter(in *inst) []flit {
	best := necNode(in, in.cond)
	// The route's own conditions are AND-ed with the rule.
	for i := range in.where {
		if s := necItem(&in.where[i]); betterSet(s, best) {
			best = s
		}
	}
	return best
}

func necNode(in *inst, n *cnode) []flit {
	switch n.op {
	case cSel:
		return necSel(in.sels[n.sel])
	case cAnd:
		var best []flit
		for _, k := range n.kids {
			if s := necNode(in, k); betterSet(s, best) {
				best = s
			}
		}
		return best
	case cOr, cAtLeast:
		if n.op == cAtLeast && n.n == len(n.kids) {
			return necNode(in, &cnode{op: cAnd, kids: n.kids})
		}
		var out []flit
		for _, k := range n.kids {
			s := necNode(in, k)
			if s == nil {
				return nil
			}
			out = append(out, s...)
		}
		return out
	}
	return nil
}

func necSel(s csel) []flit {
	var out []flit
	for _, alt := range s {
		var best []flit
		for i := range alt {
			if s := necItem(&alt[i]); betterSet(s, best) {
				best = s
			}
		}
		if best == nil {
			return nil
		}
		out = append(out, best...)
	}
	return out
}

func necItem(it *citem) []flit {
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
		var best []flit
		for _, g := range it.groups {
			if s := group(g); betterSet(s, best) {
				best = s
			}
		}
		return best
	}
	var out []flit
	for _, g := range it.groups {
		s := group(g)
		if s == nil {
			return nil
		}
		out = append(out, s...)
	}
	return out
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
		w := min(len(f.lit), maxScanLiteral)
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
