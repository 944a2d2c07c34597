package store

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// checkSearch runs req on x and on the brute-force answer over evs, and
// fails on any difference: Total, the newest-Limit events (AppendJSON
// byte-equal, in order) and the aggregation.
func checkSearch(t *testing.T, x *Index, evs []indexed, req Request, label string) *Result {
	t.Helper()
	res, err := x.Search(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: search: %v", label, err)
	}
	total, newest, agg := bruteForce(evs, req)
	if res.Total != total {
		t.Errorf("%s: Total = %d, want %d", label, res.Total, total)
	}
	if agg != nil || res.Aggregation != nil {
		if !reflect.DeepEqual(res.Aggregation, agg) {
			t.Errorf("%s: aggregation = %v, want %v", label, res.Aggregation, agg)
		}
		return res
	}
	if len(res.Events) != len(newest) {
		t.Fatalf("%s: %d events, want %d", label, len(res.Events), len(newest))
	}
	for i := range newest {
		got := res.Events[i].AppendJSON(nil)
		want := newest[i].ev.AppendJSON(nil)
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: event %d (seq %d):\n got %s\nwant %s", label, i, newest[i].seq, got, want)
		}
	}
	return res
}

// realQueries are searches over the real events; each one's answer is
// compared with the brute-force one.
func realQueries(t *testing.T, evs []indexed) []Request {
	mid := evs[len(evs)/2].ev.Time
	var reqs []Request
	for _, s := range []string{
		"",
		"sshd",
		"failed password",
		"source:postfix",
		"reject",
		"4624",
		"lsass",
		"| stats count by host",
		"| stats count by source",
	} {
		q := mustParse(t, s)
		reqs = append(reqs,
			Request{Query: q},
			Request{Query: q, Limit: 1},
			Request{Query: q, Limit: 5000},
			Request{Query: q, From: mid},
			Request{Query: q, From: mid.Add(-24 * time.Hour), To: mid.Add(time.Hour), Limit: 300},
		)
	}
	reqs = append(reqs, Request{}) // nil query: everything
	return reqs
}

func TestRoundTrip(t *testing.T) {
	real := loadReal(t)
	dir := t.TempDir()
	opt := Options{FlushEvents: 1 << 30, MaxTailBytes: 1 << 40, FlushAge: time.Hour, BlockEvents: 1000, NoMerge: true, MaxValueBytes: 1 << 20}
	x := openTest(t, dir, opt)
	half := len(real) / 2
	var added []indexed
	add := func(evs []*event.Event) {
		for _, ev := range evs {
			seq := uint64(len(added))*3 + 7 // gaps are allowed
			// Add must copy: hand it a copy that is then scribbled over.
			tmp := ev.Clone()
			if err := x.Add(seq, tmp); err != nil {
				t.Fatal(err)
			}
			tmp.Raw, tmp.Host = "scribbled", "scribbled"
			tmp.Set(event.User, "scribbled")
			added = append(added, indexed{seq, ev})
		}
	}
	run := func(label string) {
		for i, req := range realQueries(t, added) {
			checkSearch(t, x, added, req, fmt.Sprintf("%s query %d", label, i))
		}
	}

	add(real[:half])
	if st := x.Stats(); st.Parts != 0 || st.TailEvents != half {
		t.Fatalf("before any flush: %+v", st)
	}
	run("tail only")

	if err := x.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	x = openTest(t, dir, opt)
	defer x.Close()
	if want := added[len(added)-1].seq + 1; x.Next() != want {
		t.Fatalf("Next after reopen = %d, want %d", x.Next(), want)
	}
	st := x.Stats()
	if st.Parts != 1 || st.TailEvents != 0 || st.Events != int64(half) {
		t.Fatalf("after reopen: %+v", st)
	}
	run("parts only")

	add(real[half:])
	run("parts and tail")
	if err := x.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	run("two parts")
	st = x.Stats()
	t.Logf("%d events, %d raw+value bytes, %d bytes on disk (%.1f%%), %d blocks",
		st.Events, st.ValueBytes, st.DiskBytes, 100*float64(st.DiskBytes)/float64(st.ValueBytes), st.Blocks)
}
