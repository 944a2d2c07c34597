//go:build linux

package evtx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// A mapped file truncated while it is read: the pages past the new end
// vanish and reading them raises SIGBUS. Read must not crash: the chunks
// lost are reported as problems, the events of the chunk that is left are
// delivered. The same with workers, where the fault happens on a goroutine
// the caller cannot recover on.
func TestMappedFileTruncated(t *testing.T) {
	src := testutil.Dataset(t, "windows/"+benchFiles[0])
	orig, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(orig))
	nChunks := int((size - fileHeaderSize + chunkSize - 1) / chunkSize)
	if nChunks < 3 {
		t.Fatalf("%s: %d chunks, want at least 3", src, nChunks)
	}
	keep := int64(fileHeaderSize + chunkSize) // the file header and chunk 0
	want, _, _ := readWith(t, NewReader(Options{Workers: 1}), orig[:keep], false)
	if len(want) == 0 {
		t.Fatal("no event in chunk 0")
	}
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers %d", workers), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cut.evtx")
			if err := os.WriteFile(path, orig, 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			mem, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
			if err != nil {
				t.Fatal(err)
			}
			defer syscall.Munmap(mem)
			if err := f.Truncate(keep); err != nil {
				t.Fatal(err)
			}
			x := NewReader(Options{Workers: workers})
			var got []*event.Event
			var probs []Problem
			st, err := x.Read(context.Background(), mappedFile{bytes.NewReader(mem), mem}, size, "test.evtx",
				func(ev *event.Event) error { got = append(got, ev.Clone()); return nil },
				func(p Problem) { probs = append(probs, p) })
			if err != nil {
				t.Fatal(err)
			}
			sameEvents(t, "chunk 0", got, want)
			if len(probs) != nChunks-1 {
				t.Fatalf("%d problems, want %d (one per lost chunk): %v", len(probs), nChunks-1, probs)
			}
			for i, p := range probs {
				if p.Chunk != i+1 || p.Offset != keep+int64(i)*chunkSize || !errors.Is(p.Err, ErrPanic) {
					t.Errorf("problem %d: %v", i, p)
				}
			}
			if st.Chunks != nChunks || st.BadChunks != nChunks-1 || st.Records != len(want) {
				t.Errorf("stats %+v", st)
			}
			t.Logf("%d chunks, %d events of chunk 0; %v", nChunks, len(got), probs[0])
		})
	}
}
