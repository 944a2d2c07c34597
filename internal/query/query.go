package query

import (
	"slices"
	"time"
)

// Query is a parsed search: a filter and an optional pipe command. It is
// immutable after Parse and safe for concurrent use: scan parts in
// parallel with one Query, each part with its own Aggregator.
type Query struct {
	root  *node   // the filter as parsed; nil when empty
	pipes []*pipe // at most one
	m     matcher // the compiled filter
}

func newQuery(root *node, pipes []*pipe) *Query {
	return &Query{root: root, pipes: pipes, m: compile(root)}
}

// Match reports whether the row passes the filter. On an EventRow it does
// not allocate.
func (q *Query) Match(r Row) bool { return q.m.match(targetOf(r)) }

// MatchAll reports whether the filter accepts every row: an empty filter,
// "*", or one that reduces to it ("* OR x"). A caller can then skip Match
// and the prefilter.
func (q *Query) MatchAll() bool {
	c, ok := q.m.(constMatcher)
	return ok && bool(c)
}

// Fields returns the attribute names Match and the pipe's aggregation
// read, sorted and without duplicates, as written in the query; all is
// true when Match reads every value (free text, phrases, wildcard words).
// A caller that loads attributes selectively must also load, when a name
// is absent, the attributes whose names equal it ignoring case (the
// fallback of field names), and Time for a timeline.
func (q *Query) Fields() (names []string, all bool) {
	var walk func(n *node)
	walk = func(n *node) {
		if n == nil {
			return
		}
		if n.op != nodeTerm {
			for _, k := range n.kids {
				walk(k)
			}
			return
		}
		switch n.term.kind {
		case termText, termWild:
			all = true
		case termExists, termValue, termCompare:
			names = append(names, n.term.field)
		}
	}
	walk(q.root)
	for _, p := range q.pipes {
		names = append(names, p.by...)
	}
	slices.Sort(names)
	return slices.Compact(names), all
}

// Aggregation returns a new, empty aggregator for the query's pipe
// command, or nil when it has none. from and to are the time range of the
// search (either may be zero: unbounded); a timeline without span= picks
// its bucket size from them. Each part scanned in parallel gets its own
// Aggregator; Merge them at the end.
func (q *Query) Aggregation(from, to time.Time) Aggregator {
	if len(q.pipes) == 0 {
		return nil
	}
	p := q.pipes[0]
	if p.kind == pipeStats {
		return newStats(p.by)
	}
	return newTimeline(p.span, from, to)
}
