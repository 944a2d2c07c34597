package evtx

import "testing"

// isZero finds a non-zero byte wherever it is, in the 64-byte steps and in
// the tail.
func TestIsZero(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 63, 64, 65, 200, chunkSize} {
		b := make([]byte, n)
		if !isZero(b) {
			t.Errorf("%d zero bytes: not zero", n)
		}
		for i := range b {
			b[i] = 0x10
			if isZero(b) {
				t.Fatalf("%d bytes, byte %d set: zero", n, i)
			}
			b[i] = 0
		}
	}
}
