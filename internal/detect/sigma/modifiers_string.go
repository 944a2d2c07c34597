package sigma

import (
	"errors"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// String modifiers: contains, startswith, endswith put * around a value;
// windash multiplies a value over the dash characters Windows accepts for
// command-line flags; cased makes the comparison case-sensitive. This file
// also holds the wildcard matcher every string value compiles to.
//
// Adding a modifier of this kind: write its valueMod (or itemMod) here, name
// it in lookupModifier (modifiers.go), and test it, positive and negative,
// in this file's _test.go.

func modContains(c *itemCtx, v mval) ([]mval, error) { return wrapStars(c, v, true, true, "contains") }

func modStartswith(c *itemCtx, v mval) ([]mval, error) {
	return wrapStars(c, v, false, true, "startswith")
}

func modEndswith(c *itemCtx, v mval) ([]mval, error) {
	return wrapStars(c, v, true, false, "endswith")
}

func wrapStars(_ *itemCtx, v mval, front, back bool, mod string) ([]mval, error) {
	switch v.kind {
	case vRegex:
		// pySigma wraps the expression in .* on the open sides, which
		// changes nothing for an unanchored search.
		return []mval{v}, nil
	case vFieldRef:
		v.refSuffix = v.refSuffix || front
		v.refPrefix = v.refPrefix || back
		return []mval{v}, nil
	}
	s, ok := v.asString()
	if !ok {
		return nil, typeError(mod, v)
	}
	v.kind, v.s = vString, s.withStar(front, back)
	return []mval{v}, nil
}

func modCased(_ *itemCtx, v mval) ([]mval, error) {
	s, ok := v.asString()
	if !ok {
		return nil, typeError("cased", v)
	}
	v.kind, v.s, v.cased = vString, s, true
	return []mval{v}, nil
}

// windashChars are the characters |windash substitutes for a flag's dash:
// hyphen-minus, slash, en dash, em dash, horizontal bar.
const windashChars = "-/\u2013\u2014\u2015"

// modWindash expands every "-" or "/" that starts a flag (pySigma's
// \B[-/]\b: not preceded by a word character, followed by one) into the five
// dash characters, all combinations of them.
func modWindash(_ *itemCtx, v mval) ([]mval, error) {
	s, ok := v.asString()
	if !ok {
		return nil, typeError("windash", v)
	}
	out := []sstring{nil}
	for _, p := range s {
		if p.kind != pLit {
			for i := range out {
				out[i] = append(out[i], p)
			}
			continue
		}
		// Split the literal at flag dashes; every dash multiplies out.
		last := 0
		for i, r := range p.s {
			if (r != '-' && r != '/') || !flagDash(p.s, i) {
				continue
			}
			if len(out)*5 > MaxValues {
				return nil, errors.New("too many dashes to expand")
			}
			pre := p.s[last:i]
			var next []sstring
			for _, d := range windashChars {
				for _, o := range out {
					n := append(append(sstring(nil), o...), part{kind: pLit, s: pre + string(d)})
					next = append(next, n)
				}
			}
			out = next
			last = i + 1
		}
		if last < len(p.s) {
			for i := range out {
				out[i] = append(out[i], part{kind: pLit, s: p.s[last:]})
			}
		}
	}
	vals := make([]mval, len(out))
	for i, o := range out {
		w := v
		w.kind, w.s = vString, merge(o)
		vals[i] = w
	}
	return vals, nil
}

// flagDash reports whether the dash at s[i] starts a flag: the character
// before it (if any) is not a word character and the one after it is.
func flagDash(s string, i int) bool {
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		if isWordRune(r) {
			return false
		}
	}
	r, n := utf8.DecodeRuneInString(s[i+1:])
	return n > 0 && isWordRune(r)
}

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// merge joins adjacent literal parts.
func merge(s sstring) sstring {
	var out sstring
	for _, p := range s {
		if p.kind == pLit && len(out) > 0 && out[len(out)-1].kind == pLit {
			out[len(out)-1].s += p.s
			continue
		}
		if p.kind == pLit && p.s == "" {
			continue
		}
		out = append(out, p)
	}
	return out
}

// --- matching ---------------------------------------------------------------

// patKind is the shape of a compiled string value; most values are one
// literal with a * on either side, which need no general wildcard matching.
type patKind uint8

const (
	patEqual    patKind = iota // lit
	patPrefix                  // lit*
	patSuffix                  // *lit
	patContains                // *lit*
	patAny                     // *  (any value, even empty; not a missing field)
	patGlob                    // anything else with * and ?
)

// strPattern is a compiled Sigma string. Its literals are lower-case unless
// cased; it is matched against the lower-cased event value, or against the
// value as it is when cased.
type strPattern struct {
	kind  patKind
	cased bool
	lit   string
	parts []part // patGlob
}

// compileString compiles a Sigma string for matching.
func compileString(s sstring, cased bool) strPattern {
	var ps sstring
	for _, p := range s {
		if p.kind == pStar && len(ps) > 0 && ps[len(ps)-1].kind == pStar {
			continue // ** is *
		}
		if p.kind == pLit && !cased {
			p.s = lowerString(p.s)
		}
		ps = append(ps, p)
	}
	ps = merge(ps)
	sp := strPattern{cased: cased}
	isLit := func(i int) bool { return i < len(ps) && ps[i].kind == pLit }
	isStar := func(i int) bool { return i < len(ps) && ps[i].kind == pStar }
	switch {
	case len(ps) == 0:
		sp.kind = patEqual
	case len(ps) == 1 && isLit(0):
		sp.kind, sp.lit = patEqual, ps[0].s
	case len(ps) == 1 && isStar(0):
		sp.kind = patAny
	case len(ps) == 2 && isLit(0) && isStar(1):
		sp.kind, sp.lit = patPrefix, ps[0].s
	case len(ps) == 2 && isStar(0) && isLit(1):
		sp.kind, sp.lit = patSuffix, ps[1].s
	case len(ps) == 3 && isStar(0) && isLit(1) && isStar(2):
		sp.kind, sp.lit = patContains, ps[1].s
	default:
		sp.kind, sp.parts = patGlob, ps
	}
	return sp
}

// match reports whether v (already lower-cased unless p.cased) matches.
func (p *strPattern) match(v string) bool {
	switch p.kind {
	case patEqual:
		return v == p.lit
	case patPrefix:
		return strings.HasPrefix(v, p.lit)
	case patSuffix:
		return strings.HasSuffix(v, p.lit)
	case patContains:
		return strings.Contains(v, p.lit)
	case patAny:
		return true
	}
	return globMatch(p.parts, v)
}

// globMatch matches v against literal runs, * and ? (one character, not one
// byte) with the classic linear backtracking on the last star.
func globMatch(ps []part, v string) bool {
	pi, vi := 0, 0
	starP, starV := -1, 0
	for {
		if pi < len(ps) {
			switch p := ps[pi]; p.kind {
			case pStar:
				starP, starV = pi, vi
				pi++
				continue
			case pOne:
				if vi < len(v) {
					_, n := utf8.DecodeRuneInString(v[vi:])
					vi += n
					pi++
					continue
				}
			case pLit:
				if strings.HasPrefix(v[vi:], p.s) {
					vi += len(p.s)
					pi++
					continue
				}
			}
		} else if vi == len(v) {
			return true
		}
		if starP < 0 || starV >= len(v) {
			return false
		}
		// Let the last star take one more character; jump straight to the
		// next place its following literal occurs.
		_, n := utf8.DecodeRuneInString(v[starV:])
		starV += n
		if next := starP + 1; next < len(ps) && ps[next].kind == pLit {
			j := strings.Index(v[starV:], ps[next].s)
			if j < 0 {
				return false
			}
			starV += j
		}
		pi, vi = starP+1, starV
	}
}

// lowerString lower-cases s the way event values are lower-cased
// (lowerAppend), so that both sides of a comparison agree.
func lowerString(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return string(lowerAppend(make([]byte, 0, len(s)+4), s))
		}
	}
	return s
}

// lowerAppend appends s lower-cased to dst: ASCII by table, other runes by
// unicode.ToLower; bytes that are not UTF-8 are copied as they are.
func lowerAppend(dst []byte, s string) []byte {
	// ASCII, nearly every value: into room made at once.
	n := len(dst)
	dst = slices.Grow(dst, len(s))[:n+len(s)]
	out := dst[n:]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return lowerAppendRunes(dst[:n+i], s[i:])
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return dst
}

// lowerAppendRunes is lowerAppend rune by rune.
func lowerAppendRunes(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, c)
			i++
			continue
		}
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
		i += n
	}
	return dst
}

// needsLower reports whether lowerAppend would change s (without
// allocating: it runs on every value a check lower-cases).
func needsLower(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				return true
			}
			i++
			continue
		}
		// A rune that lower-cases to itself is written back as it was
		// (a byte that is not UTF-8 is copied).
		r, n := utf8.DecodeRuneInString(s[i:])
		if !(r == utf8.RuneError && n == 1) && unicode.ToLower(r) != r {
			return true
		}
		i += n
	}
	return false
}
