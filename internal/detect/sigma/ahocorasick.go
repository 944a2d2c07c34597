package sigma

import (
	"slices"
)

// The prefilter's scanners find, in one pass over a field value, which of a
// field's literals occur in it, whatever their number:
//
//   - literals that may occur anywhere (contains, parts of wildcard
//     patterns, regular expressions, keywords) go into an Aho-Corasick
//     automaton compiled to a DFA: one table lookup per byte of the value;
//   - literals anchored at the start (startswith, and equality, which the
//     prefilter treats as startswith) go into a trie walked from the
//     value's first byte, and those anchored at the end (endswith) into a
//     trie of reversed literals walked from the last byte: a few steps
//     however long the value. Most Image / TargetFilename / ParentImage
//     literals are endswith: their fields are never scanned in full.
//
// Bytes are mapped to classes: each ASCII byte of the literals has its own,
// shared by its upper-case form (literals are lower-case, values are
// scanned as they are); all non-ASCII bytes share one; every other byte is
// class 0. Sharing a class makes a scanner report a superset of the true
// matches (an emoji literal is found wherever any four non-ASCII bytes are),
// which a prefilter may do: the rule is evaluated in full afterwards. Rows
// are uint16 when the states fit, halving the tables. A state's outputs are
// the payloads of the literals ending there (through failure links too,
// merged at build time).

// litKind says where a prefilter literal must occur in its field value.
type litKind uint8

const (
	litContains litKind = iota // anywhere
	litPrefix                  // at the start
	litSuffix                  // at the end
)

// maxScanLiteral caps the bytes of a contains literal put into a scanner:
// any substring of a necessary literal is necessary too, and contains
// literals keep their last bytes (the selective end of a path or command
// fragment). It bounds the DFA's size, which grows with the literals'
// bytes times their distinct characters. Anchored literals (startswith,
// endswith) go into tries, which grow with their bytes only and are walked
// no further than the value's literals go: they keep up to
// maxAnchoredLiteral bytes, since their start often is a common frame
// ("c:\windows\system32\tasks\" cut at 12 bytes is "c:\windows\s", which
// every system binary has).
const (
	maxScanLiteral     = 12
	maxAnchoredLiteral = 32
)

// maxScanLen is the cap on the bytes of a literal of kind k.
func maxScanLen(k litKind) int {
	if k == litContains {
		return maxScanLiteral
	}
	return maxAnchoredLiteral
}

// trimLiteral returns the part of a literal of kind k put into a scanner.
func trimLiteral(s string, k litKind) string {
	n := maxScanLen(k)
	if len(s) <= n {
		return s
	}
	if k == litPrefix {
		return s[:n]
	}
	return s[len(s)-n:]
}

type scanner struct {
	kind     litKind
	class    [256]uint16
	nclass   int32
	trans    []int32  // state*nclass + class → next state (large tables)
	trans16  []uint16 // the same when there are fewer than 65536 states
	outStart []int32  // outputs of state s: outs[outStart[s]:outStart[s+1]]
	outs     []int32
	firstOut int32    // states are numbered so that exactly those >= firstOut have outputs
	depth    int      // longest literal (anchored walks stop there)
	minLen   int      // shortest literal: a shorter text holds none
	sep      int      // a byte in no literal (-1: none), see joinSeparator
	samp     *sampler // a contains scanner of long literals: see sampling.go
}

// buildScanner builds the scanner of kind k for lits (lower-case,
// non-empty, already trimmed); payload[i] is what a match of lits[i]
// reports. An exact scanner gives every byte its own class (and folds no
// case: it scans lower-cased text); it reports true matches only.
func buildScanner(k litKind, lits []string, payload [][]int32, exact bool) *scanner {
	a := &scanner{kind: k, minLen: -1}
	next := uint16(1)
	high := uint16(0)
	for _, p := range lits {
		a.depth = max(a.depth, len(p))
		if a.minLen < 0 || len(p) < a.minLen {
			a.minLen = len(p)
		}
		for i := 0; i < len(p); i++ {
			c := p[i]
			switch {
			case a.class[c] != 0:
			case exact:
				a.class[c] = next
				next++
			case c < 0x80:
				a.class[c] = next
				if 'a' <= c && c <= 'z' {
					a.class[c-'a'+'A'] = next
				}
				next++
			default:
				if high == 0 {
					high = next
					next++
				}
				for b := 0x80; b < 0x100; b++ {
					a.class[b] = high
				}
			}
		}
	}
	a.nclass = int32(next)
	nc := int(a.nclass)
	trans := make([]int32, nc) // root row; -1 = no child
	for i := range trans {
		trans[i] = -1
	}
	own := [][]int32{nil}
	depth := []int32{0} // per state: the length of its text
	for pi, p := range lits {
		s := int32(0)
		for i := 0; i < len(p); i++ {
			j := i
			if k == litSuffix {
				j = len(p) - 1 - i // the suffix trie holds reversed literals
			}
			c := int(a.class[p[j]])
			t := trans[int(s)*nc+c]
			if t < 0 {
				t = int32(len(own))
				for x := 0; x < nc; x++ {
					trans = append(trans, -1)
				}
				trans[int(s)*nc+c] = t
				own = append(own, nil)
				depth = append(depth, depth[s]+1)
			}
			s = t
		}
		own[s] = append(own[s], payload[pi]...)
	}
	a.sep = -1
	for _, b := range []int{'\n', 0, 0x7f} {
		if a.class[b] == 0 {
			a.sep = b
			break
		}
	}
	n := len(own)
	outs := make([][]int32, n)
	if k == litContains {
		a.linkFailures(trans, own, outs)
	} else {
		for s := range own {
			outs[s] = dedup(own[s])
		}
		for i, t := range trans {
			if t < 0 {
				trans[i] = 0 // no child: the walk stops (the root is never a child)
			}
		}
	}
	a.finish(trans, outs, depth)
	if k == litContains && !exact {
		a.samp = a.newSampler(lits)
	}
	return a
}

// linkFailures turns the trie into the Aho-Corasick DFA: every missing
// transition goes where the longest proper suffix of the state's text would
// go, and each state's outputs include those of its failure state.
func (a *scanner) linkFailures(trans []int32, own, outs [][]int32) {
	nc := int(a.nclass)
	fail := make([]int32, len(own))
	outs[0] = dedup(own[0])
	queue := make([]int32, 0, len(own))
	for c := 0; c < nc; c++ {
		if t := trans[c]; t < 0 {
			trans[c] = 0
		} else {
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		outs[u] = dedup(append(append([]int32(nil), own[u]...), outs[fail[u]]...))
		for c := 0; c < nc; c++ {
			t := trans[int(u)*nc+c]
			if t < 0 {
				trans[int(u)*nc+c] = trans[int(fail[u])*nc+c]
				continue
			}
			fail[t] = trans[int(fail[u])*nc+c]
			queue = append(queue, t)
		}
	}
}

// finish renumbers the states so that those with outputs come last (the
// scan loop then tests "has output" with one comparison) and lays out the
// tables. The root keeps number 0: it has no output (literals are
// non-empty).
func (a *scanner) finish(trans []int32, outs [][]int32, depth []int32) {
	n, nc := len(outs), int(a.nclass)
	// Within each group, shallow states first: a scan spends most of its
	// steps near the root, and those rows then share pages and cache lines
	// (the CommandLine DFA of a Sysmon bucket is megabytes).
	order := make([]int32, n)
	for s := range order {
		order[s] = int32(s)
	}
	slices.SortStableFunc(order, func(x, y int32) int {
		ox, oy := len(outs[x]) > 0, len(outs[y]) > 0
		if ox != oy {
			if oy {
				return -1
			}
			return 1
		}
		return int(depth[x] - depth[y])
	})
	newID := make([]int32, n)
	a.firstOut = int32(n)
	for id, s := range order {
		newID[s] = int32(id)
		if len(outs[s]) > 0 && int32(id) < a.firstOut {
			a.firstOut = int32(id)
		}
	}
	a.trans = make([]int32, len(trans))
	byNew := make([]int32, n)
	for s := 0; s < n; s++ {
		byNew[newID[s]] = int32(s)
		for c := 0; c < nc; c++ {
			a.trans[int(newID[s])*nc+c] = newID[trans[s*nc+c]]
		}
	}
	a.outStart = make([]int32, n+1)
	for ns := 0; ns < n; ns++ {
		o := outs[byNew[ns]]
		a.outStart[ns+1] = a.outStart[ns] + int32(len(o))
		a.outs = append(a.outs, o...)
	}
	if n < 1<<16 {
		a.trans16 = make([]uint16, len(a.trans))
		for i, t := range a.trans {
			a.trans16[i] = uint16(t)
		}
		a.trans = nil
	}
}

func dedup(s []int32) []int32 {
	if len(s) < 2 {
		return s
	}
	slices.Sort(s)
	return slices.Compact(s)
}

// joinSeparator returns a byte to join texts with, when scanning them
// joined is cheaper than one by one: the byte is in none of the scanner's
// literals, so it is class 0, which sends every state of the DFA back to
// the root. The joined texts give the same reports as one by one (no
// literal spans the separator), in one call whose interleaved chains cover
// the whole. A sampled scanner gains nothing from it: its calls are cheap
// and copying the texts would cost more than scanning them.
func (a *scanner) joinSeparator() (byte, bool) {
	return byte(a.sep), a.sep >= 0 && a.kind == litContains && a.samp == nil
}

// scan appends to dst the payloads of the literals found in text (with
// repeats). text is scanned as it is, in any case.
func (a *scanner) scan(text string, dst []int32) []int32 {
	if len(text) < a.minLen {
		return dst
	}
	switch a.kind {
	case litPrefix:
		return a.walk(text, false, dst)
	case litSuffix:
		return a.walk(text, true, dst)
	}
	if a.samp != nil {
		return a.scanSampled(text, dst)
	}
	if t := a.trans16; t != nil {
		return scan16(t, &a.class, int(a.nclass), int(a.firstOut), a.depth, a.outStart, a.outs, text, dst)
	}
	k := a.nclass
	first := a.firstOut
	s := int32(0)
	for i := 0; i < len(text); i++ {
		s = a.trans[s*k+int32(a.class[text[i]])]
		if s >= first {
			dst = append(dst, a.outs[a.outStart[s]:a.outStart[s+1]]...)
		}
	}
	return dst
}

// scan16 is the DFA loop over a uint16 table: the prefilter's hottest
// code. Each step is one table load that depends on the previous one, so a
// text is cut into parts (four, or two for a short text) scanned in the
// same loop: independent chains of loads that the processor runs in
// parallel. Each part but the last runs depth-1 bytes into the next, so a
// literal that straddles a cut is still found; one that lies in an overlap
// is reported twice, which the caller tolerates.
func scan16(t []uint16, class *[256]uint16, k, first, depth int, outStart, outs []int32, text string, dst []int32) []int32 {
	n := len(text)
	ext := depth - 1
	switch {
	case n >= 96:
		q := n / 4
		p0, p1, p2, p3 := text[:q+ext], text[q:2*q+ext], text[2*q:3*q+ext], text[3*q:]
		s0, s1, s2, s3 := 0, 0, 0, 0
		steps := min(q+ext, len(p3)) // p0..p2 have q+ext bytes; p3 at least q
		for i := 0; i < steps; i++ {
			s0 = int(t[s0*k+int(class[p0[i]])])
			s1 = int(t[s1*k+int(class[p1[i]])])
			s2 = int(t[s2*k+int(class[p2[i]])])
			s3 = int(t[s3*k+int(class[p3[i]])])
			if s0 >= first || s1 >= first || s2 >= first || s3 >= first {
				for _, s := range [4]int{s0, s1, s2, s3} {
					if s >= first {
						dst = append(dst, outs[outStart[s]:outStart[s+1]]...)
					}
				}
			}
		}
		dst = scanFrom(t, class, k, first, outStart, outs, p0, steps, s0, dst)
		dst = scanFrom(t, class, k, first, outStart, outs, p1, steps, s1, dst)
		dst = scanFrom(t, class, k, first, outStart, outs, p2, steps, s2, dst)
		return scanFrom(t, class, k, first, outStart, outs, p3, steps, s3, dst)
	case n >= 32:
		h := n / 2
		p0, p1 := text[:h+ext], text[h:]
		s0, s1 := 0, 0
		steps := min(len(p0), len(p1))
		for i := 0; i < steps; i++ {
			s0 = int(t[s0*k+int(class[p0[i]])])
			s1 = int(t[s1*k+int(class[p1[i]])])
			if s0 >= first {
				dst = append(dst, outs[outStart[s0]:outStart[s0+1]]...)
			}
			if s1 >= first {
				dst = append(dst, outs[outStart[s1]:outStart[s1+1]]...)
			}
		}
		dst = scanFrom(t, class, k, first, outStart, outs, p0, steps, s0, dst)
		return scanFrom(t, class, k, first, outStart, outs, p1, steps, s1, dst)
	}
	return scanFrom(t, class, k, first, outStart, outs, text, 0, 0, dst)
}

// scanFrom runs the DFA over text[pos:] from state s.
func scanFrom(t []uint16, class *[256]uint16, k, first int, outStart, outs []int32, text string, pos, s int, dst []int32) []int32 {
	for i := pos; i < len(text); i++ {
		s = int(t[s*k+int(class[text[i]])])
		if s >= first {
			dst = append(dst, outs[outStart[s]:outStart[s+1]]...)
		}
	}
	return dst
}

// walk follows an anchored trie from the start (or, reverse, from the end)
// of text until no literal continues.
func (a *scanner) walk(text string, reverse bool, dst []int32) []int32 {
	k := a.nclass
	s := int32(0)
	n := min(len(text), a.depth)
	for i := 0; i < n; i++ {
		c := text[i]
		if reverse {
			c = text[len(text)-1-i]
		}
		if a.trans16 != nil {
			s = int32(a.trans16[s*k+int32(a.class[c])])
		} else {
			s = a.trans[s*k+int32(a.class[c])]
		}
		if s == 0 {
			break
		}
		if s >= a.firstOut {
			dst = append(dst, a.outs[a.outStart[s]:a.outStart[s+1]]...)
		}
	}
	return dst
}

// any reports whether text holds one of the literals (the payloads are not
// looked at).
func (a *scanner) any(text string) bool {
	if len(text) < a.minLen {
		return false
	}
	switch a.kind {
	case litPrefix, litSuffix:
		k := a.nclass
		s := int32(0)
		n := min(len(text), a.depth)
		for i := 0; i < n; i++ {
			c := text[i]
			if a.kind == litSuffix {
				c = text[len(text)-1-i]
			}
			if a.trans16 != nil {
				s = int32(a.trans16[s*k+int32(a.class[c])])
			} else {
				s = a.trans[s*k+int32(a.class[c])]
			}
			if s == 0 {
				return false
			}
			if s >= a.firstOut {
				return true
			}
		}
		return false
	}
	k := a.nclass
	first := a.firstOut
	s := int32(0)
	for i := 0; i < len(text); i++ {
		if a.trans16 != nil {
			s = int32(a.trans16[s*k+int32(a.class[text[i]])])
		} else {
			s = a.trans[s*k+int32(a.class[text[i]])]
		}
		if s >= first {
			return true
		}
	}
	return false
}

// size returns the scanner's memory in bytes (for statistics).
func (a *scanner) size() int {
	n := 512 + 4*(len(a.trans)+len(a.outStart)+len(a.outs)) + 2*len(a.trans16)
	if a.samp != nil {
		n += 8 * len(a.samp.bits)
	}
	return n
}
