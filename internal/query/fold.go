package query

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Case-insensitive comparison without allocation. Equality is the one of
// strings.EqualFold: rune by rune, two runes are equal when they are in
// the same simple case-folding orbit. Query literals have their ASCII
// letters lower-cased when the query is compiled, so the common case (an
// ASCII byte of the value against an ASCII byte of the literal) costs one
// table-free comparison. Two ASCII letters have partners outside ASCII
// ('k' and the Kelvin sign U+212A, 's' and long s U+017F), which is why
// an ASCII literal byte meeting a non-ASCII value byte goes to the rune
// comparison instead of failing.

// foldEq reports whether runes a and b are equal ignoring case.
func foldEq(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		return lowerASCII(byte(a)) == lowerASCII(byte(b))
	}
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
}

// hasPrefixFold reports whether s starts with lit ignoring case, and how
// many bytes of s the match covers (fold-equal runes may differ in
// length). lit has its ASCII letters lower-cased.
func hasPrefixFold(s, lit string) (int, bool) {
	i, k := 0, 0
	for k < len(lit) {
		if i >= len(s) {
			return 0, false
		}
		pc, sc := lit[k], s[i]
		if pc < utf8.RuneSelf && sc < utf8.RuneSelf {
			if lowerASCII(sc) != pc {
				return 0, false
			}
			i++
			k++
			continue
		}
		pr, pn := utf8.DecodeRuneInString(lit[k:])
		sr, sn := utf8.DecodeRuneInString(s[i:])
		if !foldEq(pr, sr) {
			return 0, false
		}
		i += sn
		k += pn
	}
	return i, true
}

// firstByteHint returns the byte every match of lit must start with, in
// lower case, and the same byte in upper case: lit's first byte when it
// is ASCII and has no partner outside ASCII. ok is false when a match may
// start with other bytes.
func firstByteHint(lit string) (lo, up byte, ok bool) {
	a := anchorAt(lit, 0)
	return a.lo, a.up, a.ok
}

// anchor is a byte every match of a literal has at a fixed offset from
// the start of the match, in both cases: the byte a search looks for with
// strings.IndexByte before comparing the whole literal. A rare byte makes
// few false candidates: in "evil.com" the '.' rather than the 'e'.
type anchor struct {
	lo, up byte
	off    int
	ok     bool
}

// anchorAt makes the anchor of lit at byte i; it is not ok when the byte
// is not ASCII, or is 'k' or 's' (whose partners K and ſ are not ASCII).
func anchorAt(lit string, i int) anchor {
	if i >= len(lit) {
		return anchor{}
	}
	c := lit[i]
	if c >= utf8.RuneSelf || c == 'k' || c == 's' {
		return anchor{}
	}
	a := anchor{lo: c, up: c, off: i, ok: true}
	if 'a' <= c && c <= 'z' {
		a.up = c - 'a' + 'A'
	}
	return a
}

// byteCommonness lists bytes from the most to the least common in log
// text (letters in lower case); a byte not listed is taken as rarer than
// all of them. It only steers the choice of an anchor.
const byteCommonness = " etaoinr.lcd0h1u2m:p/3-g45f6987=wybv_xjqz"

// rareAnchor picks, among the bytes of lit at a fixed offset from the
// start of any match (those before the first non-ASCII byte, 'k' or 's'),
// the rarest as the anchor.
func rareAnchor(lit string) anchor {
	var best anchor
	bestRank := -1
	for i := 0; i < len(lit); i++ {
		a := anchorAt(lit, i)
		if !a.ok {
			break
		}
		rank := strings.IndexByte(byteCommonness, a.lo)
		if rank < 0 {
			rank = len(byteCommonness)
		}
		if rank > bestRank {
			best, bestRank = a, rank
		}
	}
	return best
}

// byteFinder yields, in increasing order, the positions of s that hold
// byte lo or byte up. It remembers the next position of each, so a scan is
// linear however the two are spread (a search for one alone would rescan
// the tail of s each time the other one turns up).
type byteFinder struct {
	s        string
	lo, up   byte
	nlo, nup int // next position of lo / up at or after the last asked, len(s) for none
}

func newByteFinder(s string, lo, up byte) byteFinder {
	return byteFinder{s: s, lo: lo, up: up, nlo: -1, nup: -1}
}

// next returns the first position at or after i holding lo or up, or -1.
func (f *byteFinder) next(i int) int {
	if f.nlo < i {
		f.nlo = indexFrom(f.s, f.lo, i)
	}
	if f.lo == f.up {
		if f.nlo == len(f.s) {
			return -1
		}
		return f.nlo
	}
	if f.nup < i {
		f.nup = indexFrom(f.s, f.up, i)
	}
	p := min(f.nlo, f.nup)
	if p == len(f.s) {
		return -1
	}
	return p
}

// indexFrom returns the index of c in s at or after i, or len(s).
func indexFrom(s string, c byte, i int) int {
	if i >= len(s) {
		return len(s)
	}
	if j := strings.IndexByte(s[i:], c); j >= 0 {
		return i + j
	}
	return len(s)
}

// indexFold finds the first occurrence of lit in s at or after byte from,
// ignoring case: its start and end in s. a is rareAnchor(lit), computed
// once by the caller.
func indexFold(s, lit string, a anchor, from int) (int, int, bool) {
	if a.ok {
		f := newByteFinder(s, a.lo, a.up)
		for j := f.next(from + a.off); j >= 0; j = f.next(j + 1) {
			if n, ok := hasPrefixFold(s[j-a.off:], lit); ok {
				return j - a.off, j - a.off + n, true
			}
		}
		return 0, 0, false
	}
	for i := from; i <= len(s); {
		if n, ok := hasPrefixFold(s[i:], lit); ok {
			return i, i + n, true
		}
		if i == len(s) {
			break
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	return 0, 0, false
}
