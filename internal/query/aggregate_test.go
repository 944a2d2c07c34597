package query

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// aggregate runs a query's filter and aggregation over events.
func aggregate(t testing.TB, query string, from, to time.Time, evs []*event.Event) any {
	t.Helper()
	q := mustParse(t, query)
	a := q.Aggregation(from, to)
	if a == nil {
		t.Fatalf("%q has no aggregation", query)
	}
	for _, ev := range evs {
		if q.Match(EventRow(ev)) {
			a.Add(EventRow(ev))
		}
	}
	return a.Result()
}

func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAggregationNone(t *testing.T) {
	if a := mustParse(t, "user:x").Aggregation(time.Time{}, time.Time{}); a != nil {
		t.Errorf("a query without a pipe has aggregation %T", a)
	}
}

func TestStats(t *testing.T) {
	evs := fixedEvents(t)
	f := func(query, want string) {
		t.Helper()
		if got := jsonOf(t, aggregate(t, query, time.Time{}, time.Time{}, evs)); got != want {
			t.Errorf("%q:\n got %s\nwant %s", query, got, want)
		}
	}
	f(`| stats count`, `{"type":"stats","by":[],"rows":[{"values":[],"count":3}],"capped":false}`)
	f(`nothing | stats count`, `{"type":"stats","by":[],"rows":[],"capped":false}`)
	f(`| stats count by source`,
		`{"type":"stats","by":["source"],"rows":[{"values":["postfix"],"count":1},{"values":["squid"],"count":1},{"values":["winxml"],"count":1}],"capped":false}`)
	// A missing field groups as "", and still counts.
	f(`| stats count by user`,
		`{"type":"stats","by":["user"],"rows":[{"values":[""],"count":2},{"values":["jsmith"],"count":1}],"capped":false}`)
	f(`| stats count by src_ip,source`,
		`{"type":"stats","by":["src_ip","source"],"rows":[{"values":["","winxml"],"count":1},{"values":["192.168.1.5","postfix"],"count":1},{"values":["91.188.124.227","squid"],"count":1}],"capped":false}`)
	// Field names fall back as in the filter.
	f(`| stats count by commandline`,
		`{"type":"stats","by":["commandline"],"rows":[{"values":[""],"count":2},{"values":["mimikatz.exe \"privilege::debug\" \"sekurlsa::logonpasswords\" exit"],"count":1}],"capped":false}`)
	f(`| stats count by origin`,
		`{"type":"stats","by":["origin"],"rows":[{"values":["/var/log/maillog:1021"],"count":1},{"values":["/var/log/squid/access.log:7"],"count":1},{"values":["security.xml:1"],"count":1}],"capped":false}`)
}

// Stats over real logs against a direct count, with the work cut in
// parts and merged, as a parallel scan does.
func TestStatsDatasets(t *testing.T) {
	evs := datasetEvents(t)
	q := mustParse(t, `| stats count by source,action`)
	whole := q.Aggregation(time.Time{}, time.Time{})
	parts := []Aggregator{q.Aggregation(time.Time{}, time.Time{}), q.Aggregation(time.Time{}, time.Time{}), q.Aggregation(time.Time{}, time.Time{})}
	want := map[[2]string]int64{}
	for i, ev := range evs {
		whole.Add(EventRow(ev))
		parts[i%3].Add(plainRow{EventRow(ev)})
		want[[2]string{ev.Source, ev.Get(event.Action)}]++
	}
	parts[0].Merge(parts[1])
	parts[0].Merge(parts[2])
	res := whole.Result().(*StatsResult)
	if got := jsonOf(t, parts[0].Result()); got != jsonOf(t, res) {
		t.Errorf("merged parts differ from one pass:\n%s\n%s", got, jsonOf(t, res))
	}
	if len(res.Rows) != len(want) {
		t.Errorf("%d groups, want %d", len(res.Rows), len(want))
	}
	var total int64
	for i, r := range res.Rows {
		if n := want[[2]string{r.Values[0], r.Values[1]}]; n != r.Count {
			t.Errorf("group %q: count %d, want %d", r.Values, r.Count, n)
		}
		if i > 0 {
			p := res.Rows[i-1]
			if p.Count < r.Count || p.Count == r.Count && slices.Compare(p.Values, r.Values) >= 0 {
				t.Errorf("rows %d and %d are out of order: %v, %v", i-1, i, p, r)
			}
		}
		total += r.Count
	}
	if total != int64(len(evs)) || res.Capped {
		t.Errorf("rows count %d events of %d (capped %v)", total, len(evs), res.Capped)
	}
}

func TestStatsCapped(t *testing.T) {
	q := mustParse(t, `| stats count by user`)
	a, b := q.Aggregation(time.Time{}, time.Time{}), q.Aggregation(time.Time{}, time.Time{})
	ev := &event.Event{Source: "test"}
	// MaxRows+5 groups: the result keeps the MaxRows biggest.
	for i := range MaxRows + 5 {
		ev.Set(event.User, "u"+strconv.Itoa(i))
		for range 1 + i%3 {
			a.Add(EventRow(ev))
		}
	}
	res := a.Result().(*StatsResult)
	if len(res.Rows) != MaxRows || !res.Capped || res.Rows[0].Count != 3 || res.Other == 0 {
		t.Errorf("%d rows, capped %v, first count %d, other %d", len(res.Rows), res.Capped, res.Rows[0].Count, res.Other)
	}
	// Past MaxGroups, new groups are counted in Other.
	for i := range MaxGroups + 10 {
		ev.Set(event.User, "v"+strconv.Itoa(i))
		b.Add(EventRow(ev))
	}
	res = b.Result().(*StatsResult)
	var total int64
	for _, r := range res.Rows {
		total += r.Count
	}
	if !res.Capped || total+res.Other != int64(MaxGroups+10) || res.Other < 10 {
		t.Errorf("capped %v, %d in rows + %d other, want %d", res.Capped, total, res.Other, MaxGroups+10)
	}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// timedEvents makes events at the given times (RFC 3339).
func timedEvents(times ...string) []*event.Event {
	var out []*event.Event
	for _, s := range times {
		ev := &event.Event{Source: "test"}
		if s != "" {
			ev.Time = at(s)
		}
		out = append(out, ev)
	}
	return out
}

func TestTimeline(t *testing.T) {
	evs := timedEvents("2024-07-25T20:03:11.123Z", "2024-07-25T20:04:59.999Z", "2024-07-25T20:19:00Z", "2024-07-25T22:03:11+02:00", "")
	f := func(query string, from, to time.Time, want string) {
		t.Helper()
		if got := jsonOf(t, aggregate(t, query, from, to, evs)); got != want {
			t.Errorf("%q:\n got %s\nwant %s", query, got, want)
		}
	}
	// Buckets aligned to the span in UTC, empty ones between included,
	// rows without a time counted apart.
	f(`| timeline span=5m`, time.Time{}, time.Time{},
		`{"type":"timeline","span":"5m","buckets":[{"time":"2024-07-25T20:00:00.000Z","count":3},{"time":"2024-07-25T20:05:00.000Z","count":0},{"time":"2024-07-25T20:10:00.000Z","count":0},{"time":"2024-07-25T20:15:00.000Z","count":1}],"untimed":1}`)
	f(`| timeline span=1h`, time.Time{}, time.Time{},
		`{"type":"timeline","span":"1h","buckets":[{"time":"2024-07-25T20:00:00.000Z","count":4}],"untimed":1}`)
	f(`| timeline span=90s`, time.Time{}, time.Time{},
		`{"type":"timeline","span":"90s","buckets":[{"time":"2024-07-25T20:03:00.000Z","count":2},{"time":"2024-07-25T20:04:30.000Z","count":1},{"time":"2024-07-25T20:06:00.000Z","count":0},{"time":"2024-07-25T20:07:30.000Z","count":0},{"time":"2024-07-25T20:09:00.000Z","count":0},{"time":"2024-07-25T20:10:30.000Z","count":0},{"time":"2024-07-25T20:12:00.000Z","count":0},{"time":"2024-07-25T20:13:30.000Z","count":0},{"time":"2024-07-25T20:15:00.000Z","count":0},{"time":"2024-07-25T20:16:30.000Z","count":0},{"time":"2024-07-25T20:18:00.000Z","count":1}],"untimed":1}`)
	// Without span: about 60 buckets over from..to (here one hour: 1m).
	f(`| timeline`, at("2024-07-25T20:00:00Z"), at("2024-07-25T21:00:00Z"),
		`{"type":"timeline","span":"1m","buckets":[{"time":"2024-07-25T20:03:00.000Z","count":2},{"time":"2024-07-25T20:04:00.000Z","count":1},`+
			`{"time":"2024-07-25T20:05:00.000Z","count":0},{"time":"2024-07-25T20:06:00.000Z","count":0},{"time":"2024-07-25T20:07:00.000Z","count":0},`+
			`{"time":"2024-07-25T20:08:00.000Z","count":0},{"time":"2024-07-25T20:09:00.000Z","count":0},{"time":"2024-07-25T20:10:00.000Z","count":0},`+
			`{"time":"2024-07-25T20:11:00.000Z","count":0},{"time":"2024-07-25T20:12:00.000Z","count":0},{"time":"2024-07-25T20:13:00.000Z","count":0},`+
			`{"time":"2024-07-25T20:14:00.000Z","count":0},{"time":"2024-07-25T20:15:00.000Z","count":0},{"time":"2024-07-25T20:16:00.000Z","count":0},`+
			`{"time":"2024-07-25T20:17:00.000Z","count":0},{"time":"2024-07-25T20:18:00.000Z","count":0},{"time":"2024-07-25T20:19:00.000Z","count":1}],"untimed":1}`)
	// Without span nor range: about 60 buckets over the rows' own range
	// (16 minutes: 30s).
	res := aggregate(t, `| timeline`, time.Time{}, time.Time{}, evs).(*TimelineResult)
	if res.Span != "30s" || len(res.Buckets) != 33 || res.Buckets[0].Time != "2024-07-25T20:03:00.000Z" || res.Buckets[0].Count != 2 || res.Buckets[32].Count != 1 {
		t.Errorf("auto span: %s, %d buckets, first %v, last %v", res.Span, len(res.Buckets), res.Buckets[0], res.Buckets[len(res.Buckets)-1])
	}
	if got := jsonOf(t, aggregate(t, `nothing | timeline`, time.Time{}, time.Time{}, evs)); got != `{"type":"timeline","span":"1s","buckets":[]}` {
		t.Errorf("empty timeline: %s", got)
	}
}

// The span a timeline picks from its range: a round size, about 60
// buckets.
func TestTimelineSpanChoice(t *testing.T) {
	base := at("2024-07-25T00:00:00Z")
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{30 * time.Second, "1s"}, {time.Minute, "1s"}, {5 * time.Minute, "5s"}, {time.Hour, "1m"},
		{90 * time.Minute, "2m"}, {6 * time.Hour, "10m"}, {24 * time.Hour, "30m"}, {7 * 24 * time.Hour, "3h"},
		{30 * 24 * time.Hour, "12h"}, {365 * 24 * time.Hour, "7d"}, {20 * 365 * 24 * time.Hour, "364d"},
	} {
		a := mustParse(t, "| timeline").Aggregation(base, base.Add(c.d))
		a.Add(EventRow(timedEvents("2024-07-25T00:00:00Z")[0]))
		if got := a.Result().(*TimelineResult).Span; got != c.want {
			t.Errorf("range %v: span %s, want %s", c.d, got, c.want)
		}
	}
}

// A span too fine for the rows' range is coarsened to stay under
// MaxBuckets; merging parts of different spans coarsens to the larger.
func TestTimelineCoarsenAndMerge(t *testing.T) {
	q := mustParse(t, "| timeline span=1s")
	a := q.Aggregation(time.Time{}, time.Time{})
	for _, s := range []string{"2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", "2024-01-02T00:00:00Z"} {
		a.Add(EventRow(timedEvents(s)[0]))
	}
	res := a.Result().(*TimelineResult)
	if res.Span != "10s" || len(res.Buckets) != 8641 || res.Buckets[0].Count != 2 || res.Buckets[8640].Count != 1 {
		t.Fatalf("coarsened: span %s, %d buckets, first %v", res.Span, len(res.Buckets), res.Buckets[0])
	}
	// Parts in auto mode: one saw a long range and coarsened, the other
	// did not; merged either way round they give the one-pass result.
	evs := timedEvents("2024-01-01T00:00:00Z", "2024-01-01T00:00:05Z", "2024-01-03T00:00:00Z", "2024-01-01T00:00:07Z", "2024-01-02T12:00:00Z")
	q = mustParse(t, "| timeline")
	one := q.Aggregation(time.Time{}, time.Time{})
	for _, ev := range evs {
		one.Add(EventRow(ev))
	}
	want := jsonOf(t, one.Result())
	for _, order := range [][2]int{{0, 1}, {1, 0}} {
		parts := []Aggregator{q.Aggregation(time.Time{}, time.Time{}), q.Aggregation(time.Time{}, time.Time{})}
		for i, ev := range evs {
			parts[min(i/3, 1)].Add(EventRow(ev))
		}
		parts[order[0]].Merge(parts[order[1]])
		if got := jsonOf(t, parts[order[0]].Result()); got != want {
			t.Errorf("merge %v:\n got %s\nwant %s", order, got, want)
		}
	}
	// Merging aggregations of different commands is a programming error.
	defer func() {
		if recover() == nil {
			t.Error("merging a stats into a timeline did not panic")
		}
	}()
	one.Merge(mustParse(t, "| stats count").Aggregation(time.Time{}, time.Time{}))
}

func ExampleQuery_Aggregation() {
	q, _ := Parse(`status:>=400 | stats count by src_ip`)
	a := q.Aggregation(time.Time{}, time.Time{})
	for _, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.1"} {
		ev := &event.Event{Source: "squid"}
		ev.Set(event.SrcIP, ip)
		ev.Set(event.Status, "403")
		if q.Match(EventRow(ev)) {
			a.Add(EventRow(ev))
		}
	}
	b, _ := json.Marshal(a.Result())
	fmt.Println(string(b))
	// Output: {"type":"stats","by":["src_ip"],"rows":[{"values":["10.0.0.1"],"count":2},{"values":["10.0.0.2"],"count":1}],"capped":false}
}
