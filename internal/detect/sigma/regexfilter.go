package sigma

import (
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Go's regular expressions cost a lot per call (a few hundred nanoseconds
// on a short value; tens of microseconds for `echo.*clip.*&&.*...` on a
// long command line, which the backtracker explores from every position).
// The prefilter runs a rule only on events that hold one of its literals,
// but that literal may be another item's, or the one weakest part of the
// expression. So each expression also gets a regexFilter, which the
// Matcher applies before running it:
//
//   - the literal chain: the literals every match contains, in order and
//     without overlap (`echo.*clip.*&&` needs "echo", then "clip", then
//     "&&" after it). Looking for them with strings.Index rejects most
//     values at once; a value that passes still runs the expression, so
//     the chain only has to be necessary;
//   - the class run: an expression that is one character class repeated
//     over the whole value (`^[A-Za-z0-9]{16}$`) is answered exactly by
//     a byte loop, without the expression.
//
// The exhaustive evaluation of the tests runs the expressions alone, so
// TestShortcutsLoseNothing checks these filters too.

// regexFilter is what the Matcher checks of a value before (or instead of)
// running a regular expression on it.
type regexFilter struct {
	chain []chainLit
	fold  bool      // the chain is looked for in the lower-cased value
	run   *classRun // the whole expression, when it is a class run

	// dotStar: the expression is nothing but its chain's literals (all
	// ASCII, all case-insensitive or none) joined by .*, so on an ASCII
	// value the chain is the answer, looked for line by line unless dotNL
	// (the s flag: . matches a newline too). `\+.*\+.*\+` (fourteen
	// times) costs the backtracker a hundred microseconds on a long
	// PowerShell command line.
	dotStar, dotNL bool
}

// chainLit is one element of a chain: a literal, or for an alternation
// one literal of each branch (the earliest that occurs is taken).
type chainLit struct {
	s    string
	alts []string // more literals, any of which will do
	// ascii: a literal holds a letter whose case folding reaches a
	// character that does not lower-case to the letter's lower case ((?i)s
	// matches ſ, which stays ſ): the element is looked for in ASCII values
	// only.
	ascii bool
}

// maxChainRepeat caps the copies of a repeated part (x{3}) a chain takes.
const maxChainRepeat = 8

// newRegexFilter returns the filter of an expression with its flags, nil
// when it has neither a chain nor a class run.
func newRegexFilter(expr, flags string) *regexFilter {
	src := expr
	if flags != "" {
		src = "(?" + flags + ")" + expr
	}
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return nil
	}
	if run := classRunOf(re); run != nil {
		return &regexFilter{run: run}
	}
	var b chainBuilder
	b.add(re, 0)
	if len(b.lits) == 0 {
		return nil
	}
	f := &regexFilter{fold: b.fold}
	for _, l := range b.lits {
		if f.fold {
			l.s = lowerString(l.s)
			l.alts = append([]string(nil), l.alts...)
			for i := range l.alts {
				l.alts[i] = lowerString(l.alts[i])
			}
		}
		f.chain = append(f.chain, l)
	}
	f.dotStar, f.dotNL = isDotStar(re, len(f.chain))
	return f
}

// isDotStar reports whether re is n ASCII literals (possibly captured),
// all case-insensitive or none, joined by .* (possibly at either end too),
// and whether its dots match a newline.
func isDotStar(re *syntax.Regexp, n int) (ok, dotNL bool) {
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	parts := re.Sub
	switch re.Op {
	case syntax.OpConcat:
	case syntax.OpLiteral:
		parts = []*syntax.Regexp{re}
	default:
		return false, false
	}
	lits, folds, notNL := 0, 0, false
	for _, s := range parts {
		for s.Op == syntax.OpCapture {
			s = s.Sub[0]
		}
		switch {
		case s.Op == syntax.OpLiteral:
			for _, r := range s.Rune {
				if r >= utf8.RuneSelf || r == '\n' {
					return false, false
				}
			}
			if s.Flags&syntax.FoldCase != 0 {
				folds++
			}
			lits++
		case s.Op == syntax.OpStar && s.Sub[0].Op == syntax.OpAnyCharNotNL:
			notNL = true
		case s.Op == syntax.OpStar && s.Sub[0].Op == syntax.OpAnyChar:
			dotNL = true
		default:
			return false, false
		}
	}
	if lits != n || (folds != 0 && folds != lits) || (dotNL && notNL) {
		return false, false
	}
	return true, dotNL
}

// chainBuilder collects the literal chain of an expression.
type chainBuilder struct {
	lits []chainLit
	fold bool // some literal is case-insensitive
}

// add appends the chain of re: its literals that every match holds, in
// order. A part it cannot say anything of (an alternation, a class, an
// optional part...) adds nothing, which only makes the chain weaker.
func (b *chainBuilder) add(re *syntax.Regexp, depth int) {
	if depth > 50 {
		return
	}
	switch re.Op {
	case syntax.OpLiteral:
		b.literal(re.Rune, re.Flags&syntax.FoldCase != 0)
	case syntax.OpCapture, syntax.OpPlus:
		b.add(re.Sub[0], depth+1)
	case syntax.OpRepeat:
		for i := 0; i < min(re.Min, maxChainRepeat); i++ {
			b.add(re.Sub[0], depth+1)
		}
	case syntax.OpConcat:
		for _, s := range re.Sub {
			b.add(s, depth+1)
		}
	case syntax.OpAlternate:
		// One literal of each branch, the longest of its chain; nothing
		// when a branch has none.
		el := chainLit{}
		for i, s := range re.Sub {
			var sub chainBuilder
			sub.add(s, depth+1)
			best := -1
			for j, l := range sub.lits {
				if len(l.alts) == 0 && (best < 0 || len(l.s) > len(sub.lits[best].s)) {
					best = j
				}
			}
			if best < 0 {
				return
			}
			l := sub.lits[best]
			if i == 0 {
				el.s = l.s
			} else {
				el.alts = append(el.alts, l.s)
			}
			el.ascii = el.ascii || l.ascii
			b.fold = b.fold || sub.fold
		}
		b.lits = append(b.lits, el)
	}
}

// literal appends a literal of the expression, cut where it holds a
// character the chain cannot look for: U+FFFD (which the expression also
// matches on each byte that is not UTF-8) and, case-insensitively, a
// non-ASCII character whose case folding reaches one that lower-cases
// differently. Pieces of a literal are in order too.
func (b *chainBuilder) literal(runes []rune, fold bool) {
	var cur []rune
	ascii := false
	flush := func() {
		if len(cur) > 0 {
			b.lits = append(b.lits, chainLit{s: string(cur), ascii: ascii})
			b.fold = b.fold || fold
		}
		cur, ascii = nil, false
	}
	for _, r := range runes {
		if r == utf8.RuneError {
			flush()
			continue
		}
		if fold && !foldLowersAlike(r) {
			if r >= utf8.RuneSelf {
				flush()
				continue
			}
			ascii = true
		}
		cur = append(cur, r)
	}
	flush()
}

// foldLowersAlike reports whether every character that r matches
// case-insensitively lower-cases to r's lower case, so that the literal
// can be looked for in the lower-cased value.
func foldLowersAlike(r rune) bool {
	lr := unicode.ToLower(r)
	for x := unicode.SimpleFold(r); x != r; x = unicode.SimpleFold(x) {
		if unicode.ToLower(x) != lr {
			return false
		}
	}
	return true
}

// admits reports whether v (low: v lower-cased, when the chain folds) may
// match: every element of the chain occurs, in order. For a dotStar
// expression on an ASCII value, it is the answer: the second result says
// so.
func (f *regexFilter) admits(v, low string) (ok, exact bool) {
	text := v
	if f.fold {
		text = low
	}
	if f.dotStar && asciiOnly(v) {
		if f.dotNL {
			return f.chainIn(text, v), true
		}
		for {
			line, rest, more := strings.Cut(text, "\n")
			if f.chainIn(line, v) {
				return true, true
			}
			if !more {
				return false, true
			}
			text = rest
		}
	}
	return f.chainIn(text, v), false
}

// chainIn reports whether the chain occurs in text, a part of v or of v
// lower-cased.
func (f *regexFilter) chainIn(text, v string) bool {
	ascii := -1 // is v ASCII? -1: not looked at yet
	pos := 0
	for i := range f.chain {
		l := &f.chain[i]
		if l.ascii {
			if ascii < 0 {
				ascii = 0
				if asciiOnly(v) {
					ascii = 1
				}
			}
			if ascii == 0 {
				continue
			}
		}
		end := -1
		if j := strings.Index(text[pos:], l.s); j >= 0 {
			end = pos + j + len(l.s)
		}
		for _, a := range l.alts {
			if j := strings.Index(text[pos:], a); j >= 0 && (end < 0 || pos+j+len(a) < end) {
				end = pos + j + len(a)
			}
		}
		if end < 0 {
			return false
		}
		pos = end
	}
	return true
}

func asciiOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// classRun is an expression ^C{min,max}$ where C is a class of ASCII
// characters.
type classRun struct {
	in       [128]bool
	min, max int // max < 0: no upper bound
}

// classRunOf returns re as a class run, or nil.
func classRunOf(re *syntax.Regexp) *classRun {
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	if re.Op != syntax.OpConcat || len(re.Sub) != 3 ||
		re.Sub[0].Op != syntax.OpBeginText || re.Sub[2].Op != syntax.OpEndText {
		return nil
	}
	rep := re.Sub[1]
	for rep.Op == syntax.OpCapture {
		rep = rep.Sub[0]
	}
	run := &classRun{}
	switch rep.Op {
	case syntax.OpRepeat:
		run.min, run.max = rep.Min, rep.Max
	case syntax.OpPlus:
		run.min, run.max = 1, -1
	case syntax.OpStar:
		run.min, run.max = 0, -1
	case syntax.OpQuest:
		run.min, run.max = 0, 1
	default:
		return nil
	}
	cls := rep.Sub[0]
	if len(rep.Sub) != 1 || cls.Op != syntax.OpCharClass {
		return nil
	}
	for i := 0; i+1 < len(cls.Rune); i += 2 {
		lo, hi := cls.Rune[i], cls.Rune[i+1]
		if hi >= utf8.RuneSelf {
			return nil
		}
		for r := lo; r <= hi; r++ {
			run.in[r] = true
		}
	}
	return run
}

// match reports whether the whole of v is a run of the class of the right
// length. Every character of the class is one byte, so a byte that is not
// ASCII (part of another character, or of no character) is not in it.
func (c *classRun) match(v string) bool {
	if len(v) < c.min || (c.max >= 0 && len(v) > c.max) {
		return false
	}
	for i := 0; i < len(v); i++ {
		if b := v[i]; b >= utf8.RuneSelf || !c.in[b] {
			return false
		}
	}
	return true
}
