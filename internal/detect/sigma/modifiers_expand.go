package sigma

import (
	"fmt"
	"strings"
)

// |expand: %name% in the value is a placeholder, replaced by the values
// Options.Placeholders gives for name (each a Sigma string, so wildcards
// work; several values are OR-ed). "\%" is a literal percent sign. The
// specification says a tool that cannot fill a placeholder must reject the
// rule: such a rule loads (so that it is listed) but is marked Degraded with
// the placeholder's name and never fires.
//
// Adding a modifier of this kind: write its valueMod (or itemMod) here, name
// it in lookupModifier (modifiers.go), and test it, positive and negative,
// in this file's _test.go.

func modExpand(c *itemCtx, v mval) ([]mval, error) {
	s, ok := v.asString()
	if !ok {
		return nil, typeError("expand", v)
	}
	s = insertPlaceholders(s)
	// Cross product of the placeholders' values, left to right.
	out := []sstring{nil}
	for _, p := range s {
		if p.kind != pPlaceholder {
			for i := range out {
				out[i] = append(out[i], p)
			}
			continue
		}
		vals, ok := c.opt.Placeholders[p.s]
		if !ok || len(vals) == 0 {
			if c.degrade == "" {
				c.degrade = fmt.Sprintf("unresolved placeholder %%%s%% (give it in Options.Placeholders)", p.s)
			}
			v.never = c.degrade
			for i := range out {
				out[i] = append(out[i], p)
			}
			continue
		}
		if len(out)*len(vals) > MaxValues {
			return nil, fmt.Errorf("placeholder %%%s%% expands to more than %d values", p.s, MaxValues)
		}
		var next []sstring
		for _, o := range out {
			for _, pv := range vals {
				n := append(append(sstring(nil), o...), parseSigmaString(pv, false)...)
				next = append(next, n)
			}
		}
		out = next
	}
	res := make([]mval, len(out))
	for i, o := range out {
		w := v
		w.kind, w.s = vString, merge(o)
		res[i] = w
	}
	return res, nil
}

// insertPlaceholders turns %name% in literal runs into placeholder parts;
// "\%" (kept as written by the first parse) becomes a literal "%".
func insertPlaceholders(s sstring) sstring {
	var out sstring
	for _, p := range s {
		if p.kind != pLit || !strings.Contains(p.s, "%") {
			out = append(out, p)
			continue
		}
		var lit strings.Builder
		t := p.s
		for i := 0; i < len(t); i++ {
			switch {
			case t[i] == '\\' && i+1 < len(t) && t[i+1] == '%':
				lit.WriteByte('%')
				i++
			case t[i] == '%':
				end := strings.IndexByte(t[i+1:], '%')
				if end <= 0 || !isPlaceholderName(t[i+1:i+1+end]) {
					lit.WriteByte('%')
					continue
				}
				if lit.Len() > 0 {
					out = append(out, part{kind: pLit, s: lit.String()})
					lit.Reset()
				}
				out = append(out, part{kind: pPlaceholder, s: t[i+1 : i+1+end]})
				i += end + 1
			default:
				lit.WriteByte(t[i])
			}
		}
		if lit.Len() > 0 {
			out = append(out, part{kind: pLit, s: lit.String()})
		}
	}
	return merge(out)
}
