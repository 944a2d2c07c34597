package store

import "encoding/binary"

// A block's token filter answers "may this block hold token t?" for the
// tokens of query.Tokens over every value of the block (host, source,
// raw and every field value), and since format version 2 for the pairs of
// consecutive tokens of each value (query.Pairs, hashed by hashPair). A
// needle search skips the blocks whose filter says no: that is what keeps
// it fast over millions of events (see docs/formats/index.md). Pairs are what let an
// IP address or a phrase skip blocks: its tokens (198, 51, 100, 237) are
// in nearly every block, its pairs are not.
//
// The filter is a split-block Bloom filter as Parquet defines it: 32-byte
// buckets of eight 32-bit words; a token's XXH64 hash picks one bucket with
// its high 32 bits and sets one bit in each word from its low 32 bits. One
// bucket per token keeps a probe to one cache line; at filterBitsPerToken
// bits per distinct entry (token or pair: the filter is sized for both),
// about 0.5% of absent entries pass.

const (
	filterBucketBytes  = 32
	filterBitsPerToken = 12
)

// filterSalt are Parquet's SBBF salts.
var filterSalt = [8]uint32{
	0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d,
	0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31,
}

// filterBuckets returns the bucket count for n distinct tokens.
func filterBuckets(n int) int {
	b := (n*filterBitsPerToken + filterBucketBytes*8 - 1) / (filterBucketBytes * 8)
	if b < 1 {
		b = 1
	}
	return b
}

// appendFilter appends the filter of the distinct token hashes hs to dst.
func appendFilter(dst []byte, hs []uint64) []byte {
	nb := filterBuckets(len(hs))
	start := len(dst)
	dst = append(dst, make([]byte, nb*filterBucketBytes)...)
	f := dst[start:]
	for _, h := range hs {
		b := f[filterBucket(h, nb)*filterBucketBytes:]
		key := uint32(h)
		for i := 0; i < 8; i++ {
			w := binary.LittleEndian.Uint32(b[4*i:])
			w |= 1 << ((key * filterSalt[i]) >> 27)
			binary.LittleEndian.PutUint32(b[4*i:], w)
		}
	}
	return dst
}

// filterBucket maps the hash's high 32 bits onto [0, nb) by multiply and
// shift (Parquet's choice: no division, no bias worth the name).
func filterBucket(h uint64, nb int) int {
	return int(((h >> 32) * uint64(nb)) >> 32)
}

// filterHas reports whether the filter f may contain the token of hash h.
// f must be a whole number of buckets (checked when it is read).
func filterHas(f []byte, h uint64) bool {
	nb := len(f) / filterBucketBytes
	if nb == 0 {
		return true
	}
	b := f[filterBucket(h, nb)*filterBucketBytes:]
	key := uint32(h)
	for i := 0; i < 8; i++ {
		if binary.LittleEndian.Uint32(b[4*i:])&(1<<((key*filterSalt[i])>>27)) == 0 {
			return false
		}
	}
	return true
}

// prefilter is a query's token CNF, hashed once per search: a block can
// match only if, for every clause, its filter may hold one of the clause's
// tokens.
type prefilter [][]uint64

func (p prefilter) mayMatch(f []byte) bool {
	for _, clause := range p {
		ok := false
		for _, h := range clause {
			if filterHas(f, h) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// tokenSet collects the distinct token hashes of a block: open addressing
// with linear probing, reused from block to block. Zero marks an empty
// slot, so the hash 0 is kept aside.
type tokenSet struct {
	slots   []uint64
	n       int
	hasZero bool
}

func (s *tokenSet) reset() {
	clear(s.slots)
	s.n = 0
	s.hasZero = false
}

func (s *tokenSet) add(h uint64) {
	if h == 0 {
		s.hasZero = true
		return
	}
	if (s.n+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return
		case 0:
			s.slots[i] = h
			s.n++
			return
		}
	}
}

func (s *tokenSet) grow() {
	old := s.slots
	n := 2 * len(old)
	if n < 1024 {
		n = 1024
	}
	s.slots = make([]uint64, n)
	s.n = 0
	for _, h := range old {
		if h != 0 {
			s.add(h)
		}
	}
}

// appendHashes appends the distinct hashes to dst.
func (s *tokenSet) appendHashes(dst []uint64) []uint64 {
	if s.hasZero {
		dst = append(dst, 0)
	}
	for _, h := range s.slots {
		if h != 0 {
			dst = append(dst, h)
		}
	}
	return dst
}
