package evtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// readWith reads data with x (from a mappedFile when mapped) and returns
// cloned events, the problems and the stats.
func readWith(t *testing.T, x *Reader, data []byte, mapped bool) ([]*event.Event, []Problem, Stats) {
	t.Helper()
	var r interface {
		ReadAt([]byte, int64) (int, error)
	} = bytes.NewReader(data)
	if mapped {
		r = mappedFile{bytes.NewReader(data), data}
	}
	var evs []*event.Event
	var probs []Problem
	st, err := x.Read(context.Background(), r, int64(len(data)), "test.evtx",
		func(ev *event.Event) error { evs = append(evs, ev.Clone()); return nil },
		func(p Problem) { probs = append(probs, p) })
	if err != nil {
		t.Fatal(err)
	}
	return evs, probs, st
}

// sameEvents reports the first difference between two reads.
func sameEvents(t *testing.T, what string, got, want []*event.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d events, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		if d := fieldDiff(got[i], want[i]); d != "" || !got[i].Time.Equal(want[i].Time) || got[i].Host != want[i].Host || got[i].Origin != want[i].Origin || got[i].Raw != want[i].Raw {
			t.Errorf("%s: event %d: %s (time %v host %q origin %v)", what, i, d, got[i].Time, got[i].Host, got[i].Origin)
			return
		}
	}
}

// A panic while decoding a chunk, on the calling goroutine or on a worker,
// skips that chunk with a Problem saying it; the other chunks are read, and
// the Reader reads as well afterwards.
func TestDecoderPanic(t *testing.T) {
	data, offs := multiChunk(t) // 2, 3, 21 and 11 records
	want, _, _ := readBytes(t, data, Options{Workers: 1})
	for _, workers := range []int{1, 2, 4} {
		for _, mapped := range []bool{false, true} {
			x := NewReader(Options{Workers: workers, RenderXML: true})
			var calls atomic.Int32
			x.recordHook = func(chunk int, record uint64) {
				if chunk == 2 && calls.Add(1) == 5 {
					panic(fmt.Sprintf("injected at record %d", record))
				}
			}
			what := fmt.Sprintf("workers %d, mapped %v", workers, mapped)
			evs, probs, st := readWith(t, x, data, mapped)
			checkProblems(t, probs, wantProblem{offs[2], 2, ErrPanic, "injected at record"})
			if st.Chunks != 4 || st.BadChunks != 1 || st.Records != 37-21 {
				t.Errorf("%s: stats %+v", what, st)
			}
			sameEvents(t, what+", chunk 2 panicking", evs, append(append([]*event.Event(nil), want[:5]...), want[26:]...))

			x.recordHook = nil
			evs, probs, _ = readWith(t, x, data, mapped)
			if len(probs) != 0 {
				t.Errorf("%s: the next read: %v", what, probs)
			}
			sameEvents(t, what+", the next read", evs, want)
		}
	}
}

// A mapped file (a ReaderAt with Bytes) is read from its memory with the same
// events and problems as with ReadAt, whole or cut; nothing delivered or kept
// points into that memory once Read returns.
func TestMappedInput(t *testing.T) {
	clean, offs := multiChunk(t)
	cases := map[string][]byte{
		"whole":               clean,
		"cut in a chunk":      clean[:offs[3]+20000],
		"cut in a header":     clean[:offs[2]+100],
		"no file header":      clean[fileHeaderSize:],
		"file header only":    clean[:fileHeaderSize],
		"short file header":   clean[:64],
		"bad chunk signature": append(append(append([]byte(nil), clean[:offs[1]]...), "ElfJunk\x00"...), clean[offs[1]+8:]...),
		// Slots past the header's chunk count: never written (read as a
		// zero header only), then one with a zero header and junk after it,
		// then a used chunk the header does not count (a dirty file).
		"unused slots": append(bytes.Clone(clean), make([]byte, 2*chunkSize)...),
		"slots then a used chunk": append(append(append(bytes.Clone(clean), make([]byte, chunkSize)...),
			append(make([]byte, chunkHeaderSize), bytes.Repeat([]byte{0xEE}, chunkSize-chunkHeaderSize)...)...),
			clean[offs[2]:offs[3]]...),
	}
	for name, data := range cases {
		for _, workers := range []int{1, 2} {
			opt := Options{Workers: workers, RenderXML: true}
			want, wantProbs, wantSt := readWith(t, NewReader(opt), data, false)
			x := NewReader(opt)
			mem := bytes.Clone(data)
			got, gotProbs, gotSt := readWith(t, x, mem, true)
			for i := range mem {
				mem[i] = 0xAA // as unmapping would: the events must not change
			}
			what := fmt.Sprintf("%s, workers %d", name, workers)
			sameEvents(t, what, got, want)
			if gotSt != wantSt || fmt.Sprint(gotProbs) != fmt.Sprint(wantProbs) {
				t.Errorf("%s: stats %+v, problems %v; want %+v, %v", what, gotSt, gotProbs, wantSt, wantProbs)
			}
			for _, d := range x.decs {
				if d.c.b != nil || d.buf != nil {
					t.Errorf("%s: a decoder keeps %d bytes of the file, a buffer of %d", what, len(d.c.b), len(d.buf))
				}
			}
		}
	}
}

// Read with ReadAt, a used chunk is read only up to its free space offset,
// and an all-zero slot past the header's chunk count only as far as its
// header: the rest is never looked at.
func TestReadOnlyUsedBytes(t *testing.T) {
	clean, offs := multiChunk(t)
	data := append(bytes.Clone(clean), make([]byte, 3*chunkSize)...)
	want := int64(fileHeaderSize + 3*chunkHeaderSize)
	for _, off := range offs {
		want += int64(binary.LittleEndian.Uint32(data[off+48:]))
	}
	r := &countingReader{r: bytes.NewReader(data)}
	var n int
	if _, err := Read(context.Background(), r, int64(len(data)), "test.evtx", Options{Workers: 2},
		func(*event.Event) error { n++; return nil }, func(p Problem) { t.Error(p) }); err != nil {
		t.Fatal(err)
	}
	if n != 37 || r.n.Load() != want {
		t.Errorf("%d events, %d bytes read of %d; want 37 events, %d bytes", n, r.n.Load(), len(data), want)
	}
}

type countingReader struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReader) ReadAt(b []byte, off int64) (int, error) {
	k, err := c.r.ReadAt(b, off)
	c.n.Add(int64(k))
	return k, err
}

// guard turns a panic into an error that wraps ErrPanic and, when the panic
// value is an error, that error too.
func TestGuard(t *testing.T) {
	if err := guard(func() {}); err != nil {
		t.Errorf("no panic: %v", err)
	}
	err := guard(func() { panic("boom") })
	if !errors.Is(err, ErrPanic) || !strings.Contains(err.Error(), "boom") {
		t.Errorf("panic(string): %v", err)
	}
	var m map[string]int
	err = guard(func() { m["x"]++ })
	var re interface{ RuntimeError() }
	if !errors.Is(err, ErrPanic) || !errors.As(err, &re) {
		t.Errorf("runtime error: %v", err)
	}
}
