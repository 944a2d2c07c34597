package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/klauspost/compress/zstd"
)

// A block is the unit of writing and compression: the records of one group
// commit (or a BlockSize share of them), compressed together. Compressing a
// batch rather than a record is what makes log lines small on disk (they
// repeat hosts, paths and formats from one line to the next), and a block
// never spans two commits, so a torn write damages at most the blocks of
// the commit that was not acknowledged.
//
// Header (blockHeaderLen bytes, integers big-endian), then the payload:
//
//	 0  4  magic "KZB1"
//	 4  1  codec: 0 stored, 1 zstd
//	 5  3  reserved, zero
//	 8  8  sequence number of the first record
//	16  4  record count (≥ 1)
//	20  4  stored payload length
//	24  4  uncompressed payload length
//	28  8  earliest received time, ns
//	36  8  latest received time, ns
//	44 32  chain hash after the block's last record
//	76  4  CRC-32C of bytes 0..75 and the stored payload
//
// The CRC finds torn and damaged blocks cheaply (at Open, in readers); the
// chain hash and the signed checkpoints are what make a deliberate change
// evident. The times let retention pick segments and a reader skip blocks
// without decompressing them.
const (
	blockMagic     = "KZB1"
	blockHeaderLen = 80

	codecStored = 0
	codecZstd   = 1

	// maxBlockRaw bounds a block's uncompressed payload; the writer's
	// largest block (one maximum record) is well under it.
	maxBlockRaw = 32 << 20
)

// castagnoli is the CRC-32C table, read-only after package initialization.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type blockHeader struct {
	codec  byte
	first  Seq
	count  uint32
	stored uint32
	rawLen uint32
	minT   int64
	maxT   int64
	hash   [hashSize]byte
	crc    uint32
}

// last is the number of the block's last record.
func (h *blockHeader) last() Seq { return h.first + Seq(h.count) - 1 }

// next is the number of the record after the block.
func (h *blockHeader) next() Seq { return h.first + Seq(h.count) }

// size is the block's length on disk.
func (h *blockHeader) size() int64 { return blockHeaderLen + int64(h.stored) }

func (h *blockHeader) put(b []byte) {
	copy(b[0:4], blockMagic)
	b[4] = h.codec
	b[5], b[6], b[7] = 0, 0, 0
	binary.BigEndian.PutUint64(b[8:], uint64(h.first))
	binary.BigEndian.PutUint32(b[16:], h.count)
	binary.BigEndian.PutUint32(b[20:], h.stored)
	binary.BigEndian.PutUint32(b[24:], h.rawLen)
	binary.BigEndian.PutUint64(b[28:], uint64(h.minT))
	binary.BigEndian.PutUint64(b[36:], uint64(h.maxT))
	copy(b[44:76], h.hash[:])
	binary.BigEndian.PutUint32(b[76:], h.crc)
}

// errNotBlock marks bytes that do not even look like a block header, the
// usual shape of a torn or zero-filled tail.
var errNotBlock = errors.New("not a block header")

// parseBlockHeader decodes and checks a header's fields against each other
// and the limits; the CRC needs the payload and is checked by checkCRC.
func parseBlockHeader(b []byte) (blockHeader, error) {
	var h blockHeader
	if len(b) < blockHeaderLen {
		return h, fmt.Errorf("%w: %d bytes", errNotBlock, len(b))
	}
	if string(b[0:4]) != blockMagic {
		return h, fmt.Errorf("%w: magic %q", errNotBlock, b[0:4])
	}
	h.codec = b[4]
	h.first = Seq(binary.BigEndian.Uint64(b[8:]))
	h.count = binary.BigEndian.Uint32(b[16:])
	h.stored = binary.BigEndian.Uint32(b[20:])
	h.rawLen = binary.BigEndian.Uint32(b[24:])
	h.minT = int64(binary.BigEndian.Uint64(b[28:]))
	h.maxT = int64(binary.BigEndian.Uint64(b[36:]))
	copy(h.hash[:], b[44:76])
	h.crc = binary.BigEndian.Uint32(b[76:])
	switch {
	case h.codec != codecStored && h.codec != codecZstd:
		return h, fmt.Errorf("unknown codec %d", h.codec)
	case b[5] != 0 || b[6] != 0 || b[7] != 0:
		return h, errors.New("reserved header bytes are not zero")
	case h.count == 0:
		return h, errors.New("block of zero records")
	case h.rawLen > maxBlockRaw:
		return h, fmt.Errorf("payload of %d bytes over the limit %d", h.rawLen, maxBlockRaw)
	case uint64(h.count)*minEntryLen > uint64(h.rawLen):
		return h, fmt.Errorf("%d records cannot fit in %d bytes", h.count, h.rawLen)
	case h.codec == codecStored && h.stored != h.rawLen:
		return h, errors.New("stored block whose lengths differ")
	case h.codec == codecZstd && h.stored >= h.rawLen:
		return h, errors.New("compressed block not smaller than its payload")
	case h.minT > h.maxT:
		return h, errors.New("earliest time after the latest")
	case uint64(h.first)+uint64(h.count) < uint64(h.first):
		return h, errors.New("sequence number overflows")
	}
	return h, nil
}

// checkCRC reports whether the header bytes hdr and the stored payload
// match the header's CRC.
func (h *blockHeader) checkCRC(hdr, payload []byte) bool {
	c := crc32.Update(0, castagnoli, hdr[:76])
	c = crc32.Update(c, castagnoli, payload)
	return c == h.crc
}

// blockEncoder compresses payloads into blocks; one per writer.
type blockEncoder struct {
	zstd *zstd.Encoder // nil: store uncompressed
}

func newBlockEncoder(c Compression) (*blockEncoder, error) {
	if c == CompressionNone {
		return &blockEncoder{}, nil
	}
	level := zstd.SpeedDefault
	if c == CompressionFast {
		level = zstd.SpeedFastest
	}
	// One goroutine: the committer already runs beside the appenders, and
	// EncodeAll of one batch gains nothing from more. No zstd frame
	// checksum: the block CRC covers the stored bytes.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false), zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil, fmt.Errorf("journal: zstd encoder: %w", err)
	}
	return &blockEncoder{zstd: enc}, nil
}

func (e *blockEncoder) close() {
	if e.zstd != nil {
		e.zstd.Close()
	}
}

// appendBlock appends the block of h's records (payload raw, uncompressed)
// to dst and returns dst and the completed header. It stores the payload
// uncompressed when compression does not make it smaller (a lone short
// record, already compressed data).
func (e *blockEncoder) appendBlock(dst []byte, h blockHeader, raw []byte) ([]byte, blockHeader) {
	start := len(dst)
	dst = append(dst, make([]byte, blockHeaderLen)...)
	h.codec = codecStored
	if e.zstd != nil && len(raw) > 64 {
		dst = e.zstd.EncodeAll(raw, dst)
		if len(dst)-start-blockHeaderLen < len(raw) {
			h.codec = codecZstd
		} else {
			dst = dst[:start+blockHeaderLen]
		}
	}
	if h.codec == codecStored {
		dst = append(dst, raw...)
	}
	h.rawLen = uint32(len(raw))
	h.stored = uint32(len(dst) - start - blockHeaderLen)
	hdr := dst[start : start+blockHeaderLen]
	h.put(hdr)
	c := crc32.Update(0, castagnoli, hdr[:76])
	h.crc = crc32.Update(c, castagnoli, dst[start+blockHeaderLen:])
	binary.BigEndian.PutUint32(hdr[76:], h.crc)
	return dst, h
}

// blockDecoder turns stored payloads back into records; one per reader,
// with a buffer reused from block to block.
type blockDecoder struct {
	zstd *zstd.Decoder
	buf  []byte
}

func newBlockDecoder() (*blockDecoder, error) {
	// The output is capped at cap(dst), which payload sets to the header's
	// length, so a hostile frame cannot inflate past it.
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(maxBlockRaw), zstd.WithDecodeAllCapLimit(true))
	if err != nil {
		return nil, fmt.Errorf("journal: zstd decoder: %w", err)
	}
	return &blockDecoder{zstd: dec}, nil
}

func (d *blockDecoder) close() { d.zstd.Close() }

// payload returns the uncompressed payload of a block whose header and CRC
// have been checked. The result is valid until the next call.
func (d *blockDecoder) payload(h *blockHeader, stored []byte) ([]byte, error) {
	if h.codec == codecStored {
		return stored, nil
	}
	if cap(d.buf) < int(h.rawLen) {
		d.buf = make([]byte, 0, h.rawLen)
	}
	out, err := d.zstd.DecodeAll(stored, d.buf[:0:h.rawLen])
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	if len(out) != int(h.rawLen) {
		return nil, fmt.Errorf("decompressed to %d bytes, header says %d", len(out), h.rawLen)
	}
	return out, nil
}

// forEachEntry calls fn for each of the count records of payload, with the
// record's encoded bytes; the records must fill the payload exactly.
func forEachEntry(payload []byte, count uint32, fn func(i int, e entry, enc []byte) error) error {
	p := 0
	for i := 0; i < int(count); i++ {
		e, n, err := parseEntry(payload[p:])
		if err != nil {
			return fmt.Errorf("record %d of the block: %w", i, err)
		}
		if err := fn(i, e, payload[p:p+n]); err != nil {
			return err
		}
		p += n
	}
	if p != len(payload) {
		return fmt.Errorf("%d bytes after the block's %d records", len(payload)-p, count)
	}
	return nil
}
