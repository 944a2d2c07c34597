package evtx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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
	head := make([]byte, min(rd.size, fileHeaderSize))
	if _, err := rd.r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return rd.st, fmt.Errorf("evtx: %s: reading file header: %w", rd.name, err)
	}
	rd.base = fileHeaderSize
	if h, err := parseFileHeader(head); err == nil {
		rd.st.Dirty = h.flags&flagDirty != 0
	} else {
		if bytes.HasPrefix(head, chunkMagic) {
			rd.base = 0 // chunks without file header (carved)
		}
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
	var err error
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

// chunkData reads chunk idx into buf and returns the bytes the file holds of
// it.
func (rd *reader) chunkData(idx int, buf []byte) ([]byte, int64, error) {
	off := rd.base + int64(idx)*chunkSize
	n := min(int64(chunkSize), rd.size-off)
	data := buf[:n]
	if k, err := rd.r.ReadAt(data, off); err != nil && !(errors.Is(err, io.EOF) && int64(k) == n) {
		return nil, off, fmt.Errorf("evtx: %s: reading chunk %d at offset %d: %w", rd.name, idx, off, err)
	}
	return data, off, nil
}

func (rd *reader) sequential(ctx context.Context, n int) error {
	d := rd.x.decoder(0, rd.name)
	b := rd.x.batch()
	defer func() { rd.x.free = append(rd.x.free, b) }()
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("evtx: %s: %w", rd.name, err)
		}
		b.reset(i)
		data, off, err := rd.chunkData(i, d.buf)
		if err != nil {
			return err
		}
		d.decodeChunk(ctx, data, off, b)
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
	decs := make([]*decoder, workers)
	for i := range decs {
		decs[i] = rd.x.decoder(i, rd.name)
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
	for _, d := range decs {
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
					var data []byte
					var off int64
					if data, off, b.err = rd.chunkData(j.idx, d.buf); b.err == nil {
						d.decodeChunk(ctx, data, off, b)
					}
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
