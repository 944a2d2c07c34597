package evtx

import (
	"encoding/binary"
	"time"
)

// Limits on what one record may expand to. A template may use a value many
// times and a BinXml value may hold further template instances, so a hostile
// record could otherwise expand exponentially; real records have tens of
// elements and a few KiB of text.
const (
	maxRecordElements = 1 << 16
	maxRecordOutput   = 8 << 20
	maxNesting        = 8
)

// value is one template instance value: its type and where its data lies in
// the chunk.
type value struct {
	typ       byte
	off, size int32
}

// instance is a template with the values of one record.
type instance struct {
	idx   int32 // order of creation in the record
	t     *template
	vals  []value
	items [][]span // array members per value, split on first use
}

func (in *instance) get(id uint16) value {
	if in == nil || int(id) >= len(in.vals) {
		return value{} // a missing value renders as NULL
	}
	return in.vals[id]
}

// attrVal is an attribute as handed to the sinks: its value is
// walker.scratch[start:end]. hasT says that the value is one FILETIME or
// SYSTEMTIME, whose time is walker.attrTime (TimeCreated/@SystemTime: it
// need not be parsed back).
type attrVal struct {
	def        *attrDef
	start, end int32
	hasT       bool
}

// templateEntry caches the compilation of a template definition in the
// current chunk, failures included.
type templateEntry struct {
	t   *template
	err error
}

// maxSharedTemplates bounds the templates kept from chunk to chunk.
const maxSharedTemplates = 4096

// walker instantiates the BinXml of a record and feeds the resulting XML to
// the field sink and, when XML is wanted, to the XML sink.
type walker struct {
	c     *compiler
	tmpls map[uint32]templateEntry
	// recent holds entries of tmpls, by definition offset (direct-mapped):
	// every record looks up two or three templates (System, EventData),
	// each a map lookup otherwise.
	recent [8]recentTemplate
	// byGUID keeps the templates of earlier chunks by their identifier: every
	// chunk carries the definitions of the templates it uses, but a template
	// identifier names one definition (MS-EVEN6 2.2.17), so a chunk need not
	// compile again what an earlier one did.
	byGUID    map[[16]byte]*template
	noShare   bool
	insts     []*instance
	ninst     int
	rec       *recorder // while recording a program, else nil
	recBuf    *recorder // reused from one recording to the next
	classes   []byte
	nested    []byte
	progInsts []*instance
	// For tests and tuning: records replayed by a program, recorded, walked.
	nReplayed, nRecorded, nWalked int
	f                             *fieldSink
	x                             *xmlSink
	scratch                       []byte
	attrs                         []attrVal
	attrTime                      time.Time
	elems                         int
	out                           int
	depth                         int
	vals                          []value // backing store of the instances of one record
}

func newWalker(c *compiler, f *fieldSink, x *xmlSink) *walker {
	return &walker{c: c, tmpls: map[uint32]templateEntry{}, byGUID: map[[16]byte]*template{}, f: f, x: x}
}

// recentTemplate is an entry of walker.recent.
type recentTemplate struct {
	off uint32
	ok  bool
	te  templateEntry
}

// resetChunk forgets the templates of the previous chunk.
func (w *walker) resetChunk() {
	clear(w.tmpls)
	w.recent = [len(w.recent)]recentTemplate{}
}

// templateAt returns the compiled template defined at chunk offset off,
// compiling it on first use in the chunk.
func (w *walker) templateAt(off uint32) templateEntry {
	r := &w.recent[(off>>3)%uint32(len(w.recent))]
	if r.ok && r.off == off {
		return r.te
	}
	te, hit := w.tmpls[off]
	if !hit {
		te = w.template(int(off))
		w.tmpls[off] = te
	}
	*r = recentTemplate{off: off, ok: true, te: te}
	return te
}

// record walks the BinXml of one record at [pos, end), with a field program
// when it can (program.go).
func (w *walker) record(pos, end int) error {
	if w.x == nil {
		if done, err := w.fastRecord(pos, end); done {
			return err
		}
		w.f.reset()
	}
	w.nWalked++
	w.resetRecord()
	return w.document(pos, end)
}

func (w *walker) resetRecord() {
	w.elems, w.out, w.depth, w.ninst = 0, 0, 0, 0
	w.vals = w.vals[:0]
}

// document walks a BinXml document at [pos, end): fragment headers, then a
// template instance or plain elements, then the end-of-stream token. Records
// and BinXml values (0x21) are documents.
func (w *walker) document(pos, end int) error {
	if w.depth >= maxNesting {
		return errAt(pos, "BinXml values nested deeper than %d", maxNesting)
	}
	if err := w.spend(pos); err != nil {
		return err
	}
	w.depth++
	defer func() { w.depth-- }()
	b := w.c.b
	for pos < end {
		switch t := b[pos]; t &^ tokMoreFlag {
		case tokEOF:
			return nil
		case tokFragment:
			pos += 4
		case tokTemplate:
			in, p, err := w.instance(pos, end)
			if err != nil {
				return err
			}
			if err := w.nodes(in.t.nodes, in, -1); err != nil {
				return err
			}
			pos = p
		case tokOpenStart, tokPITarget:
			// Elements written out in full, without template; their element
			// starts carry no dependency identifier.
			if w.rec != nil {
				w.rec.ok = false
			}
			nodes, p, err := w.c.fragment(pos, end, false)
			if err != nil {
				return err
			}
			if err := w.nodes(nodes, nil, -1); err != nil {
				return err
			}
			pos = p
		default:
			return errAt(pos, "unexpected token %#02x at document level", t)
		}
	}
	return nil
}

// instance reads a template instance at pos: the reference to its template
// definition (which follows inline the first time the chunk uses it), then
// the value descriptors (size, type) and the values.
func (w *walker) instance(pos, end int) (*instance, int, error) {
	b := w.c.b
	if pos+instanceHeadSize > end {
		return nil, pos, errAt(pos, "template instance cut short")
	}
	defOff := binary.LittleEndian.Uint32(b[pos+6:])
	p := pos + instanceHeadSize
	if int(defOff) == p {
		if p+templateDefHead > end {
			return nil, pos, errAt(p, "template definition cut short")
		}
		size := int(binary.LittleEndian.Uint32(b[p+20:]))
		if size > end-p-templateDefHead {
			return nil, pos, errAt(p, "template definition of %d bytes overruns its record", size)
		}
		p += templateDefHead + size
	}
	te := w.templateAt(defOff)
	if te.err != nil {
		return nil, pos, te.err
	}
	if p+4 > end {
		return nil, pos, errAt(p, "template values cut short")
	}
	n := int(binary.LittleEndian.Uint32(b[p:]))
	p += 4
	if n > (end-p)/4 {
		return nil, pos, errAt(p, "%d template values do not fit in the record", n)
	}
	desc := p
	p += 4 * n
	first := len(w.vals)
	for i := 0; i < n; i++ {
		d := desc + 4*i
		size := int(binary.LittleEndian.Uint16(b[d:]))
		if size > end-p {
			return nil, pos, errAt(d, "template value %d of %d bytes overruns the record", i, size)
		}
		w.vals = append(w.vals, value{typ: b[d+2], off: int32(p), size: int32(size)})
		p += size
	}
	if w.ninst == len(w.insts) {
		w.insts = append(w.insts, &instance{})
	}
	in := w.insts[w.ninst]
	w.ninst++
	*in = instance{idx: int32(w.ninst - 1), t: te.t, vals: w.vals[first:len(w.vals):len(w.vals)], items: in.items[:0]}
	if w.rec != nil {
		w.rec.instance(in)
	}
	return in, p, nil
}

// template returns the compiled template defined at chunk offset off.
func (w *walker) template(off int) templateEntry {
	b := w.c.b
	var id [16]byte
	if !w.noShare && off >= chunkHeaderSize && off+templateDefHead <= len(b) {
		copy(id[:], b[off+4:off+20])
		if t := w.byGUID[id]; t != nil {
			return templateEntry{t: t}
		}
	}
	t, err := w.c.templateAt(off)
	if err == nil {
		if len(w.byGUID) >= maxSharedTemplates {
			clear(w.byGUID)
		}
		w.byGUID[id] = t
	}
	return templateEntry{t: t, err: err}
}

// arrayItems returns the members of array value id.
func (w *walker) arrayItems(in *instance, id uint16) []span {
	if len(in.items) < len(in.vals) {
		in.items = make([][]span, len(in.vals))
	}
	if in.items[id] == nil {
		v := in.vals[id]
		in.items[id] = splitArray(make([]span, 0, 4), v.typ&^typeArray, w.c.b[v.off:v.off+v.size], v.off)
	}
	return in.items[id]
}

func (w *walker) nodes(ns []node, in *instance, item int) error {
	for i := range ns {
		n := &ns[i]
		switch n.kind {
		case nodeText, nodeCDATA:
			w.text(n.text)
		case nodeSubst:
			if err := w.subst(n, in, item); err != nil {
				return err
			}
		case nodeElem:
			if err := w.elem(n.elem, in); err != nil {
				return err
			}
		case nodePI:
			if w.x != nil {
				w.x.pi(n.text, n.data)
			}
		}
	}
	return nil
}

func (w *walker) text(b []byte) {
	if len(b) == 0 {
		return
	}
	w.out += len(b)
	w.f.text(b)
	if w.x != nil {
		w.x.text(b)
	}
}

// subst renders a substitution in element content. item selects the array
// member when the enclosing element is repeated for an array value.
func (w *walker) subst(n *node, in *instance, item int) error {
	v := in.get(n.sub)
	switch {
	case v.typ == typeNull:
		return nil
	case v.typ == typeBinXML:
		if w.rec == nil {
			return w.document(int(v.off), int(v.off+v.size))
		}
		w.rec.parent = &segment{ref: true, inst: in.idx, id: n.sub}
		err := w.document(int(v.off), int(v.off+v.size))
		if w.rec.parent != nil {
			w.rec.ok = false // a document without template instance
			w.rec.parent = nil
		}
		return err
	}
	if w.x == nil {
		// Straight into the field sink's buffer: one copy less.
		n0 := len(w.f.vals)
		w.f.vals = w.appendValue(w.f.vals, in, n.sub, item)
		w.out += len(w.f.vals) - n0
		if w.rec != nil {
			w.rec.spans = append(w.rec.spans, valueSpan{start: n0, end: len(w.f.vals), inst: in.idx, id: n.sub})
		}
		return nil
	}
	w.scratch = w.appendValue(w.scratch[:0], in, n.sub, item)
	w.text(w.scratch)
	return nil
}

// appendValue appends the text of value id; for an array, the member item
// (all members, comma-separated, when item < 0).
func (w *walker) appendValue(dst []byte, in *instance, id uint16, item int) []byte {
	v := in.get(id)
	b := w.c.b
	switch {
	case v.typ == typeNull, v.typ == typeBinXML:
		return dst
	case v.typ&typeArray != 0:
		items := w.arrayItems(in, id)
		base := v.typ &^ typeArray
		if item >= 0 {
			if item < len(items) {
				dst = appendScalar(dst, base, b[items[item].off:items[item].end])
			}
			return dst
		}
		for i, it := range items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendScalar(dst, base, b[it.off:it.end])
		}
		return dst
	}
	return appendScalar(dst, v.typ, b[v.off:v.off+v.size])
}

// elem instantiates element e: not at all when an optional substitution in
// its content is NULL (MS-EVEN6 3.1.4.7.2), once per member when one of its
// substitutions is an array (3.1.4.7.5: the element is repeated; an empty
// array gives one empty element), else once.
func (w *walker) elem(e *elem, in *instance) error {
	if err := w.spend(0); err != nil {
		return err
	}
	reps := -1
	for _, s := range e.subs {
		v := in.get(s.id)
		if v.typ == typeNull {
			if s.opt && !s.inAttr {
				return nil
			}
			continue
		}
		if reps < 0 && v.typ&typeArray != 0 {
			reps = max(len(w.arrayItems(in, s.id)), 1)
		}
	}
	if reps < 0 {
		return w.emit(e, in, -1)
	}
	for i := 0; i < reps; i++ {
		if err := w.emit(e, in, i); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) emit(e *elem, in *instance, item int) error {
	scratch := w.scratch[:0]
	attrs := w.attrs[:0]
	if w.rec != nil {
		w.rec.attrSpans, w.rec.timeRef = w.rec.attrSpans[:0], segment{}
	}
	for i := range e.attrs {
		a := &e.attrs[i]
		av := attrVal{def: a, start: int32(len(scratch))}
		if a.hasLit {
			scratch = append(scratch, a.lit...)
			av.end = int32(len(scratch))
			attrs = append(attrs, av)
			continue
		}
		omit := false
		for j := range a.parts {
			p := &a.parts[j]
			if p.kind != nodeSubst {
				scratch = append(scratch, p.text...)
				continue
			}
			v := in.get(p.sub)
			if v.typ == typeNull {
				omit = omit || p.opt
				continue
			}
			if len(a.parts) == 1 && (v.typ == typeFileTime || v.typ == typeSysTime) {
				w.attrTime, av.hasT = w.timeValue(v)
				if av.hasT && w.x == nil && a.local == "SystemTime" && e.local == "TimeCreated" {
					// The field sink takes TimeCreated/@SystemTime as a
					// time, not as text.
					if w.rec != nil {
						w.rec.timeRef = segment{ref: true, inst: in.idx, id: p.sub}
					}
					continue
				}
			}
			n0 := len(scratch)
			scratch = w.appendValue(scratch, in, p.sub, item)
			if w.rec != nil {
				w.rec.attrSpans = append(w.rec.attrSpans, valueSpan{start: n0, end: len(scratch), inst: in.idx, id: p.sub})
			}
		}
		if omit {
			scratch = scratch[:av.start]
			continue
		}
		av.end = int32(len(scratch))
		attrs = append(attrs, av)
	}
	w.out += len(scratch)
	w.scratch, w.attrs = scratch, attrs
	if err := w.f.start(e.local, attrs, scratch, w.attrTime); err != nil {
		return err
	}
	if w.x != nil {
		w.x.start(e.name, attrs, scratch)
	}
	if err := w.nodes(e.content, in, item); err != nil {
		return err
	}
	if err := w.f.end(); err != nil {
		return err
	}
	if w.x != nil {
		w.x.end(e.name)
	}
	return nil
}

// spend counts one element or nested document against the record's budget.
func (w *walker) spend(pos int) error {
	w.elems++
	if w.elems > maxRecordElements || w.out > maxRecordOutput {
		return errAt(pos, "record expands to more than %d elements or %d bytes", maxRecordElements, maxRecordOutput)
	}
	return nil
}

// timeValue returns the time held by a FILETIME or SYSTEMTIME value.
func (w *walker) timeValue(v value) (time.Time, bool) {
	d := w.c.b[v.off : v.off+v.size]
	switch {
	case v.typ == typeFileTime && len(d) == 8:
		return fileTime(binary.LittleEndian.Uint64(d)), true
	case v.typ == typeSysTime && len(d) == 16:
		return sysTime(d)
	}
	return time.Time{}, false
}
