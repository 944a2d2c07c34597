package store

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"unsafe"

	"github.com/klauspost/compress/zstd"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/query"
)

// Column kinds, the first byte of a column's directory entry.
const (
	colTime         = 1
	colSeq          = 2
	colHost         = 3
	colSource       = 4
	colOriginFile   = 5
	colOriginLine   = 6
	colOriginRecord = 7
	colRaw          = 8
	colShapes       = 9
	colCommon       = 10 // followed by the field's name
	colExtra        = 11 // followed by the field's name
)

// Chunk codecs, in a column's directory entry.
const (
	codecStored = 0
	codecZstd   = 1
)

// castagnoli is the CRC-32C table; every checksum of a part uses it.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// blockMeta is what a part's index records about a block besides where it is.
type blockMeta struct {
	rows             int
	firstSeq         uint64
	lastSeq          uint64
	minTime, maxTime int64
	valueBytes       uint64
}

// blockEncoder turns blocks into their stored form. One per goroutine that
// writes parts (the flusher, the merger); its buffers are reused from block
// to block.
type blockEncoder struct {
	zstd     *zstd.Encoder // shared; EncodeAll is safe for concurrent use
	payload  []byte
	chunks   []byte
	body     []byte
	filter   []byte
	ds       dictScratch
	tokens   tokenSet
	hashes   []uint64
	addToken func(string)
	lower    []byte
	prev     uint64 // the hash of the value's last token, for addToken
	hasPrev  bool
}

func newBlockEncoder(z *zstd.Encoder) *blockEncoder {
	e := &blockEncoder{zstd: z}
	e.addToken = func(tok string) { e.add(hashToken(tok)) }
	return e
}

// add puts a token of the value being tokenized in the block's set, and
// the pair it makes with the token before it (query.Pairs).
func (e *blockEncoder) add(h uint64) {
	e.tokens.add(h)
	if e.hasPrev {
		e.tokens.add(hashPair(e.prev, h))
	}
	e.prev, e.hasPrev = h, true
}

// encode returns the stored form of b: the body (column directory, then the
// column chunks; dirLen is the directory's length) and the token filter.
// Both are valid until the next call.
func (e *blockEncoder) encode(b *block) (body []byte, dirLen int, filter []byte, m blockMeta) {
	n := b.n
	e.chunks = e.chunks[:0]
	e.body = e.body[:0]
	e.tokens.reset()
	var dir []byte
	dir = binary.AppendUvarint(dir, uint64(b.columns()))
	put := func(kind byte, name string, payload []byte) {
		dir = append(dir, kind)
		if kind == colCommon || kind == colExtra {
			dir = binary.AppendUvarint(dir, uint64(len(name)))
			dir = append(dir, name...)
		}
		off := len(e.chunks)
		codec := byte(codecStored)
		if len(payload) >= 64 {
			e.chunks = e.zstd.EncodeAll(payload, e.chunks)
			if len(e.chunks)-off < len(payload) {
				codec = codecZstd
			} else {
				e.chunks = e.chunks[:off]
			}
		}
		if codec == codecStored {
			e.chunks = append(e.chunks, payload...)
		}
		stored := e.chunks[off:]
		dir = append(dir, codec)
		dir = binary.AppendUvarint(dir, uint64(off))
		dir = binary.AppendUvarint(dir, uint64(len(stored)))
		dir = binary.AppendUvarint(dir, uint64(len(payload)))
		dir = binary.LittleEndian.AppendUint32(dir, crc32.Checksum(stored, castagnoli))
	}
	// str encodes a string column and, with tokens, feeds its values to
	// the token set: the distinct values of a dict column, every value of a
	// plain one.
	str := func(kind byte, name string, c *strCol, rows int, tryDict, tokens bool) {
		e.payload = appendStrCol(e.payload[:0], c, rows, tryDict, &e.ds)
		switch {
		case !tokens:
		case e.payload[0] != strPlain:
			for _, v := range e.ds.vals {
				e.tokenize(v)
			}
		default:
			prev := ""
			for i := 0; i < rows; i++ {
				if v := c.get(i); v != prev {
					e.tokenize(v)
					prev = v
				}
			}
		}
		put(kind, name, e.payload)
	}

	e.payload = appendTimeCol(e.payload[:0], b.times[:n])
	put(colTime, "", e.payload)
	e.payload = appendSeqCol(e.payload[:0], b.seqs[:n])
	put(colSeq, "", e.payload)
	// The filter holds the tokens of the values query.Row's Each yields:
	// host, source, raw and the fields; not origin, which free text never
	// searches and Prefilter never asks about.
	str(colHost, "", b.host, n, true, true)
	str(colSource, "", b.source, n, true, true)
	str(colOriginFile, "", b.originFile, n, true, false)
	e.payload = appendIntCol(e.payload[:0], b.originLine[:n])
	put(colOriginLine, "", e.payload)
	e.payload = appendIntCol(e.payload[:0], b.originRecord[:n])
	put(colOriginRecord, "", e.payload)
	str(colRaw, "", b.raw, n, false, true)
	e.payload = appendShapeCol(e.payload[:0], b.shapes, b.rowShape)
	put(colShapes, "", e.payload)
	for k, c := range b.common {
		if c != nil {
			str(colCommon, event.Key(k).String(), c, n, true, true)
		}
	}
	for _, x := range b.extras {
		// An extra column holds the values of the rows that have it.
		str(colExtra, x.name, x.col, x.col.rows(), true, true)
	}
	for _, x := range b.unknown {
		str(colCommon, x.name, x.col, n, true, true)
	}

	e.body = append(e.body, dir...)
	e.body = append(e.body, e.chunks...)
	e.hashes = e.tokens.appendHashes(e.hashes[:0])
	e.filter = appendFilter(e.filter[:0], e.hashes)

	m = blockMeta{rows: n, minTime: math.MaxInt64, maxTime: math.MinInt64}
	if n > 0 {
		m.firstSeq, m.lastSeq = b.seqs[0], b.seqs[n-1]
	}
	for _, t := range b.times[:n] {
		m.minTime = min(m.minTime, t)
		m.maxTime = max(m.maxTime, t)
	}
	m.valueBytes = uint64(b.valueBytes)
	return e.body, len(dir), e.filter, m
}

// tokenize adds the tokens of v (query.Tokens) and the pairs of
// consecutive tokens (query.Pairs) to the block's set. It is the larger
// part of the cost of indexing, so plain ASCII, most of what logs hold,
// takes a path of its own: maximal runs of ASCII letters and digits,
// lower-cased (by the hash: hashMasked), exactly what query.Tokens gives
// for ASCII text. A pair is hashed from its tokens' hashes (hashPair),
// which keeps it to a multiply or two and one more set insertion.
// At the first byte outside ASCII the value goes to query.Tokens whole
// (the tokens and pairs found before were ended by ASCII separators, so
// they are among query.Tokens' too). TestTokenizeAgreesWithQuery and
// FuzzTokenize hold it to query.Tokens and query.Pairs.
func (e *blockEncoder) tokenize(v string) {
	e.hasPrev = false
	start := -1
	for i := 0; i < len(v); i++ {
		switch asciiClass[v[i]] {
		case classToken:
			if start < 0 {
				start = i
			}
		case classOther:
			e.tokenizeSlow(v)
			return
		default:
			if start >= 0 {
				e.add(hashMasked(v[start:i], foldASCII))
				start = -1
			}
		}
	}
	if start >= 0 {
		e.add(hashMasked(v[start:], foldASCII))
	}
}

// Byte classes for tokenize.
const (
	classSep   = 0 // ASCII that separates tokens
	classToken = 1 // ASCII letters and digits
	classOther = 2 // not ASCII
)

// asciiClass maps a byte to its class; read-only.
var asciiClass = func() (t [256]byte) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= utf8RuneSelf:
			t[c] = classOther
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9':
			t[c] = classToken
		}
	}
	return t
}()

// tokenizeSlow is tokenize for text beyond ASCII. query.Tokens folds the
// case of a token that is not plain lower-case ASCII rune by rune, with an
// allocation; folding the ASCII letters of v first gives the same tokens
// (an ASCII letter folds to its lower case, and the runes that fold
// together with one, K and ſ, fold the same either way) and keeps most
// tokens plain.
func (e *blockEncoder) tokenizeSlow(v string) {
	i := 0
	for i < len(v) && (v[i] < 'A' || v[i] > 'Z') {
		i++
	}
	if i < len(v) {
		e.lower = append(e.lower[:0], v...)
		for j := i; j < len(e.lower); j++ {
			if c := e.lower[j]; 'A' <= c && c <= 'Z' {
				e.lower[j] = c + 'a' - 'A'
			}
		}
		v = unsafe.String(&e.lower[0], len(e.lower))
	}
	e.hasPrev = false
	query.Tokens(v, e.addToken)
}

const utf8RuneSelf = 0x80

func crc32Update(c uint32, b []byte) uint32 { return crc32.Update(c, castagnoli, b) }
