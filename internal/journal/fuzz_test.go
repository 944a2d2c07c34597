package journal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fuzzFixture writes a small signed journal (a few segments, compressed
// and stored blocks, a final checkpoint) into dir. It is the same bytes in
// every process (fixed id and clock): the fuzzing engine reruns the target
// in its workers and needs the same seeds there.
func fuzzFixture(t testing.TB, dir string) {
	_, priv := testKey(t)
	opt := smallOptions(priv)
	opt.CheckpointEvery = 20
	opt.now = func() time.Time { return testTime }
	opt.newID = func() (journalID, error) { return journalID{1, 2, 3}, nil }
	j, err := Open(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 90; i += 9 {
		mustAppend(t, j, testRecords(i, 9))
	}
	mustAppend(t, j, []Record{{Received: testTime, Raw: []byte("short")}}) // a stored block
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

// fixtureFiles returns the journal files of dir that a change must not go
// unnoticed in: the segments and the checkpoint log.
func fixtureFiles(t testing.TB, dir string) []string {
	return append(segPaths(t, dir), filepath.Join(dir, checkpointName))
}

// FuzzBlock feeds arbitrary bytes to the block decoder (header, zstd or
// stored payload, records): it must reject or decode them within the
// limits, never panic or allocate beyond what the header allows.
func FuzzBlock(f *testing.F) {
	enc, _ := newBlockEncoder(CompressionDefault)
	defer enc.close()
	var raw []byte
	for i := 0; i < 20; i++ {
		r := testRecord(i)
		raw = appendEntry(raw, r.Received.UnixNano(), &r)
	}
	h := blockHeader{first: 7, count: 20, minT: 1, maxT: 2}
	zb, _ := enc.appendBlock(nil, h, raw)
	f.Add(zb)
	h.count = 1
	one := testRecord(3)
	sb, _ := enc.appendBlock(nil, h, appendEntry(nil, 5, &one))
	f.Add(sb)
	f.Add(zb[:blockHeaderLen+10])
	f.Add([]byte{})
	dec, err := newBlockDecoder()
	if err != nil {
		f.Fatal(err)
	}
	defer dec.close()
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseBlockHeader(b)
		if err != nil || int64(len(b)) < h.size() {
			return
		}
		stored := b[blockHeaderLen:h.size()]
		h.checkCRC(b, stored) // decoded either way, to reach the decoder
		payload, err := dec.payload(&h, stored)
		if err != nil {
			return
		}
		if len(payload) != int(h.rawLen) {
			t.Fatalf("payload of %d bytes, header says %d", len(payload), h.rawLen)
		}
		n := 0
		forEachEntry(payload, h.count, func(_ int, e entry, enc []byte) error {
			if len(e.origin) > MaxOriginLen || len(e.source) > MaxSourceLen || len(e.raw) > MaxRecordLimit || len(enc) < minEntryLen {
				t.Fatalf("entry outside the limits")
			}
			n++
			return nil
		})
		if n > int(h.count) {
			t.Fatalf("%d entries in a block of %d", n, h.count)
		}
	})
}

// FuzzReader reads an arbitrary first segment file: the reader must end
// with io.EOF or an error, never panic or loop.
func FuzzReader(f *testing.F) {
	src := f.TempDir()
	fuzzFixture(f, src)
	for _, p := range segPaths(f, src) {
		b, _ := os.ReadFile(p)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte(segmentMagic))
	dir := f.TempDir() // one file, rewritten: a fuzz worker runs inputs one at a time
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, segmentName(1)), b, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(dir, 0)
		if err != nil {
			return
		}
		defer r.Close()
		for n := 0; ; n++ {
			if n > len(b) {
				t.Fatalf("%d records from %d bytes", n, len(b))
			}
			if _, err := r.Next(); err != nil {
				return
			}
		}
	})
}

// FuzzVerify changes one byte of one file of a signed journal (or cuts a
// segment short) and runs Verify: it must never panic, and any change
// must be reported as a *Problem: every byte of the format is covered by a
// checksum, and the final checkpoint covers the end of the last segment.
func FuzzVerify(f *testing.F) {
	src := f.TempDir()
	fuzzFixture(f, src)
	pub, _ := testKey(f)
	files := len(fixtureFiles(f, src))
	for i := 0; i < files; i++ {
		f.Add(uint8(i), uint32(0), uint8(1), uint32(0))
		f.Add(uint8(i), uint32(100), uint8(0x80), uint32(0))
		f.Add(uint8(i), uint32(0), uint8(0), uint32(300))
	}
	f.Add(uint8(0), uint32(0), uint8(0), uint32(0)) // untouched: verifies
	f.Fuzz(func(t *testing.T, file uint8, off uint32, xor uint8, cut uint32) {
		dir := copyDir(t, src)
		paths := fixtureFiles(t, dir)
		path := paths[int(file)%len(paths)]
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		changed := false
		if xor != 0 {
			b[int(off)%len(b)] ^= xor
			changed = true
		}
		// Cut segments only: cutting whole entries off the end of the
		// checkpoint log removes the newest statements, which nothing in
		// the directory can tell (see docs/formats/journal.md).
		if k := int(cut) % (len(b) + 1); cut != 0 && k > 0 && filepath.Base(path) != checkpointName {
			b = b[:len(b)-k]
			changed = true
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(context.Background(), dir, pub)
		var p *Problem
		switch {
		case !changed && err != nil:
			t.Fatalf("untouched journal: %v", err)
		case changed && !errors.As(err, &p):
			t.Fatalf("change not reported (%s xor %#x at %d, cut %d): %v\n%s", filepath.Base(path), xor, off, cut, err, rep)
		}
	})
}

// FuzzOpenTail appends arbitrary bytes after the last block of a closed
// journal (and possibly after the checkpoint log), as a crash or a
// tamperer might leave them. Open must either repair (keeping every
// checkpointed record, and verifying afterwards) or refuse with a
// *CorruptionError without changing anything.
func FuzzOpenTail(f *testing.F) {
	src := f.TempDir()
	fuzzFixture(f, src)
	pub, priv := testKey(f)
	want := readAll(f, src)
	f.Add([]byte{}, false)
	f.Add(make([]byte, 300), false)
	f.Add([]byte("KZB1\x01"), false)
	f.Add([]byte("garbage that is not zero"), true)
	f.Add(make([]byte, entryLen), true)
	f.Fuzz(func(t *testing.T, tail []byte, log bool) {
		if len(tail) > 1<<16 {
			return
		}
		dir := copyDir(t, src)
		segs := segPaths(t, dir)
		target := segs[len(segs)-1]
		if log {
			target = filepath.Join(dir, checkpointName)
		}
		appendBytes(t, target, tail)
		before := snapshot(t, dir)
		j, err := Open(dir, smallOptions(priv))
		if err != nil {
			var ce *CorruptionError
			if !errors.As(err, &ce) {
				t.Fatalf("Open: %v", err)
			}
			if after := snapshot(t, dir); string(after) != string(before) {
				t.Fatal("a refused Open changed the directory")
			}
			return
		}
		forged := j.Stats().NextSeq != Seq(len(want))
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		got := readAll(t, dir)
		if len(got) < len(want) {
			t.Fatalf("%d records after Open, had %d", len(got), len(want))
		}
		for i := range want {
			if !sameRecord(got[i], want[i]) {
				t.Fatalf("record %d changed", i)
			}
		}
		// Bytes that form a valid block are taken as records (nothing can
		// tell them from real ones before a checkpoint signs them); only
		// otherwise must the result verify.
		if _, err := Verify(context.Background(), dir, pub); err != nil && !forged {
			t.Fatalf("after repair: %v", err)
		}
	})
}
