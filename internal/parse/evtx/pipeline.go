package evtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// This file holds the course of one Read: the file header, then the chunks,
// decoded in order on one goroutine or in parallel on several and handed
// over in order.

// reader is the state of one Read.
type reader struct {
	x       *Reader
	r       io.ReaderAt
	size    int64
	name    string
	opt     Options
	fn      func(*event.Event) error
	bad     func(Problem)
	base    int64 // file offset of chunk 0
	st      Stats
	pending []int // blank chunks not yet known to be followed by used ones
	chunks  int   // the chunk count of the file header (0 when it is damaged)
	// mem is the whole file when r gives it (a mapped file: Bytes): the
	// header and chunks are slices of it rather than copies. Nothing that
	// outlives the Read may point into it (events copy their text, and
	// release makes the decoders forget it).
	mem []byte
}

func (rd *reader) report(p Problem) {
	if rd.bad != nil {
		rd.bad(p)
	}
}

func (rd *reader) run(ctx context.Context) (Stats, error) {
	if rd.size < 0 {
		return rd.st, fmt.Errorf("evtx: %s: negative size %d", rd.name, rd.size)
	}
	if m, ok := rd.r.(interface{ Bytes() []byte }); ok {
		if b := m.Bytes(); int64(len(b)) == rd.size {
			rd.mem = b
		}
	}
	defer rd.release()
	head, err := rd.header()
	if err != nil {
		return rd.st, err
	}
	rd.base = fileHeaderSize
	var h fileHeader
	carved := false
	if perr := guard(func() {
		h, err = parseFileHeader(head)
		carved = bytes.HasPrefix(head, chunkMagic)
	}); perr != nil {
		err = rd.faultError(perr)
	}
	if err == nil {
		rd.st.Dirty = h.flags&flagDirty != 0
		rd.chunks = int(h.chunks)
	} else {
		if carved {
			rd.base = 0 // chunks without file header (carved)
		}
		rd.chunks = math.MaxInt // no count to trust: every chunk is read whole
		rd.report(Problem{Offset: 0, Chunk: -1, Err: fmt.Errorf("%w; looking for chunks at 64 KiB steps", err)})
	}
	n := 0
	if rd.size > rd.base {
		n = int((rd.size - rd.base + chunkSize - 1) / chunkSize)
	}
	limit := rd.opt.MaxChunks
	if limit <= 0 {
		limit = DefaultMaxChunks
	}
	var tooMany error
	if n > limit {
		tooMany = fmt.Errorf("evtx: %s: %d chunks, read the first %d: %w (Options.MaxChunks)", rd.name, n, limit, ErrTooManyChunks)
		n = limit
	}
	workers := rd.opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers == 1 || n <= 1 {
		err = rd.sequential(ctx, n)
	} else {
		err = rd.parallel(ctx, n, workers)
	}
	if err == nil {
		err = tooMany
	}
	return rd.st, err
}

// header returns the first bytes of the file, up to the size of a file
// header.
func (rd *reader) header() ([]byte, error) {
	n := min(rd.size, fileHeaderSize)
	if rd.mem != nil {
		return rd.mem[:n], nil
	}
	if rd.x.head == nil {
		rd.x.head = make([]byte, fileHeaderSize)
	}
	head := rd.x.head[:n]
	if _, err := rd.r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("evtx: %s: reading file header: %w", rd.name, err)
	}
	return head, nil
}

// chunkData returns the bytes of chunk idx that decoding needs, and how many
// bytes of it the file holds (chunkSize unless the file is cut): a slice of
// the mapped file, or read into d's buffer. A used chunk is read only up to
// its free space offset (the end of its records, all that decoding looks
// at): most chunks of a live log are far from full, and copying their
// unused tail with ReadAt was a tenth of a hunt's CPU time. A chunk past the
// file header's chunk count whose header is all zero bytes is taken as a
// slot never written (preallocated), whatever follows its header, and only
// that header is read.
func (rd *reader) chunkData(idx int, d *decoder) (data []byte, avail int, off int64, err error) {
	off = rd.base + int64(idx)*chunkSize
	n := int(min(int64(chunkSize), rd.size-off))
	var buf []byte
	read := func(from, to int) error {
		if rd.mem != nil {
			return nil
		}
		if k, err := rd.r.ReadAt(buf[from:to], off+int64(from)); err != nil && !(errors.Is(err, io.EOF) && k == to-from) {
			return fmt.Errorf("evtx: %s: reading chunk %d at offset %d: %w", rd.name, idx, off, err)
		}
		return nil
	}
	if rd.mem != nil {
		buf = rd.mem[off : off+int64(n) : off+int64(n)]
	} else {
		if d.buf == nil {
			d.buf = make([]byte, chunkSize)
		}
		buf = d.buf[:n]
	}
	if n < chunkSize {
		return buf, n, off, read(0, n)
	}
	if err := read(0, chunkHeaderSize); err != nil {
		return nil, 0, off, err
	}
	head := buf[:chunkHeaderSize]
	end := chunkSize
	switch {
	case bytes.HasPrefix(head, chunkMagic):
		if free := int(binary.LittleEndian.Uint32(head[48:])); free >= chunkHeaderSize && free <= chunkSize {
			end = free
		}
	case idx >= rd.chunks && isZero(head):
		end = chunkHeaderSize
	}
	if end > chunkHeaderSize {
		if err := read(chunkHeaderSize, end); err != nil {
			return nil, 0, off, err
		}
	}
	return buf[:end:end], chunkSize, off, nil
}

// decode reads chunk idx and decodes it into b with the decoder of worker
// wi. A panic while doing so does not take the process down (the caller's
// recover, if any, is on another goroutine when workers decode): the chunk is
// skipped with a Problem that says it, and the worker gets a new decoder,
// since the panic may have left the old one's state half-updated. Memory
// faults become panics too (guard), for a mapped file whose pages vanish
// when the file is truncated while it is read (SIGBUS).
func (rd *reader) decode(ctx context.Context, wi, idx int, b *batch) {
	d := rd.x.decs[wi]
	perr := guard(func() {
		var data []byte
		var avail int
		var off int64
		if data, avail, off, b.err = rd.chunkData(idx, d); b.err == nil {
			d.decodeChunk(ctx, data, avail, off, b)
		}
	})
	if perr != nil {
		b.reset(idx)
		b.bad = true
		b.problem(Problem{Offset: rd.base + int64(idx)*chunkSize, Chunk: idx, Err: rd.faultError(perr)})
		rd.x.renew(wi)
	}
}

// faultError adds to a panic of decoding a mapped file that was a memory
// fault what its likely cause is.
func (rd *reader) faultError(err error) error {
	var fault interface{ Addr() uintptr }
	if rd.mem != nil && errors.As(err, &fault) {
		return fmt.Errorf("%w (memory fault at %#x: was the mapped file truncated while it was read?)", err, fault.Addr())
	}
	return err
}

// release drops what the decoders hold of the file's bytes: the caller
// unmaps a mapped file once Read returns.
func (rd *reader) release() {
	for _, d := range rd.x.decs {
		d.release()
	}
	rd.mem = nil
}

func (rd *reader) sequential(ctx context.Context, n int) error {
	rd.x.decoder(0, rd.name)
	b := rd.x.batch()
	defer func() { rd.x.free = append(rd.x.free, b) }()
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("evtx: %s: %w", rd.name, err)
		}
		b.reset(i)
		if rd.decode(ctx, 0, i, b); b.err != nil {
			return b.err
		}
		if err := rd.deliver(b); err != nil {
			return err
		}
	}
	return nil
}

// parallel decodes chunks on workers goroutines and delivers them in order
// on this one. At most 2*workers chunks are in flight.
func (rd *reader) parallel(ctx context.Context, n, workers int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type job struct {
		idx int
		res chan *batch
	}
	inflight := 2 * workers
	order := make(chan chan *batch, inflight)
	jobs := make(chan job, inflight)
	free := make(chan *batch, inflight+workers)
	for len(free) < cap(free) && len(rd.x.free) > 0 {
		free <- rd.x.batch()
	}
	for i := 0; i < workers; i++ {
		rd.x.decoder(i, rd.name)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		defer close(order)
		for i := 0; i < n; i++ {
			res := make(chan *batch, 1)
			select {
			case order <- res:
			case <-ctx.Done():
				return
			}
			jobs <- job{idx: i, res: res}
		}
	}()
	for wi := 0; wi < workers; wi++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				var b *batch
				select {
				case b = <-free:
				default:
					b = &batch{}
				}
				b.reset(j.idx)
				if ctx.Err() == nil {
					rd.decode(ctx, wi, j.idx, b)
				}
				j.res <- b
			}
		}()
	}
	var err error
	for res := range order {
		b := <-res
		if err == nil {
			if err = ctx.Err(); err != nil {
				err = fmt.Errorf("evtx: %s: %w", rd.name, err)
			} else if err = b.err; err == nil {
				err = rd.deliver(b)
			}
			if err != nil {
				cancel()
			}
		}
		select {
		case free <- b:
		default:
		}
	}
	wg.Wait()
	for len(free) > 0 {
		rd.x.free = append(rd.x.free, <-free)
	}
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("evtx: %s: %w", rd.name, ctx.Err())
	}
	return err
}

// deliver hands the problems and events of one chunk to the callbacks, and
// reports blank chunks once a used chunk follows them.
func (rd *reader) deliver(b *batch) error {
	if b.zero {
		rd.pending = append(rd.pending, b.idx)
		return nil
	}
	for _, idx := range rd.pending {
		rd.st.Chunks++
		rd.st.BadChunks++
		rd.report(Problem{Offset: rd.base + int64(idx)*chunkSize, Chunk: idx, Err: ErrZeroChunk})
	}
	rd.pending = rd.pending[:0]
	rd.st.Chunks++
	if b.bad {
		rd.st.BadChunks++
	}
	rd.st.BadRecords += b.badRecs
	p := 0
	for i := 0; i < b.n; i++ {
		for ; p < len(b.problems) && b.problems[p].after <= i; p++ {
			rd.report(b.problems[p].p)
		}
		rd.st.Records++
		if err := rd.fn(&b.events[i]); err != nil {
			return err
		}
	}
	for ; p < len(b.problems); p++ {
		rd.report(b.problems[p].p)
	}
	return nil
}
