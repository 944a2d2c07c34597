package sigma

import (
	"fmt"
	"strings"
)

// |fieldref: the value names another field of the same event, and the item
// matches when both fields are present and equal (case-insensitively unless
// cased). With contains / startswith / endswith after it, the field must
// contain / start with / end with the other field's value. The referenced
// name goes through the same logsource field mapping as the field itself.
//
// Adding a modifier of this kind: write its valueMod (or itemMod) here, name
// it in lookupModifier (modifiers.go), and test it, positive and negative,
// in this file's _test.go.

func modFieldRef(c *itemCtx, v mval) ([]mval, error) {
	if len(c.applied) > 0 && !c.hasApplied("cased") {
		return nil, fmt.Errorf("fieldref only applies to an unmodified value (after %s)", strings.Join(c.applied, "|"))
	}
	s, ok := v.asString()
	if !ok {
		return nil, typeError("fieldref", v)
	}
	name, ok := s.plain()
	if !ok || name == "" {
		return nil, fmt.Errorf("fieldref needs a field name without wildcards, not %q", s.String())
	}
	v.kind, v.s, v.text = vFieldRef, nil, name
	return []mval{v}, nil
}

// matchFieldRef compares a field value with the referenced field's value
// (both already lower-cased unless cased).
func matchFieldRef(prefix, suffix bool, v, ref string) bool {
	switch {
	case prefix && suffix:
		return strings.Contains(v, ref)
	case prefix:
		return strings.HasPrefix(v, ref)
	case suffix:
		return strings.HasSuffix(v, ref)
	}
	return v == ref
}
