package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// Reader reads records in sequence order, for reindexing and retro-hunts.
// It checks each block's CRC and that the numbers run without gaps, but it
// does not recompute the chain: that is Verify's work, and a reader should
// run at the speed of decompression.
type Reader struct {
	dir     string
	segs    []segmentInfo
	limit   position // the committed head of an open journal
	bounded bool
	from    Seq

	i   int // index in segs of the open segment
	f   *os.File
	br  blockReader
	dec *blockDecoder

	payload []byte
	p       int    // offset of the next record in payload
	left    uint32 // records left in payload
	seq     Seq    // number of the next record
	origin  string // the last origin and source, reused while they repeat
	source  string
	err     error

	resume int64  // offset to start the first segment opened at (ResumeReader)
	end    Cursor // where the last segment read ended
}

// Cursor is where a Reader stopped once it read every record it could see:
// the next record's number and where its block will start. A follower of
// an open journal (the index, live detection) resumes from it with
// ResumeReader instead of NewReader, which would skip block by block from
// the start of the segment, reading every block header again at every
// poll.
type Cursor struct {
	seq Seq
	seg uint64
	off int64
	ok  bool
}

// Cursor returns where a reader that returned io.EOF stopped; false when
// it did not stop at the end of what it could see.
func (r *Reader) Cursor() (Cursor, bool) {
	if !errors.Is(r.err, io.EOF) || r.left != 0 || !r.end.ok || r.end.seq != r.seq {
		return Cursor{}, false
	}
	return r.end, true
}

// Opener is what a polling loop reads from: a *Journal open for appending,
// or a journal's folder read as it is (see NewReader).
type Opener interface {
	NewReader(from Seq) (*Reader, error)
}

// Follower opens the readers of one polling loop (the index, each live
// detection): resumed where the loop's last reader stopped when it asks
// for the record after it and reads an open *Journal, so that a poll reads
// only the new blocks instead of skipping from the start of the segment.
// Not for concurrent use.
type Follower struct {
	cur Cursor
	ok  bool
}

// Open returns a reader of src's records from from on.
func (f *Follower) Open(src Opener, from Seq) (*Reader, error) {
	resume := f.ok && f.cur.seq == from
	f.ok = false
	if j, isJournal := src.(*Journal); isJournal && resume {
		return j.ResumeReader(f.cur)
	}
	return src.NewReader(from)
}

// Stopped notes where r stopped, once it returned io.EOF.
func (f *Follower) Stopped(r *Reader) { f.cur, f.ok = r.Cursor() }

// ResumeReader reads the committed records from where an earlier reader
// stopped (c, from its Cursor). When c's segment is gone (retention), it
// reads from the oldest kept record, as NewReader does.
func (j *Journal) ResumeReader(c Cursor) (*Reader, error) {
	r, err := j.NewReader(c.seq)
	if err != nil || !c.ok {
		return r, err
	}
	for i, sg := range r.segs {
		if sg.num == c.seg && sg.first <= c.seq {
			r.i, r.seq, r.from, r.resume = i, c.seq, c.seq, c.off
			break
		}
	}
	return r, nil
}

// NewReader reads the journal in dir from record from on (from the oldest
// kept record when from is older). dir should not be open for appending:
// a tail being written, or a torn one not yet repaired by Open, reads as a
// *CorruptionError; read an open journal with Journal.NewReader.
func NewReader(dir string, from Seq) (*Reader, error) {
	nums, err := listSegments(dir)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	segs := make([]segmentInfo, 0, len(nums))
	for _, num := range nums {
		f, err := os.Open(segmentPathIn(dir, num))
		if err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		h, err := readSegmentHeader(f)
		f.Close()
		if err != nil {
			return nil, &CorruptionError{File: segmentName(num), Err: err}
		}
		segs = append(segs, segmentInfo{num: num, first: h.first, prev: h.prev})
	}
	return newReader(dir, segs, position{}, false, from)
}

// NewReader reads the records committed when it is called, from record
// from on; records appended later are not seen (open another Reader).
func (j *Journal) NewReader(from Seq) (*Reader, error) {
	j.state.RLock()
	segs := append([]segmentInfo(nil), j.segs...)
	head := j.head
	j.state.RUnlock()
	return newReader(j.dir, segs, head, true, from)
}

func newReader(dir string, segs []segmentInfo, limit position, bounded bool, from Seq) (*Reader, error) {
	dec, err := newBlockDecoder()
	if err != nil {
		return nil, err
	}
	r := &Reader{dir: dir, segs: segs, limit: limit, bounded: bounded, from: from, dec: dec}
	// Start in the last segment that begins at or before from.
	r.i = sort.Search(len(segs), func(i int) bool { return segs[i].first > from }) - 1
	if r.i < 0 {
		r.i = 0
	}
	if len(segs) > 0 {
		r.seq = segs[r.i].first
	}
	if r.seq > from {
		r.from = r.seq
	}
	return r, nil
}

// Next returns the next record, or io.EOF after the last. The record's Raw
// aliases the reader's buffer and is valid until the next call.
func (r *Reader) Next() (Record, error) {
	for r.err == nil {
		if r.left > 0 {
			e, n, err := parseEntry(r.payload[r.p:])
			if err != nil {
				r.fail(r.br.off, err)
				break
			}
			r.p += n
			r.left--
			seq := r.seq
			r.seq++
			if seq < r.from {
				continue
			}
			return Record{Seq: seq, Received: timeOf(e.received), Origin: reuse(&r.origin, e.origin), Source: reuse(&r.source, e.source), Raw: e.raw}, nil
		}
		r.nextBlock()
	}
	return Record{}, r.err
}

// reuse returns *last when b spells it, else b as a new string kept in
// *last: listeners repeat the same origin for long runs of records.
func reuse(last *string, b []byte) string {
	if string(b) != *last {
		*last = string(b)
	}
	return *last
}

func (r *Reader) fail(off int64, err error) {
	name := ""
	if r.i < len(r.segs) {
		name = segmentName(r.segs[r.i].num)
	}
	r.err = &CorruptionError{File: name, Offset: off, Err: err}
}

// nextBlock loads the next block holding records at or after from,
// opening the next segment as needed; it sets r.err at the end.
func (r *Reader) nextBlock() {
	for {
		if r.f == nil {
			if r.i >= len(r.segs) || (r.bounded && r.segs[r.i].num > r.limit.seg) {
				r.err = io.EOF
				return
			}
			if !r.openSegment() {
				return
			}
		}
		h, err := r.br.skip()
		if err == io.EOF {
			r.end = Cursor{seq: r.seq, seg: r.segs[r.i].num, off: r.br.off, ok: true}
			r.f.Close()
			r.f = nil
			r.i++
			continue
		}
		if err == nil && h.first != r.seq {
			err = fmt.Errorf("block starts at record %d, expected %d", h.first, r.seq)
		}
		if err != nil {
			r.fail(r.br.off, err)
			return
		}
		if h.next() <= r.from {
			r.seq = h.next()
			r.br.off += h.size()
			continue
		}
		if _, err := r.br.next(); err != nil {
			r.fail(r.br.off, err)
			return
		}
		payload, err := r.dec.payload(&h, r.br.data)
		if err != nil {
			r.fail(r.br.off, err)
			return
		}
		r.br.off += h.size()
		r.payload, r.p, r.left = payload, 0, h.count
		return
	}
}

func (r *Reader) openSegment() bool {
	info := r.segs[r.i]
	f, err := os.Open(segmentPathIn(r.dir, info.num))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("segment removed (by retention?) while reading: %w", err)
		}
		r.fail(0, err)
		return false
	}
	h, err := readSegmentHeader(f)
	want := r.seq
	if r.resume > 0 {
		want = info.first // resumed in the middle of it
	}
	if err == nil && h.first != want {
		err = fmt.Errorf("segment starts at record %d, expected %d", h.first, want)
	}
	if err != nil {
		f.Close()
		r.fail(0, err)
		return false
	}
	end := r.limit.off
	if !r.bounded || info.num < r.limit.seg {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			r.fail(0, err)
			return false
		}
		end = st.Size()
	}
	r.f = f
	r.br = blockReader{r: f, off: segmentHeaderLen, end: end, data: r.br.data}
	if r.resume > 0 {
		r.br.off, r.resume = r.resume, 0
	}
	return true
}

// Close releases the reader's file and decoder.
func (r *Reader) Close() error {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	if r.dec != nil {
		r.dec.close()
		r.dec = nil
	}
	if r.err == nil {
		r.err = errors.New("journal: reader closed")
	}
	return nil
}

// Iterate calls fn with each committed record from from on, in order,
// until fn returns an error (returned as is) or ctx ends. The Record is
// valid only during the call.
func (j *Journal) Iterate(ctx context.Context, from Seq, fn func(Record) error) error {
	r, err := j.NewReader(from)
	if err != nil {
		return err
	}
	return iterate(ctx, r, fn)
}

// Iterate reads the journal in dir (not open for appending) like
// Journal.Iterate.
func Iterate(ctx context.Context, dir string, from Seq, fn func(Record) error) error {
	r, err := NewReader(dir, from)
	if err != nil {
		return err
	}
	return iterate(ctx, r, fn)
}

func iterate(ctx context.Context, r *Reader, fn func(Record) error) error {
	defer r.Close()
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}

func segmentPathIn(dir string, num uint64) string {
	return filepath.Join(dir, segmentName(num))
}
