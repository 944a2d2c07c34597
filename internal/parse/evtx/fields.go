package evtx

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse/winxml"
)

// fieldSink turns the XML of one record, as the walker produces it, into
// kizuki fields with exactly the rules of winxml.parseEvent (System
// attributes flattened, EventData <Data Name=X> as X, unnamed Data as
// Data/Data1..N, UserData and other sections' leaves by name), so that an
// .evtx file and its XML export give the same events.
//
// Values are collected in one buffer and converted to one string per record;
// the fields are substrings of it.
type fieldSink struct {
	stack     []string // local element names; stack[0] is "Event"
	hasChild  []bool
	section   section // what stack[1] is
	vals      []byte
	textStart int
	ents      []entry
	dataName  string
	unnamed   []span
	keywords  []span
	haveTime  bool
	haveID    bool
	// sysChan is System/Channel, the event's own log: winxml makes it the
	// common channel even when a UserData leaf named Channel (event 104
	// names the log that was cleared) replaced the Channel field.
	sysChan  span
	time     time.Time
	intern   map[string]string
	strs     []string
	rec      *recorder // while recording a field program
	spanMark int       // len(rec.spans) when textStart was set
	// unique: the entries have distinct names (set by a program that
	// checked it once for its template): finish appends them directly.
	unique bool
}

// section is the child of <Event> being read, which decides how its leaves
// are named.
type section uint8

const (
	secOther section = iota // UserData, ProcessingErrorData, DebugData...
	secSystem
	secEventData
	secRendering
)

func sectionOf(local string) section {
	switch local {
	case "System":
		return secSystem
	case "EventData":
		return secEventData
	case "RenderingInfo":
		return secRendering
	}
	return secOther
}

type entryKind uint8

const (
	kindField entryKind = iota // winxml.SetField: an empty value is not stored
	kindData                   // winxml.SetDataField: an empty value is stored
	kindTime                   // winxml.SetTime
)

type entry struct {
	name  string
	start int32
	end   int32
	kind  entryKind
}

func newFieldSink() *fieldSink {
	return &fieldSink{intern: map[string]string{}}
}

func (f *fieldSink) reset() {
	f.stack, f.hasChild = f.stack[:0], f.hasChild[:0]
	f.vals, f.textStart, f.spanMark = f.vals[:0], 0, 0
	f.ents, f.unnamed, f.keywords = f.ents[:0], f.unnamed[:0], f.keywords[:0]
	f.dataName, f.haveTime, f.haveID, f.sysChan = "", false, false, span{}
	f.unique = false
	if len(f.intern) > 1<<14 {
		clear(f.intern)
	}
}

// internBytes returns b as a string shared between records (EventData names
// repeat in every record).
func (f *fieldSink) internBytes(b []byte) string {
	if s, ok := f.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	f.intern[s] = s
	return s
}

func (f *fieldSink) add(name string, start, end int, kind entryKind) {
	f.ents = append(f.ents, entry{name: name, start: int32(start), end: int32(end), kind: kind})
}

// addAttr stores an attribute value (not in f.vals yet).
func (f *fieldSink) addAttr(name string, a attrVal, scratch []byte, kind entryKind) {
	start := len(f.vals)
	f.vals = append(f.vals, scratch[a.start:a.end]...)
	f.add(name, start, len(f.vals), kind)
	if f.rec != nil {
		mark := len(f.rec.spans)
		f.rec.attrCopied(a, start)
		f.recordFrom(progEntry{name: name, kind: kind}, start, len(f.vals), mark)
	}
}

// record adds e, the value of which is f.vals[start:end], to the program
// being recorded.
func (f *fieldSink) record(e progEntry, start, end int) { f.recordFrom(e, start, end, f.spanMark) }

func (f *fieldSink) recordFrom(e progEntry, start, end, mark int) {
	if f.rec == nil {
		return
	}
	e.segs = f.rec.segments(f.vals, start, end, mark)
	f.rec.ents = append(f.rec.ents, e)
}

// cut drops the text of the current element (f.vals past textStart).
func (f *fieldSink) cut() {
	f.vals = f.vals[:f.textStart]
	if f.rec != nil {
		f.rec.spans = f.rec.spans[:f.spanMark]
	}
}

// mark starts the text of an element at the end of f.vals.
func (f *fieldSink) mark() {
	f.textStart = len(f.vals)
	if f.rec != nil {
		f.spanMark = len(f.rec.spans)
	}
}

// isXMLNS reports whether an attribute is a namespace declaration, as
// encoding/xml names them (xmlns, or the xmlns prefix).
func isXMLNS(name, local string) bool {
	return local == "xmlns" || (local != name && strings.HasPrefix(name, "xmlns:"))
}

func (f *fieldSink) start(local string, attrs []attrVal, scratch []byte, t time.Time) error {
	n := len(f.stack)
	if n == 0 {
		if local != "Event" {
			return fmt.Errorf("root element is <%s>, not <Event>", local)
		}
	} else {
		f.hasChild[n-1] = true
	}
	if n >= maxElementDepth {
		return errors.New("elements nested too deeply")
	}
	f.stack = append(f.stack, local)
	f.hasChild = append(f.hasChild, false)
	f.cut()
	n++
	if n == 2 {
		f.section = sectionOf(local)
	}
	switch {
	case n == 3 && f.section == secSystem:
		if err := f.systemAttrs(local, attrs, scratch, t); err != nil {
			return err
		}
	case n == 3 && f.section == secEventData && local == "Data":
		f.dataName = ""
		for _, a := range attrs {
			if a.def.local == "Name" {
				if a.def.hasLit {
					f.dataName = a.def.lit
				} else {
					f.dataName = f.internBytes(scratch[a.start:a.end])
					if f.rec != nil {
						f.rec.ok = false // a name taken from a value
					}
				}
			}
		}
	case n == 2 && local == "EventData":
		for _, a := range attrs {
			if !a.def.xmlns {
				f.addAttr(a.def.edName, a, scratch, kindField)
			}
		}
	}
	f.mark()
	return nil
}

// systemAttrs stores the attributes of a System child as winxml does (the
// names are precomputed: attrDef.sysName). t is the time of the attribute
// that holds a FILETIME or SYSTEMTIME.
func (f *fieldSink) systemAttrs(elem string, attrs []attrVal, scratch []byte, t time.Time) error {
	for _, a := range attrs {
		if a.def.xmlns {
			continue
		}
		v := scratch[a.start:a.end]
		if elem == "TimeCreated" && a.def.local == "SystemTime" {
			ok := a.hasT
			if !ok {
				t, ok = winxml.ParseTime(string(v), time.UTC)
			}
			if !ok {
				return fmt.Errorf("bad TimeCreated SystemTime %q", v)
			}
			f.time, f.haveTime = t, true
			f.ents = append(f.ents, entry{kind: kindTime})
			if f.rec != nil {
				f.rec.ents = append(f.rec.ents, f.rec.timeAttr(a, t))
			}
			continue
		}
		f.addAttr(a.def.sysName, a, scratch, kindField)
	}
	return nil
}

func (f *fieldSink) text(b []byte) { f.vals = append(f.vals, b...) }

func (f *fieldSink) end() error {
	n := len(f.stack)
	if n == 0 {
		return errors.New("end of element without start")
	}
	leaf := !f.hasChild[n-1]
	kept := false
	if n > 1 && leaf {
		kept = f.leaf(n)
	}
	if kept {
		f.mark()
	} else {
		f.cut()
	}
	f.stack = f.stack[:n-1]
	f.hasChild = f.hasChild[:n-1]
	return nil
}

// leaf stores the text of the leaf element closing at depth n and reports
// whether it was kept.
func (f *fieldSink) leaf(n int) bool {
	name := f.stack[n-1]
	start, end := f.textStart, len(f.vals)
	switch f.section {
	case secSystem:
		if n != 3 {
			return false
		}
		f.record(progEntry{name: name, kind: kindField, trim: true, isID: name == "EventID", isChan: name == "Channel"}, start, end)
		start, end = trimSpan(f.vals, start, end)
		if name == "EventID" {
			f.haveID = end > start
		}
		if name == "Channel" {
			f.sysChan = span{int32(start), int32(end)}
		}
		f.add(name, start, end, kindField)
	case secEventData:
		switch {
		case n == 2:
			return false // an empty <EventData/>: no field
		case n == 3 && name == "Data" && f.dataName != "":
			f.record(progEntry{name: f.dataName, kind: kindData}, start, end)
			f.add(f.dataName, start, end, kindData)
		case n == 3 && name == "Data":
			f.record(progEntry{unnamed: true}, start, end)
			f.unnamed = append(f.unnamed, span{int32(start), int32(end)})
		default:
			f.record(progEntry{name: name, kind: kindData}, start, end)
			f.add(name, start, end, kindData)
		}
	case secRendering:
		if f.rec != nil {
			f.rec.ok = false
		}
		switch {
		case n == 4 && f.stack[2] == "Keywords":
			if start, end = trimSpan(f.vals, start, end); end > start {
				f.keywords = append(f.keywords, span{int32(start), int32(end)})
			}
		case n == 3 && name == "Message":
			f.add(name, start, end, kindField)
		case n == 3 && name != "Keywords":
			start, end = trimSpan(f.vals, start, end)
			f.add(name+"Text", start, end, kindField)
		default:
			return false
		}
	default:
		// UserData's leaves, and any other section's (ProcessingErrorData,
		// DebugData...); an empty <UserData/> is no field.
		if n == 2 {
			return false
		}
		f.record(progEntry{name: name, kind: kindData}, start, end)
		f.add(name, start, end, kindData)
	}
	return true
}

// trimSpan trims white space (bytes.TrimSpace's, as winxml trims System
// values) off b[start:end] and returns the remaining bounds.
func trimSpan(b []byte, start, end int) (int, int) {
	if start == end || (b[start] < utf8.RuneSelf && !isASCIISpace(b[start]) &&
		b[end-1] < utf8.RuneSelf && !isASCIISpace(b[end-1])) {
		return start, end
	}
	seg := b[start:end]
	l := bytes.TrimLeftFunc(seg, unicode.IsSpace)
	s := start + len(seg) - len(l)
	return s, s + len(bytes.TrimRightFunc(l, unicode.IsSpace))
}

// errNoEventID is winxml's rule: an event without System/EventID is refused.
var errNoEventID = errors.New("no System/EventID")

// finish stores the fields in ev; a record without TimeCreated gets the time
// its record was written.
func (f *fieldSink) finish(ev *event.Event, written time.Time) error {
	if len(f.stack) != 0 {
		return errors.New("<Event> element not closed")
	}
	if !f.haveID {
		return errNoEventID
	}
	// The TimeCreated field is winxml.SetTime's (the XML round trips of the
	// tests compare them), its text put in the record's string with the
	// values: one allocation less per event.
	t := written
	if f.haveTime {
		t = f.time
	}
	t = t.UTC()
	tStart := len(f.vals)
	f.vals = t.AppendFormat(f.vals, time.RFC3339Nano)
	s := string(f.vals)
	tText := s[tStart:]
	// winxml.SetField and SetDataField count the event's fields on every
	// call to stop at winxml.MaxFields; a record with fewer entries than that
	// cannot reach it, and then the same rules apply without the count.
	fast := len(f.ents)+len(f.unnamed)+2 < winxml.MaxFields
	for _, e := range f.ents {
		v := s[e.start:e.end]
		switch {
		case e.kind == kindTime:
			ev.Time = t
			if f.unique {
				ev.AppendExtra("TimeCreated", tText)
			} else {
				ev.SetExtra("TimeCreated", tText)
			}
		case !fast && e.kind == kindField:
			winxml.SetField(ev, e.name, v)
		case !fast:
			winxml.SetDataField(ev, e.name, v)
		case e.kind == kindField:
			if v == "" {
				break
			}
			if f.unique {
				ev.AppendExtra(e.name, v)
			} else {
				ev.SetExtra(e.name, v)
			}
		case f.unique:
			ev.AppendExtra(e.name, v)
		default:
			ev.SetExtraValue(e.name, v)
		}
	}
	if !f.haveTime {
		ev.Time = t
		ev.SetExtra("TimeCreated", tText)
	}
	if len(f.unnamed) > 0 {
		f.strs = f.strs[:0]
		for _, u := range f.unnamed {
			f.strs = append(f.strs, s[u.off:u.end])
		}
		winxml.SetData(ev, f.strs)
	}
	if len(f.keywords) > 0 {
		f.strs = f.strs[:0]
		for _, k := range f.keywords {
			f.strs = append(f.strs, s[k.off:k.end])
		}
		winxml.SetField(ev, "KeywordsText", strings.Join(f.strs, ","))
	}
	winxml.Normalize(ev)
	if f.sysChan.end > f.sysChan.off {
		ev.Set(event.Channel, s[f.sysChan.off:f.sysChan.end])
	}
	return nil
}

// isASCIISpace is unicode.IsSpace for the ASCII range.
func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
