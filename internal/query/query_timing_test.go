package query

import (
	"testing"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// benchQueries are the shapes of query a search runs most: a needle word,
// wildcards on a field and on every value, a network prefix.
var benchQueries = []struct{ name, query string }{
	{"needle", `mimikatz`},
	{"phrase", `"relay access denied"`},
	{"field-eq", `user:administrator`},
	{"field-wildcard", `url:*evil.com*`},
	{"free-wildcard", `*evil.com*`},
	{"cidr", `src_ip:10.0.0.0/8`},
	{"compare", `bytes_in>1000000`},
	{"fold-fallback", `commandline:*mimikatz*`},
	{"boolean", `(event_id:4688 OR event_id:1) CommandLine:*sekurlsa* -user:SYSTEM`},
}

// matchEvents returns the events to match: the datasets' when present
// (Windows, Postfix and Squid records), else the fixed ones.
func matchEvents(tb testing.TB) []*event.Event {
	evs := fixedEvents(tb)
	if t, ok := tb.(*testing.T); ok {
		return append(evs, datasetSample(t, 2000)...)
	}
	var ds []*event.Event
	tb.(*testing.B).Run("datasets", func(b *testing.B) {
		ds = datasetEvents(b)
		b.SkipNow()
	})
	if len(ds) > 2000 {
		step := len(ds) / 2000
		for i := 0; i < len(ds); i += step {
			evs = append(evs, ds[i])
		}
	} else {
		evs = append(evs, ds...)
	}
	return evs
}

// BenchmarkMatch measures Match per event on EventRow, cycling through
// real events of several formats.
func BenchmarkMatch(b *testing.B) {
	evs := matchEvents(b)
	rows := make([]Row, len(evs))
	for i, ev := range evs {
		rows[i] = EventRow(ev)
	}
	for _, c := range benchQueries {
		q := mustParse(b, c.query)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			i := 0
			for b.Loop() {
				if q.Match(rows[i]) {
					n++
				}
				if i++; i == len(rows) {
					i = 0
				}
			}
			_ = n
		})
	}
}

// Match on an EventRow does not allocate, whatever the query reads
// (origin, which is rendered to a string, aside).
func TestMatchAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("allocation counts differ under -cover")
	}
	evs := matchEvents(t)
	queries := []string{`*`, `azenv`, `"failed password"`, `mimi*`, `*\mimikatz.exe`, `"->"`, `ログオン`,
		`user:x`, `user:*`, `Status:403`, `eventid:4688`, `commandline:*x*`, `src_ip:10.1.2.3`, `src_ip:::ffff:10.0.0.0/104`,
		`bytes_in:>=4.5e3`, `status<500`, `dsn:5.?.*`, `-x OR (y z)`}
	for _, c := range benchQueries {
		queries = append(queries, c.query)
	}
	for _, s := range queries {
		q := mustParse(t, s)
		for _, ev := range evs {
			r := EventRow(ev)
			if n := testing.AllocsPerRun(20, func() { q.Match(r) }); n != 0 {
				t.Errorf("%q on %s: %v allocations per Match", s, ev.Origin, n)
				break
			}
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = EventRow(evs[0]) }); n != 0 {
		t.Errorf("EventRow: %v allocations", n)
	}
}
