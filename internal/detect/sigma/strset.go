package sigma

import "sort"

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
	eq       map[string]struct{}
	pre, suf *scanner
	contains *scanner
	byLen    []lenSet // contains values when a scanner would be too big
	hasAny   bool     // a "*" value: any present value matches
}

// lenSet holds the contains values of one length, looked up for every
// window of that length of the value: slower than a scanner (one map lookup
// per byte and length) but as small as the values. A scanner's table grows
// with the product of the values' bytes and their distinct characters: the
// 4,400 driver hashes of driver_load_win_vuln_drivers would take 17 MB.
type lenSet struct {
	n    int
	vals map[string]struct{}
}

// maxSetScanner caps the table of one set's scanner, in bytes.
const maxSetScanner = 2 << 20

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
	s := &strSet{}
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
	s.pre, s.suf = build(litPrefix, pre), build(litSuffix, suf)
	if scannerSize(con) <= maxSetScanner {
		s.contains = build(litContains, con)
	} else {
		byLen := map[int]map[string]struct{}{}
		for _, c := range con {
			if byLen[len(c)] == nil {
				byLen[len(c)] = map[string]struct{}{}
			}
			byLen[len(c)][c] = struct{}{}
		}
		for n, vals := range byLen {
			s.byLen = append(s.byLen, lenSet{n, vals})
		}
		sort.Slice(s.byLen, func(i, j int) bool { return s.byLen[i].n < s.byLen[j].n })
	}
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
	if (s.suf != nil && s.suf.any(low)) || (s.pre != nil && s.pre.any(low)) || (s.contains != nil && s.contains.any(low)) {
		return true
	}
	for _, ls := range s.byLen {
		for i := 0; i+ls.n <= len(low); i++ {
			if _, ok := ls.vals[low[i:i+ls.n]]; ok {
				return true
			}
		}
	}
	return false
}

// scannerSize estimates the table of an exact scanner of lits: one row per
// byte of the literals, one entry per distinct byte.
func scannerSize(lits []string) int {
	var seen [256]bool
	states, classes := 1, 1
	for _, l := range lits {
		states += len(l)
		for i := 0; i < len(l); i++ {
			if !seen[l[i]] {
				seen[l[i]] = true
				classes++
			}
		}
	}
	entry := 2
	if states >= 1<<16 {
		entry = 4
	}
	return states * classes * entry
}
