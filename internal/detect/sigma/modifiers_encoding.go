package sigma

import (
	"encoding/base64"
	"errors"
	"unicode/utf16"
)

// Encoding modifiers turn a plain value into the bytes an attacker's encoded
// payload would hold: base64 (and base64offset, the three alignments of a
// value inside a longer base64 text), and the UTF-16 encodings (utf16le, its
// alias wide, utf16be, utf16 with a byte-order mark) usually chained before
// base64 (PowerShell's -EncodedCommand is base64 of UTF-16LE). The result is
// a byte string; it is then compared like any other value (case-insensitive
// unless cased, as pySigma's backends do).
//
// Adding a modifier of this kind: write its valueMod (or itemMod) here, name
// it in lookupModifier (modifiers.go), and test it, positive and negative,
// in this file's _test.go.

var errWildcardEncode = errors.New("cannot encode a value with wildcards")

// plainBytes returns the value's bytes: it must have no wildcard.
func plainBytes(v mval, mod string) (string, error) {
	s, ok := v.asString()
	if !ok {
		return "", typeError(mod, v)
	}
	p, ok := s.plain()
	if !ok {
		return "", errWildcardEncode
	}
	return p, nil
}

func stringVal(v mval, s string) mval {
	v.kind, v.s = vString, sstring{{kind: pLit, s: s}}
	if s == "" {
		v.s = nil
	}
	return v
}

func modBase64(_ *itemCtx, v mval) ([]mval, error) {
	p, err := plainBytes(v, "base64")
	if err != nil {
		return nil, err
	}
	return []mval{stringVal(v, base64.StdEncoding.EncodeToString([]byte(p)))}, nil
}

// modBase64Offset gives the three base64 forms of a value that sits at byte
// offset 0, 1 or 2 of a longer encoded text: the value is prefixed with 0-2
// spaces, encoded, and the characters that depend on the unknown
// neighbouring bytes are cut off (pySigma's start offsets 0, 2, 3 and end
// cuts none, 3, 2 chosen by (len+offset) mod 3).
func modBase64Offset(_ *itemCtx, v mval) ([]mval, error) {
	p, err := plainBytes(v, "base64offset")
	if err != nil {
		return nil, err
	}
	starts := [3]int{0, 2, 3}
	endCut := [3]int{0, 3, 2}
	out := make([]mval, 0, 3)
	for i := 0; i < 3; i++ {
		data := make([]byte, 0, i+len(p))
		for j := 0; j < i; j++ {
			data = append(data, ' ')
		}
		data = append(data, p...)
		enc := base64.StdEncoding.EncodeToString(data)
		end := len(enc) - endCut[(len(p)+i)%3]
		if starts[i] > end {
			end = starts[i]
		}
		out = append(out, stringVal(v, enc[starts[i]:end]))
	}
	return out, nil
}

// utf16Literals re-encodes every literal run of a value, keeping wildcards.
func utf16Literals(v mval, mod string, bigEndian bool, bom bool) ([]mval, error) {
	s, ok := v.asString()
	if !ok {
		return nil, typeError(mod, v)
	}
	enc := func(t string) string {
		u := utf16.Encode([]rune(t))
		b := make([]byte, 0, 2*len(u))
		for _, c := range u {
			if bigEndian {
				b = append(b, byte(c>>8), byte(c))
			} else {
				b = append(b, byte(c), byte(c>>8))
			}
		}
		return string(b)
	}
	out := s.mapLiterals(enc)
	if bom {
		out = merge(append(sstring{{kind: pLit, s: "\xff\xfe"}}, out...))
	}
	v.kind, v.s = vString, out
	return []mval{v}, nil
}

func modUTF16LE(_ *itemCtx, v mval) ([]mval, error) { return utf16Literals(v, "utf16le", false, false) }
func modUTF16BE(_ *itemCtx, v mval) ([]mval, error) { return utf16Literals(v, "utf16be", true, false) }
func modUTF16(_ *itemCtx, v mval) ([]mval, error)   { return utf16Literals(v, "utf16", false, true) }
