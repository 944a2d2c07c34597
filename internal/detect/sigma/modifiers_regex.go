package sigma

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// Regular expressions: |re takes the value as written (no wildcard or escape
// processing) as a regular expression, matched anywhere in the field value,
// case-sensitively unless the i flag is given; |m and |s set the multi-line
// and dot-all flags.
//
// The specification asks for a PCRE subset (. ^ $ * + ? {n,m} [] | ()), which
// Go's RE2 covers. Expressions that use what RE2 lacks (look-around,
// back-references, possessive quantifiers) fail to load with the compiler's
// message, so the rule is listed as a LoadError instead of silently never
// matching.
//
// Adding a modifier of this kind: write its valueMod (or itemMod) here, name
// it in lookupModifier (modifiers.go), and test it, positive and negative,
// in this file's _test.go.

func modRegex(c *itemCtx, v mval) ([]mval, error) {
	if len(c.applied) > 0 {
		return nil, fmt.Errorf("re only applies to a value no other modifier changed (after %s)", strings.Join(c.applied, "|"))
	}
	switch v.kind {
	case vString:
		v.text = v.raw
	case vNumber, vBool:
	default:
		return nil, typeError("re", v)
	}
	v.kind, v.s = vRegex, nil
	return []mval{v}, nil
}

func modRegexFlag(flag byte) valueMod {
	return func(_ *itemCtx, v mval) ([]mval, error) {
		if v.kind != vRegex {
			return nil, fmt.Errorf("regular expression flag %c needs |re before it", flag)
		}
		if !strings.Contains(v.reFlags, string(flag)) {
			v.reFlags += string(flag)
		}
		return []mval{v}, nil
	}
}

// compileRegex compiles a rule's expression with its flags.
func compileRegex(expr, flags string) (*regexp.Regexp, error) {
	src := expr
	if flags != "" {
		src = "(?" + flags + ")" + expr
	}
	re, err := regexp.Compile(src)
	if err != nil {
		hint := ""
		switch {
		case strings.Contains(expr, "(?=") || strings.Contains(expr, "(?!") || strings.Contains(expr, "(?<=") || strings.Contains(expr, "(?<!"):
			hint = " (look-around is beyond Go's RE2)"
		case backReference(expr):
			hint = " (back-references are beyond Go's RE2)"
		}
		return nil, fmt.Errorf("regular expression %q%s: %w", expr, hint, err)
	}
	return re, nil
}

// backReference reports whether expr has a ..\9 back-reference.
func backReference(expr string) bool {
	for i := 0; i+1 < len(expr); i++ {
		if expr[i] == '\\' {
			if c := expr[i+1]; c >= '1' && c <= '9' {
				return true
			}
			i++
		}
	}
	return false
}

// regexLiterals returns a set of lower-case strings of which at least one
// occurs in every text the expression matches, or nil when it cannot tell.
// The prefilter uses it so that most events never run the expression.
func regexLiterals(expr, flags string) []string {
	src := expr
	if flags != "" {
		src = "(?" + flags + ")" + expr
	}
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return nil
	}
	return requiredLits(re.Simplify(), 0)
}

// requiredLits computes a literal set for one syntax node: for a
// concatenation the best set of any part, for an alternation the union of its
// branches' sets (nil when one branch has none).
func requiredLits(re *syntax.Regexp, depth int) []string {
	if depth > 50 {
		return nil
	}
	switch re.Op {
	case syntax.OpLiteral:
		return []string{lowerString(string(re.Rune))}
	case syntax.OpCapture:
		return requiredLits(re.Sub[0], depth+1)
	case syntax.OpPlus:
		return requiredLits(re.Sub[0], depth+1)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLits(re.Sub[0], depth+1)
		}
	case syntax.OpConcat:
		// Adjacent literals join into one longer literal.
		var best []string
		var run []rune
		consider := func(c []string) {
			if betterLits(c, best) {
				best = c
			}
		}
		for _, s := range re.Sub {
			if s.Op == syntax.OpLiteral {
				run = append(run, s.Rune...)
				continue
			}
			if len(run) > 0 {
				consider([]string{lowerString(string(run))})
				run = nil
			}
			consider(requiredLits(s, depth+1))
		}
		if len(run) > 0 {
			consider([]string{lowerString(string(run))})
		}
		return best
	case syntax.OpAlternate:
		var out []string
		for _, s := range re.Sub {
			l := requiredLits(s, depth+1)
			if l == nil {
				return nil
			}
			out = append(out, l...)
		}
		return out
	}
	return nil
}

// betterLits reports whether literal set a is a better prefilter than b:
// present beats absent; then the set whose shortest literal is longer.
func betterLits(a, b []string) bool {
	if len(a) == 0 {
		return false
	}
	if len(b) == 0 {
		return true
	}
	ma, mb := minLen(a), minLen(b)
	if ma != mb {
		return ma > mb
	}
	return len(a) < len(b)
}

func minLen(s []string) int {
	m := -1
	for _, x := range s {
		if m < 0 || len(x) < m {
			m = len(x)
		}
	}
	return m
}
