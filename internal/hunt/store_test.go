package hunt

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/detect/sigma"
	"github.com/kizuki-dev/kizuki/internal/event"
)

// Matches survive the trip through a store whatever their size, in memory
// and after a spill to disk: time, host, source, origin, common and extra
// fields (an empty extra stays present), in the timeline order.
func TestStoreSpill(t *testing.T) {
	s := newStore(0, 4096, t.TempDir(), nil) // a small budget: most records spill
	defer s.close()
	base := time.Date(2024, 5, 1, 10, 0, 0, 123_000_000, time.UTC)
	const n = 500
	for i := 0; i < n; i++ {
		var ev event.Event
		ev.Time = base.Add(time.Duration(n-i) * time.Second) // reverse order
		ev.Host = "WS" + strconv.Itoa(i%7)
		ev.Source = "evtx"
		ev.Origin = event.Origin{File: "a.evtx", Record: int64(i + 1)}
		ev.Set(event.User, "user"+strconv.Itoa(i))
		ev.SetExtra("CommandLine", "cmd.exe /c echo "+strconv.Itoa(i))
		ev.SetExtraValue("Empty", "")
		if err := s.add(int32(i%3), &ev); err != nil {
			t.Fatal(err)
		}
	}
	if s.file == nil {
		t.Fatal("nothing spilled with a 4 KiB budget")
	}
	keys := append([]matchKey(nil), s.keys...)
	sortKeys(keys, func(a, b int32) bool { return a < b })
	check(t, s, keys, base, n)
	s.close()
}

func check(t *testing.T, s *store, keys []matchKey, base time.Time, n int) {
	t.Helper()
	for _, alias := range []bool{false, true} {
		checkOnce(t, s, keys, base, n, alias)
	}
}

func checkOnce(t *testing.T, s *store, keys []matchKey, base time.Time, n int, alias bool) {
	t.Helper()
	var ev event.Event
	var buf []byte
	for j := range keys {
		if err := s.read(&keys[j], &ev, &buf, alias); err != nil {
			t.Fatal(err)
		}
		i := n - 1 - j // the earliest event was added last
		if !ev.Time.Equal(base.Add(time.Duration(n-i)*time.Second)) || ev.Host != "WS"+strconv.Itoa(i%7) || ev.Source != "evtx" ||
			ev.Origin.String() != "a.evtx#"+strconv.Itoa(i+1) || ev.Get(event.User) != "user"+strconv.Itoa(i) ||
			ev.Extra("CommandLine") != "cmd.exe /c echo "+strconv.Itoa(i) || keys[j].rule != int32(i%3) {
			t.Fatalf("match %d decoded as %+v", j, ev)
		}
		if v, ok := ev.LookupOK("Empty"); !ok || v != "" {
			t.Fatalf("empty field lost: %q %v", v, ok)
		}
	}
}

// A damaged record is an error, never a panic.
func TestDecodeCorrupt(t *testing.T) {
	var ev event.Event
	for _, rec := range [][]byte{nil, {0x80}, {2, 0xff, 0xff, 0xff, 0xff, 0x0f}, {2, 1, 'a', 1, 'b', 1, 'c', 0, 0, 5, 1}} {
		if err := decodeMatch(rec, &ev, true); err == nil {
			t.Errorf("%x decoded without error", rec)
		}
	}
}

// Render writes exactly what Each yields, in the same order, when the
// timeline spans many blocks rendered on several goroutines; an error of
// the writer stops it.
func TestRenderOrder(t *testing.T) {
	dir := t.TempDir()
	res := &Result{rules: []*sigma.Rule{{ID: "a", Title: "A"}, {ID: "b", Title: "B"}}}
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for w := 0; w < 3; w++ {
		s := newStore(w, 64<<10, dir, nil)
		for i := 0; i < 3000; i++ {
			var ev event.Event
			ev.Time = base.Add(time.Duration(i*3+w) * time.Millisecond)
			ev.Origin = event.Origin{File: "x.evtx", Record: int64(i*3 + w + 1)}
			ev.SetExtra("n", strconv.Itoa(i*3+w))
			if err := s.add(int32(i%2), &ev); err != nil {
				t.Fatal(err)
			}
		}
		res.stores = append(res.stores, s)
		res.keys = append(res.keys, s.keys...)
		defer s.close()
	}
	sortKeys(res.keys, func(a, b int32) bool { return a < b })
	line := func(b []byte, m *Match) []byte {
		return append(append(append(b, m.Rule.ID...), m.Event.Extra("n")...), '\n')
	}
	var want []byte
	if err := res.Each(func(m *Match) error { want = line(want, m); return nil }); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := res.Render(&got, line); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) || bytes.Count(want, []byte("\n")) != 9000 {
		t.Fatalf("Render and Each differ (%d and %d bytes)", got.Len(), len(want))
	}
	// In time order: n counts up.
	for i, l := range strings.Split(strings.TrimSpace(string(want)), "\n") {
		if l[1:] != strconv.Itoa(i) {
			t.Fatalf("line %d is %q", i, l)
		}
	}
	if err := res.Render(failWriter{}, line); err == nil {
		t.Error("a failing writer gave no error")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// Merging the matchers' sorted keys gives what sorting them all gives,
// for any number of matchers.
func TestMergeKeys(t *testing.T) {
	ruleLess := func(a, b int32) bool { return a%3 < b%3 || (a%3 == b%3 && a < b) }
	order := keyOrder(ruleLess)
	files := []string{"a.evtx", "b.evtx", "c.evtx"}
	for stores := 1; stores <= 5; stores++ {
		var lists [][]matchKey
		var all []matchKey
		for s := 0; s < stores; s++ {
			var l []matchKey
			for i := 0; i < 200*s; i++ {
				k := matchKey{t: int64((i * 7919) % 13), file: files[(i*31)%3], pos: int64(i % 5), rule: int32((i * 17) % 7), store: int32(s), off: int64(i)}
				l = append(l, k)
			}
			all = append(all, l...)
			sortKeys(l, ruleLess)
			lists = append(lists, l)
		}
		sortKeys(all, ruleLess)
		got := mergeKeys(lists, order)
		if len(got) != len(all) {
			t.Fatalf("%d stores: %d keys merged, want %d", stores, len(got), len(all))
		}
		for i := range all {
			if got[i] != all[i] {
				t.Fatalf("%d stores: key %d = %+v, want %+v", stores, i, got[i], all[i])
			}
		}
	}
}

// sortKeys orders keys as the timeline does (Run sorts per store and
// merges; the tests sort directly).
func sortKeys(keys []matchKey, ruleLess func(a, b int32) bool) {
	slices.SortFunc(keys, keyOrder(ruleLess))
}

// A store given the timeline order spills sorted runs; read in that order
// (merged across runs) with a runReader, every record comes back as pread
// gives it.
func TestStoreSortedRuns(t *testing.T) {
	order := keyOrder(func(a, b int32) bool { return a < b })
	s := newStore(0, 8<<10, t.TempDir(), order)
	defer s.close()
	base := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	const n = 3000
	for i := 0; i < n; i++ {
		var ev event.Event
		// Times go back and forth, so that runs interleave in the timeline.
		ev.Time = base.Add(time.Duration((i*7919)%n) * time.Millisecond)
		ev.Origin = event.Origin{File: "a.evtx", Record: int64(i + 1)}
		ev.SetExtra("n", strconv.Itoa(i)+strings.Repeat("x", i%50))
		if err := s.add(int32(i%3), &ev); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.runs) < 10 {
		t.Fatalf("%d runs", len(s.runs))
	}
	keys := append([]matchKey(nil), s.keys...)
	slices.SortFunc(keys, order)
	rr := newRunReader(s)
	var buf []byte
	for i := range keys {
		got, err := rr.record(&keys[i])
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.record(&keys[i], &buf)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("record %d differs", i)
		}
		if i > 0 && keys[i].t < keys[i-1].t {
			t.Fatalf("record %d out of order", i)
		}
	}
}
