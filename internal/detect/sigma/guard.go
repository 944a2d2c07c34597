package sigma

import (
	"net/netip"
	"strings"
)

// Guards. Most instances the prefilter lets through do not fire, and
// evaluating one costs mostly cache misses: its condition, selections,
// items and checks are spread over the heap of thousands of rules, and an
// event touches a few of them. Many of those instances are ruled out by one
// plain check: "Execution Of Non-Existing File" cannot fire when Image has
// a backslash (not filter_main_image_absolute_path), "Failed Logon From
// Public IP" when IpAddress is in a private network. Such checks are copied,
// as guards, into an array of the bucket, next to the candidates: the
// Matcher tries them first, and skips the instance when one rules it out.
//
// A guard is either a veto, an item under a NOT at the top of the
// condition (cond = ... and not X, X true when the item is): when one of
// its checks holds, the instance cannot match; or a requirement, an item of
// one check that every match needs (a one-alternative selection AND-ed at
// the top): when it does not hold, the instance cannot match. Only plain
// case-insensitive string checks and |cidr are taken, evaluated exactly as
// evalGroup does (the field present and the pattern matching its
// lower-cased value, or its address inside the network), so a guard never
// rules out an instance that would fire.

// guard is one check that can rule an instance out.
type guard struct {
	fid  int32
	veto bool // rules out when it holds; otherwise when it does not
	cidr bool // the check is |cidr (net), not a string pattern (pat)
	pat  strPattern
	net  netip.Prefix
}

// maxGuards caps the guards of an instance: each costs a little (a
// comparison on a value lower-cased already, mostly) on every event the
// instance is a candidate for.
const maxGuards = 8

// guardsOf returns the guards of an instance.
func guardsOf(in *inst) []guard {
	var out []guard
	add := func(it *citem, veto bool) {
		if len(out) >= maxGuards || it.fid < 0 || it.negate || (it.all && len(it.groups) != 1) {
			return
		}
		var checks []*check
		for _, g := range it.groups {
			for i := range g {
				checks = append(checks, &g[i])
			}
		}
		if !veto && len(checks) != 1 {
			return // a requirement holds when one of its checks does
		}
		for _, c := range checks {
			if len(out) >= maxGuards {
				break
			}
			switch {
			case c.kind == cString && !c.pat.cased:
				p := c.pat
				// A copy of the literal, allocated with the bucket's
				// guards rather than among the rule's data.
				p.lit = strings.Clone(p.lit)
				out = append(out, guard{fid: it.fid, veto: veto, pat: p})
			case c.kind == cCIDR:
				out = append(out, guard{fid: it.fid, veto: veto, cidr: true, net: c.cidr})
			}
		}
	}
	var top []*cnode
	var flatten func(n *cnode)
	flatten = func(n *cnode) {
		if n.op == cAnd || (n.op == cAtLeast && n.n == len(n.kids)) {
			for _, k := range n.kids {
				flatten(k)
			}
			return
		}
		top = append(top, n)
	}
	flatten(in.cond)
	// Vetoes first: the prefilter has already seen the literals of the
	// requirements, the vetoes are news.
	for _, n := range top {
		if n.op == cNot {
			vetoes(in.sels, n.kids[0], func(it *citem) { add(it, true) })
		}
	}
	for _, n := range top {
		if n.op == cSel && len(in.sels[n.sel]) == 1 {
			alt := in.sels[n.sel][0]
			for i := range alt {
				add(&alt[i], false)
			}
		}
	}
	return out
}

// vetoes calls fn with each item whose truth makes n true.
func vetoes(sels []csel, n *cnode, fn func(it *citem)) {
	switch {
	case n.op == cSel:
		for _, alt := range sels[n.sel] {
			if len(alt) == 1 {
				fn(&alt[0])
			}
		}
	case n.op == cOr || (n.op == cAtLeast && n.n == 1):
		for _, k := range n.kids {
			vetoes(sels, k, fn)
		}
	}
}

// ruledOut reports whether one of the guards rules its instance out on the
// current event.
func (m *Matcher) ruledOut(gs []guard) bool {
	for i := range gs {
		g := &gs[i]
		s := &m.slots[g.fid]
		holds := false
		if s.gen == m.gen {
			if g.cidr {
				a, ok := m.slotAddr(s)
				holds = ok && g.net.Contains(a)
			} else {
				holds = g.pat.match(m.lower(s))
			}
		}
		if holds == g.veto {
			return true
		}
	}
	return false
}
