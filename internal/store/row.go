package store

import (
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
