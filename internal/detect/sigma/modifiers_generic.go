package sigma

import "errors"

// Generic modifiers, which apply to any field:
//
//   - all: the item's values are AND-ed instead of OR-ed (an expansion of one
//     value, e.g. the dash variants of windash, stays OR-ed inside).
//   - neq: the item matches when the field does not match any of the values
//     (pySigma negates the whole item, so a missing field matches too).
//   - exists: true / false — the field is present / absent, whatever its value
//     (an empty value is present).
//
// Adding a modifier of this kind: write its valueMod (or itemMod) here, name
// it in lookupModifier (modifiers.go), and test it, positive and negative,
// in this file's _test.go.

func modAll(c *itemCtx) error {
	c.all = true
	return nil
}

func modNeq(c *itemCtx) error {
	c.negate = !c.negate
	return nil
}

func modExists(c *itemCtx, v mval) ([]mval, error) {
	if c.field == "" {
		return nil, errors.New("exists needs a field name")
	}
	if len(c.applied) > 0 {
		return nil, errors.New("exists only applies to an unmodified true or false")
	}
	switch {
	case v.kind == vBool:
		v.exists = v.text == "true" || v.text == "True" || v.text == "TRUE"
	case v.kind == vString:
		p, _ := v.s.plain()
		switch p {
		case "true", "True", "TRUE":
			v.exists = true
		case "false", "False", "FALSE":
			v.exists = false
		default:
			return nil, typeError("exists", v)
		}
	default:
		return nil, typeError("exists", v)
	}
	v.kind, v.s = vExists, nil
	return []mval{v}, nil
}
