package store

import (
	"math/bits"

	"github.com/kizuki-dev/kizuki/internal/query"
)

// hashToken is XXH64 with seed 0, written out here because the token
// filters on disk depend on it bit for bit: it must never change with a
// dependency's version. (The xxhash inside klauspost/compress is internal.)
func hashToken(s string) uint64 { return hashMasked(s, 0) }

// hashPair is the filter hash of a pair of tokens (query.Pair): token a
// immediately followed by token b in one value, from the tokens' hashes,
// so that indexing a pair costs no more hashing of bytes. The halves are
// weighted differently (a then b is not b then a) and the sum goes through
// XXH64's final avalanche, so that the high bits (the filter's bucket)
// and the low bits (its bits in the bucket) both depend on every bit of
// both hashes. Like hashToken, it must never change: docs/formats/index.md gives it.
func hashPair(a, b uint64) uint64 {
	h := a*11400714785074694791 + bits.RotateLeft64(b, 31)*14029467366897019727
	h ^= h >> 33
	h *= 14029467366897019727
	h ^= h >> 29
	h *= 1609587929392839161
	h ^= h >> 32
	return h
}

// hashEntry is the filter hash of a prefilter entry: a token, or a pair
// of tokens as query.Pair makes it.
func hashEntry(s string) uint64 {
	if a, b, ok := query.IsPair(s); ok {
		return hashPair(hashToken(a), hashToken(b))
	}
	return hashToken(s)
}

// foldASCII, or-ed into every byte of a token of ASCII letters and digits,
// lower-cases it: the digits already have the 0x20 bit, and it is all
// that tells a capital letter from a small one.
const foldASCII = 0x2020202020202020

// hashMasked is XXH64 of s with mask or-ed into every byte: with mask
// foldASCII, the hash of the lower-cased token, without making it.
func hashMasked(s string, mask uint64) uint64 {
	const (
		p1 = 11400714785074694791
		p2 = 14029467366897019727
		p3 = 1609587929392839161
		p4 = 9650029242287828579
		p5 = 2870177450012600261
	)
	n := len(s)
	var h uint64
	if n >= 32 {
		p1v := uint64(p1)
		v1 := p1v + p2
		v2 := uint64(p2)
		v3 := uint64(0)
		v4 := -p1v
		for len(s) >= 32 {
			v1 = xxRound(v1, le64(s[0:])|mask)
			v2 = xxRound(v2, le64(s[8:])|mask)
			v3 = xxRound(v3, le64(s[16:])|mask)
			v4 = xxRound(v4, le64(s[24:])|mask)
			s = s[32:]
		}
		h = bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) + bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
		h = xxMerge(h, v1)
		h = xxMerge(h, v2)
		h = xxMerge(h, v3)
		h = xxMerge(h, v4)
	} else {
		h = p5
	}
	h += uint64(n)
	for ; len(s) >= 8; s = s[8:] {
		h ^= xxRound(0, le64(s)|mask)
		h = bits.RotateLeft64(h, 27)*p1 + p4
	}
	if len(s) >= 4 {
		h ^= uint64(le32(s)|uint32(mask)) * p1
		h = bits.RotateLeft64(h, 23)*p2 + p3
		s = s[4:]
	}
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i]|byte(mask)) * p5
		h = bits.RotateLeft64(h, 11) * p1
	}
	h ^= h >> 33
	h *= p2
	h ^= h >> 29
	h *= p3
	h ^= h >> 32
	return h
}

func xxRound(acc, in uint64) uint64 {
	acc += in * 14029467366897019727
	acc = bits.RotateLeft64(acc, 31)
	return acc * 11400714785074694791
}

func xxMerge(acc, v uint64) uint64 {
	acc ^= xxRound(0, v)
	return acc*11400714785074694791 + 9650029242287828579
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func le32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}
