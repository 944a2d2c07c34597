package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/input"
	"github.com/kizuki-dev/kizuki/internal/parse"
)

// boxFormat is a tiny binary container for these tests: the magic "KZBOX\0"
// then records of [8-byte unix seconds][1-byte length][word]; a record whose
// length byte is 0xFF is damaged and skipped. It reuses one event, as real
// container readers do.
type boxFormat struct{}

func (boxFormat) Name() string               { return "box" }
func (boxFormat) Describe() string           { return "test container" }
func (boxFormat) SniffFile(head []byte) bool { return bytes.HasPrefix(head, []byte("KZBOX\x00")) }
func (boxFormat) ReadFile(ctx context.Context, r io.ReaderAt, size int64, name string, fn func(*event.Event) error, bad func(string, error)) error {
	data := make([]byte, size)
	if _, err := r.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	off := 6
	var ev event.Event
	for rec := int64(1); off+9 <= len(data); rec++ {
		t := int64(binary.BigEndian.Uint64(data[off:]))
		n := int(data[off+8])
		if n == 0xFF {
			bad("offset "+strconv.Itoa(off), errors.New("damaged record"))
			off += 9
			continue
		}
		word := string(data[off+9 : min(off+9+n, len(data))])
		off += 9 + n
		ev.Reset()
		ev.Source = "box"
		ev.Time = time.Unix(t, 0).UTC()
		ev.Origin = event.Origin{File: name, Record: rec}
		ev.SetExtra("word", word)
		ev.SetExtra("n", strconv.Itoa(int(rec)))
		if err := fn(&ev); err != nil {
			return err
		}
	}
	return nil
}

func boxFile(words []string, damagedAt int) []byte {
	b := []byte("KZBOX\x00")
	for i, w := range words {
		var ts [8]byte
		binary.BigEndian.PutUint64(ts[:], uint64(1_600_000_000+i))
		b = append(b, ts[:]...)
		if i == damagedAt {
			b = append(b, 0xFF)
			continue
		}
		b = append(b, byte(len(w)))
		b = append(b, w...)
	}
	return b
}

// A container file is recognized by its magic number before the text
// formats, read in place (plain) or from memory (gzip), its events reach a
// Batch consumer as copies that outlive the reader's reuse, damaged parts
// are counted with their offsets, and --since drops early events.
func TestContainerFiles(t *testing.T) {
	dir := t.TempDir()
	words := make([]string, 1300) // more than two batches
	for i := range words {
		words[i] = "w" + strconv.Itoa(i)
	}
	plain := filepath.Join(dir, "a.box")
	if err := os.WriteFile(plain, boxFile(words, 700), 0o644); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(boxFile(words[:10], -1))
	zw.Close()
	packed := filepath.Join(dir, "b.box.gz")
	if err := os.WriteFile(packed, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := input.Expand([]string{plain, packed})
	if err != nil {
		t.Fatal(err)
	}
	reg := parse.NewRegistry(epochParser{}).AddContainers(boxFormat{})

	var mu sync.Mutex
	var got []event.Event
	var releases []func()
	reps, err := Run(context.Background(), files, Options{
		Registry: reg,
		Since:    time.Unix(1_600_000_005, 0),
		Batch: func(evs []event.Event, release func()) {
			mu.Lock()
			defer mu.Unlock()
			for i := range evs {
				got = append(got, *evs[i].Clone())
			}
			releases = append(releases, release)
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range releases {
		r()
	}
	if len(reps) != 2 {
		t.Fatalf("%d reports", len(reps))
	}
	a, b := reps[0], reps[1]
	if a.Format != "box" || !strings.Contains(a.Reason, "magic number") || a.Compression != "" {
		t.Errorf("plain report %+v", a)
	}
	// 1300 records, one damaged, 5 before --since.
	if a.Records != 1299 || a.Malformed != 1 || a.OutOfRange != 5 || a.Events != 1294 {
		t.Errorf("plain counts %+v", a)
	}
	damaged := 6 + 9*700 + lenWords(words[:700]) // offset of record 701
	if len(a.Errors) != 1 || a.Errors[0].Where(a.Path) != plain+" (offset "+strconv.Itoa(damaged)+")" {
		t.Errorf("plain errors %+v", a.Errors)
	}
	if b.Format != "box" || b.Compression != "gzip" || b.Events != 5 || b.Records != 10 {
		t.Errorf("gzip report %+v", b)
	}
	if len(got) != 1294+5 {
		t.Fatalf("%d events delivered", len(got))
	}
	// Copies: every delivered event still holds its own record's values.
	for _, ev := range got {
		if ev.Origin.File == plain && ev.Extra("word") != "w"+strconv.Itoa(int(ev.Origin.Record)-1) {
			t.Fatalf("event %s holds word %q", ev.Origin, ev.Extra("word"))
		}
	}
	if s := got[0].Origin.String(); s != plain+"#6" {
		t.Errorf("first origin %q", s)
	}

	// --type forces the container; observe mode sees every event too.
	n := 0
	if _, err := Run(context.Background(), files[:1], Options{Registry: reg, Type: "box"}, func(*event.Event) { n++ }); err != nil || n != 1299 {
		t.Errorf("observe mode: %d events, %v", n, err)
	}
}

// lenWords sums the lengths of the words.
func lenWords(ws []string) int {
	n := 0
	for _, w := range ws {
		n += len(w)
	}
	return n
}

// Unordered: many files read at a time, each with its own registry; every
// event arrives once, each file's events in order, the reports in the
// order of the files, and an explicitly named missing file ends the run.
func TestUnordered(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i := 0; i < 40; i++ {
		words := make([]string, 50+i)
		for j := range words {
			words[j] = "f" + strconv.Itoa(i) + "w" + strconv.Itoa(j)
		}
		p := filepath.Join(dir, "f"+strconv.Itoa(100+i)+".box")
		if err := os.WriteFile(p, boxFile(words, -1), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	text := filepath.Join(dir, "t.log")
	if err := os.WriteFile(text, []byte("1600000000 alice\n1600000001 bob\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	paths = append(paths, text)
	files, err := input.Expand(paths)
	if err != nil {
		t.Fatal(err)
	}
	newReg := func() *parse.Registry { return parse.NewRegistry(epochParser{}).AddContainers(boxFormat{}) }
	var mu sync.Mutex
	last := map[string]int64{}
	n := 0
	reps, err := Run(context.Background(), files, Options{Registry: newReg(), NewRegistry: newReg, Unordered: true, FileWorkers: 4,
		Batch: func(evs []event.Event, release func()) {
			mu.Lock()
			defer mu.Unlock()
			for i := range evs {
				ev := &evs[i]
				n++
				if ev.Source == "box" {
					if ev.Origin.Record <= last[ev.Origin.File] {
						t.Errorf("%s out of order", ev.Origin)
					}
					last[ev.Origin.File] = ev.Origin.Record
				}
			}
			release()
		}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := 2
	for i := 0; i < 40; i++ {
		want += 50 + i
	}
	if n != want || len(reps) != 41 {
		t.Fatalf("%d events, %d reports; want %d, 41", n, len(reps), want)
	}
	for i, r := range reps {
		if r.Path != files[i].Path || r.Events == 0 {
			t.Errorf("report %d: %+v", i, r)
		}
	}
	if reps[40].Format != "epoch" || reps[0].Format != "box" {
		t.Errorf("formats %s %s", reps[0].Format, reps[40].Format)
	}

	missing := append(files[:2:2], input.File{Path: filepath.Join(dir, "nope.box"), Explicit: true})
	if _, err := Run(context.Background(), missing, Options{Registry: newReg(), NewRegistry: newReg, Unordered: true,
		Batch: func(_ []event.Event, release func()) { release() }}, nil); err == nil {
		t.Error("missing explicit file: no error")
	}
	if _, err := Run(context.Background(), files, Options{Registry: newReg(), Unordered: true}, nil); err == nil {
		t.Error("Unordered without Batch: no error")
	}

	// NewObserver: one observer per file reader, each called on its own
	// goroutine (no lock needed inside); every event reaches exactly one,
	// each file's events in order.
	type observer struct {
		n    int
		last map[string]int64
		bad  []string
	}
	var observers []*observer
	reps, err = Run(context.Background(), files, Options{Registry: newReg(), NewRegistry: newReg, Unordered: true, FileWorkers: 4,
		NewObserver: func() func(*event.Event) {
			o := &observer{last: map[string]int64{}}
			mu.Lock()
			observers = append(observers, o)
			mu.Unlock()
			return func(ev *event.Event) {
				o.n++
				if ev.Source == "box" {
					if ev.Origin.Record <= o.last[ev.Origin.File] {
						o.bad = append(o.bad, ev.Origin.String())
					}
					o.last[ev.Origin.File] = ev.Origin.Record
				}
			}
		}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, o := range observers {
		total += o.n
		if len(o.bad) > 0 {
			t.Errorf("out of order: %v", o.bad)
		}
	}
	if len(observers) != 4 || total != want || len(reps) != 41 {
		t.Fatalf("%d observers saw %d events, %d reports; want 4, %d, 41", len(observers), total, len(reps), want)
	}
}
