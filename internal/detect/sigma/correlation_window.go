package sigma

// This file holds the window of one group of one correlation and the
// aggregates of each correlation type over it (see correlation_engine.go for
// when they are evaluated).

import (
	"math"
	"sort"
)

// corrGroup is the state of one group (one tuple of group-by values).
type corrGroup struct {
	vals   []string // group-by values, in group-by order
	seq    uint64   // creation order, for deterministic output
	newest int64    // newest observation time, ms

	// Queue types (event_count, value_count, value_sum, and every type
	// decided at window close): the observations in the window, sorted by
	// time, q[head:] live.
	q      []corrEntry
	head   int
	nEv    int            // live entries that hold evidence
	counts map[string]int // value_count: live entries per value
	sum    float64        // value_sum: sum of live entries

	// temporal: the newest observation of each referenced rule.
	last []corrEntry
	// temporal_ordered: chain[i] is the in-order sequence through rule i
	// with the latest start seen so far (nil: none yet).
	chain [][]corrEntry
}

func (g *corrGroup) len() int { return len(g.q) - g.head }

// push inserts e in time order (from the back: input is nearly sorted).
func (g *corrGroup) push(e corrEntry) {
	g.q = append(g.q, e)
	for i := len(g.q) - 1; i > g.head && g.q[i].t < g.q[i-1].t; i-- {
		g.q[i], g.q[i-1] = g.q[i-1], g.q[i]
	}
	if e.ev != nil {
		g.nEv++
	}
	if g.counts != nil {
		g.counts[e.val]++
	}
	g.sum += e.num
}

// pop removes the oldest entry, releasing its evidence.
func (c *Correlator) pop(g *corrGroup) {
	e := g.q[g.head]
	g.q[g.head] = corrEntry{}
	g.head++
	if e.ev != nil {
		g.nEv--
		c.release(e.ev)
	}
	if g.counts != nil {
		if g.counts[e.val]--; g.counts[e.val] <= 0 {
			delete(g.counts, e.val)
		}
	}
	g.sum -= e.num
	if g.head == len(g.q) {
		g.q, g.head, g.sum = g.q[:0], 0, 0
	} else if g.head > 64 && g.head > len(g.q)/2 {
		n := copy(g.q, g.q[g.head:])
		clear(g.q[n:])
		g.q, g.head = g.q[:n], 0
	}
}

// evictBefore drops the entries older than limit.
func (c *Correlator) evictBefore(g *corrGroup, limit int64) {
	for g.len() > 0 && g.q[g.head].t < limit {
		c.pop(g)
	}
}

// makeRoom drops the oldest entry of a full group.
func (c *Correlator) makeRoom(st *corrState, g *corrGroup) {
	if g.len() >= c.limits.MaxEntries {
		c.pop(g)
		st.stats.EntriesDropped++
	}
}

// addCounting adds an observation to an eager event_count, value_count or
// value_sum group and returns the match when the condition now holds.
func (c *Correlator) addCounting(st *corrState, g *corrGroup, e corrEntry, o *corrObs) *CorrelationMatch {
	if st.c.Type == CorrValueCount && g.counts == nil {
		g.counts = map[string]int{}
	}
	c.evictBefore(g, st.wm-st.span)
	c.makeRoom(st, g)
	// Evidence: the first observations of the window, and for value_count
	// the first of each distinct value (the spraying victims), up to one
	// less than the cap; the one that completes the match is added below.
	if g.nEv < c.limits.MaxEvidence-1 && (st.c.Type != CorrValueCount || g.counts[e.val] == 0) {
		e.ev = c.newEv(st, o)
	}
	g.push(e)
	var v float64
	switch st.c.Type {
	case CorrValueCount:
		v = float64(len(g.counts))
	case CorrValueSum:
		v = g.sum
	default:
		v = float64(g.len())
	}
	if !st.c.Condition.Holds(v) {
		return nil
	}
	if e.ev == nil {
		// The completing observation is always evidence.
		for i := len(g.q) - 1; i >= g.head; i-- {
			if g.q[i].t == e.t && g.q[i].ev == nil && g.q[i].ref == e.ref && g.q[i].val == e.val {
				g.q[i].ev = c.newEv(st, o)
				g.nEv++
				break
			}
		}
	}
	return c.newMatch(st, g, g.q[g.head:], v)
}

// addTemporal adds an observation to an eager temporal group: it keeps the
// newest observation of each rule; the count is the number of rules whose
// newest observation is in the window.
func (c *Correlator) addTemporal(st *corrState, g *corrGroup, e corrEntry, o *corrObs) *CorrelationMatch {
	if g.last == nil {
		g.last = make([]corrEntry, len(st.c.refs))
	}
	if prev := g.last[e.ref]; prev.ev != nil && prev.t > e.t {
		return nil // a late observation older than the one kept
	}
	c.release(g.last[e.ref].ev)
	e.ev = c.newEv(st, o)
	g.last[e.ref] = e
	limit := st.wm - st.span
	var win []corrEntry
	for _, l := range g.last {
		if l.ev != nil && l.t >= limit {
			win = append(win, l)
		}
	}
	v := float64(len(win))
	if !st.c.Condition.Holds(v) {
		return nil
	}
	sort.Slice(win, func(i, j int) bool { return win[i].t < win[j].t })
	return c.newMatch(st, g, win, v)
}

// addOrdered adds an observation to an eager temporal_ordered group. For
// each position i of the rule list it keeps the in-order chain through
// rules 0..i with the latest start: extending the latest-starting chain is
// what leaves the most room for the rest within the timespan. The count is
// the length of the in-order prefix of the rule list matched.
func (c *Correlator) addOrdered(st *corrState, g *corrGroup, e corrEntry, o *corrObs) *CorrelationMatch {
	if g.chain == nil {
		g.chain = make([][]corrEntry, len(st.c.refs))
	}
	i := int(e.ref)
	var next []corrEntry
	if i == 0 {
		if cur := g.chain[0]; cur != nil && cur[0].t > e.t {
			return nil // late: an older start than the one kept
		}
		e.ev = c.newEv(st, o)
		next = []corrEntry{e}
	} else {
		prev := g.chain[i-1]
		if prev == nil || e.t < prev[len(prev)-1].t || e.t-prev[0].t > st.span {
			return nil // nothing before it in order, or too far from the start
		}
		if cur := g.chain[i]; cur != nil && cur[0].t > prev[0].t {
			return nil // the chain kept already starts later
		}
		e.ev = c.newEv(st, o)
		next = make([]corrEntry, 0, i+1)
		for _, p := range prev {
			c.retain(p.ev)
			next = append(next, p)
		}
		next = append(next, e)
	}
	for _, old := range g.chain[i] {
		c.release(old.ev)
	}
	g.chain[i] = next
	v := float64(i + 1)
	if !st.c.Condition.Holds(v) {
		return nil
	}
	return c.newMatch(st, g, next, v)
}

// addClosing adds an observation to a group decided at window close: it
// first decides the windows that the new time shows complete.
func (c *Correlator) addClosing(st *corrState, g *corrGroup, e corrEntry, o *corrObs, emit func(*CorrelationMatch)) {
	if st.c.Type == CorrValueCount && g.counts == nil {
		g.counts = map[string]int{}
	}
	fired := c.closeWindows(st, g, st.wm-st.span, nil)
	c.makeRoom(st, g)
	if g.nEv < c.limits.MaxEvidence && (st.c.Type != CorrValueCount || g.counts[e.val] == 0) {
		e.ev = c.newEv(st, o)
	}
	g.push(e)
	c.dispatchAll(st, fired, emit)
}

// closeWindows decides, oldest first, the windows of g that start before
// limit: a window starts at the oldest observation left and spans the
// timespan. Its observations are consumed whether it matches or not.
func (c *Correlator) closeWindows(st *corrState, g *corrGroup, limit int64, fired []corrFired) []corrFired {
	for g.len() > 0 && g.q[g.head].t < limit {
		end := g.q[g.head].t + st.span
		j := g.head
		for j < len(g.q) && g.q[j].t <= end {
			j++
		}
		win := g.q[g.head:j]
		if v := st.aggregate(win); st.c.Condition.Holds(v) {
			fired = append(fired, corrFired{m: c.newMatch(st, g, win, v), seq: g.seq})
		}
		for n := len(win); n > 0; n-- {
			c.pop(g)
		}
	}
	return fired
}

// aggregate computes the correlation's value over a complete window.
func (st *corrState) aggregate(win []corrEntry) float64 {
	switch st.c.Type {
	case CorrValueCount:
		seen := make(map[string]struct{}, len(win))
		for _, e := range win {
			seen[e.val] = struct{}{}
		}
		return float64(len(seen))
	case CorrValueSum, CorrValueAvg:
		s := 0.0
		for _, e := range win {
			s += e.num
		}
		if st.c.Type == CorrValueAvg {
			return s / float64(len(win))
		}
		return s
	case CorrValuePercentile:
		return corrPercentile(win, st.c.Condition.Percentile)
	case CorrTemporal:
		seen := map[int32]struct{}{}
		for _, e := range win {
			seen[e.ref] = struct{}{}
		}
		return float64(len(seen))
	case CorrTemporalOrdered:
		// Greedy: the longest prefix of the rule list found in order.
		k := int32(0)
		for _, e := range win {
			if e.ref == k {
				k++
			}
		}
		return float64(k)
	}
	return float64(len(win))
}

// corrPercentile is the nearest-rank percentile p (0, 100] of the window's
// numbers: the smallest value with at least p% of the values at or below it.
func corrPercentile(win []corrEntry, p float64) float64 {
	nums := make([]float64, len(win))
	for i, e := range win {
		nums[i] = e.num
	}
	sort.Float64s(nums)
	rank := int(math.Ceil(p / 100 * float64(len(nums))))
	rank = max(1, min(rank, len(nums)))
	return nums[rank-1]
}
