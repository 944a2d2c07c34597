package journal

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"sort"
	"sync"
	"testing"
	"time"
)

// TestRoundTrip appends records of all shapes (empty, large and
// incompressible, many small), across segment rotations and a reopen, and
// reads back exactly what was appended at the numbers Append returned.
func TestRoundTrip(t *testing.T) {
	pub, priv := testKey(t)
	dir := t.TempDir()
	j := mustOpen(t, dir, smallOptions(priv))

	var want []Record
	add := func(recs []Record) {
		t.Helper()
		first := mustAppend(t, j, recs)
		if first != Seq(len(want)) {
			t.Fatalf("Append returned %d, want %d", first, len(want))
		}
		want = append(want, recs...)
	}
	add([]Record{{Received: testTime, Origin: "o", Raw: nil}}) // empty raw
	add(testRecords(1, 100))
	big := make([]byte, 100<<10)
	rand.Read(big)
	add([]Record{{Received: testTime, Origin: "file:/var/log/big", Source: "x", Raw: big}})
	for i := 0; i < 30; i++ {
		add(testRecords(len(want), 1+i%5))
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopen: numbering and chain continue.
	j = mustOpen(t, dir, smallOptions(priv))
	if j.Recovery().Repaired() {
		t.Fatalf("clean reopen repaired: %v", j.Recovery())
	}
	add(testRecords(len(want), 50))
	if got := j.Stats().NextSeq; got != Seq(len(want)) {
		t.Fatalf("NextSeq %d, want %d", got, len(want))
	}
	// The open journal's reader sees what is committed, from any record.
	var fromMid []Record
	if err := j.Iterate(context.Background(), 120, func(r Record) error {
		r.Raw = bytes.Clone(r.Raw)
		fromMid = append(fromMid, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(fromMid) != len(want)-120 || fromMid[0].Seq != 120 || !sameRecord(fromMid[0], want[120]) {
		t.Fatalf("Iterate from 120: %d records, first %d", len(fromMid), fromMid[0].Seq)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	got := readAll(t, dir)
	if len(got) != len(want) {
		t.Fatalf("read %d records, appended %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Seq != Seq(i) || !sameRecord(got[i], want[i]) {
			t.Fatalf("record %d: got seq %d %q, want %q", i, got[i].Seq, got[i].Raw, want[i].Raw)
		}
	}
	if n := len(segPaths(t, dir)); n < 3 {
		t.Fatalf("%d segments: the test wants rotations", n)
	}
	rep := mustVerify(t, dir, pub)
	if rep.Records != uint64(len(want)) || rep.Uncovered != 0 || !rep.SignaturesChecked || rep.Unsigned != 0 {
		t.Fatalf("report: %+v", rep)
	}
}

// TestReaderFromEnd: reading from the end or beyond gives nothing, and a
// zero Received time becomes the time of Append.
func TestReaderFromEnd(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir, Options{})
	before := time.Now()
	mustAppend(t, j, []Record{{Raw: []byte("a")}, {Raw: []byte("b")}})
	for _, from := range []Seq{2, 100} {
		n := 0
		if err := j.Iterate(context.Background(), from, func(Record) error { n++; return nil }); err != nil || n != 0 {
			t.Fatalf("from %d: %d records, %v", from, n, err)
		}
	}
	j.Close()
	got := readAll(t, dir)
	if len(got) != 2 || got[0].Received.Before(before) || got[0].Received.Location() != time.UTC {
		t.Fatalf("got %+v", got)
	}
}

// TestGroupCommit runs many concurrent appenders against a disk whose
// fsync takes 2 ms: every Append gets its own contiguous numbers, every
// record is stored at the number it was given, and the appenders share
// commits (fewer fsyncs than Appends).
func TestGroupCommit(t *testing.T) {
	dir := t.TempDir()
	d := newDisk()
	d.syncDelay = 2 * time.Millisecond
	opt := Options{SegmentSize: 64 << 10, BlockSize: 4 << 10, openFile: d.open}
	j := mustOpen(t, dir, opt)

	const writers, appends = 32, 40
	type call struct {
		first Seq
		recs  []Record
	}
	var mu sync.Mutex
	var calls []call
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := 0; a < appends; a++ {
				id := w*appends + a
				recs := testRecords(id*10, 1+id%3)
				first, err := j.Append(context.Background(), recs)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				calls = append(calls, call{first, recs})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	st := j.Stats()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	sort.Slice(calls, func(a, b int) bool { return calls[a].first < calls[b].first })
	next := Seq(0)
	for _, c := range calls {
		if c.first != next {
			t.Fatalf("an Append got %d, expected %d (overlap or gap)", c.first, next)
		}
		next += Seq(len(c.recs))
	}
	if st.NextSeq != next || st.Appended != uint64(next) {
		t.Fatalf("stats %+v, %d records appended", st, next)
	}
	if st.Commits >= writers*appends/2 {
		t.Fatalf("%d commits for %d Appends: no group commit", st.Commits, writers*appends)
	}
	t.Logf("%d Appends, %d records in %d commits", writers*appends, next, st.Commits)
	got := readAll(t, dir)
	for _, c := range calls {
		for i, want := range c.recs {
			if r := got[int(c.first)+i]; !sameRecord(r, want) {
				t.Fatalf("record %d: %q, want %q", r.Seq, r.Raw, want.Raw)
			}
		}
	}
	mustVerify(t, dir, nil)
}

// TestAppendLimits: records and calls over the limits are refused whole,
// before anything is queued.
func TestAppendLimits(t *testing.T) {
	j := mustOpen(t, t.TempDir(), Options{MaxRecordSize: 1000, QueueBytes: 10_000})
	defer j.Close()
	mustAppend(t, j, testRecords(0, 3))
	long := string(make([]byte, MaxOriginLen+1))
	for name, recs := range map[string][]Record{
		"raw":    {testRecord(3), {Raw: make([]byte, 1001)}},
		"origin": {{Origin: long}},
		"source": {{Source: long[:MaxSourceLen+1]}},
		"batch":  testRecords(0, 200),
	} {
		if _, err := j.Append(context.Background(), recs); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: %v, want ErrTooLarge", name, err)
		}
	}
	if _, err := j.Append(context.Background(), []Record{{Received: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}}); err == nil {
		t.Error("a time past 2262 was accepted")
	}
	if n := j.Stats().NextSeq; n != 3 {
		t.Fatalf("NextSeq %d after refused Appends, want 3", n)
	}
	for _, bad := range []Options{{SegmentSize: 100}, {BlockSize: -1}, {MaxRecordSize: MaxRecordLimit + 1}, {QueueBytes: maxQueueBytes + 1}, {SigningKey: make([]byte, 5)}} {
		if _, err := Open(t.TempDir(), bad); err == nil {
			t.Errorf("Open accepted %+v", bad)
		}
	}
}

// TestAppendCancelled: a context that ends while the records still wait
// in the queue withdraws them; they are never written.
func TestAppendCancelled(t *testing.T) {
	dir := t.TempDir()
	d := newDisk()
	j := mustOpen(t, dir, Options{openFile: d.open})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := j.Append(ctx, testRecords(0, 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}

	var writes int
	d.set(func(d *disk) { d.syncDelay = 300 * time.Millisecond; writes = d.writes })
	done := make(chan error)
	go func() { // occupies the committer in a slow fsync
		_, err := j.Append(context.Background(), testRecords(0, 1))
		done <- err
	}()
	for inFsync := false; !inFsync; { // its write is done: the fsync is next
		time.Sleep(time.Millisecond)
		d.set(func(d *disk) { inFsync = d.writes > writes })
	}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := j.Append(ctx, testRecords(1, 1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queued Append: %v, want its deadline", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	d.set(func(d *disk) { d.syncDelay = 0 })
	if first := mustAppend(t, j, testRecords(2, 1)); first != 1 {
		t.Fatalf("next Append got %d, want 1: the withdrawn record took a number", first)
	}
	j.Close()
	got := readAll(t, dir)
	if len(got) != 2 || !sameRecord(got[1], testRecord(2)) {
		t.Fatalf("journal holds %d records", len(got))
	}
}

// TestBackpressure: with a queue far smaller than what the appenders
// offer, Appends wait for room and all succeed.
func TestBackpressure(t *testing.T) {
	dir := t.TempDir()
	d := newDisk()
	d.syncDelay = time.Millisecond
	j := mustOpen(t, dir, Options{QueueBytes: 2048, openFile: d.open})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				if _, err := j.Append(context.Background(), testRecords(w*100+i, 10)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := j.Stats().NextSeq; n != 8*30*10 {
		t.Fatalf("NextSeq %d", n)
	}
	j.Close()
}

// TestCloseAndLock: one journal per directory; Append after Close fails.
func TestCloseAndLock(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir, Options{})
	if _, err := Open(dir, Options{}); err == nil {
		t.Fatal("a second Open of the same directory succeeded")
	}
	mustAppend(t, j, testRecords(0, 1))
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := j.Append(context.Background(), testRecords(1, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	j = mustOpen(t, dir, Options{})
	j.Close()
}

// TestCheckpointTriggers: checkpoints come every N records and every T.
func TestCheckpointTriggers(t *testing.T) {
	j := mustOpen(t, t.TempDir(), Options{CheckpointEvery: 10, CheckpointInterval: -1})
	for i := 0; i < 25; i++ {
		mustAppend(t, j, testRecords(i, 1))
	}
	if c := j.Stats().LastCheckpoint; c.Seq != 20 || c.Kind != KindCheckpoint {
		t.Fatalf("last checkpoint %+v, want at record 20", c)
	}
	j.Close()

	j = mustOpen(t, t.TempDir(), Options{CheckpointEvery: -1, CheckpointInterval: 30 * time.Millisecond})
	defer j.Close()
	mustAppend(t, j, testRecords(0, 3))
	deadline := time.Now().Add(5 * time.Second)
	for j.Stats().LastCheckpoint.Seq != 3 {
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint by time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReaderSeesOnlyCommitted: a reader made before an Append does not
// see its records; one made after does.
func TestReaderSeesOnlyCommitted(t *testing.T) {
	j := mustOpen(t, t.TempDir(), smallOptions(nil))
	defer j.Close()
	mustAppend(t, j, testRecords(0, 10))
	r, err := j.NewReader(0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	mustAppend(t, j, testRecords(10, 100))
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 10 {
		t.Fatalf("reader saw %d records, want 10", n)
	}
}
