package sigma

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Compiling a Ruleset for matching. Every rule is compiled once per route
// of its logsource into an instance whose field names are resolved to slot
// numbers (after the route's field mapping). Instances are indexed by where
// their events come from: Windows events by (Channel, EventID), other events
// by event.Source. For a rule whose logsource does not restrict the EventID
// (service: security), the EventIDs its condition requires (EventID: 4624)
// are used instead, so an event meets only the rules that can fire on it.
//
// Each instance also gets a prefilter: a set of (field, literal) of which at
// least one occurs in the event whenever the rule matches. Per index bucket,
// the literals of each field go into one Aho-Corasick automaton, so matching
// an event scans each field value once and then evaluates only the rules
// whose literals were seen (plus the few that have no prefilter).

// compiled is a Ruleset ready for matching; immutable, shared by Matchers.
type compiled struct {
	fieldID   map[string]int32 // event field name → slot (while compiling)
	fieldName []string         // slot → event field name
	names     *nameTable       // event field name → slot (matching)
	routes    *routeTable

	channels      map[string]*chanIndex // Windows channel → its buckets
	channelsLower map[string]*chanIndex // the same, by lower-case channel
	winAny        *bucket               // Windows events of a channel no rule names
	sources       map[string]*bucket    // other event sources

	insts    []*inst
	maxInsts int // largest bucket
	stats    Stats

	// The prefilter literals of each field and kind, over all buckets,
	// with their ids, and the scanners of the buckets' subsets of them.
	litID    map[flit]int32
	lits     map[scanKey][]string // by id
	scanners map[string]*scanner  // by field, kind and literal ids
}

type chanIndex struct {
	byEID map[string]*bucket
	any   *bucket // EventIDs not in byEID
}

// inst is one rule compiled for one route.
type inst struct {
	rule        *Rule
	order       int // index of the rule in Ruleset.rules: firing order
	cond        *cnode
	sels        []csel
	where       []citem // the route's own conditions (registry_add: EventType)
	excl        []exclusion
	keywordsRaw bool
	pre         preSets // prefilter; nil = evaluate always
	guards      []guard // checks that can rule it out at once (guard.go)
}

// csel is a selection with resolved fields: OR of AND-groups.
type csel [][]citem

// citem is an item with its field resolved to a slot.
type citem struct {
	fid    int32 // slot; -1 for keywords
	all    bool
	negate bool
	groups [][]check
	set    *strSet   // see item.set
	rest   [][]check // evaluated with set, instead of groups
}

// hasKeywords reports whether the instance (or a filter of it) has a
// keyword item.
func (in *inst) hasKeywords() bool {
	has := func(sels []csel) bool {
		for _, s := range sels {
			for _, alt := range s {
				for i := range alt {
					if alt[i].fid == kwFID {
						return true
					}
				}
			}
		}
		return false
	}
	if has(in.sels) {
		return true
	}
	for i := range in.excl {
		if has(in.excl[i].sels) {
			return true
		}
	}
	return false
}

// exclusion is a filter applied to an instance: it suppresses the instance's
// matches when its condition holds.
type exclusion struct {
	cond *cnode
	sels []csel
}

// bucket holds the instances one kind of event can match.
type bucket struct {
	id          int // 0..Stats.Buckets-1
	insts       []*inst
	keywords    bool       // an instance has keywords (Matcher.fill keeps the values)
	keywordsRaw bool       // an instance searches keywords in the raw record
	need        []uint8    // per instance: the bits of its prefilter sets (0: none)
	always      []int32    // indexes into insts of instances without prefilter
	scans       []scanSpec // one automaton per field with prefilter literals
	derived     []derivedField
	// The guards of insts[i] are guards[guardStart[i]:guardStart[i+1]]
	// (guard.go).
	guards     []guard
	guardStart []int32
}

// scanSpec is one field's prefilter of one kind in a bucket: the scanner
// of the bucket's literals of that field and kind (shared by the buckets
// with the same literals) and, per literal it reports, the bucket's
// instances that need it.
type scanSpec struct {
	fid int32
	sc  *scanner
	// The hits of literal l are post[postStart[l]:postStart[l+1]]: index
	// into bucket.insts << 1 | prefilter set. (One array, not one slice
	// per literal: fewer cache lines to miss.)
	post      []int32
	postStart []int32
}

// scanKey names a scanner: a field and a literal kind.
type scanKey struct {
	fid  int32
	kind litKind
}

type derivedField struct {
	fid, src int32
	fn       func(string) string
}

// Stats says what a compiled Ruleset holds.
type Stats struct {
	Rules        int // detection rules loaded
	Routed       int // rules that can fire on some kizuki source
	NoSource     int // rules whose logsource no kizuki source feeds
	Degraded     int // rules that loaded but cannot run (unresolved placeholders)
	Filters      int
	Instances    int // rules × routes compiled
	Prefiltered  int // instances with a literal prefilter
	Buckets      int
	AutomataSize int // bytes of the prefilter automata
}

// Stats returns the Ruleset's figures (compiling it if needed).
func (rs *Ruleset) Stats() Stats { return rs.compile().stats }

func (rs *Ruleset) compile() *compiled {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.comp == nil {
		rs.comp = buildCompiled(rs, true)
	}
	return rs.comp
}

// instKey says where an instance is indexed.
type instKey struct {
	source  string // non-Windows event source; "" for Windows
	channel string // Windows channel; anyChannel for all
	eventID string // "" for any
}

// buildCompiled compiles rs. byRequiredEventID indexes the rules of
// channel-wide logsources by the EventIDs their conditions require; tests
// compile without it to check that it loses nothing.
func buildCompiled(rs *Ruleset, byRequiredEventID bool) *compiled {
	c := &compiled{
		fieldID:       map[string]int32{},
		channels:      map[string]*chanIndex{},
		channelsLower: map[string]*chanIndex{},
		sources:       map[string]*bucket{},
	}
	t := rs.routes
	if t == nil {
		t = &routeTable{}
	}
	c.routes = t
	c.stats.Rules = len(rs.rules)
	c.stats.Filters = len(rs.filters)

	keys := map[*inst][]instKey{}
	derivedOf := map[*inst][]derivedField{}
	for order, r := range rs.rules {
		switch {
		case r.det == nil:
			continue
		case r.Degraded != "":
			c.stats.Degraded++
			continue
		case r.NoSource != "":
			c.stats.NoSource++
			continue
		}
		routes := t.routesFor(r.Logsource)
		if len(routes) == 0 {
			c.stats.NoSource++
			continue
		}
		c.stats.Routed++
		var filters []*Filter
		for _, f := range rs.filters {
			if f.appliesTo(r) {
				filters = append(filters, f)
			}
		}
		for ri := range routes {
			rt := &routes[ri]
			in := c.compileInst(r, order, rt, filters)
			c.insts = append(c.insts, in)
			keys[in] = c.instKeys(r, rt, byRequiredEventID)
			names := make([]string, 0, len(rt.Derive))
			for name := range rt.Derive {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				d := rt.Derive[name]
				derivedOf[in] = append(derivedOf[in], derivedField{
					fid: c.intern(derivedName(d)), src: c.intern(d[1]), fn: deriveFunc(d[0]),
				})
			}
		}
	}
	c.stats.Instances = len(c.insts)
	c.buildScanners()
	c.names = newNameTable(c.fieldName)

	// Group instances into buckets.
	winAny := []*inst{}
	perChan := map[string]map[string][]*inst{} // channel → eventID ("" any) → insts
	perSource := map[string][]*inst{}
	for _, in := range c.insts {
		for _, k := range keys[in] {
			switch {
			case k.source != "":
				perSource[k.source] = append(perSource[k.source], in)
			case k.channel == anyChannel:
				winAny = append(winAny, in)
			default:
				m := perChan[k.channel]
				if m == nil {
					m = map[string][]*inst{}
					perChan[k.channel] = m
				}
				m[k.eventID] = append(m[k.eventID], in)
			}
		}
	}
	c.winAny = c.newBucket(winAny, derivedOf)
	for ch, m := range perChan {
		ci := &chanIndex{byEID: map[string]*bucket{}}
		anyEID := append(append([]*inst(nil), m[""]...), winAny...)
		ci.any = c.newBucket(anyEID, derivedOf)
		for eid, list := range m {
			if eid == "" {
				continue
			}
			ci.byEID[eid] = c.newBucket(append(append(list[:len(list):len(list)], m[""]...), winAny...), derivedOf)
		}
		c.channels[ch] = ci
		c.channelsLower[strings.ToLower(ch)] = ci
	}
	for src, list := range perSource {
		c.sources[src] = c.newBucket(list, derivedOf)
	}
	for _, in := range c.insts {
		if in.pre != nil {
			c.stats.Prefiltered++
		}
	}
	return c
}

// scanLiteral returns the form of a prefilter literal put in a scanner.
func scanLiteral(fl flit) flit {
	fl.lit = trimLiteral(fl.lit, fl.kind)
	fl.exact, fl.weak = false, false
	return fl
}

// buildScanners gives every prefilter literal an id per field and kind (the
// scanners themselves are built per bucket, see bucketScanner).
//
// Literals a scanner cannot tell apart share one id: those that differ only
// in their non-ASCII bytes, which all fall in one byte class (a rule listing
// a thousand emoji has a few distinct class sequences, not a thousand). The
// scanner would report them all at once anyway; one id makes that one
// report and one posting list instead of a thousand.
func (c *compiled) buildScanners() {
	c.litID = map[flit]int32{}
	c.lits = map[scanKey][]string{}
	c.scanners = map[string]*scanner{}
	byClass := map[flit]int32{} // literal with its non-ASCII bytes as 0x80 → id
	for _, in := range c.insts {
		for _, set := range in.pre {
			for _, fl := range set {
				fl = scanLiteral(fl)
				if _, ok := c.litID[fl]; ok {
					continue
				}
				k := scanKey{fl.fid, fl.kind}
				cl := fl
				cl.lit = classString(fl.lit)
				id, ok := byClass[cl]
				if !ok {
					id = int32(len(c.lits[k]))
					byClass[cl] = id
					c.lits[k] = append(c.lits[k], cl.lit)
				}
				c.litID[fl] = id
			}
		}
	}
}

// bucketScanner returns the scanner of the literals ids (sorted) of field
// and kind k, reporting ids[i] as i. A bucket's scanner holds only the
// literals of its own instances: the keyword scanner of most Windows events
// has the twenty-odd literals of the one rule for all of them, not the
// hundred of every keyword rule, and so fits in the first-level cache.
// Buckets with the same literals share one scanner.
func (c *compiled) bucketScanner(k scanKey, ids []int32) *scanner {
	key := fmt.Sprint(k.fid, k.kind, ids)
	if sc := c.scanners[key]; sc != nil {
		return sc
	}
	lits := make([]string, len(ids))
	payload := make([][]int32, len(ids))
	for i, id := range ids {
		lits[i] = c.lits[k][id]
		payload[i] = []int32{int32(i)}
	}
	sc := buildScanner(k.kind, lits, payload, false)
	c.scanners[key] = sc
	c.stats.AutomataSize += sc.size()
	return sc
}

// classString returns s with every non-ASCII byte replaced by 0x80: the
// byte sequence a (non-exact) scanner sees, since it gives all non-ASCII
// bytes one class.
func classString(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 0x80 {
					b[j] = 0x80
				}
			}
			return string(b)
		}
	}
	return s
}

// intern returns the slot of an event field name.
func (c *compiled) intern(name string) int32 {
	if id, ok := c.fieldID[name]; ok {
		return id
	}
	id := int32(len(c.fieldName))
	c.fieldID[name] = id
	c.fieldName = append(c.fieldName, name)
	return id
}

// instKeys says where an instance of r on route rt is indexed.
func (c *compiled) instKeys(r *Rule, rt *lsRoute, byRequiredEventID bool) []instKey {
	var keys []instKey
	if len(rt.Channel) == 0 {
		for _, s := range rt.Sources {
			keys = append(keys, instKey{source: s})
		}
		return keys
	}
	eids := rt.EventID
	if len(eids) == 0 && byRequiredEventID {
		if req, ok := requiredValues(r.det, r.det.cond, "EventID"); ok {
			eids = req
		}
	}
	for _, ch := range rt.Channel {
		if len(eids) == 0 || ch == anyChannel {
			keys = append(keys, instKey{channel: ch})
			continue
		}
		for _, e := range eids {
			keys = append(keys, instKey{channel: ch, eventID: e})
		}
	}
	return keys
}

func (c *compiled) compileInst(r *Rule, order int, rt *lsRoute, filters []*Filter) *inst {
	in := &inst{rule: r, order: order, cond: r.det.cond, keywordsRaw: rt.Keywords == "raw"}
	in.sels = c.compileSels(r.det, rt)
	keys := make([]string, 0, len(rt.Where))
	for k := range rt.Where {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var g []check
		for _, v := range rt.Where[k] {
			p := compileString(sstring{{kind: pLit, s: v}}, false)
			g = append(g, check{kind: cString, pat: p, lits: stringLits(p)})
		}
		in.where = append(in.where, citem{fid: c.intern(rt.mapField(k)), groups: [][]check{g}})
	}
	for _, f := range filters {
		in.excl = append(in.excl, exclusion{cond: f.det.cond, sels: c.compileSels(f.det, rt)})
	}
	in.pre = prefilter(in)
	in.guards = guardsOf(in)
	return in
}

func (c *compiled) compileSels(d *detection, rt *lsRoute) []csel {
	sels := make([]csel, len(d.sels))
	for si, s := range d.sels {
		cs := make(csel, len(s.alts))
		for ai, alt := range s.alts {
			items := make([]citem, len(alt))
			for ii, it := range alt {
				ci := citem{fid: -1, all: it.all, negate: it.negate, groups: it.groups, set: it.set, rest: it.rest}
				if it.field != "" {
					ci.fid = c.intern(rt.mapField(it.field))
				}
				ci.groups = c.resolveRefs(it.groups, rt)
				ci.rest = c.resolveRefs(it.rest, rt)
				items[ii] = ci
			}
			// The pairs of a map are AND-ed: test the cheap ones first,
			// regular expressions last.
			sort.SliceStable(items, func(i, j int) bool { return itemCost(&items[i]) < itemCost(&items[j]) })
			cs[ai] = items
		}
		sels[si] = cs
	}
	return sels
}

// itemCost ranks an item by the cost of evaluating it.
func itemCost(it *citem) int {
	cost := 1
	if it.fid < 0 {
		cost = 3 // keywords: every field value
	}
	for _, g := range it.groups {
		for _, c := range g {
			switch c.kind {
			case cRegex:
				cost = max(cost, 4)
			case cCIDR, cCompare, cTimePart, cFieldRef:
				cost = max(cost, 2)
			}
		}
	}
	return cost
}

// resolveRefs returns groups with the slots of their field references set
// for route rt (a copy when there are any).
func (c *compiled) resolveRefs(groups [][]check, rt *lsRoute) [][]check {
	if !hasFieldRef(groups) {
		return groups
	}
	out := make([][]check, len(groups))
	for gi, g := range groups {
		out[gi] = append([]check(nil), g...)
		for k := range out[gi] {
			if ch := &out[gi][k]; ch.kind == cFieldRef {
				ch.refFID = c.intern(rt.mapField(ch.ref))
			}
		}
	}
	return out
}

func hasFieldRef(groups [][]check) bool {
	for _, g := range groups {
		for _, c := range g {
			if c.kind == cFieldRef {
				return true
			}
		}
	}
	return false
}

// newBucket builds a bucket: instances in firing order, and the prefilter
// automata of its fields.
func (c *compiled) newBucket(list []*inst, derivedOf map[*inst][]derivedField) *bucket {
	b := &bucket{id: c.stats.Buckets}
	seen := map[*inst]bool{}
	for _, in := range list {
		if !seen[in] {
			seen[in] = true
			b.insts = append(b.insts, in)
		}
	}
	sort.SliceStable(b.insts, func(i, j int) bool { return b.insts[i].order < b.insts[j].order })
	if len(b.insts) > c.maxInsts {
		c.maxInsts = len(b.insts)
	}
	c.stats.Buckets++
	posts := map[scanKey]map[int32][]int32{} // literal id → hits
	derivedSeen := map[int32]bool{}
	b.guardStart = []int32{0}
	for idx, in := range b.insts {
		b.keywordsRaw = b.keywordsRaw || in.keywordsRaw
		b.keywords = b.keywords || in.hasKeywords()
		for _, d := range derivedOf[in] {
			if !derivedSeen[d.fid] {
				derivedSeen[d.fid] = true
				b.derived = append(b.derived, d)
			}
		}
		b.need = append(b.need, uint8(1)<<len(in.pre)-1)
		b.guards = append(b.guards, in.guards...)
		b.guardStart = append(b.guardStart, int32(len(b.guards)))
		if in.pre == nil {
			b.always = append(b.always, int32(idx))
			continue
		}
		for si, set := range in.pre {
			hit := int32(idx)<<1 | int32(si)
			for _, fl := range set {
				fl = scanLiteral(fl)
				k := scanKey{fl.fid, fl.kind}
				id := c.litID[fl]
				p := posts[k]
				if p == nil {
					p = map[int32][]int32{}
					posts[k] = p
				}
				if l := p[id]; len(l) == 0 || l[len(l)-1] != hit {
					p[id] = append(l, hit)
				}
			}
		}
	}
	keys := make([]scanKey, 0, len(posts))
	for k := range posts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].fid != keys[j].fid {
			return keys[i].fid < keys[j].fid
		}
		return keys[i].kind < keys[j].kind
	})
	for _, k := range keys {
		p := posts[k]
		ids := make([]int32, 0, len(p))
		for id := range p {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		sp := scanSpec{fid: k.fid, sc: c.bucketScanner(k, ids), postStart: make([]int32, len(ids)+1)}
		for i, id := range ids {
			sp.post = append(sp.post, p[id]...)
			sp.postStart[i+1] = int32(len(sp.post))
		}
		b.scans = append(b.scans, sp)
	}
	return b
}

// requiredValues returns the values field must have (one of) for the
// condition n to hold, when the condition says so: every way to satisfy it
// passes through plain equality tests of field. The second result is false
// when it cannot tell.
func requiredValues(d *detection, n *cnode, field string) ([]string, bool) {
	switch n.op {
	case cSel:
		var out []string
		for _, alt := range d.sels[n.sel].alts {
			vals, ok := altValues(alt, field)
			if !ok {
				return nil, false
			}
			out = union(out, vals)
		}
		return out, len(out) > 0
	case cAnd:
		var out []string
		found := false
		for _, k := range n.kids {
			if vals, ok := requiredValues(d, k, field); ok {
				if !found {
					out, found = vals, true
				} else {
					out = intersect(out, vals)
				}
			}
		}
		return out, found
	case cOr, cAtLeast:
		if n.op == cAtLeast && n.n == len(n.kids) {
			return requiredValues(d, &cnode{op: cAnd, kids: n.kids}, field)
		}
		var out []string
		for _, k := range n.kids {
			vals, ok := requiredValues(d, k, field)
			if !ok {
				return nil, false
			}
			out = union(out, vals)
		}
		return out, true
	}
	return nil, false
}

// altValues returns the values an AND-group requires of field.
func altValues(alt []*item, field string) ([]string, bool) {
	var out []string
	found := false
	for _, it := range alt {
		if it.field != field || it.negate || (it.all && len(it.groups) > 1) {
			continue
		}
		var vals []string
		ok := true
		for _, g := range it.groups {
			for _, ch := range g {
				switch {
				case ch.kind == cNumber && len(ch.lits) == 1:
					vals = append(vals, ch.lits[0].s)
				case ch.kind == cString && ch.pat.kind == patEqual && canonicalDecimal(ch.pat.lit):
					vals = append(vals, ch.pat.lit)
				default:
					ok = false
				}
			}
		}
		if !ok || len(vals) == 0 {
			continue
		}
		if !found {
			out, found = vals, true
		} else {
			out = intersect(out, vals)
		}
	}
	return out, found
}

func union(a, b []string) []string {
	for _, s := range b {
		if !contains(a, s) {
			a = append(a, s)
		}
	}
	return a
}

func intersect(a, b []string) []string {
	var out []string
	for _, s := range a {
		if contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (s Stats) String() string {
	return fmt.Sprintf("%d rules: %d routed, %d no source, %d degraded; %d filters; %d instances (%d prefiltered) in %d buckets; automata %d KB",
		s.Rules, s.Routed, s.NoSource, s.Degraded, s.Filters, s.Instances, s.Prefiltered, s.Buckets, s.AutomataSize>>10)
}
