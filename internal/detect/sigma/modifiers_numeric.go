package sigma

import (
	"fmt"
	"strconv"
	"strings"
)

// Numeric comparisons: |lt |lte |gt |gte compare the field, read as a number
// (decimal, or hexadecimal with 0x as Windows writes access masks and
// status codes), with the rule's number. A field that is not a number does
// not match. (|neq, which the specification lists here too, negates any
// value and lives in modifiers_generic.go.)
//
// Adding a modifier of this kind: write its valueMod (or itemMod) here, name
// it in lookupModifier (modifiers.go), and test it, positive and negative,
// in this file's _test.go.

type cmpOp uint8

const (
	cmpLT cmpOp = iota
	cmpLTE
	cmpGT
	cmpGTE
)

func modCompare(op cmpOp) valueMod {
	return func(_ *itemCtx, v mval) ([]mval, error) {
		var text string
		switch v.kind {
		case vNumber:
			text = v.text
		case vString:
			p, ok := v.s.plain()
			if !ok {
				return nil, fmt.Errorf("numeric comparison with a wildcard value %q", v.s.String())
			}
			text = p
		default:
			return nil, typeError("numeric comparison", v)
		}
		n, ok := parseNumber(text)
		if !ok {
			return nil, fmt.Errorf("numeric comparison with %q, which is not a number", text)
		}
		v.kind, v.s, v.op, v.num, v.text = vCompare, nil, op, n, text
		return []mval{v}, nil
	}
}

// parseNumber reads a decimal or 0x-hexadecimal number.
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		u, err := strconv.ParseUint(s[2:], 16, 64)
		return float64(u), err == nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f, true
	}
	return 0, false
}

func compareNumber(op cmpOp, field, rule float64) bool {
	switch op {
	case cmpLT:
		return field < rule
	case cmpLTE:
		return field <= rule
	case cmpGT:
		return field > rule
	}
	return field >= rule
}

// canonicalDecimal reports whether s is a decimal integer written without
// sign, spaces or leading zeros: two such texts are equal numbers only when
// they are equal texts.
func canonicalDecimal(s string) bool {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
