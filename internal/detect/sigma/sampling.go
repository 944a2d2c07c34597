package sigma

import "math"

// A contains scanner whose literals are all long enough need not run its
// DFA over every byte. If every literal has at least minLen bytes, an
// occurrence starting at p covers the q-grams (q bytes) starting at p, p+1,
// ... p+stride-1, with stride = minLen-q+1; looking at the q-gram of every
// stride-th position of the text only, one of those is seen. So the scanner
// keeps a bitmap of the q-grams found at the first stride offsets of its
// literals (hashed, as sequences of byte classes, so case and non-ASCII
// bytes are folded as the DFA folds them) and runs the DFA only around the
// positions whose q-gram is in it.
//
// That pays when such q-grams are rare in the texts: the twenty-odd
// literals of the keyword rule every Windows event meets (sekurlsa::,
// kerberos::golden...) are looked for with one trigram every seven bytes,
// and about one in a hundred is in the bitmap. It does not when the literals
// cover most q-grams of their alphabet: a few hundred hashes of twelve hex
// digits hold every hex trigram, which every hash value in an event is made
// of. So q grows until the q-grams are few among those the literals'
// classes can form; there is no sampling when none is few enough, or the
// stride would be too short to pay.

type sampler struct {
	bits   []uint64 // a power of two, 32 to 128 per q-gram
	shift  uint32   // a hash's top bits index bits: 32 - log2(len(bits)*64)
	q      int
	stride int
}

const (
	maxSamplerBits = 1 << 16 // 8 KiB of bitmap at most
	maxGram        = 4       // (literals have at most maxScanLiteral bytes)
)

// The multipliers of gramHash, one per position of a q-gram: products of
// independent bytes are summed, not chained, so the processor computes them
// in parallel.
const (
	gramMul0 = 0x9E3779B1
	gramMul1 = 0x85EBCA77
	gramMul2 = 0xC2B2AE3D
	gramMul3 = 0x27D4EB2F
)

// newSampler returns the sampler of a contains scanner (a has its classes
// and minLen) of lits, or nil when sampling would not pay.
func (a *scanner) newSampler(lits []string) *sampler {
	alphabet := float64(a.nclass - 1) // the classes literals are made of
	for q := 3; q <= maxGram; q++ {
		// A sample costs about q steps of the DFA, and a short stride
		// means many: below 2q bytes, the DFA over every byte is as fast
		// (measured on the windows dataset's values, per field).
		stride := a.minLen - q + 1
		if stride < 2*q {
			return nil
		}
		grams := map[string]bool{}
		for _, p := range lits {
			for j := 0; j < stride; j++ {
				grams[p[j:j+q]] = true
			}
		}
		// At most a thirty-second of the q-grams the literals' classes can
		// form (a text made of those classes passes one sample in 32 at
		// most), and of the bitmap (as few random ones pass: each that
		// does costs a run of the DFA), a hundred-and-twenty-eighth when
		// the bitmap can be that large.
		size := 1024
		for size < 128*len(grams) && size < maxSamplerBits {
			size <<= 1
		}
		if size < 32*len(grams) || float64(len(grams)) > math.Pow(alphabet, float64(q))/32 {
			continue
		}
		s := &sampler{bits: make([]uint64, size/64), q: q, stride: stride, shift: 32}
		for ; size > 1; size >>= 1 {
			s.shift--
		}
		for g := range grams {
			h := gramHash(&a.class, g) >> s.shift
			s.bits[h>>6] |= 1 << (h & 63)
		}
		return s
	}
	return nil
}

// gramHash hashes the classes of g, a q-gram of 3 or 4 bytes (the bitmap
// takes the top bits).
func gramHash(class *[256]uint16, g string) uint32 {
	h := uint32(class[g[0]])*gramMul0 + uint32(class[g[1]])*gramMul1 + uint32(class[g[2]])*gramMul2
	if len(g) == 4 {
		h += uint32(class[g[3]]) * gramMul3
	}
	return h
}

// scanSampled is scan for a scanner with a sampler. It finds every
// occurrence a full scan finds: the DFA runs from stride-1 bytes before a
// sampled position whose q-gram is in the bitmap (the earliest start of an
// occurrence that covers it) to depth bytes after it (its latest end),
// continuing from where the previous run stopped when the two overlap,
// from the root otherwise: an occurrence starting before the restart was
// covered by an earlier sample, whose run held it whole. It may report an
// occurrence twice, which the callers tolerate, as with scan16.
func (a *scanner) scanSampled(text string, dst []int32) []int32 {
	return a.scanSampledAll([]string{text}, dst)
}

// scanSampledAll is scanSampled over each of texts (the values of an event
// keywords are looked for in, most of them short: one call for them all).
func (a *scanner) scanSampledAll(texts []string, dst []int32) []int32 {
	sp := a.samp
	stride, q := sp.stride, sp.q
	bits, class, shift := sp.bits, &a.class, sp.shift
	for _, text := range texts {
		n := len(text)
		if n < a.minLen {
			continue
		}
		s, pos := 0, 0 // DFA state after text[:pos] (since the last restart)
		for e := 0; e+q <= n; e += stride {
			h := gramHash(class, text[e:e+q]) >> shift
			if bits[h>>6]&(1<<(h&63)) == 0 {
				continue
			}
			if start := e - stride + 1; start > pos {
				s, pos = 0, start
			}
			end := min(n, e+a.depth)
			if pos < end {
				dst = a.run(text[:end], pos, &s, dst)
				pos = end
			}
		}
	}
	return dst
}

// run runs the DFA over text[pos:] from state *s.
func (a *scanner) run(text string, pos int, s *int, dst []int32) []int32 {
	class, k, first := &a.class, int(a.nclass), int(a.firstOut)
	st := *s
	if t := a.trans16; t != nil {
		for i := pos; i < len(text); i++ {
			st = int(t[st*k+int(class[text[i]])])
			if st >= first {
				dst = append(dst, a.outs[a.outStart[st]:a.outStart[st+1]]...)
			}
		}
	} else {
		for i := pos; i < len(text); i++ {
			st = int(a.trans[st*k+int(class[text[i]])])
			if st >= first {
				dst = append(dst, a.outs[a.outStart[st]:a.outStart[st+1]]...)
			}
		}
	}
	*s = st
	return dst
}
