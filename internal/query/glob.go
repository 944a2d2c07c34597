package query

import "unicode/utf8"

// glob is a compiled wildcard pattern: '*' matches any run of runes
// (empty included), '?' exactly one rune, everything else itself ignoring
// case. The pattern is cut at its stars into segments; a segment covers a
// fixed number of runes, so it matches at a given position in at most one
// way, and placing each middle segment at its leftmost occurrence is
// optimal (it leaves the most room for the rest). Matching is therefore
// linear in the value for each segment, with no backtracking.
type glob struct {
	segs  []globSeg
	start bool // no leading '*': the first segment is anchored at the start
	end   bool // no trailing '*': the last segment is anchored at the end
}

type globSeg struct {
	parts  []globPart
	runes  int    // runes of the value the segment covers
	anchor anchor // of the first part, when a literal
}

// globPart is a literal (ASCII letters lower-cased) or, when one is set,
// a '?'.
type globPart struct {
	lit string
	one bool
}

// compileGlob compiles a pattern that has at least one wildcard.
func compileGlob(p pattern) *glob {
	g := &glob{start: true, end: true}
	var cur globSeg
	for i, pc := range p {
		switch pc.wild {
		case '*':
			if i == 0 {
				g.start = false
			}
			if i == len(p)-1 {
				g.end = false
			}
			if len(cur.parts) > 0 {
				g.segs = append(g.segs, cur)
				cur = globSeg{}
			}
		case '?':
			cur.parts = append(cur.parts, globPart{one: true})
			cur.runes++
		default:
			cur.parts = append(cur.parts, globPart{lit: lowerASCIIString(pc.lit)})
			cur.runes += utf8.RuneCountInString(pc.lit)
		}
	}
	if len(cur.parts) > 0 {
		g.segs = append(g.segs, cur)
	}
	for i := range g.segs {
		if sg := &g.segs[i]; !sg.parts[0].one {
			sg.anchor = rareAnchor(sg.parts[0].lit)
		}
	}
	return g
}

// match reports whether the whole of s matches the pattern.
func (g *glob) match(s string) bool {
	segs := g.segs
	if len(segs) == 0 {
		return true // only stars
	}
	if g.start && g.end && len(segs) == 1 {
		e, ok := segs[0].matchAt(s, 0)
		return ok && e == len(s)
	}
	pos, lim := 0, len(s)
	if g.start {
		e, ok := segs[0].matchAt(s, 0)
		if !ok {
			return false
		}
		pos, segs = e, segs[1:]
	}
	if g.end && len(segs) > 0 {
		last := segs[len(segs)-1]
		st := backRunes(s, last.runes)
		if st < pos {
			return false
		}
		if e, ok := last.matchAt(s, st); !ok || e != len(s) {
			return false
		}
		lim, segs = st, segs[:len(segs)-1]
	}
	for i := range segs {
		e, ok := segs[i].find(s[:lim], pos)
		if !ok {
			return false
		}
		pos = e
	}
	return true
}

// matchAt matches the segment at byte i of s and returns where it ends.
func (sg *globSeg) matchAt(s string, i int) (int, bool) {
	for _, p := range sg.parts {
		if p.one {
			if i >= len(s) {
				return 0, false
			}
			_, n := utf8.DecodeRuneInString(s[i:])
			i += n
			continue
		}
		n, ok := hasPrefixFold(s[i:], p.lit)
		if !ok {
			return 0, false
		}
		i += n
	}
	return i, true
}

// find returns the end of the leftmost match of the segment in s at or
// after byte from.
func (sg *globSeg) find(s string, from int) (int, bool) {
	if a := sg.anchor; a.ok {
		f := newByteFinder(s, a.lo, a.up)
		for j := f.next(from + a.off); j >= 0; j = f.next(j + 1) {
			if e, ok := sg.matchAt(s, j-a.off); ok {
				return e, true
			}
		}
		return 0, false
	}
	for i := from; i <= len(s); {
		if e, ok := sg.matchAt(s, i); ok {
			return e, true
		}
		if i == len(s) {
			break
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	return 0, false
}

// backRunes returns the byte offset n runes before the end of s, or -1.
func backRunes(s string, n int) int {
	i := len(s)
	for ; n > 0; n-- {
		if i == 0 {
			return -1
		}
		_, sz := utf8.DecodeLastRuneInString(s[:i])
		i -= sz
	}
	return i
}

// tokenHint returns the first byte (both cases) every token matching the
// pattern starts with, when the pattern begins with such a literal.
func (g *glob) tokenHint() (lo, up byte, ok bool) {
	if !g.start || len(g.segs) == 0 || g.segs[0].parts[0].one {
		return 0, 0, false
	}
	return firstByteHint(g.segs[0].parts[0].lit)
}
