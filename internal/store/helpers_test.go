package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/formats"
	"github.com/kizuki-dev/kizuki/internal/input"
	"github.com/kizuki-dev/kizuki/internal/pipeline"
	"github.com/kizuki-dev/kizuki/internal/query"
)

// datasetsDir returns the shared datasets folder (KIZUKI_DATASETS, or
// ../../../shared/datasets from this package), skipping the test loudly
// when it is missing, or failing it with KIZUKI_REQUIRE_DATASETS=1.
func datasetsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("KIZUKI_DATASETS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "datasets")
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		if os.Getenv("KIZUKI_REQUIRE_DATASETS") == "1" {
			t.Fatalf("datasets not found at %s (KIZUKI_REQUIRE_DATASETS=1): %v", dir, err)
		}
		t.Skipf("SKIPPED: the shared datasets are not at %s; set KIZUKI_DATASETS (KIZUKI_REQUIRE_DATASETS=1 makes this a failure)", dir)
	}
	return dir
}

// The real events the tests index: parsed by kizuki's own parsers (postfix
// syslog, Windows EVTX with its XML as raw, Windows JSON from Mordor zips)
// and, as `kizuki serve` stores records of no known format, raw lines with
// only a received time, origin and raw (OpenSSH and Linux syslog from
// loghub, Zeek DNS). Read once per test binary.
var (
	realOnce   sync.Once
	realEvents []*event.Event
	realErr    error
)

// realParsed lists the files parsed with the format registry.
var realParsed = []string{
	"postfix/postfix-maillog-dump/maillog",
	"windows/EVTX-ATTACK-SAMPLES/Lateral Movement",
	"windows/mordor/atomic/windows/lateral_movement/host",
	"squid/fail2ban/squid",
	"bind/fail2ban/named-refused",
}

// realUnparsed lists the files whose lines are indexed as unparsed records.
var realUnparsed = []string{
	"linux/loghub/OpenSSH/OpenSSH_2k.log",
	"linux/loghub/Linux/Linux_2k.log",
	"zeek/stratosphere/009-zeek-malicious/data/dns.log.labeled",
}

func loadReal(t testing.TB) []*event.Event {
	t.Helper()
	dir := datasetsDir(t)
	realOnce.Do(func() { realEvents, realErr = readReal(dir) })
	if realErr != nil {
		t.Fatal(realErr)
	}
	if len(realEvents) < 10000 {
		t.Fatalf("only %d events read from the datasets", len(realEvents))
	}
	return realEvents
}

func readReal(dir string) ([]*event.Event, error) {
	var paths []string
	for _, p := range realParsed {
		paths = append(paths, filepath.Join(dir, p))
	}
	files, err := input.Expand(paths)
	if err != nil {
		return nil, err
	}
	for i := range files {
		files[i].Explicit = false // a file of no known format is skipped, not fatal
	}
	var out []*event.Event
	opt := pipeline.Options{Registry: formats.RegistryWithRaw(), Location: time.UTC, Workers: 2}
	if _, err := pipeline.Run(context.Background(), files, opt, func(ev *event.Event) {
		out = append(out, ev.Clone())
	}); err != nil {
		return nil, err
	}
	received := time.Date(2024, 7, 25, 20, 0, 0, 0, time.UTC)
	for _, p := range realUnparsed {
		f, err := os.Open(filepath.Join(dir, p))
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		line := int64(0)
		for sc.Scan() {
			line++
			received = received.Add(1234567 * time.Microsecond)
			out = append(out, &event.Event{
				Time:   received,
				Host:   "10.0.0.5",
				Origin: event.Origin{File: "syslog-tls :6514 10.0.0.5:51234", Line: line},
				Raw:    sc.Text(),
			})
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// indexed is an event with the sequence number it was added under.
type indexed struct {
	seq uint64
	ev  *event.Event
}

// bruteForce answers req over evs the slow, obvious way: query.Match on
// query.EventRow of every event.
func bruteForce(evs []indexed, req Request) (total int64, newest []indexed, agg any) {
	limit := req.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	var a query.Aggregator
	if req.Query != nil {
		a = req.Query.Aggregation(req.From, req.To)
	}
	var hits []indexed
	for _, x := range evs {
		t := x.ev.Time
		if (!req.From.IsZero() && timeNanos(t) < timeNanos(req.From)) || (!req.To.IsZero() && timeNanos(t) >= timeNanos(req.To)) {
			continue
		}
		row := query.EventRow(x.ev)
		if req.Query != nil && !req.Query.Match(row) {
			continue
		}
		total++
		if a != nil {
			a.Add(row)
			continue
		}
		hits = append(hits, x)
	}
	if a != nil {
		return total, nil, a.Result()
	}
	slices.SortFunc(hits, func(x, y indexed) int {
		if c := cmpI64(timeNanos(y.ev.Time), timeNanos(x.ev.Time)); c != 0 {
			return c
		}
		return cmpU64(y.seq, x.seq)
	})
	if len(hits) > limit {
		hits = hits[:limit]
	}
	return total, hits, nil
}

func mustParse(t testing.TB, s string) *query.Query {
	t.Helper()
	q, err := query.Parse(s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return q
}

func openTest(t testing.TB, dir string, opt Options) *Index {
	t.Helper()
	if opt.Logf == nil {
		opt.Logf = t.Logf
	}
	x, err := Open(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// synthEvents makes n events with seq-ordered times, a few hosts and
// sources, common and extra fields, and raw lines whose tokens repeat (as
// logs do) except for a per-event id: for tests that need control over
// which token is where, or must run without the datasets.
func synthEvents(n int, start time.Time) []*event.Event {
	hosts := []string{"fw01", "fw02", "mail.example.jp", "dc01.corp.local"}
	sources := []string{"netscreen", "postfix", "winxml", ""}
	actions := []string{"allow", "deny", "drop"}
	out := make([]*event.Event, n)
	for i := range out {
		ev := &event.Event{
			Time:   start.Add(time.Duration(i) * 1500 * time.Millisecond),
			Host:   hosts[i%len(hosts)],
			Source: sources[(i/3)%len(sources)],
			Origin: event.Origin{File: "syslog-udp :514 192.0.2.1:514", Line: int64(i + 1)},
		}
		ev.Raw = fmt.Sprintf("<134>%s %s session id=%d src=10.0.%d.%d dst=192.0.2.%d action=%s user=u%03d",
			ev.Time.Format(time.Stamp), ev.Host, 1000000+i, i%7, i%251, i%13, actions[i%3], i%97)
		ev.Set(event.SrcIP, fmt.Sprintf("10.0.%d.%d", i%7, i%251))
		ev.Set(event.DstIP, fmt.Sprintf("192.0.2.%d", i%13))
		ev.Set(event.Action, actions[i%3])
		if i%5 != 0 {
			ev.Set(event.User, fmt.Sprintf("u%03d", i%97))
		}
		if i%4 == 1 {
			ev.SetExtra("policy_id", fmt.Sprint(i%11))
			ev.SetExtraValue("note", "") // present and empty
		}
		if i%6 == 2 {
			ev.SetExtra("zone", "trust")
			ev.SetExtra("policy_id", "x")
			ev.AppendExtra("zone", "repeated") // a key twice
		}
		out[i] = ev
	}
	return out
}

// addAll adds evs under seqs first, first+1, ... and returns them indexed.
func addAll(t testing.TB, x *Index, first uint64, evs []*event.Event) []indexed {
	t.Helper()
	out := make([]indexed, len(evs))
	for i, ev := range evs {
		seq := first + uint64(i)
		if err := x.Add(seq, ev); err != nil {
			t.Fatal(err)
		}
		out[i] = indexed{seq, ev}
	}
	return out
}
