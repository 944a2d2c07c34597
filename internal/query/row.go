package query

import (
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// Row is what a query reads: one event, stored or being indexed.
//
// Its answers must agree with EventRow's for the event the row holds: the
// index's token filters are built from the values Each yields, and
// Prefilter relies on Match reading no other values (origin aside, which
// no requirement is ever made on).
type Row interface {
	Time() time.Time
	// Get returns the value of a named attribute: "host", "source",
	// "origin", "raw", or a field name. ok is false for an absent
	// attribute; host, source, origin, raw and the common fields are
	// absent when empty, a format-specific field may be present and empty.
	Get(name string) (string, bool)
	// Each calls fn for every attribute value: "host", "source", "raw"
	// (even when empty) and every field, until fn returns false.
	Each(fn func(name, value string) bool)
}

// FoldRow is what a Row may add so that a field term whose exact name the
// row lacks (the case-insensitive fallback: commandline: finding
// CommandLine) reads only the attributes whose names fit, instead of every
// value through Each: a stored row then decodes no column when none of its
// block's names fits, which is the common case.
type FoldRow interface {
	Row
	// EachFold calls fn with the value of every attribute whose name
	// equals name ignoring case but not exactly, in Each's order and with
	// Each's values (host, source and raw only when not empty), until fn
	// returns false.
	EachFold(name string, fn func(value string) bool)
}

// EventRow returns the Row of an event. It does not allocate (a
// one-pointer struct is stored in the interface as is), and Match reads
// the event directly instead of through the interface.
func EventRow(ev *event.Event) Row { return eventRow{ev} }

type eventRow struct{ ev *event.Event }

func (r eventRow) Time() time.Time { return r.ev.Time }

func (r eventRow) Get(name string) (string, bool) {
	ev := r.ev
	switch name {
	case "host":
		return ev.Host, ev.Host != ""
	case "source":
		return ev.Source, ev.Source != ""
	case "origin":
		s := ev.Origin.String()
		return s, s != ""
	case "raw":
		return ev.Raw, ev.Raw != ""
	}
	return ev.LookupOK(name)
}

// Each yields host, source and raw, then the fields in event.Fields order
// (common fields in Key order, then the extras as they were set).
func (r eventRow) Each(fn func(name, value string) bool) {
	ev := r.ev
	if !fn("host", ev.Host) || !fn("source", ev.Source) || !fn("raw", ev.Raw) {
		return
	}
	for k := range event.NumKeys {
		if v := ev.Get(event.Key(k)); v != "" && !fn(event.Key(k).String(), v) {
			return
		}
	}
	stop := false
	ev.EachExtra(func(k, v string) {
		if !stop && !fn(k, v) {
			stop = true
		}
	})
}

// attr says which of an event's own attributes a name addresses.
type attr uint8

const (
	attrField attr = iota
	attrHost
	attrSource
	attrOrigin
	attrRaw
)

func (a attr) String() string {
	switch a {
	case attrHost:
		return "host"
	case attrSource:
		return "source"
	case attrOrigin:
		return "origin"
	case attrRaw:
		return "raw"
	}
	return ""
}

func attrOf(name string) attr {
	switch name {
	case "host":
		return attrHost
	case "source":
		return attrSource
	case "origin":
		return attrOrigin
	case "raw":
		return attrRaw
	}
	return attrField
}

func (a attr) value(ev *event.Event) string {
	switch a {
	case attrHost:
		return ev.Host
	case attrSource:
		return ev.Source
	case attrOrigin:
		return ev.Origin.String()
	case attrRaw:
		return ev.Raw
	}
	return ""
}

// fieldRef is a field name of the query, resolved once: to an event
// attribute, a common field, or an extra; and the names that equal it
// ignoring case, for the fallback.
//
// Field names are case-sensitive, with a fallback: when the row has no
// attribute of exactly that name, the term is true if an attribute whose
// name equals it ignoring case satisfies it (commandline: finds
// CommandLine, Host: finds host). Only present attributes count: host,
// source, origin and raw when not empty.
type fieldRef struct {
	name  string
	attr  attr
	key   event.Key
	isKey bool

	foldAttrs  []attr    // host, source, origin, raw, when they equal name ignoring case only
	foldKey    event.Key // the common field that equals name ignoring case only
	hasFoldKey bool
	foldOrigin bool // name equals "origin" ignoring case: origin is not among Each's values
}

func newFieldRef(name string) fieldRef {
	f := fieldRef{name: name, attr: attrOf(name)}
	if f.attr == attrField {
		f.key, f.isKey = event.KeyByName(name)
	}
	for a := attrHost; a <= attrRaw; a++ {
		if a.String() != name && strings.EqualFold(a.String(), name) {
			f.foldAttrs = append(f.foldAttrs, a)
			f.foldOrigin = f.foldOrigin || a == attrOrigin
		}
	}
	for k := range event.NumKeys {
		if kn := event.Key(k).String(); kn != name && strings.EqualFold(kn, name) {
			f.foldKey, f.hasFoldKey = event.Key(k), true
		}
	}
	return f
}

// target is the row being matched: the event itself for an EventRow (no
// interface call and no map-like lookup per field), the Row otherwise.
type target struct {
	ev  *event.Event
	row Row
}

func targetOf(r Row) target {
	if er, ok := r.(eventRow); ok {
		return target{ev: er.ev}
	}
	return target{row: r}
}

func (t target) time() time.Time {
	if t.ev != nil {
		return t.ev.Time
	}
	return t.row.Time()
}

// get returns the attribute of exactly f's name.
func (t target) get(f *fieldRef) (string, bool) {
	ev := t.ev
	if ev == nil {
		return t.row.Get(f.name)
	}
	switch {
	case f.attr != attrField:
		v := f.attr.value(ev)
		return v, v != ""
	case f.isKey:
		v := ev.Get(f.key)
		return v, v != ""
	}
	return ev.LookupOK(f.name)
}

// anyFold reports whether an attribute whose name equals f's ignoring
// case, but not exactly, satisfies p (the fallback when get found none).
func (t target) anyFold(f *fieldRef, p pred) bool {
	if ev := t.ev; ev != nil {
		for _, a := range f.foldAttrs {
			if v := a.value(ev); v != "" && p.test(v) {
				return true
			}
		}
		if f.hasFoldKey {
			if v := ev.Get(f.foldKey); v != "" && p.test(v) {
				return true
			}
		}
		found := false
		ev.EachExtra(func(k, v string) {
			if !found && k != f.name && strings.EqualFold(k, f.name) && p.test(v) {
				found = true
			}
		})
		return found
	}
	found := false
	if fr, ok := t.row.(FoldRow); ok {
		fr.EachFold(f.name, func(v string) bool {
			found = p.test(v)
			return !found
		})
	} else {
		t.row.Each(func(k, v string) bool {
			if k == f.name || !strings.EqualFold(k, f.name) || (v == "" && attrOf(k) != attrField) {
				return true
			}
			found = p.test(v)
			return !found
		})
	}
	if !found && f.foldOrigin {
		if v, ok := t.row.Get("origin"); ok && p.test(v) {
			return true
		}
	}
	return found
}

// lookup returns the value of f for a group-by: the exact attribute, else
// the first attribute whose name equals f's ignoring case, else "".
func (t target) lookup(f *fieldRef) string {
	if v, ok := t.get(f); ok {
		return v
	}
	var first firstPred
	t.anyFold(f, &first)
	return first.v
}

// firstPred accepts the first value it is shown and keeps it.
type firstPred struct{ v string }

func (p *firstPred) test(v string) bool {
	p.v = v
	return true
}

// anyValue reports whether any value Each would yield satisfies p: host,
// source, raw and every field. Free text never looks at origin.
func (t target) anyValue(p pred) bool {
	ev := t.ev
	if ev == nil {
		found := false
		t.row.Each(func(_, v string) bool {
			found = p.test(v)
			return !found
		})
		return found
	}
	if p.test(ev.Raw) || p.test(ev.Host) || p.test(ev.Source) {
		return true
	}
	for k := range event.NumKeys {
		if v := ev.Get(event.Key(k)); v != "" && p.test(v) {
			return true
		}
	}
	found := false
	ev.EachExtra(func(_, v string) {
		if !found && p.test(v) {
			found = true
		}
	})
	return found
}
