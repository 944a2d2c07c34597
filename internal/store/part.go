package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// A part is one immutable file of the index holding the events of a range
// of journal sequence numbers, in blocks (docs/formats/index.md has the byte layout):
//
//	header | block 0 body, block 0 filter | block 1 ... | index | trailer
//
// Its name is the range it covers, <first>-<last>.part in 16 hex digits,
// which is all that Open needs to know which parts are live (manifest.go).
// The index (one fixed-size entry per block) is read at open and kept in
// memory (72 bytes per block of up to 16,384 events); block bodies and
// filters are read with pread when a search needs them, and the page
// cache, not the process, holds what is read often.

// partMagic opens every part file; version 1 of the layout (which format
// versions 1 and 2 share).
const partMagic = "KZIDX\x00\x00\x01"

const (
	entrySize   = 72
	trailerSize = 40
	trailerTag  = "KZI1"

	// partVersion is the format version this build writes: 2, whose
	// token filters hold the pairs of consecutive tokens of each value
	// (query.Pair) besides the tokens. Version 1 has the same layout and
	// filters of tokens alone: it is still read, and searched without
	// asking its filters for pairs (part.pairs). The version is in the
	// trailer; the header's magic names the layout, which has not changed.
	partVersion = 2
	// minPartVersion is the oldest version this build reads.
	minPartVersion = 1
)

// blockEntry is one block's line in a part's index.
type blockEntry struct {
	offset    int64  // of the block body in the file
	bodyLen   uint32 // column directory and chunks
	dirLen    uint32 // the directory's length, at the body's start
	dirCRC    uint32
	filterLen uint32 // the filter follows the body
	filterCRC uint32
	blockMeta
}

func (e *blockEntry) put(b []byte) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(e.offset))
	le.PutUint32(b[8:], e.bodyLen)
	le.PutUint32(b[12:], e.dirLen)
	le.PutUint32(b[16:], e.dirCRC)
	le.PutUint32(b[20:], e.filterLen)
	le.PutUint32(b[24:], e.filterCRC)
	le.PutUint32(b[28:], uint32(e.rows))
	le.PutUint64(b[32:], e.firstSeq)
	le.PutUint64(b[40:], e.lastSeq)
	le.PutUint64(b[48:], uint64(e.minTime))
	le.PutUint64(b[56:], uint64(e.maxTime))
	le.PutUint64(b[64:], e.valueBytes)
}

func (e *blockEntry) get(b []byte) {
	le := binary.LittleEndian
	e.offset = int64(le.Uint64(b[0:]))
	e.bodyLen = le.Uint32(b[8:])
	e.dirLen = le.Uint32(b[12:])
	e.dirCRC = le.Uint32(b[16:])
	e.filterLen = le.Uint32(b[20:])
	e.filterCRC = le.Uint32(b[24:])
	e.rows = int(le.Uint32(b[28:]))
	e.firstSeq = le.Uint64(b[32:])
	e.lastSeq = le.Uint64(b[40:])
	e.minTime = int64(le.Uint64(b[48:]))
	e.maxTime = int64(le.Uint64(b[56:]))
	e.valueBytes = le.Uint64(b[64:])
}

// check validates an entry read from a part of size bytes, following prev
// (nil for the first block).
func (e *blockEntry) check(size int64, prev *blockEntry) error {
	end := e.offset + int64(e.bodyLen) + int64(e.filterLen)
	switch {
	case e.offset < int64(len(partMagic)) || end > size || end < e.offset:
		return fmt.Errorf("block at %d+%d+%d outside the file of %d bytes", e.offset, e.bodyLen, e.filterLen, size)
	case prev != nil && e.offset < prev.offset+int64(prev.bodyLen)+int64(prev.filterLen):
		return errors.New("block overlaps the one before")
	case e.rows <= 0 || e.rows > maxBlockRows:
		return fmt.Errorf("%d rows", e.rows)
	case e.dirLen == 0 || e.dirLen > e.bodyLen || e.dirLen > maxDirBytes:
		return fmt.Errorf("column directory of %d bytes in a body of %d", e.dirLen, e.bodyLen)
	case e.filterLen%filterBucketBytes != 0 || e.filterLen == 0 || e.filterLen > maxFilterBytes:
		return fmt.Errorf("token filter of %d bytes", e.filterLen)
	case e.lastSeq < e.firstSeq || e.lastSeq-e.firstSeq < uint64(e.rows-1):
		return fmt.Errorf("sequence range %d-%d for %d rows", e.firstSeq, e.lastSeq, e.rows)
	case prev != nil && e.firstSeq <= prev.lastSeq:
		return fmt.Errorf("sequence %d does not follow the previous block's %d", e.firstSeq, prev.lastSeq)
	case e.minTime > e.maxTime:
		return errors.New("minimum time after maximum")
	}
	return nil
}

// trailer ends every part file and locates its index.
type trailer struct {
	indexOffset int64
	indexLen    uint32
	indexCRC    uint32
	blocks      uint32
	version     uint32
	rows        uint64
}

func (t *trailer) put(b []byte) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(t.indexOffset))
	le.PutUint32(b[8:], t.indexLen)
	le.PutUint32(b[12:], t.indexCRC)
	le.PutUint32(b[16:], t.blocks)
	le.PutUint32(b[20:], t.version)
	le.PutUint64(b[24:], t.rows)
	le.PutUint32(b[32:], crc32c(b[:32]))
	copy(b[36:], trailerTag)
}

func (t *trailer) get(b []byte) error {
	le := binary.LittleEndian
	if string(b[36:40]) != trailerTag {
		return errors.New("no part trailer (torn or not a part)")
	}
	if crc32c(b[:32]) != le.Uint32(b[32:]) {
		return errors.New("trailer checksum mismatch")
	}
	t.indexOffset = int64(le.Uint64(b[0:]))
	t.indexLen = le.Uint32(b[8:])
	t.indexCRC = le.Uint32(b[12:])
	t.blocks = le.Uint32(b[16:])
	t.version = le.Uint32(b[20:])
	t.rows = le.Uint64(b[24:])
	if t.version < minPartVersion || t.version > partVersion {
		return fmt.Errorf("part format version %d, this build reads %d to %d", t.version, minPartVersion, partVersion)
	}
	return nil
}

// partName returns the file name of the part covering first..last.
func partName(first, last uint64) string {
	return fmt.Sprintf("%016x-%016x%s", first, last, partSuffix)
}

// parsePartName returns the range a part file name covers.
func parsePartName(name string) (first, last uint64, ok bool) {
	s, found := strings.CutSuffix(name, partSuffix)
	if !found || len(s) != 33 || s[16] != '-' {
		return 0, 0, false
	}
	a, err1 := strconv.ParseUint(s[:16], 16, 64)
	b, err2 := strconv.ParseUint(s[17:], 16, 64)
	if err1 != nil || err2 != nil || b < a {
		return 0, 0, false
	}
	return a, b, true
}

// readerAtCloser is what a part reads from: an *os.File, or bytes in tests.
type readerAtCloser interface {
	ReadAt(p []byte, off int64) (int, error)
	Close() error
}

// part is an open part file.
type part struct {
	name     string // file name in the index directory
	path     string
	f        readerAtCloser
	size     int64 // file bytes
	first    uint64
	last     uint64
	rows     int64
	minTime  int64
	maxTime  int64
	valueLen uint64 // raw and value bytes of its events, before encoding
	blocks   []blockEntry
	// pairs says the blocks' token filters hold pairs of tokens as well
	// (format version 2): a search may ask them for pairs, and a merge may
	// copy its full blocks as they are. A version 1 part's blocks are
	// searched on tokens alone and re-encoded when merged.
	pairs bool

	// refs counts the index's own reference (while the part is live) and
	// every search reading it. When it drops to zero after the part left
	// the live set (merged or retained), the file is closed and, if
	// remove is set, deleted.
	refs    atomic.Int32
	remove  atomic.Bool
	merging bool // chosen by a merge; guarded by Index.mu
	once    sync.Once
	logf    func(string, ...any)
}

func (p *part) acquire() { p.refs.Add(1) }

// release drops a reference; the last one closes the file and deletes it
// when the part is no longer live.
func (p *part) release() {
	if p.refs.Add(-1) != 0 {
		return
	}
	p.once.Do(func() {
		p.f.Close()
		if p.remove.Load() && p.path != "" {
			if err := os.Remove(p.path); err != nil && !errors.Is(err, os.ErrNotExist) && p.logf != nil {
				p.logf("store: remove %s: %v", p.path, err)
			}
		}
	})
}

// overlaps reports whether the part may hold events in [from, to).
func (p *part) overlaps(from, to int64) bool {
	return p.maxTime >= from && p.minTime < to
}

// summarize fills the part-wide figures from its blocks.
func (p *part) summarize() {
	p.minTime, p.maxTime = math.MaxInt64, math.MinInt64
	p.rows, p.valueLen = 0, 0
	for i := range p.blocks {
		e := &p.blocks[i]
		p.rows += int64(e.rows)
		p.valueLen += e.valueBytes
		p.minTime = min(p.minTime, e.minTime)
		p.maxTime = max(p.maxTime, e.maxTime)
	}
	if len(p.blocks) > 0 {
		p.first, p.last = p.blocks[0].firstSeq, p.blocks[len(p.blocks)-1].lastSeq
	}
}

func crc32c(b []byte) uint32 { return crc32Update(0, b) }
