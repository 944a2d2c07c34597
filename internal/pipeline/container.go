package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/input"
	"github.com/kizuki-dev/kizuki/internal/parse"
)

// newBatchPool returns the pool of event batches runContainer hands to a
// Batch consumer; one pool serves every file of a run, so that thousands of
// small files reuse the same events.
func newBatchPool() *sync.Pool {
	return &sync.Pool{New: func() any { b := make([]event.Event, 0, containerBatch); return &b }}
}

// runContainer reads one binary container file (EVTX) with its format's own
// reader and delivers its events like runFile does: to observe one by one,
// or to opt.Batch in batches of copies (the reader reuses its event).
//
// A plain file is read in place at random offsets, so the format can decode
// its parts in parallel; a compressed file or stdin is first read into
// memory, up to MaxContainerBytes.
func runContainer(ctx context.Context, f input.File, held io.Reader, file *os.File, c parse.Container, opt Options, rep *FileReport, observe func(*event.Event), pool *sync.Pool) error {
	var ra io.ReaderAt
	var size int64
	if file == nil && held == nil && rep.Compression == string(input.Plain) {
		fh, err := os.Open(f.Path)
		if err != nil {
			return err
		}
		defer fh.Close()
		file = fh
	}
	if file != nil {
		st, err := file.Stat()
		if err != nil {
			return err
		}
		// Read in place with pread. Mapping the file (mmap) was measured
		// too: on 74,800 small files the unmapping (a TLB shootdown on
		// every core each time) cost more than the copy it saves.
		ra, size = file, st.Size()
	} else {
		src := held
		if src == nil {
			r, err := input.Open(f, opt.Stdin)
			if err != nil {
				return err
			}
			defer r.Close()
			src = r
		}
		data, err := io.ReadAll(io.LimitReader(src, MaxContainerBytes+1))
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if len(data) > MaxContainerBytes {
			return fmt.Errorf("%s file larger than %d bytes once decompressed: decompress it to disk first", c.Name(), MaxContainerBytes)
		}
		ra, size = inMemory{bytes.NewReader(data), data}, int64(len(data))
	}

	var batch *[]event.Event
	flush := func() {
		if batch == nil || len(*batch) == 0 {
			return
		}
		b := batch
		batch = nil
		opt.Batch(*b, func() { *b = (*b)[:0]; pool.Put(b) })
	}
	fn := func(ev *event.Event) error {
		rep.Records++
		if opt.outOfRange(ev.Time) {
			rep.OutOfRange++
			return nil
		}
		rep.count(ev)
		if opt.Batch == nil {
			observe(ev)
			return nil
		}
		if batch == nil {
			batch = pool.Get().(*[]event.Event)
		}
		b := *batch
		if len(b) < cap(b) {
			b = b[:len(b)+1] // reuse the slot's extra slice
		} else {
			b = append(b, event.Event{})
		}
		b[len(b)-1].CopyFrom(ev)
		*batch = b
		if len(b) >= containerBatch {
			flush()
		}
		return nil
	}
	bad := func(where string, err error) {
		rep.Malformed++
		if len(rep.Errors) < MaxErrorLocations {
			rep.Errors = append(rep.Errors, ErrorLocation{At: where, Err: err.Error()})
		}
	}
	err := safeRead(ctx, c, ra, size, f.Path, fn, bad)
	if opt.Batch != nil {
		flush()
	}
	return err
}

// inMemory is a container already read into memory (decompressed, or
// stdin): its Bytes let the format slice it instead of copying each part
// out again (the evtx reader does).
type inMemory struct {
	*bytes.Reader
	b []byte
}

func (m inMemory) Bytes() []byte { return m.b }

// safeRead turns a reader panic into an error: a damaged file must never
// stop a run, even when the reader has a bug.
func safeRead(ctx context.Context, c parse.Container, ra io.ReaderAt, size int64, name string, fn func(*event.Event) error, bad func(string, error)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s reader panicked: %v", c.Name(), r)
		}
	}()
	return c.ReadFile(ctx, ra, size, name, fn, bad)
}
