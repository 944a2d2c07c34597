package store

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// TestBlockShapes round-trips small blocks of the shapes that make the
// column encodings take their different paths: a first row with or
// without extras, one row, no extras at all, repeated keys, empty values,
// const and dict and plain columns, odd times.
func TestBlockShapes(t *testing.T) {
	mk := func(raw string, extras ...string) *event.Event {
		ev := &event.Event{Time: t0, Raw: raw, Host: "h", Origin: event.Origin{File: "f", Line: 1}}
		for i := 0; i+1 < len(extras); i += 2 {
			ev.AppendExtra(extras[i], extras[i+1])
		}
		return ev
	}
	many := func(n int, f func(i int) *event.Event) []*event.Event {
		out := make([]*event.Event, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	cases := []struct {
		name string
		evs  []*event.Event
	}{
		{"one_row_with_extras", []*event.Event{mk("a", "k", "v")}},
		{"one_row_no_extras", []*event.Event{mk("a")}},
		{"extras_later", []*event.Event{mk("a"), mk("b"), mk("c", "k", "v", "j", "")}},
		{"extras_first_then_none", []*event.Event{mk("a", "k", "v"), mk("b"), mk("c")}},
		{"repeated_key", []*event.Event{mk("a", "k", "1", "k", "2", "k", "3"), mk("b", "k", "4")}},
		{"empty_raw_and_values", []*event.Event{mk("", "k", ""), {}}},
		{"zero_and_far_times", []*event.Event{{Raw: "zero"}, {Time: time.Unix(0, math.MaxInt64), Raw: "far"}, {Time: time.Unix(-5, 7), Raw: "neg"}, {Time: t0.Add(time.Nanosecond), Raw: "ns"}}},
		{"origin_records", []*event.Event{{Raw: "x", Origin: event.Origin{File: "a.evtx", Record: 77}}, {Raw: "y", Origin: event.Origin{File: "b", Line: -3}}}},
		{"300_distinct_values", many(300, func(i int) *event.Event {
			ev := mk(strings.Repeat("r", i), "k", strings.Repeat("v", i%257))
			ev.Host = strings.Repeat("h", i) // plain: more than 256 distinct
			ev.Set(event.User, "same")       // const
			ev.Set(event.Action, []string{"allow", "deny"}[i%2])
			return ev
		})},
		{"300_shapes", many(300, func(i int) *event.Event {
			ev := mk("x")
			for j := 0; j < 10; j++ {
				if i&(1<<j) != 0 {
					ev.AppendExtra(string(rune('a'+j)), "v")
				}
			}
			return ev
		})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := openTest(t, t.TempDir(), Options{NoMerge: true, BlockEvents: 128})
			defer x.Close()
			added := addAll(t, x, 5, c.evs)
			checkSearch(t, x, added, Request{Limit: maxLimit}, "tail")
			if err := x.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			checkSearch(t, x, added, Request{Limit: maxLimit}, "part")
			rd := newBlockReader(x.dec)
			for _, p := range x.parts {
				for bi := range p.blocks {
					if err := rd.reset(p, bi); err != nil {
						t.Fatal(err)
					}
					if err := rd.loadAll(); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Exact times, not only to the millisecond AppendJSON shows.
			res, err := x.Search(context.Background(), Request{Limit: maxLimit})
			if err != nil || !sameTimeSet(res.Events, added) {
				t.Fatalf("times differ from those added (%v)", err)
			}
		})
	}
}

// sameTimeSet reports whether the events' times are those added.
func sameTimeSet(got []*event.Event, added []indexed) bool {
	m := map[int64]int{}
	for _, a := range added {
		m[timeNanos(a.ev.Time)]++
	}
	for _, ev := range got {
		m[timeNanos(ev.Time)]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}
