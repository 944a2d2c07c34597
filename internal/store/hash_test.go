package store

import (
	"strings"
	"testing"
)

// The XXH64 reference vectors (seed 0): the filters on disk depend on them.
func TestHashToken(t *testing.T) {
	f := func(in string, want uint64) {
		t.Helper()
		if got := hashToken(in); got != want {
			t.Errorf("hashToken(%q) = %#x, want %#x", in, got, want)
		}
	}
	f("", 0xef46db3751d8e999)
	f("a", 0xd24ec4f1a98c6e5b)
	f("abc", 0x44bc2cf5ad770999)
	f("message digest", 0x066ed728fceeb3be)
	f("abcdefghijklmnopqrstuvwxyz", 0xcfe1f278fa89835c)
	f("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 0xaaa46907d3047814)
	f(strings.Repeat("1234567890", 8), 0xe04a477f19ee145d)
}

// hashMasked with foldASCII hashes the lower case of an ASCII token.
func TestHashFold(t *testing.T) {
	for _, s := range []string{"", "A", "Zz09", "EventData", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz", strings.Repeat("MiXeD9", 20)} {
		for n := 0; n <= len(s); n++ {
			if got, want := hashMasked(s[:n], foldASCII), hashToken(strings.ToLower(s[:n])); got != want {
				t.Fatalf("%q: %#x, want %#x", s[:n], got, want)
			}
		}
	}
}
