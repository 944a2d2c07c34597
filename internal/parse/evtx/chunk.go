package evtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// ErrRecordsChecksum is the Err of the Problem reported for a chunk whose
// event records do not match the checksum in its header. Windows updates the
// checksum when it finishes a chunk, so the chunk being written when a log
// was copied or the machine stopped ("dirty" file) has it stale, while its
// records are whole: they are read and delivered, and this problem says they
// could not be verified.
var ErrRecordsChecksum = errors.New("event records checksum mismatch (chunk written while the log was open?); records read anyway")

// ErrZeroChunk is the Err of the Problem reported for an all-zero chunk
// followed by used ones: wiped or never flushed. All-zero chunks at the end
// of a file are preallocated space and are not reported.
var ErrZeroChunk = errors.New("chunk is all zero bytes")

// ErrTruncated is the Err of the Problem reported for a chunk the file ends
// in the middle of; the records it holds whole are read.
var ErrTruncated = errors.New("file ends inside this chunk")

// placedProblem is a problem and the number of events of its chunk that come
// before it, so that problems and events are delivered in file order.
type placedProblem struct {
	p     Problem
	after int
}

// batch holds what one chunk yields. Its events are reused for a later chunk
// once delivered.
type batch struct {
	idx      int
	zero     bool // never-used chunk slot
	bad      bool // chunk skipped or read despite a chunk-level problem
	events   []event.Event
	n        int
	problems []placedProblem
	badRecs  int
	err      error // fatal: I/O error
}

func (b *batch) reset(idx int) {
	b.idx, b.zero, b.bad = idx, false, false
	b.n, b.badRecs, b.err = 0, 0, nil
	b.problems = b.problems[:0]
}

func (b *batch) next() *event.Event {
	if b.n == len(b.events) {
		b.events = append(b.events, event.Event{})
	}
	ev := &b.events[b.n]
	ev.Reset()
	b.n++
	return ev
}

func (b *batch) problem(p Problem) {
	b.problems = append(b.problems, placedProblem{p: p, after: b.n})
}

// decoder decodes chunks; one per worker.
type decoder struct {
	name string
	opt  Options
	buf  []byte // the chunk read with ReadAt (not used for a mapped file)
	c    *compiler
	f    *fieldSink
	x    *xmlSink
	w    *walker
	// hook, for tests, is called before each record is decoded (the
	// Reader's recordHook).
	hook func(chunk int, record uint64)
}

func newDecoder(opt Options) *decoder {
	d := &decoder{opt: opt, c: newCompiler(), f: newFieldSink()}
	if opt.RenderXML {
		d.x = &xmlSink{}
	}
	d.w = newWalker(d.c, d.f, d.x)
	d.w.noShare = opt.noSharedTemplates
	return d
}

// release forgets the chunk last decoded, which may be mapped memory that is
// about to be unmapped.
func (d *decoder) release() { d.c.b = nil }

// decodeChunk decodes chunk data found at file offset off into out. avail is
// how many bytes of the chunk the file holds (chunkSize unless it is cut);
// data is all of them, or (read from a full chunk) only its first bytes up to
// the free space offset, or only a zero header of a never-written slot.
func (d *decoder) decodeChunk(ctx context.Context, data []byte, avail int, off int64, out *batch) {
	if isZero(data) {
		out.zero = true
		return
	}
	h, err := parseChunkHeader(data)
	if err != nil {
		out.bad = true
		out.problem(Problem{Offset: off, Chunk: out.idx, Err: err})
		return
	}
	limit := int(h.freeOff)
	truncated := avail < chunkSize
	if truncated {
		out.bad = true
		out.problem(Problem{Offset: off + int64(len(data)), Chunk: out.idx, Err: ErrTruncated})
		limit = min(limit, len(data))
	} else if crc := crc32.ChecksumIEEE(data[chunkHeaderSize:limit]); crc != h.recordsCRC {
		out.bad = true
		out.problem(Problem{Offset: off, Chunk: out.idx, Err: fmt.Errorf("%w: header says %08x, computed %08x", ErrRecordsChecksum, h.recordsCRC, crc)})
	}
	d.c.reset(data)
	d.w.resetChunk()
	pos := chunkHeaderSize
	for count := 0; pos+recordHeaderLen <= limit; count++ {
		if count&63 == 63 && ctx.Err() != nil {
			return
		}
		size, err := recordFrame(data, pos, limit)
		if err != nil {
			if isZero(data[pos:limit]) {
				break // unused space after the last record
			}
			if truncated && bytes.Equal(data[pos:pos+4], recordMagic) &&
				int(binary.LittleEndian.Uint32(data[pos+4:])) > len(data)-pos {
				break // the record the file ends in: ErrTruncated says it
			}
			out.badRecs++
			out.problem(Problem{Offset: off + int64(pos), Chunk: out.idx, Err: err})
			next := resync(data, pos+1, limit)
			if next < 0 {
				break
			}
			pos = next
			continue
		}
		id := binary.LittleEndian.Uint64(data[pos+8:])
		if d.hook != nil {
			d.hook(out.idx, id)
		}
		ev := out.next()
		if err := d.record(ev, data, pos, size, id); err != nil {
			out.n--
			out.badRecs++
			out.problem(Problem{Offset: off + int64(pos), Chunk: out.idx, Record: id, Err: err})
		}
		pos += size
	}
}

// recordFrame checks the framing of the record at pos (signature, size, copy
// of the size at its end) and returns its size.
func recordFrame(data []byte, pos, limit int) (int, error) {
	if !bytes.Equal(data[pos:pos+4], recordMagic) {
		return 0, errors.New("no record signature")
	}
	size := int(binary.LittleEndian.Uint32(data[pos+4:]))
	if size < minRecordSize || size > limit-pos {
		return 0, fmt.Errorf("record size %d out of range", size)
	}
	if c := int(binary.LittleEndian.Uint32(data[pos+size-4:])); c != size {
		return 0, fmt.Errorf("record size %d, but %d at its end", size, c)
	}
	return size, nil
}

// resync finds the next well-framed record at or after pos, or -1.
func resync(data []byte, pos, limit int) int {
	for pos+recordHeaderLen <= limit {
		i := bytes.Index(data[pos:limit], recordMagic)
		if i < 0 {
			return -1
		}
		pos += i
		if pos+recordHeaderLen <= limit {
			if _, err := recordFrame(data, pos, limit); err == nil {
				return pos
			}
		}
		pos++
	}
	return -1
}

// record decodes the record of size bytes at pos into ev.
func (d *decoder) record(ev *event.Event, data []byte, pos, size int, id uint64) error {
	d.f.reset()
	if d.x != nil {
		d.x.reset()
	}
	if err := d.w.record(pos+recordHeaderLen, pos+size-4); err != nil {
		return err
	}
	written := fileTime(binary.LittleEndian.Uint64(data[pos+16:]))
	ev.Source = "evtx"
	ev.Origin = event.Origin{File: d.name, Line: int64(id)}
	if err := d.f.finish(ev, written); err != nil {
		return err
	}
	if d.x != nil {
		ev.Raw = string(d.x.b)
	}
	return nil
}
