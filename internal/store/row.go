package store

import (
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// rowCursor is the query.Row a search hands to Match and to aggregators:
// one per worker, moved from row to row (no allocation per row), reading
// the block's columns as they are asked for. It answers exactly as
// query.EventRow answers for the event the row was made from (a test holds
// it to that). A Row is valid only during the call it is passed to.
type rowCursor struct {
	r *blockReader
	i int
}

func (c *rowCursor) Time() time.Time { return nanosTime(c.r.b.times[c.i]) }

func (c *rowCursor) fixed(kind byte, col **strCol) (string, bool) {
	if !c.r.needFixed(kind) {
		return "", false
	}
	v := (*col).get(c.i)
	return v, v != ""
}

func (c *rowCursor) Get(name string) (string, bool) {
	r := c.r
	switch name {
	case "host":
		return c.fixed(colHost, &r.b.host)
	case "source":
		return c.fixed(colSource, &r.b.source)
	case "raw":
		return c.fixed(colRaw, &r.b.raw)
	case "origin":
		if !r.needFixed(colOriginFile) || !r.needFixed(colOriginLine) || !r.needFixed(colOriginRecord) {
			return "", false
		}
		s := r.b.origin(c.i).String()
		return s, s != ""
	}
	if k, ok := event.KeyByName(name); ok {
		if !r.needCommon(k) {
			return "", false
		}
		v := r.b.common[k].get(c.i)
		return v, v != ""
	}
	if x := r.extra(name); x >= 0 && r.hasExtra(x, c.i) {
		return r.b.extras[x].col.get(r.extraPos(x, c.i)), true
	}
	for _, u := range r.b.unknown {
		if u.name == name {
			if r.p != nil && r.loadAll() != nil {
				return "", false
			}
			v := u.col.get(c.i)
			return v, v != ""
		}
	}
	return "", false
}

// Each calls fn with host, source and raw, then every field as
// event.Fields orders them.
func (c *rowCursor) Each(fn func(name, value string) bool) {
	r := c.r
	if r.p != nil {
		if err := r.loadAll(); err != nil {
			if r.err == nil {
				r.err = err
			}
			return
		}
	}
	b, i := &r.b, c.i
	if !fn("host", b.host.get(i)) || !fn("source", b.source.get(i)) || !fn("raw", b.raw.get(i)) {
		return
	}
	for k, col := range b.common {
		if v := col.get(i); v != "" {
			if !fn(event.Key(k).String(), v) {
				return
			}
		}
	}
	if b.rowShape != nil {
		r.extraPos(0, i)
		for _, x := range b.shapes[b.rowShape[i]] {
			e := &b.extras[x]
			if !fn(e.name, e.col.get(int(r.cnt[x]))) {
				return
			}
		}
	}
	for _, u := range b.unknown {
		if v := u.col.get(i); v != "" {
			if !fn(u.name, v) {
				return
			}
		}
	}
}

// EachFold is query.FoldRow: the values of the attributes whose names equal
// name ignoring case but not exactly. Only the columns of those names are
// read: none when no column name of the block fits (the usual case: the
// row simply lacks the field). A block with several format-specific names
// that fit (User and USER, or a repeated name) goes through Each, whose
// order decides which comes first.
func (c *rowCursor) EachFold(name string, fn func(value string) bool) {
	names, slow := c.r.foldsTo(name)
	if slow {
		c.Each(func(k, v string) bool {
			if k == name || !strings.EqualFold(k, name) || (v == "" && (k == "host" || k == "source" || k == "raw")) {
				return true
			}
			return fn(v)
		})
		return
	}
	for _, n := range names {
		if v, ok := c.Get(n); ok && !fn(v) {
			return
		}
	}
}

// foldsTo returns the attribute names of the block (host, source, raw, the
// common fields', the extras') that equal name ignoring case but not
// exactly, in Each's order, or slow when more than one extra fits (or one
// is repeated): Each must then be read. The answer for the last name is
// kept for the block.
func (r *blockReader) foldsTo(name string) (names []string, slow bool) {
	if r.foldKnown && r.foldName == name {
		return r.foldNames, r.foldSlow
	}
	fits := func(n string) bool { return n != name && strings.EqualFold(n, name) }
	names = r.foldNames[:0]
	for _, a := range [...]string{"host", "source", "raw"} {
		if fits(a) {
			names = append(names, a)
		}
	}
	for k := range event.NumKeys {
		if kn := event.Key(k).String(); fits(kn) {
			names = append(names, kn)
		}
	}
	extras := 0
	for i := range r.b.extras {
		if n := r.b.extras[i].name; fits(n) {
			extras++
			if extras == 1 {
				names = append(names, n)
			}
		}
	}
	for i := range r.b.unknown {
		if n := r.b.unknown[i].name; fits(n) {
			extras++
			names = append(names, n)
		}
	}
	r.foldName, r.foldNames, r.foldSlow, r.foldKnown = name, names, extras > 1, true
	return names, extras > 1
}
