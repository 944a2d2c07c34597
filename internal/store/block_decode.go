package store

import (
	"errors"
	"fmt"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// dirEntry is one column of a block's directory.
type dirEntry struct {
	kind    byte
	name    string    // colCommon, colExtra: the field's name (aliases the directory)
	key     event.Key // colCommon whose name this build knows
	known   bool
	codec   byte
	off     uint64 // in the block's chunk area
	stored  uint64
	decoded uint64
	crc     uint32
}

// label names the column in errors.
func (c *dirEntry) label() string {
	switch c.kind {
	case colTime:
		return "time"
	case colSeq:
		return "seq"
	case colHost:
		return "host"
	case colSource:
		return "source"
	case colOriginFile:
		return "origin file"
	case colOriginLine:
		return "origin line"
	case colOriginRecord:
		return "origin record"
	case colRaw:
		return "raw"
	case colShapes:
		return "field order"
	}
	return "field " + c.name
}

// parseDir parses a block's column directory into dst[:0]. chunkLen is the
// size of the chunk area that follows the directory; every column must lie
// inside it. The fixed columns must each appear once, and no field twice
// (except repeated extra names, which an event may carry).
func parseDir(dst []dirEntry, dir []byte, chunkLen int) ([]dirEntry, error) {
	d := decoder{b: dir}
	n := d.uvarint()
	if d.err != nil || n > maxBlockColumns || n < colShapes {
		return nil, fmt.Errorf("column directory of %d columns", n)
	}
	dst = dst[:0]
	var seen [colShapes + 1]bool
	var common [event.NumKeys]bool
	total := uint64(0)
	for i := uint64(0); i < n; i++ {
		c := dirEntry{kind: d.byte()}
		switch {
		case c.kind == colCommon || c.kind == colExtra:
			c.name = d.str()
			if len(c.name) > maxNameBytes || c.name == "" {
				return nil, fmt.Errorf("column %d: field name of %d bytes", i, len(c.name))
			}
			if c.kind == colCommon {
				c.key, c.known = event.KeyByName(c.name)
				if c.known {
					if common[c.key] {
						return nil, fmt.Errorf("column %d: field %s twice", i, c.name)
					}
					common[c.key] = true
				}
			}
		case c.kind >= colTime && c.kind <= colShapes:
			if seen[c.kind] {
				return nil, fmt.Errorf("column %d: %s twice", i, c.label())
			}
			seen[c.kind] = true
		default:
			return nil, fmt.Errorf("column %d: unknown kind %d", i, c.kind)
		}
		c.codec = d.byte()
		c.off = d.uvarint()
		c.stored = d.uvarint()
		c.decoded = d.uvarint()
		crc := d.bytes(4)
		if d.err != nil {
			return nil, fmt.Errorf("column directory: %w", d.err)
		}
		c.crc = uint32(crc[0]) | uint32(crc[1])<<8 | uint32(crc[2])<<16 | uint32(crc[3])<<24
		switch {
		case c.off > uint64(chunkLen) || c.stored > uint64(chunkLen)-c.off:
			return nil, fmt.Errorf("column %s at %d+%d outside the block's %d bytes", c.label(), c.off, c.stored, chunkLen)
		case c.decoded > maxColumnBytes:
			return nil, fmt.Errorf("column %s of %d bytes decoded", c.label(), c.decoded)
		case total+c.decoded > maxBlockDecoded:
			return nil, fmt.Errorf("columns of more than %d bytes decoded", uint64(maxBlockDecoded))
		case c.codec == codecStored && c.stored != c.decoded:
			return nil, fmt.Errorf("column %s stored with %d bytes, %d decoded", c.label(), c.stored, c.decoded)
		case c.codec != codecStored && c.codec != codecZstd:
			return nil, fmt.Errorf("column %s: unknown codec %d", c.label(), c.codec)
		}
		total += c.decoded
		dst = append(dst, c)
	}
	if err := d.end(); err != nil {
		return nil, fmt.Errorf("column directory: %w", err)
	}
	for k := colTime; k <= colShapes; k++ {
		if !seen[k] {
			c := dirEntry{kind: byte(k)}
			return nil, fmt.Errorf("column directory has no %s column", c.label())
		}
	}
	return dst, nil
}

// blockReader decodes one block at a time, column by column as a search
// asks for them, into b. One per search worker, reused from block to block.
//
// Decoded string values alias the reader's buffers, which the next block
// reuses: a Row's strings are valid only during the call they are passed
// to (query's aggregators copy the group values they keep, for this
// reason), and events leave through blockReader.event, which copies.
type blockReader struct {
	dec *zstd.Decoder

	p  *part // nil: b is a tail block, wholly in memory
	bi int
	e  *blockEntry

	b        block
	dirBuf   []byte
	cols     []dirEntry
	loaded   []bool
	fixed    [colShapes + 1]int // directory index of each fixed column
	common   [event.NumKeys]int // directory index + 1 of each common field; 0: absent
	extraDir []int              // directory index of each extra, in the block's extras order
	dirExtra []int              // extras index of each directory column, -1 if not an extra
	byName   map[string]int     // extras index by name (first of a repeated name), built on demand
	inShape  [][]bool           // per extra: whether each shape has it, built on demand
	counts   []int              // per extra: how many rows have it (from the shapes)
	cnt      []int32            // per extra: how many rows before curRow have it (see extraPos)
	curRow   int

	stored     []byte
	payloads   [][]byte // per directory column: its decoded bytes
	spare      [][]byte // payload buffers of the previous block, for reuse
	spareBytes int
	strs       []strCol
	times      []int64
	seqs       []uint64
	lines      []int64
	records    []int64

	err error // the first failed lazy load (see need)
	all bool  // every column is loaded

	// The last name foldsTo was asked about in this block, and its answer.
	foldName  string
	foldNames []string
	foldSlow  bool
	foldKnown bool
}

func newBlockReader(dec *zstd.Decoder) *blockReader {
	return &blockReader{dec: dec}
}

// resetTail points the reader at an in-memory block (a tail block or a
// view of the open one): every column is there already.
func (r *blockReader) resetTail(b *block) {
	r.p, r.e, r.bi = nil, nil, -1
	r.b = *b
	r.byName = nil
	r.foldKnown = false
	r.inShape = r.inShape[:0]
	r.resetPos()
	r.err = nil
}

// resetPos restarts the extras position cursor at row 0.
func (r *blockReader) resetPos() {
	r.curRow = 0
	r.cnt = append(r.cnt[:0], make([]int32, len(r.b.extras))...)
}

// reset points the reader at block bi of p and reads its column directory.
func (r *blockReader) reset(p *part, bi int) error {
	r.p, r.bi, r.e = p, bi, &p.blocks[bi]
	r.err = nil
	r.all = false
	r.byName = nil
	r.foldKnown = false
	r.inShape = r.inShape[:0]
	e := r.e
	var err error
	r.dirBuf, err = p.readChecked(r.dirBuf, e.offset, e.dirLen, e.dirCRC, bi, "column directory")
	if err != nil {
		return err
	}
	r.cols, err = parseDir(r.cols, r.dirBuf, int(e.bodyLen-e.dirLen))
	if err != nil {
		return r.corrupt(e.offset, err)
	}
	n := len(r.cols)
	r.loaded = append(r.loaded[:0], make([]bool, n)...)
	for i, b := range r.payloads {
		if b != nil && r.spareBytes+cap(b) <= maxSpareBytes {
			r.spare = append(r.spare, b)
			r.spareBytes += cap(b)
		}
		r.payloads[i] = nil
	}
	for len(r.payloads) < n {
		r.payloads = append(r.payloads, nil)
	}
	for len(r.strs) < n {
		r.strs = append(r.strs, strCol{})
	}
	r.b = block{n: e.rows}
	r.common = [event.NumKeys]int{}
	r.counts = r.counts[:0]
	r.extraDir = r.extraDir[:0]
	r.dirExtra = r.dirExtra[:0]
	for range r.cols {
		r.dirExtra = append(r.dirExtra, -1)
	}
	for i := range r.cols {
		c := &r.cols[i]
		switch c.kind {
		case colCommon:
			if c.known {
				r.common[c.key] = i + 1
			} else {
				r.b.unknown = append(r.b.unknown, extraCol{name: c.name})
			}
		case colExtra:
			r.dirExtra[i] = len(r.b.extras)
			r.b.extras = append(r.b.extras, extraCol{name: c.name})
			r.extraDir = append(r.extraDir, i)
		default:
			r.fixed[c.kind] = i
		}
	}
	r.resetPos()
	return nil
}

func (r *blockReader) corrupt(off int64, err error) error {
	return &CorruptionError{Part: r.p.name, Block: r.bi, Offset: off, Err: err}
}

// load decodes column i of the directory into b.
func (r *blockReader) load(i int) error {
	if r.p == nil || r.loaded[i] {
		return nil
	}
	c := &r.cols[i]
	if c.kind == colExtra {
		// Its values are those of the rows that have it: the shapes say
		// how many.
		if err := r.load(r.fixed[colShapes]); err != nil {
			return err
		}
	}
	off := r.e.offset + int64(r.e.dirLen) + int64(c.off)
	var payload []byte
	if cap(r.payloads[i]) < int(c.decoded) {
		r.payloads[i] = r.payloadBuf(int(c.decoded))
	}
	if c.codec == codecStored {
		var err error
		payload, err = r.p.readChecked(r.payloads[i][:0], off, uint32(c.stored), c.crc, r.bi, "column "+c.label())
		if err != nil {
			return err
		}
	} else {
		var err error
		r.stored, err = r.p.readChecked(r.stored, off, uint32(c.stored), c.crc, r.bi, "column "+c.label())
		if err != nil {
			return err
		}
		payload, err = r.dec.DecodeAll(r.stored, r.payloads[i][:0:c.decoded])
		if err != nil {
			return r.corrupt(off, fmt.Errorf("column %s: decompress: %w", c.label(), err))
		}
		if uint64(len(payload)) != c.decoded {
			return r.corrupt(off, fmt.Errorf("column %s decompressed to %d bytes, directory says %d", c.label(), len(payload), c.decoded))
		}
	}
	if err := r.decode(i, payload); err != nil {
		return r.corrupt(off, fmt.Errorf("column %s: %w", c.label(), err))
	}
	r.loaded[i] = true
	return nil
}

// decode fills b's column from column i's decoded payload.
func (r *blockReader) decode(i int, payload []byte) error {
	n := r.b.n
	c := &r.cols[i]
	var err error
	switch c.kind {
	case colTime:
		r.times, err = decodeTimeCol(r.times, payload, n)
		r.b.times = r.times
	case colSeq:
		r.seqs, err = decodeSeqCol(r.seqs, payload, n)
		r.b.seqs = r.seqs
	case colOriginLine:
		r.lines, err = decodeIntCol(r.lines, payload, n)
		r.b.originLine = r.lines
	case colOriginRecord:
		r.records, err = decodeIntCol(r.records, payload, n)
		r.b.originRecord = r.records
	case colShapes:
		r.b.shapes, r.b.rowShape, err = decodeShapeCol(payload, n, len(r.b.extras))
		if err == nil && len(r.b.shapes) <= 1 && (len(r.b.shapes) == 0 || len(r.b.shapes[0]) == 0) {
			r.b.rowShape = nil // no row has extras
		}
		if err == nil {
			r.countExtras()
		}
	default:
		s := &r.strs[i]
		rows := n
		if c.kind == colExtra {
			rows = r.counts[r.dirExtra[i]]
		}
		if err = decodeStrCol(s, payload, rows); err != nil {
			return err
		}
		switch c.kind {
		case colHost:
			r.b.host = s
		case colSource:
			r.b.source = s
		case colOriginFile:
			r.b.originFile = s
		case colRaw:
			r.b.raw = s
		case colCommon:
			if c.known {
				r.b.common[c.key] = s
			} else {
				for x := range r.b.unknown {
					if r.b.unknown[x].name == c.name && r.b.unknown[x].col == nil {
						r.b.unknown[x].col = s
						break
					}
				}
			}
		case colExtra:
			r.b.extras[r.dirExtra[i]].col = s
		}
	}
	return err
}

// need loads column i for a Row method, which cannot return an error: a
// failure is kept in r.err (the search returns it after the block) and
// need reports false.
func (r *blockReader) need(i int) bool {
	if r.p == nil || r.loaded[i] {
		return true
	}
	if err := r.load(i); err != nil {
		if r.err == nil {
			r.err = err
		}
		return false
	}
	return true
}

func (r *blockReader) needFixed(kind byte) bool {
	if r.p == nil {
		return true
	}
	return r.need(r.fixed[kind])
}

// needCommon loads common field k; false when the block lacks it.
func (r *blockReader) needCommon(k event.Key) bool {
	if r.p == nil {
		return r.b.common[k] != nil
	}
	i := r.common[k]
	return i != 0 && r.need(i-1)
}

// extra returns the extras index of the first field named name, -1 if the
// block has none, loading it and the shapes.
func (r *blockReader) extra(name string) int {
	if len(r.b.extras) == 0 {
		return -1
	}
	if r.byName == nil {
		r.byName = make(map[string]int, len(r.b.extras))
		for x := len(r.b.extras) - 1; x >= 0; x-- {
			r.byName[r.b.extras[x].name] = x
		}
	}
	x, ok := r.byName[name]
	if !ok {
		return -1
	}
	if r.p != nil && (!r.need(r.extraDir[x]) || !r.needFixed(colShapes)) {
		return -1
	}
	return x
}

// hasExtra reports whether row i has extra field x.
func (r *blockReader) hasExtra(x, i int) bool {
	if r.b.rowShape == nil {
		return false
	}
	for len(r.inShape) < len(r.b.extras) {
		r.inShape = append(r.inShape, nil)
	}
	in := r.inShape[x]
	if in == nil {
		in = make([]bool, len(r.b.shapes))
		for s, shape := range r.b.shapes {
			for _, y := range shape {
				if int(y) == x {
					in[s] = true
				}
			}
		}
		r.inShape[x] = in
	}
	return in[r.b.rowShape[i]]
}

// loadAll loads every column (to materialize events, or for a query that
// reads every field).
func (r *blockReader) loadAll() error {
	if r.p == nil || r.all {
		return nil
	}
	for i := range r.cols {
		if err := r.load(i); err != nil {
			return err
		}
	}
	for x := range r.b.unknown {
		if r.b.unknown[x].col == nil {
			return r.corrupt(r.e.offset, errors.New("unknown field column not loaded"))
		}
	}
	r.all = true
	return nil
}

// loadFields loads what a query's Fields names (besides time and seq,
// always loaded); all loads everything.
func (r *blockReader) loadFields(names []string, all bool) error {
	if r.p == nil {
		return nil
	}
	if err := r.load(r.fixed[colTime]); err != nil {
		return err
	}
	if err := r.load(r.fixed[colSeq]); err != nil {
		return err
	}
	if all {
		return r.loadAll()
	}
	for _, name := range names {
		var err error
		switch name {
		case "host":
			err = r.load(r.fixed[colHost])
		case "source":
			err = r.load(r.fixed[colSource])
		case "raw":
			err = r.load(r.fixed[colRaw])
		case "origin":
			if err = r.load(r.fixed[colOriginFile]); err == nil {
				if err = r.load(r.fixed[colOriginLine]); err == nil {
					err = r.load(r.fixed[colOriginRecord])
				}
			}
		default:
			if k, ok := event.KeyByName(name); ok {
				if i := r.common[k]; i != 0 {
					err = r.load(i - 1)
				}
			} else {
				r.extra(name)
				err = r.err
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// maxSpareBytes bounds the payload buffers a reader keeps between blocks.
const maxSpareBytes = 64 << 20

// payloadBuf returns a buffer of at least n bytes: the smallest fitting
// one the previous block used, else a new one. (Blocks differ in their
// columns, so reuse by size, not by column.)
func (r *blockReader) payloadBuf(n int) []byte {
	best := -1
	for i, b := range r.spare {
		if cap(b) >= n && (best < 0 || cap(b) < cap(r.spare[best])) {
			best = i
		}
	}
	if best < 0 {
		return make([]byte, 0, n)
	}
	b := r.spare[best]
	r.spareBytes -= cap(b)
	r.spare[best] = r.spare[len(r.spare)-1]
	r.spare = r.spare[:len(r.spare)-1]
	return b[:0]
}

// countExtras counts, from the shapes, the rows that have each extra.
func (r *blockReader) countExtras() {
	r.counts = append(r.counts[:0], make([]int, len(r.b.extras))...)
	if r.b.rowShape == nil {
		return
	}
	perShape := make([]int, len(r.b.shapes))
	for _, s := range r.b.rowShape {
		perShape[s]++
	}
	for s, shape := range r.b.shapes {
		for _, x := range shape {
			r.counts[x] += perShape[s]
		}
	}
}

// extraPos returns where row i's value of extra x is in x's column: the
// number of rows before i that have x. A cursor moves over the rows,
// counting as it goes, so a scan in row order costs one step per value;
// going back restarts it.
func (r *blockReader) extraPos(x, i int) int {
	if i < r.curRow {
		r.resetPos()
	}
	for ; r.curRow < i; r.curRow++ {
		for _, y := range r.b.shapes[r.b.rowShape[r.curRow]] {
			r.cnt[y]++
		}
	}
	return int(r.cnt[x])
}

// event returns row i as a new event whose strings are copies, so that it
// outlives the reader's buffers. Every column must be loaded.
func (r *blockReader) event(i int) *event.Event {
	ev := &event.Event{}
	r.fill(i, ev, strings.Clone)
	return ev
}

// eventInto makes ev row i without copying: its strings alias the reader's
// buffers and are valid until the reader moves on (a merge adds ev to
// another block, which copies them, at once). Every column must be loaded.
func (r *blockReader) eventInto(i int, ev *event.Event) {
	ev.Reset()
	r.fill(i, ev, func(s string) string { return s })
}

func (r *blockReader) fill(i int, ev *event.Event, cp func(string) string) {
	b := &r.b
	ev.Time = nanosTime(b.times[i])
	ev.Source = cp(b.source.get(i))
	ev.Host = cp(b.host.get(i))
	ev.Origin = event.Origin{File: cp(b.originFile.get(i)), Line: b.originLine[i], Record: b.originRecord[i]}
	ev.Raw = cp(b.raw.get(i))
	for k, c := range b.common {
		if v := c.get(i); v != "" {
			ev.Set(event.Key(k), cp(v))
		}
	}
	if b.rowShape != nil {
		r.extraPos(0, i)
		for _, x := range b.shapes[b.rowShape[i]] {
			ev.AppendExtra(cp(b.extras[x].name), cp(b.extras[x].col.get(int(r.cnt[x]))))
		}
	}
	for _, e := range b.unknown {
		if v := e.col.get(i); v != "" {
			ev.AppendExtra(cp(e.name), cp(v))
		}
	}
}
