package sigma

// This file runs correlation rules over base-rule matches: the Correlator.
//
// Input: Observe is called for each match of a base rule, in time order (the
// hunt CLI sorts the matches of the rules that correlations refer to, since
// files from several hosts are read one after another). A small disorder is
// tolerated: an observation is accepted when it is at most one timespan older
// than the newest seen by that correlation, and counted as late otherwise.
//
// Windows slide. An observation at time e is in the window at time t when
// t-timespan <= e <= t (both ends included: five events spread over exactly
// one minute are "within 1m").
//
// When a correlation fires depends on its condition:
//
//   - eager: event_count, value_count, value_sum, temporal and
//     temporal_ordered whose condition has only lower bounds (gt, gte; the
//     temporal default "all rules" is one). The aggregate can only grow as
//     observations arrive, so the correlation fires on the observation that
//     makes the condition hold, at once: the alert is timely and, chained,
//     it arrives in time order for the correlation above.
//   - at window close: any condition with an upper bound (lt, lte, eq, neq,
//     where "not yet too many" says nothing until the window is over), and
//     value_avg and value_percentile (whose value over a whole window is
//     what they mean). A window starts at the group's oldest observation
//     and spans timespan; it is decided once newer input shows it complete,
//     or at Flush. Windows of one group do not overlap.
//
// After a group fires, its observations are consumed: the next match of the
// same group needs a new set of observations (ten failed logons with
// "gte: 5" are two matches, not six).
//
// Memory is bounded: groups whose observations all left the window are
// evicted by a sweep that runs once per timespan of event time; at most
// CorrelationLimits.MaxGroups live groups per correlation and MaxEntries
// observations per group are kept; evidence keeps the raw record only while
// the Correlator holds less than MaxRawBytes of it. Whatever is refused is
// counted in Stats.

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// CorrelationLimits bound the memory of a Correlator.
type CorrelationLimits struct {
	// MaxGroups is the number of live groups per correlation. A new group
	// beyond it is refused (counted in GroupsDropped) after a sweep could
	// not make room.
	MaxGroups int
	// MaxEntries is the number of observations one group keeps; beyond it
	// the oldest is dropped (EntriesDropped), as if the window were
	// shorter.
	MaxEntries int
	// MaxEvidence is the number of evidence events per match.
	MaxEvidence int
	// MaxValues is the number of distinct values a value_count match lists.
	MaxValues int
	// MaxRawBytes bounds the raw records held as evidence; past it,
	// evidence keeps time and origin only (RawDropped).
	MaxRawBytes int64
}

// DefaultCorrelationLimits are the limits NewCorrelator uses.
func DefaultCorrelationLimits() CorrelationLimits {
	return CorrelationLimits{
		MaxGroups:   1 << 20,
		MaxEntries:  1 << 16,
		MaxEvidence: 20,
		MaxValues:   100,
		MaxRawBytes: 256 << 20,
	}
}

// CorrelationStats counts what one correlation saw and refused, so that the
// run report can say why a correlation stayed silent.
type CorrelationStats struct {
	Correlation *Correlation
	Observed    int64 // observations routed to it
	Matches     int64 // times it fired (reported or not)
	// NoGroupField counts observations whose event lacks a group-by field
	// (they cannot be grouped; SQL backends drop them too).
	NoGroupField int64
	// NoValueField counts observations lacking condition.field.
	NoValueField int64
	// NotNumeric counts value_sum/avg/percentile observations whose field
	// is not a number.
	NotNumeric int64
	// NoTime counts events without a time stamp.
	NoTime int64
	// Late counts observations more than one timespan older than the
	// newest one seen.
	Late           int64
	GroupsDropped  int64 // refused: MaxGroups live groups
	EntriesDropped int64 // dropped from a full group: MaxEntries
	RawDropped     int64 // evidence kept without raw record: MaxRawBytes
	LiveGroups     int   // groups held now
}

// Correlator runs the correlation rules of a Ruleset over base-rule
// matches. It is not safe for concurrent use: one goroutine feeds it, in
// time order.
type Correlator struct {
	limits CorrelationLimits
	// states are ordered inner first: a correlation comes after those it
	// refers to, so that Flush closes the inner windows first.
	states []*corrState
	byRule map[*Rule][]corrTarget
	byCorr map[*Correlation][]corrTarget
	// silenced are the base rules a generate: false correlation refers to.
	silenced map[*Rule]bool
	rawHeld  int64
}

// corrTarget is one place a rule's or correlation's matches go: a
// correlation and the index of the reference in its rules.
type corrTarget struct {
	st  *corrState
	ref int
}

// corrState is the running state of one correlation.
type corrState struct {
	c    *Correlation
	span int64 // timespan in ms
	// eager: fire when the condition first holds; else at window close.
	eager bool
	// groupFields[ref] and valueFields[ref]: the event fields that hold the
	// group-by fields and condition fields for observations of rule ref,
	// aliases applied.
	groupFields [][]string
	valueFields [][]string
	groups      map[string]*corrGroup
	seq         uint64
	started     bool
	wm          int64 // newest observation time, ms
	nextSweep   int64
	lastSweep   int64
	stats       CorrelationStats
}

// NewCorrelator returns a Correlator with DefaultCorrelationLimits for the
// correlations of the set that resolved.
func (rs *Ruleset) NewCorrelator() *Correlator {
	return rs.NewCorrelatorWithLimits(DefaultCorrelationLimits())
}

// NewCorrelatorWithLimits is NewCorrelator with chosen limits; a zero or
// negative limit takes its default.
func (rs *Ruleset) NewCorrelatorWithLimits(l CorrelationLimits) *Correlator {
	d := DefaultCorrelationLimits()
	if l.MaxGroups <= 0 {
		l.MaxGroups = d.MaxGroups
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxEvidence <= 0 {
		l.MaxEvidence = d.MaxEvidence
	}
	if l.MaxValues <= 0 {
		l.MaxValues = d.MaxValues
	}
	if l.MaxRawBytes <= 0 {
		l.MaxRawBytes = d.MaxRawBytes
	}
	c := &Correlator{
		limits:   l,
		byRule:   map[*Rule][]corrTarget{},
		byCorr:   map[*Correlation][]corrTarget{},
		silenced: map[*Rule]bool{},
	}
	depth := map[*Correlation]int{}
	for _, corr := range rs.correlations {
		if !corr.resolved {
			continue
		}
		st := &corrState{
			c:      corr,
			span:   corr.Timespan.Milliseconds(),
			eager:  !corr.Condition.upperBounded() && corr.Type != CorrValueAvg && corr.Type != CorrValuePercentile,
			groups: map[string]*corrGroup{},
		}
		st.stats.Correlation = corr
		for i, ref := range corr.refs {
			gf := make([]string, len(corr.GroupBy))
			for j, f := range corr.GroupBy {
				gf[j] = corr.fieldFor(f, i)
			}
			vf := make([]string, len(corr.Condition.Field))
			for j, f := range corr.Condition.Field {
				vf[j] = corr.fieldFor(f, i)
			}
			st.groupFields = append(st.groupFields, gf)
			st.valueFields = append(st.valueFields, vf)
			tg := corrTarget{st: st, ref: i}
			if ref.rule != nil {
				c.byRule[ref.rule] = append(c.byRule[ref.rule], tg)
				if !corr.Generate {
					c.silenced[ref.rule] = true
				}
			} else {
				c.byCorr[ref.corr] = append(c.byCorr[ref.corr], tg)
			}
		}
		corrDepth(corr, depth)
		c.states = append(c.states, st)
	}
	sort.SliceStable(c.states, func(i, j int) bool { return depth[c.states[i].c] < depth[c.states[j].c] })
	return c
}

// RuleOutput is Ruleset.RuleOutput in constant time: whether base rule r
// reports its own matches (false when a generate: false correlation refers
// to it).
func (c *Correlator) RuleOutput(r *Rule) bool { return !c.silenced[r] }

// Wants reports whether any correlation refers to r: the CLI only needs to
// feed (and sort) the matches of such rules.
func (c *Correlator) Wants(r *Rule) bool { return len(c.byRule[r]) > 0 }

// Observe takes one match of base rule r on event ev, in time order, and
// calls emit for each correlation match it completes whose correlation
// reports (Correlation.Output). ev is not retained: evidence copies what it
// needs.
func (c *Correlator) Observe(r *Rule, ev *event.Event, emit func(*CorrelationMatch)) {
	targets := c.byRule[r]
	if len(targets) == 0 || ev == nil {
		return
	}
	if ev.Time.IsZero() {
		for _, tg := range targets {
			tg.st.stats.NoTime++
		}
		return
	}
	t := ev.Time.UnixMilli()
	for _, tg := range targets {
		c.observe(tg.st, &corrObs{t: t, ref: tg.ref, rule: r, ev: ev}, emit)
	}
}

// Flush decides every window still open (the input is over), emits what
// fires, and clears the state; the Correlator can then take new input.
// Counters are kept.
func (c *Correlator) Flush(emit func(*CorrelationMatch)) {
	for _, st := range c.states {
		if !st.eager {
			var fired []corrFired
			for _, g := range st.groups {
				fired = c.closeWindows(st, g, math.MaxInt64, fired)
			}
			c.dispatchAll(st, fired, emit)
		}
		for k, g := range st.groups {
			c.dropGroup(g)
			delete(st.groups, k)
		}
		st.started = false
	}
}

// Stats returns the counters of every correlation, inner ones first.
func (c *Correlator) Stats() []CorrelationStats {
	out := make([]CorrelationStats, 0, len(c.states))
	for _, st := range c.states {
		s := st.stats
		s.LiveGroups = len(st.groups)
		out = append(out, s)
	}
	return out
}

// corrObs is one observation: a base-rule match on an event, or the match
// of a chained correlation (sub), with the event that completed it when
// there is one (its fields serve group-by fields the inner match lacks).
type corrObs struct {
	t    int64
	ref  int
	rule *Rule
	ev   *event.Event
	sub  *CorrelationMatch
}

// lookup returns a field of the observation: for a chained match, its group
// values first, then the event that completed it.
func (o *corrObs) lookup(f string) (string, bool) {
	if o.sub != nil {
		if v, ok := o.sub.GroupValue(f); ok {
			return v, true
		}
	}
	if o.ev != nil {
		return o.ev.LookupOK(f)
	}
	return "", false
}

// corrEv is evidence held by the Correlator, shared by reference count
// between the places that keep it (a temporal_ordered chain and its
// extensions); bytes is what it counts against MaxRawBytes.
type corrEv struct {
	ev    CorrelationEvidence
	sub   *CorrelationMatch
	bytes int
	refs  int32
}

// corrEntry is one observation in a group's window.
type corrEntry struct {
	t   int64
	ref int32
	val string  // value_count: the value (tuple) counted
	num float64 // value_sum, value_avg, value_percentile
	ev  *corrEv // nil past MaxEvidence
}

// corrFired is a match waiting to be dispatched in a deterministic order.
type corrFired struct {
	m   *CorrelationMatch
	seq uint64
	ev  *event.Event
}

// observe routes one observation into st.
func (c *Correlator) observe(st *corrState, o *corrObs, emit func(*CorrelationMatch)) {
	st.stats.Observed++
	key, vals, ok := corrTuple(o, st.groupFields[o.ref])
	if !ok {
		st.stats.NoGroupField++
		return
	}
	e := corrEntry{t: o.t, ref: int32(o.ref)}
	switch st.c.Type {
	case CorrValueCount:
		v, _, ok := corrTuple(o, st.valueFields[o.ref])
		if !ok {
			st.stats.NoValueField++
			return
		}
		e.val = v
	case CorrValueSum, CorrValueAvg, CorrValuePercentile:
		s, ok := o.lookup(st.valueFields[o.ref][0])
		if !ok {
			st.stats.NoValueField++
			return
		}
		n, ok := corrParseNumber(s)
		if !ok {
			st.stats.NotNumeric++
			return
		}
		e.num = n
	}
	if st.started && o.t < st.wm-st.span {
		st.stats.Late++
		return
	}
	if !st.started {
		st.started, st.wm, st.nextSweep, st.lastSweep = true, o.t, o.t+st.span, o.t
	} else if o.t > st.wm {
		st.wm = o.t
	}
	if st.wm >= st.nextSweep {
		c.sweep(st, emit)
	}
	g := st.groups[key]
	if g == nil {
		if len(st.groups) >= c.limits.MaxGroups && st.lastSweep < st.wm {
			c.sweep(st, emit)
		}
		if len(st.groups) >= c.limits.MaxGroups {
			st.stats.GroupsDropped++
			return
		}
		st.seq++
		g = &corrGroup{vals: vals, seq: st.seq, newest: o.t}
		st.groups[key] = g
	}
	if o.t > g.newest {
		g.newest = o.t
	}
	if !st.eager {
		c.addClosing(st, g, e, o, emit)
		return
	}
	var m *CorrelationMatch
	switch st.c.Type {
	case CorrTemporal:
		m = c.addTemporal(st, g, e, o)
	case CorrTemporalOrdered:
		m = c.addOrdered(st, g, e, o)
	default:
		m = c.addCounting(st, g, e, o)
	}
	if m != nil {
		c.dropGroup(g)
		delete(st.groups, key)
		c.dispatch(st, m, o.ev, emit)
	}
}

// sweep evicts groups whose observations all left the window and decides
// the windows that are complete.
func (c *Correlator) sweep(st *corrState, emit func(*CorrelationMatch)) {
	st.lastSweep, st.nextSweep = st.wm, st.wm+st.span
	limit := st.wm - st.span
	var fired []corrFired
	for k, g := range st.groups {
		if !st.eager {
			fired = c.closeWindows(st, g, limit, fired)
			if g.len() == 0 {
				c.dropGroup(g)
				delete(st.groups, k)
			}
			continue
		}
		if g.newest < limit {
			c.dropGroup(g)
			delete(st.groups, k)
		}
	}
	c.dispatchAll(st, fired, emit)
}

// dispatchAll dispatches matches in time order, then group creation order,
// whatever the map order they were found in.
func (c *Correlator) dispatchAll(st *corrState, fired []corrFired, emit func(*CorrelationMatch)) {
	sort.Slice(fired, func(i, j int) bool {
		a, b := fired[i], fired[j]
		if !a.m.Last.Equal(b.m.Last) {
			return a.m.Last.Before(b.m.Last)
		}
		if a.seq != b.seq {
			return a.seq < b.seq
		}
		return a.m.First.Before(b.m.First)
	})
	for _, f := range fired {
		c.dispatch(st, f.m, f.ev, emit)
	}
}

// dispatch reports a match (when the correlation reports) and feeds it to
// the correlations that chain it. trig is the event that completed it, nil
// when a window closed.
func (c *Correlator) dispatch(st *corrState, m *CorrelationMatch, trig *event.Event, emit func(*CorrelationMatch)) {
	st.stats.Matches++
	if st.c.Output() {
		emit(m)
	}
	for _, tg := range c.byCorr[st.c] {
		c.observe(tg.st, &corrObs{t: m.Last.UnixMilli(), ref: tg.ref, ev: trig, sub: m}, emit)
	}
}

// newEv captures the evidence of an observation, counting its raw record
// against MaxRawBytes (past it, the raw record is left out).
func (c *Correlator) newEv(st *corrState, o *corrObs) *corrEv {
	if o.sub != nil {
		b := o.sub.rawBytes()
		c.rawHeld += int64(b)
		return &corrEv{sub: o.sub, bytes: b, refs: 1}
	}
	keep := c.rawHeld+int64(len(o.ev.Raw)) <= c.limits.MaxRawBytes
	if !keep {
		st.stats.RawDropped++
	}
	e := &corrEv{ev: corrEvidenceOf(o.ev, o.rule, keep), refs: 1}
	e.bytes = len(e.ev.Raw)
	c.rawHeld += int64(e.bytes)
	return e
}

func (c *Correlator) retain(e *corrEv) {
	if e != nil {
		e.refs++
	}
}

func (c *Correlator) release(e *corrEv) {
	if e == nil {
		return
	}
	e.refs--
	if e.refs == 0 {
		c.rawHeld -= int64(e.bytes)
	}
}

// dropGroup releases everything a group holds.
func (c *Correlator) dropGroup(g *corrGroup) {
	for i := g.head; i < len(g.q); i++ {
		c.release(g.q[i].ev)
	}
	g.q, g.head, g.nEv = nil, 0, 0
	for i := range g.last {
		c.release(g.last[i].ev)
	}
	g.last = nil
	for _, ch := range g.chain {
		for _, e := range ch {
			c.release(e.ev)
		}
	}
	g.chain = nil
}

// newMatch builds a match of group g over the window entries win.
func (c *Correlator) newMatch(st *corrState, g *corrGroup, win []corrEntry, value float64) *CorrelationMatch {
	m := &CorrelationMatch{Correlation: st.c, Value: value, Count: len(win)}
	for i, f := range st.c.GroupBy {
		m.Group = append(m.Group, CorrelationField{Field: f, Value: g.vals[i]})
	}
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	for _, e := range win {
		first, last = min(first, e.t), max(last, e.t)
		switch {
		case e.ev == nil:
			m.EvidenceOmitted++
		case e.ev.sub != nil:
			m.Parts = append(m.Parts, e.ev.sub)
		default:
			m.Evidence = append(m.Evidence, e.ev.ev)
		}
	}
	m.First, m.Last = time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC()
	sortEvidence(m.Evidence)
	if n := c.limits.MaxEvidence; len(m.Evidence) > n {
		// Keep the oldest and the newest (the one that completed it).
		m.EvidenceOmitted += len(m.Evidence) - n
		m.Evidence = append(m.Evidence[:n-1], m.Evidence[len(m.Evidence)-1])
	}
	if n := c.limits.MaxEvidence; len(m.Parts) > n {
		m.Parts = append(m.Parts[:n-1], m.Parts[len(m.Parts)-1])
	}
	if st.c.Type == CorrValueCount {
		seen := map[string]bool{}
		for _, e := range win {
			if !seen[e.val] {
				seen[e.val] = true
				m.Values = append(m.Values, corrTupleText(e.val, len(st.c.Condition.Field)))
			}
		}
		sort.Strings(m.Values)
		if n := c.limits.MaxValues; len(m.Values) > n {
			m.ValuesOmitted = len(m.Values) - n
			m.Values = m.Values[:n]
		}
	}
	return m
}

// corrTuple reads fields from an observation: the values, and a key that
// tells tuples apart (the value itself for one field). ok is false when a
// field is missing.
func corrTuple(o *corrObs, fields []string) (key string, vals []string, ok bool) {
	if len(fields) == 0 {
		return "", nil, true
	}
	vals = make([]string, len(fields))
	for i, f := range fields {
		v, ok := o.lookup(f)
		if !ok {
			return "", nil, false
		}
		vals[i] = v
	}
	if len(vals) == 1 {
		return vals[0], vals, true
	}
	var b strings.Builder
	for _, v := range vals {
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(v)
	}
	return b.String(), vals, true
}

// corrTupleText renders a tuple key of n fields for reports: "a | b".
func corrTupleText(key string, n int) string {
	if n <= 1 {
		return key
	}
	var parts []string
	for key != "" {
		i := strings.IndexByte(key, ':')
		if i < 0 {
			break
		}
		l, err := strconv.Atoi(key[:i])
		if err != nil || l < 0 || i+1+l > len(key) {
			break
		}
		parts = append(parts, key[i+1:i+1+l])
		key = key[i+1+l:]
	}
	return strings.Join(parts, " | ")
}

// corrParseNumber reads a numeric field: decimal or float text, or the
// 0x-prefixed hexadecimal Windows writes for many numbers.
func corrParseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false
		}
		return f, true
	}
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		if u, err := strconv.ParseUint(s[2:], 16, 64); err == nil {
			return float64(u), true
		}
	}
	return 0, false
}
