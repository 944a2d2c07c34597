package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// mergeAll runs merges in the caller's goroutine until none is due.
func mergeAll(t *testing.T, x *Index, now time.Time) int {
	t.Helper()
	enc := newBlockEncoder(x.enc)
	n := 0
	for {
		run := x.pickMerge(now)
		if run == nil {
			return n
		}
		if err := x.merge(context.Background(), run, enc); err != nil {
			t.Fatal(err)
		}
		n++
	}
}

func TestMerge(t *testing.T) {
	dir := t.TempDir()
	// Small flushes of 50 events (a slow source, flushed by age), blocks
	// of up to 400 rows: merging must gather the small blocks into full
	// ones, and copy full blocks as they are.
	opt := Options{FlushEvents: 1 << 20, MaxTailBytes: 1 << 40, FlushAge: time.Hour, BlockEvents: 400, MergeFanIn: 4, NoMerge: true}
	x := openTest(t, dir, opt)
	defer x.Close()
	evs := synthEvents(50*64+30, t0)
	var added []indexed
	for i := 0; i < len(evs); i += 50 {
		end := min(i+50, len(evs))
		added = append(added, addAll(t, x, uint64(i), evs[i:end])...)
		if err := x.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	queries := []string{"", "deny", "fw01 deny", "user:u007", "policy_id:3", "zone:repeated", "| stats count by host", "note:*"}
	check := func(label string) {
		for _, q := range queries {
			for _, limit := range []int{1, 100, maxLimit} {
				checkSearch(t, x, added, Request{Query: mustParse(t, q), Limit: limit}, fmt.Sprintf("%s %q limit %d", label, q, limit))
			}
		}
	}
	before := x.Stats()
	if before.Parts != 65 {
		t.Fatalf("%d parts before merging, want 65", before.Parts)
	}
	check("before merging")
	// All parts are in one day's window, which is still open: only
	// tiered merges happen (4 of one size class).
	now := t0.Add(time.Hour)
	merges := mergeAll(t, x, now)
	mid := x.Stats()
	t.Logf("%d merges: %d parts, %d blocks -> %d parts, %d blocks", merges, before.Parts, before.Blocks, mid.Parts, mid.Blocks)
	if mid.Parts >= 8 || mid.Events != before.Events || mid.Next != before.Next {
		t.Fatalf("after merging: %+v", mid)
	}
	check("after tiered merges")
	// Once the day is over, its parts become one.
	merges = mergeAll(t, x, t0.Add(48*time.Hour))
	// A later window must exist for a window to count as closed: with one
	// window, nothing more happens.
	if merges != 0 {
		t.Fatalf("%d merges with no later window", merges)
	}
	later := synthEvents(10, t0.Add(36*time.Hour))
	added = append(added, addAll(t, x, uint64(len(evs)), later)...)
	if err := x.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	mergeAll(t, x, t0.Add(48*time.Hour))
	end := x.Stats()
	if end.Parts != 2 {
		t.Fatalf("%d parts after closing the first day, want 2 (one per day)", end.Parts)
	}
	for _, p := range x.parts[:1] {
		for bi, e := range p.blocks[:len(p.blocks)-1] {
			if e.rows < opt.BlockEvents/2 {
				t.Errorf("block %d of the merged part has %d rows: small blocks were not gathered", bi, e.rows)
			}
		}
	}
	check("after closing the day")
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(partFiles(t, dir)); n != 2 {
		t.Fatalf("%d part files after merging, want 2: inputs not deleted", n)
	}
	x = openTest(t, dir, opt)
	check("after reopening")
}

// TestMergeInBackground lets the merger goroutine do the work while the
// follower adds and the flusher flushes by size.
func TestMergeInBackground(t *testing.T) {
	dir := t.TempDir()
	x := openTest(t, dir, Options{FlushEvents: 100, BlockEvents: 100, MergeFanIn: 4, FlushAge: 10 * time.Millisecond})
	defer x.Close()
	evs := synthEvents(5000, time.Now().Add(-time.Hour))
	added := addAll(t, x, 0, evs)
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := x.Stats()
		if st.TailEvents == 0 && st.Parts <= 6 && st.MergingNow == 0 {
			t.Logf("%+v", st)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("merges did not settle: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	checkSearch(t, x, added, Request{Limit: maxLimit}, "all")
	checkSearch(t, x, added, Request{Query: mustParse(t, "deny")}, "deny")
}

func TestRetain(t *testing.T) {
	dir := t.TempDir()
	opt := Options{NoMerge: true}
	x := openTest(t, dir, opt)
	defer x.Close()
	// Three parts: day 1, day 2, and a part spanning days 2 and 3.
	day := 24 * time.Hour
	var added []indexed
	for i, start := range []time.Time{t0, t0.Add(day), t0.Add(2*day - time.Hour)} {
		evs := synthEvents(1000, start) // 1000 events 1.5 s apart: 25 minutes
		if i == 2 {
			evs = append(evs, synthEvents(1, t0.Add(2*day+time.Hour))...)
		}
		added = append(added, addAll(t, x, uint64(len(added)), evs)...)
		if err := x.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// The tail is never retained.
	tailEv := synthEvents(5, t0)
	added = append(added, addAll(t, x, uint64(len(added)), tailEv)...)

	rep, err := x.Retain(context.Background(), t0.Add(2*day))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Parts) != 2 || rep.Events != 2000 || rep.FirstSeq != 0 || rep.LastSeq != 1999 || !rep.Oldest.Equal(t0) {
		t.Fatalf("report %+v: want the two whole days (2000 events, seq 0-1999)", rep)
	}
	// The third part has events before the cutoff but one after: kept whole.
	kept := added[2000:]
	checkSearch(t, x, kept, Request{Limit: maxLimit}, "after retention")
	if n := len(partFiles(t, dir)); n != 1 {
		t.Fatalf("%d part files, want 1", n)
	}
	next := x.Next()
	// Retain everything: Next must survive a restart with no part left.
	if _, err := x.Retain(context.Background(), t0.Add(10*day)); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil { // flushes the tail: one new part
		t.Fatal(err)
	}
	x = openTest(t, dir, opt)
	if _, err := x.Retain(context.Background(), t0.Add(10*day)); err != nil {
		t.Fatal(err)
	}
	if x.Stats().Parts != 0 {
		t.Fatalf("parts left: %+v", x.Stats())
	}
	x.Close()
	x = openTest(t, dir, opt)
	if x.Next() != uint64(len(added)) || next != 2001+1000 {
		t.Fatalf("Next = %d after retaining every part, want %d (before: %d)", x.Next(), len(added), next)
	}
}

// RetainSeq follows the journal's retention: parts whose records all come
// before the journal's first kept record go, whatever their events' times.
func TestRetainSeq(t *testing.T) {
	dir := t.TempDir()
	x := openTest(t, dir, Options{NoMerge: true})
	defer x.Close()
	var added []indexed
	for range 3 {
		// Old event times in every part: time-based retention would take
		// them all.
		added = append(added, addAll(t, x, uint64(len(added)), synthEvents(100, t0))...)
		if err := x.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := x.RetainSeq(context.Background(), 150)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Parts) != 1 || rep.FirstSeq != 0 || rep.LastSeq != 99 {
		t.Fatalf("report %+v: want the first part only (seq 0-99)", rep)
	}
	checkSearch(t, x, added[100:], Request{Limit: maxLimit}, "after RetainSeq")
}
