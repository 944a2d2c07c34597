package sigma

import (
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// check is one compiled value of a detection item: what a field value must
// satisfy. Items hold groups of checks; the matcher evaluates them against
// the event.

type checkKind uint8

const (
	cString   checkKind = iota // wildcard string (case-insensitive unless cased)
	cNumber                    // plain number: equal text, else equal as numbers
	cRegex                     // regular expression on the value as it is
	cCIDR                      // address inside a network
	cCompare                   // numeric comparison
	cNull                      // field absent
	cExists                    // field present (or absent)
	cFieldRef                  // equal to (or contains...) another field
	cTimePart                  // part of a time stamp equals a number
	cNever                     // never matches (unresolved placeholder)
)

// needle is a literal the prefilter looks for.
type needle struct {
	s     string
	kind  litKind
	exact bool // the whole value must equal s: more selective than its length says
	weak  bool // from a regular expression: often its fixed frame, and the check is costly
}

type check struct {
	kind   checkKind
	pat    strPattern     // cString, cNumber (its text)
	num    float64        // cNumber (not integer), cCompare, cTimePart
	numInt int64          // cNumber
	isInt  bool           // cNumber: the rule's number is an integer
	op     cmpOp          // cCompare
	re     *regexp.Regexp // cRegex
	rf     *regexFilter   // cRegex: what the Matcher checks first (nil: nothing)
	cidr   netip.Prefix   // cCIDR
	want   bool           // cExists
	tpart  timePart       // cTimePart

	ref                  string // cFieldRef: Sigma name of the other field
	refFID               int32  // cFieldRef: its slot, set when compiled for a route
	refPrefix, refSuffix bool   // cFieldRef: startswith / endswith / contains
	cased                bool   // cFieldRef

	// lits: lower-case literals of which one occurs in the (lower-cased)
	// value, where its kind says, whenever the check matches; nil when it
	// cannot tell. The prefilter is built from them.
	lits []needle
}

// compileCheck compiles a value the modifiers are done with.
func compileCheck(v mval) (check, error) {
	if v.never != "" {
		return check{kind: cNever}, nil
	}
	switch v.kind {
	case vString:
		c := check{kind: cString, pat: compileString(v.s, v.cased)}
		c.lits = stringLits(c.pat)
		return c, nil
	case vNumber:
		c := check{kind: cNumber, pat: strPattern{kind: patEqual, lit: lowerString(v.text)}}
		if n, err := strconv.ParseInt(v.text, 10, 64); err == nil {
			// Any decimal text of the same integer (" 4688", "+04688")
			// contains the canonical digits.
			c.isInt, c.numInt = true, n
			if canonicalDecimal(v.text) {
				c.lits = []needle{{v.text, litContains, false, false}}
			}
		} else if f, ok := parseNumber(v.text); ok {
			c.num = f
		} else {
			c.num = math.NaN()
		}
		return c, nil
	case vBool:
		lit := lowerString(v.text)
		return check{kind: cString, pat: strPattern{kind: patEqual, lit: lit}, lits: []needle{{lit, litSuffix, true, false}}}, nil
	case vNull:
		return check{kind: cNull}, nil
	case vRegex:
		re, err := compileRegex(v.text, v.reFlags)
		if err != nil {
			return check{}, err
		}
		c := check{kind: cRegex, re: re, rf: newRegexFilter(v.text, v.reFlags)}
		for _, l := range regexLiterals(v.text, v.reFlags) {
			c.lits = append(c.lits, needle{l, litContains, false, true})
		}
		return c, nil
	case vCIDR:
		p, err := parseCIDR(v.text)
		if err != nil {
			return check{}, err
		}
		return check{kind: cCIDR, cidr: p}, nil
	case vCompare:
		return check{kind: cCompare, op: v.op, num: v.num}, nil
	case vExists:
		return check{kind: cExists, want: v.exists}, nil
	case vFieldRef:
		return check{kind: cFieldRef, ref: v.text, refPrefix: v.refPrefix, refSuffix: v.refSuffix, cased: v.cased}, nil
	case vTimePart:
		return check{kind: cTimePart, tpart: v.tpart, num: v.num}, nil
	}
	return check{kind: cNever}, nil
}

// stringLits returns the literal a compiled string pattern needs: its one
// literal (an equality is looked for as a prefix), or for a general
// wildcard pattern its longest literal run, anchored when it is the first
// or last part.
func stringLits(p strPattern) []needle {
	lower := func(s string) string {
		if p.cased {
			return lowerString(s)
		}
		return s
	}
	switch p.kind {
	case patEqual, patPrefix, patSuffix, patContains:
		if p.lit == "" {
			return nil
		}
		// An equality is looked for as a suffix: the end of a path or
		// name is its selective part.
		k := map[patKind]litKind{patEqual: litSuffix, patPrefix: litPrefix, patSuffix: litSuffix, patContains: litContains}[p.kind]
		return []needle{{lower(p.lit), k, p.kind == patEqual, false}}
	case patGlob:
		best, kind := "", litContains
		for i, q := range p.parts {
			if q.kind != pLit || len(q.s) <= len(best) {
				continue
			}
			best, kind = q.s, litContains
			switch i {
			case 0:
				kind = litPrefix
			case len(p.parts) - 1:
				kind = litSuffix
			}
		}
		if best == "" {
			return nil
		}
		return []needle{{lower(best), kind, false, false}}
	}
	return nil
}

// trimNumber drops the spaces and a leading "+" around a number.
func trimNumber(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 1 && s[0] == '+' {
		s = s[1:]
	}
	return s
}

// matchValue evaluates the checks that look at one present value: v as it is
// and lower, its lower-cased form. (Null, exists and fieldref need more and
// are evaluated by the matcher.)
func (c *check) matchValue(v, lower string) bool {
	switch c.kind {
	case cString:
		if c.pat.cased {
			return c.pat.match(v)
		}
		return c.pat.match(lower)
	case cNumber:
		if lower == c.pat.lit {
			return true
		}
		if c.isInt {
			if len(c.lits) > 0 && canonicalDecimal(v) {
				return false // two canonical texts: equal only when identical
			}
			n, err := strconv.ParseInt(trimNumber(v), 10, 64)
			return err == nil && n == c.numInt
		}
		f, err := strconv.ParseFloat(trimNumber(v), 64)
		return err == nil && f == c.num
	case cRegex:
		return c.re.MatchString(v)
	case cCIDR:
		return matchCIDR(c.cidr, v)
	case cCompare:
		f, ok := parseNumber(v)
		return ok && compareNumber(c.op, f, c.num)
	case cTimePart:
		n, ok := timeOf(c.tpart, v)
		return ok && float64(n) == c.num
	}
	return false
}
