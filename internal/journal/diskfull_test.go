package journal

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestDiskFull: a write that runs out of space (a short write, then
// ENOSPC) fails the Append with ErrDiskFull and leaves nothing of it on
// disk; once space is back the next Append succeeds, with the number the
// failed one would have had, and the journal verifies.
func TestDiskFull(t *testing.T) {
	pub, priv := testKey(t)
	dir := t.TempDir()
	d := newDisk()
	opt := smallOptions(priv)
	opt.SegmentSize = 1 << 20
	opt.openFile = d.open
	j := mustOpen(t, dir, opt)
	mustAppend(t, j, testRecords(0, 10))
	seg := segPaths(t, dir)[0]
	size := func() int64 {
		st, err := os.Stat(seg)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	before := size()

	d.set(func(d *disk) { d.free = 100 })
	for i := 0; i < 3; i++ { // it keeps failing while the disk is full
		_, err := j.Append(context.Background(), testRecords(100, 20))
		if !errors.Is(err, ErrDiskFull) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("Append on a full disk: %v", err)
		}
		if i == 0 {
			t.Logf("the error: %v", err)
		}
		if s := size(); s != before {
			t.Fatalf("segment is %d bytes after a failed Append, was %d: the partial write stayed", s, before)
		}
	}

	d.set(func(d *disk) { d.free = -1 })
	if first := mustAppend(t, j, testRecords(10, 5)); first != 10 {
		t.Fatalf("Append after space came back got %d, want 10", first)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, dir)
	if len(got) != 15 || !sameRecord(got[10], testRecord(10)) {
		t.Fatalf("journal holds %d records", len(got))
	}
	mustVerify(t, dir, pub)
}

// TestDiskFullAtRotation: when the next segment cannot be created, the
// Append fails cleanly and a later one rotates.
func TestDiskFullAtRotation(t *testing.T) {
	pub, priv := testKey(t)
	dir := t.TempDir()
	d := newDisk()
	opt := smallOptions(priv)
	opt.openFile = d.open
	j := mustOpen(t, dir, opt)
	for j.seg.off < opt.SegmentSize { // fill the first segment (test owns the committer's quiet moment)
		mustAppend(t, j, testRecords(int(j.Stats().NextSeq), 20))
		if len(segPaths(t, dir)) > 1 {
			t.Fatal("rotated before the test filled the segment")
		}
	}
	n := j.Stats().NextSeq
	d.set(func(d *disk) { d.free = 10 })
	if _, err := j.Append(context.Background(), testRecords(int(n), 3)); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Append needing a new segment on a full disk: %v", err)
	}
	d.set(func(d *disk) { d.free = -1 })
	if first := mustAppend(t, j, testRecords(int(n), 3)); first != n {
		t.Fatalf("got %d, want %d", first, n)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if len(segPaths(t, dir)) != 2 {
		t.Fatalf("%d segments, want 2", len(segPaths(t, dir)))
	}
	if got := readAll(t, dir); len(got) != int(n)+3 {
		t.Fatalf("%d records", len(got))
	}
	mustVerify(t, dir, pub)
}

// TestFsyncFails: a failing fsync is an error too (not a full disk), and
// the bytes written before it are removed.
func TestFsyncFails(t *testing.T) {
	dir := t.TempDir()
	d := newDisk()
	opt := smallOptions(nil)
	opt.openFile = d.open
	j := mustOpen(t, dir, opt)
	mustAppend(t, j, testRecords(0, 5))
	d.set(func(d *disk) { d.syncErr = syscall.EIO })
	_, err := j.Append(context.Background(), testRecords(5, 5))
	if err == nil || errors.Is(err, ErrDiskFull) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("Append with a failing fsync: %v", err)
	}
	d.set(func(d *disk) { d.syncErr = nil })
	if first := mustAppend(t, j, testRecords(100, 5)); first != 5 {
		t.Fatalf("got %d, want 5", first)
	}
	j.Close()
	got := readAll(t, dir)
	if len(got) != 10 || !sameRecord(got[5], testRecord(100)) {
		t.Fatalf("%d records", len(got))
	}
	mustVerify(t, dir, nil)
}

// TestCheckpointDiskFull: a checkpoint that cannot be written does not fail
// the Appends (their records are durable); it is reported in Stats and
// written once there is room.
func TestCheckpointDiskFull(t *testing.T) {
	pub, priv := testKey(t)
	dir := t.TempDir()
	d := newDisk()
	d.only = checkpointName
	opt := Options{SigningKey: priv, CheckpointEvery: 1, CheckpointInterval: -1, openFile: d.open}
	j := mustOpen(t, dir, opt)
	// The committer writes a checkpoint after it has answered the Append.
	waitStats := func(ok func(Stats) bool) Stats {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			st := j.Stats()
			if ok(st) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("stats: %+v", st)
			}
			time.Sleep(time.Millisecond)
		}
	}
	mustAppend(t, j, testRecords(0, 1))
	waitStats(func(st Stats) bool { return st.LastCheckpoint.Seq == 1 })
	d.set(func(d *disk) { d.free = 0 })
	mustAppend(t, j, testRecords(1, 1))
	st := waitStats(func(st Stats) bool { return st.CheckpointErr != nil })
	if !errors.Is(st.CheckpointErr, ErrDiskFull) || st.LastCheckpoint.Seq != 1 {
		t.Fatalf("stats after a failed checkpoint: %+v", st)
	}
	d.set(func(d *disk) { d.free = -1 })
	mustAppend(t, j, testRecords(2, 1))
	waitStats(func(st Stats) bool { return st.CheckpointErr == nil && st.LastCheckpoint.Seq == 3 })
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	// The first checkpoint and the one after the disk came back; the
	// retry of the failed one may have been written in between (whether
	// it runs before the third Append is a matter of timing).
	rep := mustVerify(t, dir, pub)
	if rep.Checkpoints != 2 && rep.Checkpoints != 3 {
		t.Fatalf("%d checkpoints, want 2 or 3", rep.Checkpoints)
	}
}
