package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/query"
)

// rowAnswers records everything a query.Row says about one row: its time,
// Get of each name, and Each's sequence.
func rowAnswers(r query.Row, names []string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "time %s\n", r.Time().Format(time.RFC3339Nano))
	for _, n := range names {
		v, ok := r.Get(n)
		fmt.Fprintf(&sb, "get %q = %q %v\n", n, v, ok)
	}
	r.Each(func(name, value string) bool {
		fmt.Fprintf(&sb, "each %q = %q\n", name, value)
		return true
	})
	// Each must stop when fn says so.
	calls := 0
	r.Each(func(string, string) bool { calls++; return calls < 2 })
	fmt.Fprintf(&sb, "stopped after %d\n", calls)
	return sb.String()
}

// namesOf lists the names to ask a row about: the attributes, every
// common field, the event's extras, and names no event has or that differ
// only in case.
func namesOf(ev *event.Event) []string {
	names := []string{"host", "source", "origin", "raw", "Host", "nosuchfield", "", "time"}
	for k := range event.NumKeys {
		names = append(names, event.Key(k).String())
	}
	ev.EachExtra(func(k, _ string) { names = append(names, k, strings.ToLower(k)) })
	return names
}

// TestRowAgreesWithEventRow holds the store's Row to its contract: for
// every stored row, the same answers as query.EventRow gives for the event
// it was added from, whether the row is read from the tail or from a part.
func TestRowAgreesWithEventRow(t *testing.T) {
	evs := loadReal(t)
	evs = append(slices.Clone(evs[:4000]), evs[len(evs)-4000:]...)
	evs = append(evs, synthEvents(3000, t0)...)
	dir := t.TempDir()
	x := openTest(t, dir, Options{FlushEvents: 1 << 30, MaxTailBytes: 1 << 40, FlushAge: time.Hour, BlockEvents: 2000, NoMerge: true, MaxValueBytes: 1 << 20})
	defer x.Close()
	added := addAll(t, x, 0, evs)
	check := func(label string) {
		rd := newBlockReader(x.dec)
		cur := &rowCursor{r: rd}
		seq := 0
		visit := func(b *block) {
			for i := 0; i < b.n; i++ {
				cur.i = i
				ev := added[seq].ev
				if b.seqs[i] != added[seq].seq {
					t.Fatalf("%s: row %d has seq %d, want %d", label, i, b.seqs[i], added[seq].seq)
				}
				names := namesOf(ev)
				got, want := rowAnswers(cur, names), rowAnswers(query.EventRow(ev), names)
				if got != want {
					t.Fatalf("%s: seq %d:\n got %s\nwant %s", label, seq, got, want)
				}
				seq++
			}
		}
		x.mu.Lock()
		parts := slices.Clone(x.parts)
		tail := append(slices.Clone(x.tail.sealed), x.tail.open.view())
		if len(tail) > 1 && x.tail.open.n == 0 {
			tail = tail[:len(tail)-1]
		}
		x.mu.Unlock()
		for _, p := range parts {
			for bi := range p.blocks {
				// A fresh reset per row set: the lazy loads of Get are what
				// is under test, so nothing is loaded up front.
				if err := rd.reset(p, bi); err != nil {
					t.Fatal(err)
				}
				if err := rd.loadFields(nil, false); err != nil {
					t.Fatal(err)
				}
				visit(&rd.b)
				if rd.err != nil {
					t.Fatal(rd.err)
				}
			}
		}
		for _, b := range tail {
			rd.resetTail(b)
			visit(&rd.b)
		}
		if seq != len(added) {
			t.Fatalf("%s: %d rows, want %d", label, seq, len(added))
		}
	}
	check("tail")
	if err := x.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	check("parts")
}
