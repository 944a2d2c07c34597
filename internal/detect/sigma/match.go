package sigma

import (
	"net/netip"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// Matching one event:
//
//  1. pick the bucket of the event: Windows events by Channel and EventID,
//     others by event.Source; no bucket, no work;
//  2. fill the slot table: each event field a rule refers to gets its value
//     in the slot the compiler gave that name (no map per event; slots of
//     the previous event are invalidated by a generation counter, not
//     cleared);
//  3. run each prefilter field's value through its scanner (which folds
//     ASCII case itself) and mark the instances all of whose literal sets
//     occur;
//  4. take the marked instances and those without prefilter, in rule
//     order, drop those a guard of the bucket rules out (guard.go), and
//     evaluate the others: report the ones whose condition holds (and no
//     filter suppresses).
//
// Values are lower-cased once per event, lazily (only when a check needs
// it), into a buffer the Matcher reuses. The pairs of a map are evaluated
// cheapest first, so regular expressions run last, on the few events that
// pass everything else, and behind their filters (regexfilter.go).

// Matcher evaluates a Ruleset on events. It holds scratch space: use one
// Matcher per goroutine.
type Matcher struct {
	c       *compiled
	gen     uint32
	slots   []slot
	low     []byte   // lower-cased values of this event
	mark    []uint32 // per bucket instance: gen when bits is valid
	bits    []uint8  // per bucket instance: prefilter sets seen (0x80: a candidate)
	cands   []int32
	hits    []int32
	ev      *event.Event
	kw      []kwValue // every field value of this event (keywords)
	kwGen   uint32
	vals    []string // every field value of this event, in order (values)
	valsGen uint32
	joined  []byte       // scratch: the keyword values joined (joinValues)
	addr    addrMemo     // the slot last parsed as an address (slotAddr)
	key     []byte       // scratch: a field name without spaces, a lower-cased channel
	shapes  [][]nameSlot // per bucket: the field names of its last event (fill)
	last    lastBucket   // the bucket of the last event (bucketFor)

	// Profiling (Profile): per-rule costs and the prefilter's time.
	prof     map[*Rule]*RuleCost
	prefTime time.Duration

	// exhaustive (tests only) evaluates every instance of the bucket, each
	// item value by value: the reference the shortcuts are checked against.
	exhaustive bool
}

type kwValue struct{ val, low string }

// addrMemo is the value of slot s parsed as an address, in event gen.
type addrMemo struct {
	s    *slot
	gen  uint32
	addr netip.Addr
	ok   bool
}

type slot struct {
	gen  uint32 // == Matcher.gen: present in this event
	lgen uint32 // == Matcher.gen: low is valid
	val  string
	low  string
}

// NewMatcher returns a Matcher for rs, compiling rs on first use.
func (rs *Ruleset) NewMatcher() *Matcher {
	return newMatcher(rs.compile())
}

func newMatcher(c *compiled) *Matcher {
	return &Matcher{
		c:      c,
		slots:  make([]slot, len(c.fieldName)),
		mark:   make([]uint32, c.maxInsts),
		bits:   make([]uint8, c.maxInsts),
		shapes: make([][]nameSlot, c.stats.Buckets),
	}
}

// Match calls fn for each rule that fires on ev, in rule order. fn must not
// keep ev's values beyond the call: nothing of them is passed anyway.
func (m *Matcher) Match(ev *event.Event, fn func(r *Rule)) {
	b := m.bucketFor(ev)
	if b == nil || len(b.insts) == 0 {
		return
	}
	m.next()
	m.ev = ev
	m.fill(ev, b)
	if m.prof != nil {
		m.matchProfiled(b, fn)
		return
	}
	cands := m.candidates(b)
	for _, idx := range cands {
		if m.guarded(b, idx) {
			continue
		}
		in := b.insts[idx]
		if m.evalInst(in) {
			fn(in.rule)
		}
	}
	m.ev = nil
}

// guarded reports whether a guard of the bucket's instance idx rules it out
// (never in the exhaustive evaluation of the tests).
func (m *Matcher) guarded(b *bucket, idx int32) bool {
	gs := b.guards[b.guardStart[idx]:b.guardStart[idx+1]]
	return len(gs) > 0 && !m.exhaustive && m.ruledOut(gs)
}

// RuleCost is what one rule cost a profiling Matcher: how often its
// condition was evaluated (the events the prefilter let through to it) and
// how long that took.
type RuleCost struct {
	Rule  *Rule
	Evals int64
	Time  time.Duration
}

// Profile turns per-rule timing on (for `kizuki hunt --stats`): two clock
// reads more per evaluated rule. The time of the shared prefilter scan is
// counted apart (PrefilterTime).
func (m *Matcher) Profile(on bool) {
	if on && m.prof == nil {
		m.prof = map[*Rule]*RuleCost{}
	} else if !on {
		m.prof = nil
	}
}

// Costs returns the per-rule costs measured since Profile(true).
func (m *Matcher) Costs() []RuleCost {
	out := make([]RuleCost, 0, len(m.prof))
	for _, c := range m.prof {
		out = append(out, *c)
	}
	return out
}

// PrefilterTime is the time spent scanning the events' fields for the
// rules' literals, measured since Profile(true).
func (m *Matcher) PrefilterTime() time.Duration { return m.prefTime }

func (m *Matcher) matchProfiled(b *bucket, fn func(r *Rule)) {
	t0 := time.Now()
	cands := m.candidates(b)
	t1 := time.Now()
	m.prefTime += t1.Sub(t0)
	for _, idx := range cands {
		in := b.insts[idx]
		ok := !m.guarded(b, idx) && m.evalInst(in)
		t2 := time.Now()
		c := m.prof[in.rule]
		if c == nil {
			c = &RuleCost{Rule: in.rule}
			m.prof[in.rule] = c
		}
		c.Evals++
		c.Time += t2.Sub(t1)
		t1 = t2
		if ok {
			fn(in.rule)
			t1 = time.Now()
		}
	}
	m.ev = nil
}

// next starts a new event: a new generation invalidates every slot and
// mark; on wrap-around they are cleared for real.
func (m *Matcher) next() {
	m.gen++
	if m.gen == 0 {
		clear(m.slots)
		clear(m.mark)
		m.kwGen, m.valsGen = 0, 0
		m.addr = addrMemo{}
		m.gen = 1
	}
	m.low = m.low[:0]
}

// bucketFor returns the bucket of the rules that can match ev. Consecutive
// events mostly come from one log: the last event's bucket is kept with
// its source, Channel and EventID (when it has both: otherwise the extras
// decide), and comparing those is cheaper than the lookups.
func (m *Matcher) bucketFor(ev *event.Event) *bucket {
	ch, eid := ev.Get(event.Channel), ev.Get(event.EventID)
	if ch == "" || eid == "" {
		return m.lookupBucket(ev)
	}
	if l := &m.last; l.ok && ch == l.channel && eid == l.eventID && ev.Source == l.source {
		return l.b
	}
	b := m.lookupBucket(ev)
	m.last = lastBucket{true, ev.Source, ch, eid, b}
	return b
}

// lastBucket is the bucket of the last event, with what chose it.
type lastBucket struct {
	ok                       bool
	source, channel, eventID string
	b                        *bucket
}

// lookupBucket is bucketFor without the memory of the last event.
func (m *Matcher) lookupBucket(ev *event.Event) *bucket {
	c := m.c
	if !c.routes.isWindowsSource(ev.Source) {
		return c.sources[ev.Source]
	}
	ch := ev.Get(event.Channel)
	if ch == "" {
		ch = ev.Extra("Channel")
	}
	ci := c.channels[ch]
	if ci == nil {
		m.key = lowerAppend(m.key[:0], ch)
		ci = c.channelsLower[string(m.key)]
		if ci == nil {
			return c.winAny
		}
	}
	eid := ev.Get(event.EventID)
	if eid == "" {
		eid = ev.Extra("EventID")
	}
	if b := ci.byEID[eid]; b != nil {
		return b
	}
	return ci.any
}

// fill puts the event's fields in their slots. Events of one bucket mostly
// come from one template (a Sysmon 1, a Security 4624), with the same field
// names in the same order, so the bucket remembers the slot of the name at
// each position of the last event: a field whose name is that one (the
// same string, usually: compared by pointer first) skips the name table.
//
// For a bucket with keyword rules it also keeps the values, in order, for
// the keyword scans (see values).
func (m *Matcher) fill(ev *event.Event, b *bucket) {
	gen := m.gen
	shape := m.shapes[b.id]
	i := 0
	vals := m.vals[:0]
	keep := b.keywords
	ev.Fields(func(k, v string) {
		if keep {
			vals = append(vals, v)
		}
		var id int32
		if i < len(shape) && sameString(shape[i].name, k) {
			id = shape[i].id
		} else {
			id = m.slotOf(k)
			if i < len(shape) {
				shape[i] = nameSlot{k, id}
			} else {
				shape = append(shape, nameSlot{k, id})
			}
		}
		i++
		if id >= 0 {
			s := &m.slots[id]
			s.gen, s.val = gen, v
		}
	})
	m.shapes[b.id] = shape
	if keep {
		m.vals, m.valsGen = vals, gen
	}
	for _, d := range b.derived {
		src := &m.slots[d.src]
		if src.gen != gen {
			continue
		}
		if v := d.fn(src.val); v != "" {
			s := &m.slots[d.fid]
			s.gen, s.val = gen, v
		}
	}
}

// sameString is a == b, without a call when both are the same string (the
// field names of one EVTX template are).
func sameString(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b)
}

// nameSlot is an event field name and its slot (-1: none).
type nameSlot struct {
	name string
	id   int32
}

// slotOf returns the slot of an event field name, -1 when no rule uses it.
func (m *Matcher) slotOf(k string) int32 {
	names := m.c.names
	id, ok := names.lookup(k)
	if !ok && strings.IndexByte(k, ' ') >= 0 {
		// Sigma names a field "as it appears in the log source" with the
		// spaces stripped: Defender's "Source Name" is SourceName.
		m.key = appendStripped(m.key[:0], k)
		id, ok = names.lookup(string(m.key))
	}
	if !ok {
		return -1
	}
	return id
}

func appendStripped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' {
			dst = append(dst, s[i])
		}
	}
	return dst
}

// lower returns the slot's value lower-cased, computing it once per event.
func (m *Matcher) lower(s *slot) string {
	if s.lgen == m.gen {
		return s.low
	}
	s.lgen = m.gen
	// The buffer only grows during an event; a reallocation leaves earlier
	// strings pointing into the old array, which stays valid and unchanged
	// until the next event.
	s.low = m.lowerText(s.val)
	return s.low
}

// candidates returns the indexes of the bucket's instances to evaluate, in
// order: those without prefilter and those whose literals occur.
func (m *Matcher) candidates(b *bucket) []int32 {
	if m.exhaustive {
		cands := m.cands[:0]
		for i := range b.insts {
			cands = append(cands, int32(i))
		}
		m.cands = cands
		return cands
	}
	cands := append(m.cands[:0], b.always...)
	hits := m.hits[:0]
	gen := m.gen
	added := false
	for i := range b.scans {
		sc := &b.scans[i]
		if sc.fid == kwFID {
			hits = hits[:0]
			if a := sc.sc; a.samp != nil {
				// Sampled scans need no joining (which costs a copy).
				hits = a.scanSampledAll(m.values(), hits)
			} else if sep, ok := a.joinSeparator(); ok {
				hits = a.scan(m.joinValues(sep), hits)
			} else {
				for _, v := range m.values() {
					hits = a.scan(v, hits)
				}
			}
			if b.keywordsRaw {
				hits = sc.sc.scan(m.ev.Raw, hits)
			}
		} else {
			s := &m.slots[sc.fid]
			if s.gen != gen {
				continue
			}
			hits = sc.sc.scan(s.val, hits[:0])
		}
		for _, lit := range hits {
			for _, h := range sc.post[sc.postStart[lit]:sc.postStart[lit+1]] {
				i := h >> 1
				if m.mark[i] != gen {
					m.mark[i], m.bits[i] = gen, 0
				}
				bits := m.bits[i] | 1<<(h&1)
				if bits == b.need[i] {
					// Every set of the instance's prefilter is seen.
					cands = append(cands, i)
					added = true
					bits |= 0x80
				}
				m.bits[i] = bits
			}
		}
	}
	if added {
		slices.Sort(cands)
	}
	m.cands, m.hits = cands, hits
	return cands
}

func (m *Matcher) evalInst(in *inst) bool {
	for i := range in.where {
		if !m.evalItem(in, &in.where[i]) {
			return false
		}
	}
	if !m.evalNode(in, in.sels, in.cond) {
		return false
	}
	for i := range in.excl {
		x := &in.excl[i]
		if m.evalNode(in, x.sels, x.cond) {
			return false
		}
	}
	return true
}

func (m *Matcher) evalNode(in *inst, sels []csel, n *cnode) bool {
	switch n.op {
	case cSel:
		return m.evalSel(in, sels[n.sel])
	case cAnd:
		for _, k := range n.kids {
			if !m.evalNode(in, sels, k) {
				return false
			}
		}
		return true
	case cOr:
		for _, k := range n.kids {
			if m.evalNode(in, sels, k) {
				return true
			}
		}
		return false
	case cNot:
		return !m.evalNode(in, sels, n.kids[0])
	case cAtLeast:
		got, left := 0, len(n.kids)
		for _, k := range n.kids {
			left--
			if m.evalNode(in, sels, k) {
				got++
				if got >= n.n {
					return true
				}
			}
			if got+left < n.n {
				return false
			}
		}
		return false
	}
	return false
}

func (m *Matcher) evalSel(in *inst, s csel) bool {
	for _, alt := range s {
		ok := true
		for i := range alt {
			if !m.evalItem(in, &alt[i]) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (m *Matcher) evalItem(in *inst, it *citem) bool {
	var r bool
	if it.fid < 0 {
		r = m.evalKeywords(in, it)
	} else if it.set != nil && !m.exhaustive {
		s := &m.slots[it.fid]
		present := s.gen == m.gen
		r = (present && it.set.match(m.lower(s))) ||
			(len(it.rest) > 0 && m.evalGroup(it.rest[0], s, present))
	} else {
		s := &m.slots[it.fid]
		present := s.gen == m.gen
		r = it.all
		for gi := range it.groups {
			g := m.evalGroup(it.groups[gi], s, present)
			if it.all && !g {
				r = false
				break
			}
			if !it.all && g {
				r = true
				break
			}
		}
	}
	return r != it.negate
}

// evalGroup reports whether one of the checks of a group matches the slot.
func (m *Matcher) evalGroup(g []check, s *slot, present bool) bool {
	for i := range g {
		c := &g[i]
		switch c.kind {
		case cNull:
			if !present {
				return true
			}
			continue
		case cExists:
			if present == c.want {
				return true
			}
			continue
		case cNever:
			continue
		}
		if !present {
			continue
		}
		switch {
		case c.kind == cFieldRef:
			if m.matchRef(c, s) {
				return true
			}
		case c.kind == cRegex && c.rf != nil && !m.exhaustive:
			if m.matchRegex(c, s) {
				return true
			}
		case c.kind == cCIDR && !m.exhaustive:
			if a, ok := m.slotAddr(s); ok && c.cidr.Contains(a) {
				return true
			}
		case (c.kind == cString && !c.pat.cased) || c.kind == cNumber:
			if c.matchValue(s.val, m.lower(s)) {
				return true
			}
		default:
			if c.matchValue(s.val, "") {
				return true
			}
		}
	}
	return false
}

// slotAddr returns the slot's value as an address (see fieldAddr), parsed
// once for the checks of an item: "IpAddress|cidr" lists eight private
// networks.
func (m *Matcher) slotAddr(s *slot) (netip.Addr, bool) {
	if a := &m.addr; a.s != s || a.gen != m.gen {
		a.s, a.gen = s, m.gen
		a.addr, a.ok = fieldAddr(s.val)
	}
	return m.addr.addr, m.addr.ok
}

// matchRegex runs a regular expression on the slot's value, through its
// filter (see regexFilter).
func (m *Matcher) matchRegex(c *check, s *slot) bool {
	f := c.rf
	if f.run != nil {
		return f.run.match(s.val)
	}
	low := ""
	if f.fold {
		low = m.lower(s)
	}
	ok, exact := f.admits(s.val, low)
	if exact || !ok {
		return ok
	}
	return c.re.MatchString(s.val)
}

func (m *Matcher) matchRef(c *check, s *slot) bool {
	r := &m.slots[c.refFID]
	if r.gen != m.gen {
		return false
	}
	if c.cased {
		return matchFieldRef(c.refPrefix, c.refSuffix, s.val, r.val)
	}
	return matchFieldRef(c.refPrefix, c.refSuffix, m.lower(s), m.lower(r))
}

// evalKeywords evaluates a keyword item: each value (group) is looked for in
// every field value of the event (and its raw line where the logsource says
// so).
func (m *Matcher) evalKeywords(in *inst, it *citem) bool {
	vals := m.keywordValues()
	raw := ""
	if in.keywordsRaw {
		raw = m.ev.Raw
	}
	for _, g := range it.groups {
		found := false
		for i := range g {
			c := &g[i]
			for _, v := range vals {
				if m.keywordMatch(c, v.val, v.low) {
					found = true
					break
				}
			}
			if !found && raw != "" {
				found = m.keywordMatch(c, raw, m.lowerText(raw))
			}
			if found {
				break
			}
		}
		if it.all && !found {
			return false
		}
		if !it.all && found {
			return true
		}
	}
	return it.all
}

func (m *Matcher) keywordMatch(c *check, v, low string) bool {
	if (c.kind == cString && !c.pat.cased) || c.kind == cNumber {
		return c.matchValue(v, low)
	}
	return c.matchValue(v, "")
}

// keywordValues returns every field value of the event with its lower-cased
// form, once per event.
func (m *Matcher) keywordValues() []kwValue {
	if m.kwGen == m.gen {
		return m.kw
	}
	m.kwGen = m.gen
	m.kw = m.kw[:0]
	for _, v := range m.values() {
		if v != "" {
			m.kw = append(m.kw, kwValue{v, m.lowerText(v)})
		}
	}
	return m.kw
}

// joinValues returns the event's field values keywords are searched in
// (values'), each followed by sep, as one text in the Matcher's buffer:
// valid until the next call.
func (m *Matcher) joinValues(sep byte) string {
	buf := m.joined[:0]
	for _, v := range m.values() {
		buf = append(buf, v...)
		buf = append(buf, sep)
	}
	m.joined = buf
	return unsafe.String(unsafe.SliceData(buf), len(buf))
}

// values returns every field value keywords are searched in: all of them,
// but for Windows events the common fields, which are copies of the Windows
// fields (command_line of CommandLine...) and come first. fill kept them
// for a bucket with keyword rules.
func (m *Matcher) values() []string {
	if m.valsGen != m.gen {
		vals := m.vals[:0]
		m.ev.Fields(func(_, v string) { vals = append(vals, v) })
		m.vals, m.valsGen = vals, m.gen
	}
	skip := 0
	if m.c.routes.isWindowsSource(m.ev.Source) {
		for k := event.Key(0); int(k) < event.NumKeys; k++ {
			if m.ev.Has(k) {
				skip++
			}
		}
	}
	return m.vals[skip:]
}

// lowerText lower-cases s into the event's buffer.
func (m *Matcher) lowerText(s string) string {
	if !needsLower(s) {
		return s
	}
	start := len(m.low)
	m.low = lowerAppend(m.low, s)
	return unsafe.String(unsafe.SliceData(m.low[start:]), len(m.low)-start)
}
