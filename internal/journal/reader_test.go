package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
)

// A follower that resumes from its Cursor reads exactly the records
// appended since, across segment rotations; a cursor whose segment
// retention removed starts at the oldest record kept.
func TestResumeReader(t *testing.T) {
	ctx := context.Background()
	j, err := Open(t.TempDir(), Options{SegmentSize: minSegmentSize, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var next Seq
	var cur Cursor
	read := func(resume bool) []string {
		t.Helper()
		var r *Reader
		if resume {
			r, err = j.ResumeReader(cur)
		} else {
			r, err = j.NewReader(next)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var got []string
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(rec.Raw))
			next = rec.Seq + 1
		}
		c, ok := r.Cursor()
		if !ok {
			t.Fatal("no cursor at the end")
		}
		cur = c
		return got
	}
	n := 0
	appendSome := func(k int) []string {
		t.Helper()
		var want []string
		for range k {
			raw := fmt.Sprintf("record %d %0100d", n, n)
			n++
			if _, err := j.Append(ctx, []Record{{Origin: "t", Raw: []byte(raw)}}); err != nil {
				t.Fatal(err)
			}
			want = append(want, raw)
		}
		return want
	}
	check := func(what string, got, want []string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: got %d records, want %d (%.80q)", what, len(got), len(want), got)
		}
	}
	want := appendSome(5)
	check("first read", read(false), want)
	check("nothing new", read(true), nil)
	for round := range 30 { // 100-byte records, 4 KiB segments: several rotations
		want := appendSome(round % 7)
		check(fmt.Sprint("round ", round), read(true), want)
	}
	if j.Stats().Segments < 3 {
		t.Fatalf("%d segments: no rotation tested", j.Stats().Segments)
	}
	// A cursor into a segment that is gone: read from the oldest kept.
	stale := Cursor{seq: 1, seg: 999, off: 12345, ok: true}
	r, err := j.ResumeReader(stale)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r.Next()
	r.Close()
	if err != nil || rec.Seq != 1 {
		t.Errorf("stale cursor: record %d, %v", rec.Seq, err)
	}
}
