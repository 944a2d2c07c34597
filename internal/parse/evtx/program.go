package evtx

import (
	"bytes"
	"time"

	"github.com/kizuki-dev/kizuki/internal/parse/winxml"
)

// A field program is what the field sink does for the records of one
// template whose values have one shape (which are NULL, which hold nested
// BinXml, and the templates of those): the list of fields, each a
// concatenation of literal text and values. It is recorded from the generic
// walk of the first such record and replayed for the next ones, which then
// cost a pass over their values instead of a walk of the XML tree. A record
// whose shape differs (another NULL pattern, an array, a nested document
// that is not one template instance...) takes the generic walk, which may
// record a program for its shape.
//
// Programs are kept on their template, so they live as long as it: across
// the chunks of a file, since templates are shared by identifier.

// maxProgramsPerTemplate bounds the programs of one template: the System
// template of a log is shared by all its event types, each with its own
// nested EventData template (and NULL patterns).
const maxProgramsPerTemplate = 64

// Value classes: what in a value changes the structure of the XML.
const (
	classNull   = 0
	classScalar = 1
	classBinXML = 2
	classArray  = 3
)

type program struct {
	classes []byte // of the outer instance's values
	nested  []progInstance
	// The fields, as recorded (progEntry) but laid out for replay: small
	// fields, their segments one after the other in segs, literal text in
	// lits, times in times. Replaying touches little memory that way.
	fields []progField
	segs   []progSeg
	lits   []byte
	times  []progTime
	// unique: the entries' field names (and TimeCreated, for the time)
	// are all different, so finish can append them without looking for
	// an earlier field of the same name: a quarter of the reader's time.
	unique bool
}

// progField is a progEntry in replay form.
type progField struct {
	name string
	// The text is segs[first:last]; for kindTime, the time is
	// times[first].
	first, last int32
	kind        entryKind
	trim        bool
	isID        bool
	isChan      bool
	unnamed     bool
}

// progSeg is a segment in replay form: value id of instance inst when ref,
// else the literal text lits[lit:end] of the program.
type progSeg struct {
	lit, end int32
	inst     int32
	id       uint16
	ref      bool
}

// progTime is how TimeCreated/@SystemTime gets its value: value ref when it
// is one, else the constant t.
type progTime struct {
	ref segment
	t   time.Time
}

// uniqueNames reports whether the named entries of ents (the time as
// TimeCreated) have distinct names.
func uniqueNames(ents []progEntry) bool {
	seen := make(map[string]bool, len(ents))
	for i := range ents {
		e := &ents[i]
		name := e.name
		switch {
		case e.kind == kindTime:
			name = "TimeCreated"
		case e.unnamed:
			continue
		}
		if seen[name] {
			return false
		}
		seen[name] = true
	}
	return true
}

// progInstance is a nested template instance: the BinXml value val of
// instance parent holds it.
type progInstance struct {
	parent  int
	val     uint16
	t       *template
	classes []byte
}

type progEntry struct {
	name    string
	kind    entryKind
	segs    []segment
	trim    bool // System values are trimmed
	isID    bool // System/EventID: the record needs it non-empty
	isChan  bool // System/Channel: the common channel
	unnamed bool // an unnamed <Data>
	// kindTime: the time is value ref (tRef), else tConst.
	tRef   segment
	tConst time.Time
}

// segment is literal text, or value id of instance inst.
type segment struct {
	lit  []byte
	ref  bool
	inst int32
	id   uint16
}

// valueSpan says that bytes [start, end) of the field sink's buffer (or of
// the walker's attribute scratch) are the text of value id of instance inst.
type valueSpan struct {
	start, end int
	inst       int32
	id         uint16
}

// recorder watches a generic walk and builds its program; ok turns false
// at anything a program cannot replay.
type recorder struct {
	ok        bool
	spans     []valueSpan // in fieldSink.vals, in order
	attrSpans []valueSpan // in walker.scratch, for the current element
	timeRef   segment     // TimeCreated/@SystemTime when it is one time value
	parent    *segment    // the BinXml value whose document is being walked
	nested    []progInstance
	ents      []progEntry
	outer     *instance
}

func (r *recorder) reset() {
	*r = recorder{ok: true, spans: r.spans[:0], attrSpans: r.attrSpans[:0], ents: r.ents[:0], nested: r.nested[:0]}
}

func classesOf(dst []byte, in *instance) []byte {
	for _, v := range in.vals {
		c := byte(classScalar)
		switch {
		case v.typ == typeNull:
			c = classNull
		case v.typ == typeBinXML:
			c = classBinXML
		case v.typ&typeArray != 0:
			c = classArray
		}
		dst = append(dst, c)
	}
	return dst
}

// instance notes a template instance of the walk.
func (r *recorder) instance(in *instance) {
	if bytes.IndexByte(classesOf(nil, in), classArray) >= 0 {
		r.ok = false
		return
	}
	if r.outer == nil && in.idx == 0 {
		r.outer = in
		return
	}
	if r.parent == nil {
		r.ok = false // a second instance in one document
		return
	}
	r.nested = append(r.nested, progInstance{parent: int(r.parent.inst), val: r.parent.id, t: in.t, classes: classesOf(nil, in)})
	r.parent = nil
}

// segments describes vals[start:end] as literal text and values, the values
// being the spans from index from on (those written since the text began;
// empty ones included, which positions alone could not place).
func (r *recorder) segments(vals []byte, start, end, from int) []segment {
	var segs []segment
	p := start
	for _, s := range r.spans[from:] {
		if s.start < p || s.end > end {
			r.ok = false
			return nil
		}
		if s.start > p {
			segs = append(segs, segment{lit: bytes.Clone(vals[p:s.start])})
		}
		segs = append(segs, segment{ref: true, inst: s.inst, id: s.id})
		p = s.end
	}
	if end > p {
		segs = append(segs, segment{lit: bytes.Clone(vals[p:end])})
	}
	return segs
}

// attrCopied follows fieldSink.addAttr: the attribute scratch[a.start:a.end]
// was copied to vals at off.
func (r *recorder) attrCopied(a attrVal, off int) {
	for _, s := range r.attrSpans {
		if s.start >= int(a.start) && s.end <= int(a.end) {
			d := off - int(a.start)
			r.spans = append(r.spans, valueSpan{start: s.start + d, end: s.end + d, inst: s.inst, id: s.id})
		}
	}
}

// timeAttr returns how TimeCreated/@SystemTime a got its value.
func (r *recorder) timeAttr(a attrVal, t time.Time) progEntry {
	e := progEntry{kind: kindTime}
	switch {
	case a.hasT && r.timeRef.ref:
		e.tRef = r.timeRef
	case a.def.hasLit:
		e.tConst = t
	case len(r.attrSpans) == 1 && r.attrSpans[0].start == int(a.start) && r.attrSpans[0].end == int(a.end):
		e.tRef = segment{ref: true, inst: r.attrSpans[0].inst, id: r.attrSpans[0].id}
	default:
		r.ok = false
	}
	return e
}

func (r *recorder) program() *program {
	pr := &program{
		classes: classesOf(nil, r.outer),
		nested:  append([]progInstance(nil), r.nested...),
	}
	var ents []progEntry
	for _, e := range r.ents {
		if !e.noop() {
			ents = append(ents, e)
		}
	}
	pr.unique = uniqueNames(ents)
	for i := range ents {
		e := &ents[i]
		f := progField{name: e.name, kind: e.kind, trim: e.trim, isID: e.isID, isChan: e.isChan, unnamed: e.unnamed}
		if e.kind == kindTime {
			f.first = int32(len(pr.times))
			pr.times = append(pr.times, progTime{ref: e.tRef, t: e.tConst})
			pr.fields = append(pr.fields, f)
			continue
		}
		f.first = int32(len(pr.segs))
		for _, s := range e.segs {
			ps := progSeg{ref: s.ref, inst: s.inst, id: s.id}
			if !s.ref {
				ps.lit = int32(len(pr.lits))
				pr.lits = append(pr.lits, s.lit...)
				ps.end = int32(len(pr.lits))
			}
			pr.segs = append(pr.segs, ps)
		}
		f.last = int32(len(pr.segs))
		pr.fields = append(pr.fields, f)
	}
	return pr
}

// noop reports whether entry e never sets a field: a System element without
// text (<Provider .../>, <TimeCreated .../>, <Correlation/>, whose attributes
// are entries of their own) is always empty, which SetField does not store.
// Left in, it would repeat a name (TimeCreated) and keep the program from
// being unique.
func (e *progEntry) noop() bool {
	return e.kind == kindField && len(e.segs) == 0 && !e.isID && !e.isChan && !e.unnamed
}

// fastRecord decodes the record at [pos, end) with a program when it can:
// done is false when the generic walk must do it (the field sink is then
// reset). A record of a new shape is walked here with a recorder, which
// keeps its program for the next ones.
func (w *walker) fastRecord(pos, end int) (done bool, err error) {
	b := w.c.b
	p := pos
	for p+4 <= end && b[p] == tokFragment {
		p += 4
	}
	if p >= end || b[p] != tokTemplate {
		return false, nil
	}
	w.resetRecord()
	in, q, err := w.instance(p, end)
	if err != nil || (q < end && b[q] != tokEOF) {
		return false, nil
	}
	w.classes = classesOf(w.classes[:0], in)
	if bytes.IndexByte(w.classes, classArray) >= 0 {
		return false, nil
	}
	// The candidates differ in their nested instances; the first one tells
	// them apart, so it is read once.
	var first *instance
	firstVal := -1
	for _, pr := range in.t.progs[string(w.classes)] {
		if len(pr.nested) > 0 && pr.nested[0].parent == 0 {
			ni := &pr.nested[0]
			if int(ni.val) != firstVal {
				firstVal = int(ni.val)
				if first = w.nestedInstance(in.get(ni.val)); first == nil {
					break
				}
				w.nested = classesOf(w.nested[:0], first)
			}
			if first.t != ni.t || !bytes.Equal(w.nested, ni.classes) {
				continue
			}
		}
		if w.run(pr, in, first) {
			w.nReplayed++
			return true, nil
		}
		w.f.reset()
		return false, nil
	}
	if in.t.nprogs >= maxProgramsPerTemplate {
		return false, nil
	}
	if !in.t.walked {
		// A template used once (small files hold many) is not worth
		// recording.
		in.t.walked = true
		return false, nil
	}
	if !w.recordable(in) {
		return false, nil
	}
	// Walk it generically, recording. w.rec is set for this walk only: the
	// walker and the field sink do the recorder's work whenever it is set.
	w.resetRecord()
	if w.recBuf == nil {
		w.recBuf = &recorder{}
	}
	rec := w.recBuf
	rec.reset()
	w.rec, w.f.rec = rec, rec
	w.nRecorded++
	err = w.document(pos, end)
	w.rec, w.f.rec = nil, nil
	if err == nil && rec.ok && rec.outer != nil && rec.parent == nil && len(w.f.stack) == 0 && w.f.haveID && len(w.f.keywords) == 0 {
		t, pr := rec.outer.t, rec.program()
		if t.progs == nil {
			t.progs = map[string][]*program{}
		}
		t.progs[string(pr.classes)] = append(t.progs[string(pr.classes)], pr)
		t.nprogs++
	}
	return true, err
}

// recordable reports whether a record whose outer instance is in may give a
// program: each of its BinXml values must hold one template instance
// without arrays (see recorder.instance), which run needs to replay it.
// Records that cannot (classic events whose EventData is plain BinXml or has
// string arrays) are walked rather than recorded in vain each time.
func (w *walker) recordable(in *instance) bool {
	for i, c := range w.classes {
		if c != classBinXML {
			continue
		}
		n := w.nestedInstance(in.vals[i])
		if n == nil {
			return false
		}
		for _, v := range n.vals {
			if v.typ&typeArray != 0 {
				return false
			}
		}
	}
	return true
}

// nestedInstance reads the document of BinXml value v when it is one
// template instance; nil otherwise.
func (w *walker) nestedInstance(v value) *instance {
	if v.typ != typeBinXML {
		return nil
	}
	b := w.c.b
	p, end := int(v.off), int(v.off+v.size)
	for p+4 <= end && b[p] == tokFragment {
		p += 4
	}
	if p >= end || b[p] != tokTemplate {
		return nil
	}
	n, q, err := w.instance(p, end)
	if err != nil || (q < end && b[q] != tokEOF) {
		return nil
	}
	return n
}

// run replays program pr for the record whose outer instance is in (and
// whose first nested instance, when already read, is first), filling the
// field sink; false (and a sink to reset) when the record does not have the
// program's shape after all.
func (w *walker) run(pr *program, in, first *instance) bool {
	insts := append(w.progInsts[:0], in)
	defer func() { w.progInsts = insts[:0] }()
	for i, ni := range pr.nested {
		n := first
		if i > 0 || n == nil {
			if n = w.nestedInstance(insts[ni.parent].get(ni.val)); n == nil || n.t != ni.t {
				return false
			}
			w.nested = classesOf(w.nested[:0], n)
			if !bytes.Equal(w.nested, ni.classes) {
				return false
			}
		}
		insts = append(insts, n)
	}
	f, b := w.f, w.c.b
	f.unique = pr.unique
	for i := range pr.fields {
		e := &pr.fields[i]
		if e.kind == kindTime {
			pt := &pr.times[e.first]
			t := pt.t
			if pt.ref.ref {
				v := insts[pt.ref.inst].get(pt.ref.id)
				var ok bool
				if t, ok = w.timeValue(v); !ok {
					w.scratch = w.appendValue(w.scratch[:0], insts[pt.ref.inst], pt.ref.id, -1)
					if t, ok = winxml.ParseTime(string(w.scratch), time.UTC); !ok {
						return false
					}
				}
			}
			f.time, f.haveTime = t, true
			f.ents = append(f.ents, entry{kind: kindTime})
			continue
		}
		start := len(f.vals)
		for _, s := range pr.segs[e.first:e.last] {
			switch {
			case !s.ref:
				f.vals = append(f.vals, pr.lits[s.lit:s.end]...)
			case int(s.id) < len(insts[s.inst].vals):
				// appendValue, without the calls for the common cases.
				v := insts[s.inst].vals[s.id]
				switch {
				case v.typ == typeString:
					f.vals = appendUTF16(f.vals, b[v.off:v.off+v.size])
				case v.typ < typeBinXML:
					f.vals = appendScalar(f.vals, v.typ, b[v.off:v.off+v.size])
				default:
					f.vals = w.appendValue(f.vals, insts[s.inst], s.id, -1)
				}
			}
		}
		end := len(f.vals)
		if len(f.vals) > maxRecordOutput {
			return false
		}
		if e.trim {
			start, end = trimSpan(f.vals, start, end)
		}
		if e.isID {
			f.haveID = end > start
		}
		if e.isChan {
			f.sysChan = span{int32(start), int32(end)}
		}
		if e.unnamed {
			f.unnamed = append(f.unnamed, span{int32(start), int32(end)})
		} else {
			f.add(e.name, start, end, e.kind)
		}
	}
	return true
}
