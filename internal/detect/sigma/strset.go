package sigma

// A detection item often lists many values for one field (Image|endswith:
// fifty executables; CommandLine|contains: a hundred tool flags; one rule
// lists a thousand emoji). Tested one by one, each costs a string search;
// strSet tests them all at once: equalities by a hash lookup, prefixes and
// suffixes by walking a trie from the value's start or end, substrings by
// one Aho-Corasick pass. It takes the plain case-insensitive string checks
// of an OR-ed item; the others (cased, general wildcards, regular
// expressions...) stay checks.

// minSetSize is the number of values from which an item gets a strSet; below
// it, direct comparisons are as fast.
const minSetSize = 6

type strSet struct {
	eq        map[string]struct{}
	pre, suf  *scanner
	contains  *scanner
	hasAny    bool // a "*" value: any present value matches
	numChecks int
}

// buildStrSet takes the checks a strSet can handle out of groups (an OR-ed
// item's values) and returns the set and the remaining checks, or nil and
// groups unchanged when there are too few.
func buildStrSet(groups [][]check) (*strSet, [][]check) {
	n := 0
	for _, g := range groups {
		for i := range g {
			if setCheck(&g[i]) {
				n++
			}
		}
	}
	if n < minSetSize {
		return nil, groups
	}
	s := &strSet{numChecks: n}
	var pre, suf, con []string
	var rest []check
	for _, g := range groups {
		for _, c := range g {
			if !setCheck(&c) {
				rest = append(rest, c)
				continue
			}
			switch c.pat.kind {
			case patEqual:
				if s.eq == nil {
					s.eq = map[string]struct{}{}
				}
				s.eq[c.pat.lit] = struct{}{}
			case patPrefix:
				pre = append(pre, c.pat.lit)
			case patSuffix:
				suf = append(suf, c.pat.lit)
			case patContains:
				con = append(con, c.pat.lit)
			case patAny:
				s.hasAny = true
			}
		}
	}
	build := func(k litKind, lits []string) *scanner {
		if len(lits) == 0 {
			return nil
		}
		payload := make([][]int32, len(lits))
		for i := range payload {
			payload[i] = []int32{0}
		}
		return buildScanner(k, lits, payload, true)
	}
	s.pre, s.suf, s.contains = build(litPrefix, pre), build(litSuffix, suf), build(litContains, con)
	var out [][]check
	if len(rest) > 0 {
		out = [][]check{rest}
	}
	return s, out
}

// setCheck reports whether a strSet can take c: a case-insensitive string
// value with at most a * at either end, and a literal (an empty literal is
// an equality with "", kept as a check).
func setCheck(c *check) bool {
	if c.kind != cString || c.pat.cased {
		return false
	}
	switch c.pat.kind {
	case patEqual, patPrefix, patSuffix, patContains:
		return c.pat.lit != ""
	case patAny:
		return true
	}
	return false
}

// match reports whether the lower-cased value low matches one of the set's
// values.
func (s *strSet) match(low string) bool {
	if s.hasAny {
		return true
	}
	if s.eq != nil {
		if _, ok := s.eq[low]; ok {
			return true
		}
	}
	return (s.suf != nil && s.suf.any(low)) ||
		(s.pre != nil && s.pre.any(low)) ||
		(s.contains != nil && s.contains.any(low))
}
