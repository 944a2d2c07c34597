package query

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// Aggregator counts the rows that passed the filter, for the query's pipe
// command. One Aggregator is used by one goroutine; parts scanned in
// parallel each have their own and are merged.
type Aggregator interface {
	Add(r Row)
	// Result is JSON-encodable: a *StatsResult for stats, a
	// *TimelineResult for timeline.
	Result() any
	// Merge adds another aggregator's counts of the same query (parts
	// scanned in parallel). It panics if other comes from a different
	// pipe command: that is a programming error.
	Merge(other Aggregator)
}

// The bounds of an aggregation's memory and output.
const (
	// MaxGroups is the number of stats groups kept in memory. Groups
	// first seen after that are not kept: their rows are counted in
	// Other.
	MaxGroups = 100_000
	// MaxRows is the number of stats rows in a result: the groups with
	// the highest counts.
	MaxRows = 10_000
	// MaxBuckets bounds the buckets of a timeline, empty ones included:
	// a finer span is coarsened until first..last fits.
	MaxBuckets = 10_000
	// timelineTarget is the number of buckets a timeline without span=
	// aims at.
	timelineTarget = 60
)

// StatsResult is the result of "stats count [by ...]".
type StatsResult struct {
	Type string     `json:"type"` // "stats"
	By   []string   `json:"by"`   // the group-by fields, [] for a plain count
	Rows []StatsRow `json:"rows"` // by count, highest first, then by values
	// Capped says some groups are missing from Rows: more than MaxGroups
	// distinct groups were seen, or more than MaxRows are left out.
	// The counts of the rows shown are exact unless a group was seen
	// after the cap in one part but kept in another; Other counts
	// the rows not shown.
	Capped bool  `json:"capped"`
	Other  int64 `json:"other,omitempty"`
}

// StatsRow is one group: the values of the group-by fields, in order (""
// for a field the row does not have), and its number of rows.
type StatsRow struct {
	Values []string `json:"values"`
	Count  int64    `json:"count"`
}

// TimelineResult is the result of "timeline": rows per time bucket.
type TimelineResult struct {
	Type string `json:"type"` // "timeline"
	// Span is the bucket size used, e.g. "5m": the one asked for, or
	// the one chosen from the time range, or a coarser one when either
	// would give more than MaxBuckets buckets.
	Span string `json:"span"`
	// Buckets run from the first row's bucket to the last row's, empty
	// ones included, each starting at a multiple of Span since
	// 1970-01-01T00:00:00Z.
	Buckets []Bucket `json:"buckets"`
	// Untimed counts rows without a time stamp, which no bucket holds.
	Untimed int64 `json:"untimed,omitempty"`
}

// Bucket is one time bucket: its start (event.TimeFormat, UTC) and count.
type Bucket struct {
	Time  string `json:"time"`
	Count int64  `json:"count"`
}

// ---- stats ----

type statsAgg struct {
	by     []string
	refs   []fieldRef
	groups map[string]*StatsRow
	capped bool
	other  int64
	key    []byte // reused to build a group's key
}

func newStats(by []string) *statsAgg {
	a := &statsAgg{by: by, groups: map[string]*StatsRow{}}
	for _, f := range by {
		a.refs = append(a.refs, newFieldRef(f))
	}
	return a
}

// Add counts r in its group. The values are looked up as Match looks up a
// field (exact name, else the first name equal ignoring case); a missing
// field groups as "". The key is the values length-prefixed, so no value
// can be mistaken for a separator.
func (a *statsAgg) Add(r Row) {
	t := targetOf(r)
	a.key = a.key[:0]
	for i := range a.refs {
		v := t.lookup(&a.refs[i])
		a.key = binary.AppendUvarint(a.key, uint64(len(v)))
		a.key = append(a.key, v...)
	}
	if g, ok := a.groups[string(a.key)]; ok {
		g.Count++
		return
	}
	if len(a.groups) >= MaxGroups {
		a.capped = true
		a.other++
		return
	}
	vals := make([]string, len(a.refs))
	for i := range a.refs {
		// A copy: a row's strings may point into a buffer its reader
		// reuses.
		vals[i] = strings.Clone(t.lookup(&a.refs[i]))
	}
	a.groups[string(a.key)] = &StatsRow{Values: vals, Count: 1}
}

func (a *statsAgg) Merge(other Aggregator) {
	o, ok := other.(*statsAgg)
	if !ok {
		panic(fmt.Sprintf("query: cannot merge %T into a stats aggregation", other))
	}
	for k, g := range o.groups {
		if mine, ok := a.groups[k]; ok {
			mine.Count += g.Count
			continue
		}
		if len(a.groups) >= MaxGroups {
			a.capped = true
			a.other += g.Count
			continue
		}
		a.groups[k] = &StatsRow{Values: g.Values, Count: g.Count}
	}
	a.capped = a.capped || o.capped
	a.other += o.other
}

func (a *statsAgg) Result() any {
	rows := make([]StatsRow, 0, len(a.groups))
	for _, g := range a.groups {
		rows = append(rows, *g)
	}
	slices.SortFunc(rows, func(x, y StatsRow) int {
		if x.Count != y.Count {
			if x.Count > y.Count {
				return -1
			}
			return 1
		}
		return slices.Compare(x.Values, y.Values)
	})
	res := &StatsResult{Type: "stats", By: append([]string{}, a.by...), Capped: a.capped, Other: a.other}
	if len(rows) > MaxRows {
		res.Capped = true
		for _, r := range rows[MaxRows:] {
			res.Other += r.Count
		}
		rows = rows[:MaxRows]
	}
	res.Rows = rows
	return res
}

// ---- timeline ----

// roundSpans returns the bucket sizes a timeline picks from, in seconds.
func roundSpans() [24]int64 {
	return [...]int64{
		1, 2, 5, 10, 15, 30,
		60, 2 * 60, 5 * 60, 10 * 60, 15 * 60, 30 * 60,
		3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600,
		86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400, 84 * 86400, 364 * 86400,
	}
}

// timelineAgg counts rows per bucket of span milliseconds. Without a span
// and a time range (auto), it counts at the finest span that keeps under
// MaxBuckets and picks the round span giving about 60 buckets over the
// rows' own range at Result.
type timelineAgg struct {
	span    int64 // bucket size in milliseconds
	auto    bool
	counts  map[int64]int64 // bucket number (start / span) → rows
	lo, hi  int64           // first and last bucket numbers
	untimed int64
}

func newTimeline(span time.Duration, from, to time.Time) *timelineAgg {
	a := &timelineAgg{counts: map[int64]int64{}}
	switch {
	case span > 0:
		a.span = span.Milliseconds()
		if !from.IsZero() && !to.IsZero() {
			// Coarsen now a span that cannot fit the range.
			for to.Sub(from).Milliseconds()/a.span >= MaxBuckets {
				a.span = nextSpan(a.span)
			}
		}
	case !from.IsZero() && !to.IsZero() && to.After(from):
		a.span = pickSpan(to.Sub(from).Milliseconds(), 1000)
	default:
		a.span, a.auto = 1000, true
	}
	return a
}

// pickSpan returns the smallest round span, a multiple of unit, that
// divides a range of rangeMs into at most timelineTarget buckets.
func pickSpan(rangeMs, unit int64) int64 {
	for _, s := range roundSpans() {
		ms := s * 1000
		if ms%unit == 0 && rangeMs/ms <= timelineTarget {
			return ms
		}
	}
	s := unit
	for rangeMs/s > timelineTarget {
		s = nextSpan(s)
	}
	return s
}

// nextSpan returns the next coarser span: the smallest round span that is
// a multiple of span, or twice span. Every bucket of span then lies in
// exactly one bucket of the next, so counts can be coarsened.
func nextSpan(span int64) int64 {
	for _, s := range roundSpans() {
		if ms := s * 1000; ms > span && ms%span == 0 {
			return ms
		}
	}
	return span * 2
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func (a *timelineAgg) Add(r Row) {
	tm := targetOf(r).time()
	if tm.IsZero() {
		a.untimed++
		return
	}
	a.addAt(floorDiv(tm.UnixMilli(), a.span), 1)
}

func (a *timelineAgg) addAt(b, n int64) {
	if len(a.counts) == 0 {
		a.lo, a.hi = b, b
	} else {
		a.lo, a.hi = min(a.lo, b), max(a.hi, b)
	}
	a.counts[b] += n
	for a.hi-a.lo >= MaxBuckets {
		a.coarsen(nextSpan(a.span))
	}
}

// coarsen regroups the counts by buckets of span, a multiple of a.span.
func (a *timelineAgg) coarsen(span int64) {
	old := a.counts
	a.counts = make(map[int64]int64, len(old))
	first := true
	for b, n := range old {
		nb := floorDiv(b*a.span, span)
		a.counts[nb] += n
		if first {
			a.lo, a.hi, first = nb, nb, false
		} else {
			a.lo, a.hi = min(a.lo, nb), max(a.hi, nb)
		}
	}
	a.span = span
}

func (a *timelineAgg) Merge(other Aggregator) {
	o, ok := other.(*timelineAgg)
	if !ok {
		panic(fmt.Sprintf("query: cannot merge %T into a timeline aggregation", other))
	}
	for a.span < o.span {
		a.coarsen(nextSpan(a.span))
	}
	for b, n := range o.counts {
		a.addAt(floorDiv(b*o.span, a.span), n)
	}
	a.untimed += o.untimed
}

func (a *timelineAgg) Result() any {
	if a.auto && len(a.counts) > 0 {
		if s := pickSpan((a.hi-a.lo+1)*a.span, a.span); s > a.span {
			a.coarsen(s)
		}
	}
	res := &TimelineResult{Type: "timeline", Span: formatSpan(time.Duration(a.span) * time.Millisecond), Buckets: []Bucket{}, Untimed: a.untimed}
	if len(a.counts) == 0 {
		return res
	}
	res.Buckets = make([]Bucket, 0, a.hi-a.lo+1)
	for b := a.lo; b <= a.hi; b++ {
		res.Buckets = append(res.Buckets, Bucket{
			Time:  event.FormatTime(time.UnixMilli(b * a.span)),
			Count: a.counts[b],
		})
	}
	return res
}
