package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Segment files are named by their number, "%08d.seg" (more digits when
// the number needs them), numbered from 1 without gaps: a missing number is
// a missing segment. Each starts with a header (integers big-endian):
//
//	 0  8  magic "KZJSEG01"
//	 8 16  journal id
//	24  8  segment number (the same as the file name's)
//	32  8  sequence number of the segment's first record
//	40 32  chain hash before that record
//	72  8  creation time, ns
//	80  4  CRC-32C of bytes 0..79
//
// then blocks (block.go) to the end of the file. Because the header repeats
// the file's number and where the chain stands, every segment can be
// checked on its own and against its neighbours: a renamed, swapped or
// foreign segment is evident, and verification can start at the first
// segment that retention kept.
const (
	segmentMagic     = "KZJSEG01"
	segmentHeaderLen = 84
	segmentExt       = ".seg"

	lockName       = "LOCK"
	repairDirName  = "repair"
	checkpointName = "checkpoints"
)

type segmentHeader struct {
	id      journalID
	num     uint64
	first   Seq
	prev    [hashSize]byte
	created int64
}

func (h *segmentHeader) marshal() []byte {
	b := make([]byte, segmentHeaderLen)
	copy(b, segmentMagic)
	copy(b[8:24], h.id[:])
	binary.BigEndian.PutUint64(b[24:], h.num)
	binary.BigEndian.PutUint64(b[32:], uint64(h.first))
	copy(b[40:72], h.prev[:])
	binary.BigEndian.PutUint64(b[72:], uint64(h.created))
	binary.BigEndian.PutUint32(b[80:], crc32.Checksum(b[:80], castagnoli))
	return b
}

func parseSegmentHeader(b []byte) (segmentHeader, error) {
	var h segmentHeader
	if len(b) < segmentHeaderLen {
		return h, fmt.Errorf("segment header: %d of %d bytes", len(b), segmentHeaderLen)
	}
	if string(b[:8]) != segmentMagic {
		return h, fmt.Errorf("segment header: magic %q", b[:8])
	}
	if crc32.Checksum(b[:80], castagnoli) != binary.BigEndian.Uint32(b[80:]) {
		return h, errors.New("segment header: checksum mismatch")
	}
	copy(h.id[:], b[8:24])
	h.num = binary.BigEndian.Uint64(b[24:])
	h.first = Seq(binary.BigEndian.Uint64(b[32:]))
	copy(h.prev[:], b[40:72])
	h.created = int64(binary.BigEndian.Uint64(b[72:]))
	return h, nil
}

func readSegmentHeader(r io.ReaderAt) (segmentHeader, error) {
	var b [segmentHeaderLen]byte
	n, err := r.ReadAt(b[:], 0)
	if n < len(b) {
		if err == nil || err == io.EOF {
			err = fmt.Errorf("segment header: %d of %d bytes", n, segmentHeaderLen)
		}
		return segmentHeader{}, err
	}
	return parseSegmentHeader(b[:])
}

func segmentName(num uint64) string {
	return fmt.Sprintf("%08d%s", num, segmentExt)
}

// parseSegmentName returns the number of a segment file name.
func parseSegmentName(name string) (uint64, bool) {
	s, ok := strings.CutSuffix(name, segmentExt)
	if !ok || s == "" || len(s) > 20 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil && n > 0
}

// listSegments returns the numbers of dir's segment files, ascending.
func listSegments(dir string) ([]uint64, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var nums []uint64
	for _, de := range des {
		if n, ok := parseSegmentName(de.Name()); ok && de.Type().IsRegular() {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	return nums, nil
}

// createSegment writes a new segment holding only its header and returns
// it open for appending.
func createSegment(dir string, open openFunc, h segmentHeader) (file, error) {
	path := filepath.Join(dir, segmentName(h.num))
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("journal: segment %s exists already", path)
	}
	f, err := writeNew(open, path, h.marshal())
	if err != nil {
		return nil, fmt.Errorf("journal: new segment %s: %w", segmentName(h.num), err)
	}
	return f, nil
}

// blockReader reads the blocks of one segment in order.
type blockReader struct {
	r    io.ReaderAt
	off  int64 // offset of the next block
	end  int64 // the segment's size, or the committed length of an open one
	hdr  [blockHeaderLen]byte
	data []byte // the stored payload of the last block read
}

// blockError says why no valid block starts at an offset: torn says the
// bytes there end before the block does (the shape of an interrupted
// write), otherwise the bytes are there but wrong.
type blockError struct {
	torn bool
	err  error
}

func (e *blockError) Error() string { return e.err.Error() }
func (e *blockError) Unwrap() error { return e.err }

// next reads the block at b.off: io.EOF at the end, a *blockError for a
// block that is cut short, malformed or fails its CRC.
func (b *blockReader) next() (blockHeader, error) {
	if b.off >= b.end {
		return blockHeader{}, io.EOF
	}
	if b.end-b.off < blockHeaderLen {
		return blockHeader{}, &blockError{torn: true, err: fmt.Errorf("%d bytes left, less than a block header", b.end-b.off)}
	}
	if _, err := b.r.ReadAt(b.hdr[:], b.off); err != nil {
		return blockHeader{}, fmt.Errorf("read block header: %w", err)
	}
	h, err := parseBlockHeader(b.hdr[:])
	if err != nil {
		return h, &blockError{torn: allZero(b.hdr[:]), err: err}
	}
	if int64(h.stored) > b.end-b.off-blockHeaderLen {
		return h, &blockError{torn: true, err: fmt.Errorf("block of %d bytes, %d left in the file", h.size(), b.end-b.off)}
	}
	if cap(b.data) < int(h.stored) {
		b.data = make([]byte, h.stored)
	}
	b.data = b.data[:h.stored]
	if _, err := b.r.ReadAt(b.data, b.off+blockHeaderLen); err != nil {
		return h, fmt.Errorf("read block: %w", err)
	}
	if !h.checkCRC(b.hdr[:], b.data) {
		return h, &blockError{err: errors.New("block checksum mismatch")}
	}
	return h, nil
}

// skip reads only the header of the block at b.off (for retention and
// seeking, which need no payload) and checks nothing but its shape.
func (b *blockReader) skip() (blockHeader, error) {
	if b.off >= b.end {
		return blockHeader{}, io.EOF
	}
	if b.end-b.off < blockHeaderLen {
		return blockHeader{}, &blockError{torn: true, err: errors.New("torn block header")}
	}
	if _, err := b.r.ReadAt(b.hdr[:], b.off); err != nil {
		return blockHeader{}, fmt.Errorf("read block header: %w", err)
	}
	h, err := parseBlockHeader(b.hdr[:])
	if err != nil {
		return h, &blockError{err: err}
	}
	if int64(h.stored) > b.end-b.off-blockHeaderLen {
		return h, &blockError{torn: true, err: errors.New("block runs past the end of the file")}
	}
	return h, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// segmentInfo is what the journal remembers of a segment on disk.
type segmentInfo struct {
	num   uint64
	first Seq
	prev  [hashSize]byte
	// maxT is the latest received time of a sealed segment, found by
	// retention on its first look; 0 while unknown.
	maxT  int64
	known bool
}

// segmentMaxTime reads the block headers of a sealed segment and returns
// its latest received time and its size.
func segmentMaxTime(path string, first Seq) (int64, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	br := blockReader{r: f, off: segmentHeaderLen, end: st.Size()}
	maxT := int64(-1 << 63)
	next := first
	for {
		h, err := br.skip()
		if err == io.EOF {
			return maxT, st.Size(), nil
		}
		if err != nil {
			return 0, 0, fmt.Errorf("%s at offset %d: %w", filepath.Base(path), br.off, err)
		}
		if h.first != next {
			return 0, 0, fmt.Errorf("%s at offset %d: block starts at record %d, expected %d", filepath.Base(path), br.off, h.first, next)
		}
		next = h.next()
		maxT = max(maxT, h.maxT)
		br.off += h.size()
	}
}

// timeOf converts stored nanoseconds back to a UTC time.
func timeOf(ns int64) time.Time { return time.Unix(0, ns).UTC() }
