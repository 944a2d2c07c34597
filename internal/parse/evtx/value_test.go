package evtx

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// appendUTF16Ref is appendUTF16 written plainly, one unit at a time.
func appendUTF16Ref(dst []byte, d []byte) []byte {
	units := make([]uint16, 0, len(d)/2)
	for i := 0; i+1 < len(d); i += 2 {
		c := binary.LittleEndian.Uint16(d[i:])
		if c == 0 {
			break
		}
		units = append(units, c)
	}
	for _, r := range utf16.Decode(units) {
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// appendUTF16 (and its ASCII fast path) gives what a plain conversion gives,
// wherever ASCII runs, other characters, surrogates and NULs fall.
func TestAppendUTF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := []uint16{'a', 'Z', '\\', ' ', 0x7f, 0x80, 0xe9, 0x3b1, 0xffff, 0xd83d, 0xde00, 0xdc00, 0}
	for n := 0; n < 3000; n++ {
		size := rng.IntN(40)
		var d []byte
		for range size {
			c := uint16('a' + rng.IntN(26))
			if rng.IntN(6) == 0 {
				c = pick[rng.IntN(len(pick))]
			}
			d = binary.LittleEndian.AppendUint16(d, c)
		}
		if rng.IntN(4) == 0 {
			d = append(d, 'x') // an odd byte
		}
		prefix := []byte("pre")
		got := appendUTF16(bytes.Clone(prefix), d)
		want := appendUTF16Ref(bytes.Clone(prefix), d)
		if !bytes.Equal(got, want) {
			t.Fatalf("% x: %q, want %q", d, got, want)
		}
	}
}
