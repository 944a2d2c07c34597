package journal

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testTime is the received time of test record 0; record i is i ms later.
var testTime = time.Date(2024, 7, 25, 20, 54, 59, 649_000_000, time.UTC)

// testRecord returns record i of the test stream: its content names i, so
// a reader can tell which record it holds, and lengths vary.
func testRecord(i int) Record {
	return Record{
		Received: testTime.Add(time.Duration(i) * time.Millisecond),
		Origin:   fmt.Sprintf("syslog-tcp :6514 10.0.%d.%d:5%04d", i%7, i%250, i%10000),
		Source:   []string{"squid", "postfix", ""}[i%3],
		Raw:      fmt.Appendf(nil, "<13>Jul 25 20:54:59 host%d app[%d]: event %d %s", i%13, i%977, i, strings.Repeat("x", i%61)),
	}
}

func testRecords(from, n int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = testRecord(from + i)
	}
	return recs
}

// sameRecord compares a read record with what was appended.
func sameRecord(got, want Record) bool {
	return got.Received.Equal(want.Received) && got.Origin == want.Origin && got.Source == want.Source && bytes.Equal(got.Raw, want.Raw)
}

// smallOptions makes segments rotate and blocks split often, and writes
// checkpoints only when asked (at Close), so tests control the layout.
func smallOptions(key ed25519.PrivateKey) Options {
	return Options{SegmentSize: 4 << 10, BlockSize: 1 << 10, SigningKey: key, CheckpointEvery: -1, CheckpointInterval: -1}
}

// testKey returns the tests' fixed key pair (t may be nil).
func testKey(testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	priv := ed25519.NewKeyFromSeed(seed)
	return priv.Public().(ed25519.PublicKey), priv
}

func mustOpen(t testing.TB, dir string, opt Options) *Journal {
	t.Helper()
	j, err := Open(dir, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return j
}

func mustAppend(t testing.TB, j *Journal, recs []Record) Seq {
	t.Helper()
	first, err := j.Append(context.Background(), recs)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return first
}

// readAll reads every record of dir (not open) with copies of the bytes.
func readAll(t testing.TB, dir string) []Record {
	t.Helper()
	var out []Record
	err := Iterate(context.Background(), dir, 0, func(r Record) error {
		r.Raw = bytes.Clone(r.Raw)
		out = append(out, r)
		return nil
	})
	if err != nil {
		t.Fatalf("Iterate: %v", err)
	}
	return out
}

// crash stops j the way a crash would as far as the files go: what is
// committed stays, no final checkpoint is written.
func crash(t testing.TB, j *Journal) {
	t.Helper()
	j.skipFinal.Store(true)
	if err := j.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func mustVerify(t testing.TB, dir string, pub ed25519.PublicKey) Report {
	t.Helper()
	rep, err := Verify(context.Background(), dir, pub)
	if err != nil {
		t.Fatalf("Verify: %v\n%s", err, rep)
	}
	return rep
}

// segPaths returns the paths of dir's segments, ascending.
func segPaths(t testing.TB, dir string) []string {
	t.Helper()
	nums, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range nums {
		out = append(out, filepath.Join(dir, segmentName(n)))
	}
	return out
}

// blockOffsets returns the offsets of the blocks of a segment file and its
// size.
func blockOffsets(t testing.TB, path string) ([]int64, []blockHeader) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	br := blockReader{r: f, off: segmentHeaderLen, end: st.Size()}
	var offs []int64
	var hs []blockHeader
	for {
		h, err := br.next()
		if err != nil {
			return offs, hs
		}
		offs = append(offs, br.off)
		hs = append(hs, h)
		br.off += h.size()
	}
}

// disk simulates a file system for the journal's files: a budget of bytes
// that may still be written (ENOSPC with a short write past it), failing
// or slow fsyncs.
type disk struct {
	mu        sync.Mutex
	free      int64 // < 0: unlimited
	syncErr   error
	syncDelay time.Duration
	only      string // when set, only files whose base name contains it are affected
	writes    int
}

func newDisk() *disk { return &disk{free: -1} }

func (d *disk) set(fn func(d *disk)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fn(d)
}

func (d *disk) open(name string, flag int, perm fs.FileMode) (file, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: f, d: d, base: filepath.Base(name)}, nil
}

type faultFile struct {
	*os.File
	d    *disk
	base string
}

func (f *faultFile) affected() bool {
	return f.d.only == "" || strings.Contains(f.base, f.d.only)
}

func (f *faultFile) WriteAt(b []byte, off int64) (int, error) {
	f.d.mu.Lock()
	f.d.writes++
	if f.d.free >= 0 && f.affected() && int64(len(b)) > f.d.free {
		n := int(f.d.free)
		f.d.free = 0
		f.d.mu.Unlock()
		// A short write: part of the bytes land, as on a real full disk.
		if n > 0 {
			f.File.WriteAt(b[:n], off)
		}
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	if f.d.free >= 0 && f.affected() {
		f.d.free -= int64(len(b))
	}
	f.d.mu.Unlock()
	return f.File.WriteAt(b, off)
}

func (f *faultFile) Sync() error {
	f.d.mu.Lock()
	delay, err := f.d.syncDelay, f.d.syncErr
	if !f.affected() {
		err = nil
	}
	f.d.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if err != nil {
		return &os.PathError{Op: "fsync", Path: f.Name(), Err: err}
	}
	return f.File.Sync()
}
