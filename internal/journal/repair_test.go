package journal

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// tornFixture builds a journal whose last segment ends with one block
// that no checkpoint covers (the shape a crash during a commit leaves), and
// returns the directory, the number of records before that block, the
// block's offset in the segment and its header.
func tornFixture(t *testing.T, priv []byte) (dir string, kept int, lastOff int64, last blockHeader) {
	t.Helper()
	dir = t.TempDir()
	opt := smallOptions(priv)
	opt.SegmentSize = 1 << 20
	j := mustOpen(t, dir, opt)
	for i := 0; i < 4; i++ {
		mustAppend(t, j, testRecords(i*5, 5))
	}
	if err := j.Close(); err != nil { // the final checkpoint covers 20 records
		t.Fatal(err)
	}
	j = mustOpen(t, dir, opt)
	mustAppend(t, j, testRecords(20, 3))
	crash(t, j)
	segs := segPaths(t, dir)
	offs, hs := blockOffsets(t, segs[len(segs)-1])
	return dir, 20, offs[len(offs)-1], hs[len(hs)-1]
}

// copyDir copies a journal directory (flat, plus repair/).
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// checkRepaired opens a damaged directory, checks that it holds the first
// kept records, appends, closes and verifies.
func checkRepaired(t *testing.T, dir string, priv []byte, pub []byte, kept int) Recovery {
	t.Helper()
	j := mustOpen(t, dir, smallOptions(priv))
	rec := j.Recovery()
	if n := j.Stats().NextSeq; n != Seq(kept) {
		t.Fatalf("after repair NextSeq %d, want %d (%v)", n, kept, rec)
	}
	if first := mustAppend(t, j, testRecords(1000, 2)); first != Seq(kept) {
		t.Fatalf("Append after repair got %d", first)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, dir)
	if len(got) != kept+2 {
		t.Fatalf("%d records after repair, want %d", len(got), kept+2)
	}
	for i := 0; i < kept; i++ {
		if !sameRecord(got[i], testRecord(i)) {
			t.Fatalf("record %d changed by the repair", i)
		}
	}
	rep := mustVerify(t, dir, pub)
	if rec.Repaired() && rep.Repairs != 1 {
		t.Fatalf("verify saw %d repair entries", rep.Repairs)
	}
	return rec
}

// TestTornTailEveryOffset cuts the last segment at every byte inside its
// last block (a write that reached the disk only in part): Open cuts
// exactly that block, keeps the bytes it cut, and the journal appends and
// verifies afterwards.
func TestTornTailEveryOffset(t *testing.T) {
	pub, priv := testKey(t)
	base, kept, lastOff, last := tornFixture(t, priv)
	seg := filepath.Base(segPaths(t, base)[0])
	for cut := lastOff; cut < lastOff+last.size(); cut++ {
		dir := copyDir(t, base)
		path := filepath.Join(dir, seg)
		full, _ := os.ReadFile(path)
		if err := os.Truncate(path, cut); err != nil {
			t.Fatal(err)
		}
		rec := checkRepaired(t, dir, priv, pub, kept)
		if cut == lastOff {
			if rec.Repaired() {
				t.Fatalf("cut at a block boundary: repaired %v", rec)
			}
			continue
		}
		if rec.Segment != seg || rec.Offset != lastOff || rec.CutBytes != cut-lastOff || len(rec.Saved) != 1 {
			t.Fatalf("cut at %d: recovery %+v", cut, rec)
		}
		saved, err := os.ReadFile(filepath.Join(dir, rec.Saved[0]))
		if err != nil || !bytes.Equal(saved, full[lastOff:cut]) {
			t.Fatalf("cut at %d: the saved bytes differ from the cut ones (%v)", cut, err)
		}
	}
}

// TestRepairTable: the shapes a crash can leave, each repaired at Open.
func TestRepairTable(t *testing.T) {
	pub, priv := testKey(t)
	base, kept, lastOff, last := tornFixture(t, priv)
	seg := filepath.Base(segPaths(t, base)[0])
	cases := []struct {
		name   string
		kept   int // records left after the repair
		break_ func(t *testing.T, dir string)
	}{
		{"torn_block_header", kept, func(t *testing.T, dir string) { truncate(t, filepath.Join(dir, seg), lastOff+10) }},
		{"torn_payload", kept, func(t *testing.T, dir string) { truncate(t, filepath.Join(dir, seg), lastOff+last.size()-3) }},
		{"zeroed_last_block", kept, func(t *testing.T, dir string) {
			writeAt(t, filepath.Join(dir, seg), lastOff, make([]byte, last.size()))
		}},
		{"zero_filled_extension", kept + 3, func(t *testing.T, dir string) {
			appendBytes(t, filepath.Join(dir, seg), make([]byte, 4096))
		}},
		{"short_garbage_after_last_block", kept + 3, func(t *testing.T, dir string) {
			appendBytes(t, filepath.Join(dir, seg), []byte("KZB1 less than a header"))
		}},
		{"last_sector_unwritten", kept, func(t *testing.T, dir string) {
			// The sectors of the block from the first boundary inside it on
			// never reached the disk: they read as zeros.
			end := lastOff + last.size()
			from := (lastOff/sectorSize + 1) * sectorSize
			if from >= end {
				t.Skip("the block lies in one sector")
			}
			writeAt(t, filepath.Join(dir, seg), from, make([]byte, end-from))
		}},
		{"torn_checkpoint_entry", kept + 3, func(t *testing.T, dir string) {
			appendBytes(t, filepath.Join(dir, checkpointName), []byte("KZCE\x01\x01"))
		}},
		{"zeroed_checkpoint_entry", kept + 3, func(t *testing.T, dir string) {
			appendBytes(t, filepath.Join(dir, checkpointName), make([]byte, entryLen))
		}},
		{"stale_tmp_segment", kept + 3, func(t *testing.T, dir string) {
			appendBytes(t, filepath.Join(dir, segmentName(2)+".tmp"), []byte("KZJSEG01"))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyDir(t, base)
			c.break_(t, dir)
			rec := checkRepaired(t, dir, priv, pub, c.kept)
			t.Logf("%v", rec)
		})
	}
}

// TestRepairRefuses: damage that a crash cannot leave (inside what a
// checkpoint covers, or files missing) is reported, and nothing changes.
func TestRepairRefuses(t *testing.T) {
	_, priv := testKey(t)
	base, _, lastOff, _ := tornFixture(t, priv)
	seg := filepath.Base(segPaths(t, base)[0])
	offs, _ := blockOffsets(t, filepath.Join(base, seg))
	cases := []struct {
		name   string
		break_ func(t *testing.T, dir string)
	}{
		{"bad_checksum_after_checkpoint", func(t *testing.T, dir string) { flip(t, filepath.Join(dir, seg), lastOff+blockHeaderLen+2) }},
		{"garbage_after_last_block", func(t *testing.T, dir string) {
			appendBytes(t, filepath.Join(dir, seg), bytes.Repeat([]byte("garbage!"), 40))
		}},
		{"flip_in_last_checkpoint_entry", func(t *testing.T, dir string) { flip(t, filepath.Join(dir, checkpointName), logHeaderLen+100) }},
		{"flip_in_checkpointed_block", func(t *testing.T, dir string) { flip(t, filepath.Join(dir, seg), offs[1]+blockHeaderLen+1) }},
		{"truncated_before_checkpoint", func(t *testing.T, dir string) { truncate(t, filepath.Join(dir, seg), offs[1]) }},
		{"checkpoint_log_missing", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, checkpointName)) }},
		{"segment_header_damaged", func(t *testing.T, dir string) { flip(t, filepath.Join(dir, seg), 30) }},
		{"last_segment_missing", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, seg)) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyDir(t, base)
			c.break_(t, dir)
			before := snapshot(t, dir)
			j, err := Open(dir, smallOptions(priv))
			if err == nil {
				j.Close()
				t.Fatalf("Open succeeded: %v", j.Recovery())
			}
			var ce *CorruptionError
			if !errors.As(err, &ce) {
				t.Fatalf("Open: %v, want a *CorruptionError", err)
			}
			t.Logf("%v", err)
			if after := snapshot(t, dir); !bytes.Equal(before, after) {
				t.Fatal("a refused Open changed the directory")
			}
		})
	}
}

// TestForceRepair: what Open refuses by default, ForceRepair cuts, keeping
// the bytes.
func TestForceRepair(t *testing.T) {
	pub, priv := testKey(t)
	dir, kept, lastOff, _ := tornFixture(t, priv)
	seg := segPaths(t, dir)[0]
	flip(t, seg, lastOff+blockHeaderLen+2)
	if _, err := Open(dir, smallOptions(priv)); err == nil {
		t.Fatal("Open cut a flipped byte without ForceRepair")
	}
	opt := smallOptions(priv)
	opt.ForceRepair = true
	j := mustOpen(t, dir, opt)
	if rec := j.Recovery(); rec.Offset != lastOff || len(rec.Saved) != 1 {
		t.Fatalf("recovery %+v", rec)
	}
	j.Close()
	checkRepaired(t, dir, priv, pub, kept)
}

// snapshot concatenates the journal files of dir (names and bytes).
func snapshot(t *testing.T, dir string) []byte {
	t.Helper()
	var out []byte
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		if de.IsDir() || de.Name() == lockName {
			continue
		}
		b, _ := os.ReadFile(filepath.Join(dir, de.Name()))
		out = append(append(append(out, de.Name()...), 0), b...)
	}
	return out
}

func truncate(t testing.TB, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func flip(t testing.TB, path string, off int64) {
	t.Helper()
	testutil.FlipByte(t, path, off, 0x40)
}

func writeAt(t testing.TB, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func appendBytes(t testing.TB, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}
