package store

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// block is the rows of one block in memory, column by column. The tail
// appends events to an open block (add); a block read from a part is
// decoded into the same shape column by column, as a search needs them
// (blockReader). Every column but the extras has one entry per row.
//
// An open block is appended to under the index lock while searches read a
// view of it (view) without the lock: appends only write past the rows a
// view covers, and never rewrite a byte a view can see.
type block struct {
	n            int
	times        []int64 // see timeNanos
	seqs         []uint64
	host         *strCol
	source       *strCol
	originFile   *strCol
	originLine   []int64
	originRecord []int64
	raw          *strCol
	// common holds the fields of event.Key; nil: absent from every row.
	// A common field is present in a row when its value is not empty.
	common [event.NumKeys]*strCol
	// extras are the format-specific fields, in the order the block first
	// saw them; a row's shape says which it has and in what order. An
	// extra column holds values only for the rows that have the field
	// (format-specific fields are sparse: a block of Windows events has
	// hundreds of names, each in a few event types), in row order; the
	// shapes give a value's row (see blockReader.extraPos).
	extras   []extraCol
	shapes   [][]uint16 // distinct shapes: indexes into extras
	rowShape []uint32   // per row: index into shapes; nil when no row has extras
	// unknown holds columns stored as common fields under a name this
	// version of event does not know (a field renamed since the part was
	// written); they come back as extra fields.
	unknown []extraCol

	// Building only.
	extraIdx   map[string]int    // extras by name (a repeated name gets "\x00" and a count)
	shapeIdx   map[string]uint32 // shapes by their bytes
	shapeBuf   []uint16
	valueBytes int // raw and value bytes appended, for BlockBytes
	rowsHint   int // rows expected (newBlockLike), to size new columns
	commonHint [event.NumKeys]int
	extraHint  map[string][2]int // values and bytes the last block had per extra
	pool       *bufPool          // where buffers come from; nil: allocated
	refs       *blockRefs        // a tail block's readers (pool.go); nil for others
	since      time.Time         // when the first row was added (FlushAge)
}

// extraCol is one format-specific field of a block.
type extraCol struct {
	name string
	col  *strCol
	last int // building: the last row that has the field
}

// timeNanos is the stored form of an event time: Unix nanoseconds, with
// math.MinInt64 for the zero time (an event with no time sorts before all
// others). Times outside the years 1678–2262 are clamped; no log holds them.
func timeNanos(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	s := t.Unix()
	switch {
	case s < minUnixSec:
		return math.MinInt64 + 1
	case s > maxUnixSec:
		return math.MaxInt64
	}
	return t.UnixNano()
}

// nanosTime is the inverse of timeNanos, in UTC.
func nanosTime(ns int64) time.Time {
	if ns == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

const (
	minUnixSec = math.MinInt64/1_000_000_000 + 1
	maxUnixSec = math.MaxInt64/1_000_000_000 - 1
)

// limits are the input bounds Add applies (Options, resolved).
type limits struct {
	maxValue int
}

// addCounts counts what add had to cut.
type addCounts struct {
	truncated int64 // values and names cut to their bound
	dropped   int64 // extra fields beyond maxExtrasPerEvent
}

func newBlock() *block { return newBlockLike(nil, nil) }

// newBlockLike returns an empty block with room for what prev held, so
// that filling it does not grow (and copy) its buffers a dozen times. With
// a pool, the buffers come from it when it has some, and the block goes
// back to it when its last reference is released.
func newBlockLike(prev *block, pool *bufPool) *block {
	b := &block{
		host: &strCol{}, source: &strCol{}, originFile: &strCol{}, raw: &strCol{},
		extraIdx: map[string]int{},
		shapeIdx: map[string]uint32{},
		pool:     pool,
	}
	if pool != nil {
		b.refs = &blockRefs{pool: pool}
		b.refs.n.Store(1)
	}
	if prev == nil || prev.n == 0 {
		return b
	}
	n := prev.n + prev.n/8
	b.rowsHint = n
	b.times = make([]int64, 0, n)
	b.seqs = make([]uint64, 0, n)
	b.originLine = make([]int64, 0, n)
	b.originRecord = make([]int64, 0, n)
	for _, c := range []struct{ to, from *strCol }{{b.host, prev.host}, {b.source, prev.source}, {b.originFile, prev.originFile}, {b.raw, prev.raw}} {
		c.to.ends = b.getEnds(n)
		c.to.buf = b.getBytes(len(c.from.buf) + len(c.from.buf)/8)
	}
	for k, c := range prev.common {
		if c != nil {
			b.commonHint[k] = len(c.buf) + len(c.buf)/8
		}
	}
	b.extraHint = make(map[string][2]int, len(prev.extras))
	for _, e := range prev.extras {
		b.extraHint[e.name] = [2]int{e.col.rows() + e.col.rows()/8, len(e.col.buf) + len(e.col.buf)/8}
	}
	return b
}

func (b *block) getBytes(n int) []byte {
	if b.pool == nil {
		return make([]byte, 0, n)
	}
	return b.pool.getBytes(n)
}

func (b *block) getEnds(n int) []uint32 {
	if b.pool == nil {
		return make([]uint32, 0, n)
	}
	return b.pool.getEnds(n)
}

// columns returns how many columns the block has.
func (b *block) columns() int {
	n := 9 + len(b.extras) + len(b.unknown)
	for _, c := range b.common {
		if c != nil {
			n++
		}
	}
	return n
}

// fits reports whether ev can join the block without the block going over
// maxBlockColumns (counting every field of ev as new, which is cheap and
// only seals a block a little early in a rare case).
func (b *block) fits(ev *event.Event) bool {
	return b.columns()+ev.NumFields() <= maxBlockColumns
}

// cut returns s cut to at most max bytes, at a UTF-8 character boundary.
func cut(s string, max int, c *addCounts) string {
	if len(s) <= max {
		return s
	}
	c.truncated++
	n := max
	for n > 0 && n > max-utf8.UTFMax && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// add appends ev as the block's next row; the caller has checked fits.
// The values are copied into the block's own buffers.
func (b *block) add(seq uint64, ev *event.Event, lim limits, c *addCounts) {
	n := b.n
	b.times = append(b.times, timeNanos(ev.Time))
	b.seqs = append(b.seqs, seq)
	b.host.appendValue(cut(ev.Host, maxNameBytes, c))
	b.source.appendValue(cut(ev.Source, maxNameBytes, c))
	b.originFile.appendValue(cut(ev.Origin.File, maxNameBytes, c))
	b.originLine = append(b.originLine, ev.Origin.Line)
	b.originRecord = append(b.originRecord, ev.Origin.Record)
	b.raw.appendValue(ev.Raw)
	b.valueBytes += len(ev.Raw) + len(ev.Host) + 32
	for k := range b.common {
		v := ev.Get(event.Key(k))
		col := b.common[k]
		if v == "" {
			if col != nil {
				col.appendEmpty(1)
			}
			continue
		}
		if col == nil {
			col = &strCol{ends: b.getEnds(max(b.rowsHint, n+1)), buf: b.getBytes(b.commonHint[k])}
			col.appendEmpty(n)
			b.common[k] = col
		}
		v = cut(v, lim.maxValue, c)
		col.appendValue(v)
		b.valueBytes += len(v)
	}
	shape := b.shapeBuf[:0]
	ev.EachExtra(func(key, v string) {
		if len(shape) == maxExtrasPerEvent {
			c.dropped++
			return
		}
		key = cut(key, maxNameBytes, c)
		v = cut(v, lim.maxValue, c)
		x := b.extraColumn(key, n)
		b.extras[x].col.appendValue(v)
		b.valueBytes += len(v)
		shape = append(shape, uint16(x))
	})
	b.shapeBuf = shape
	if len(shape) > 0 || b.rowShape != nil {
		if b.rowShape == nil {
			// The first row with extras: earlier rows, if any, had the
			// empty shape.
			if n > 0 {
				b.shapes = append(b.shapes, nil)
				b.shapeIdx[""] = 0
			}
			b.rowShape = make([]uint32, n, max(n, cap(b.times)))
		}
		key := unsafe.String((*byte)(unsafe.Pointer(unsafe.SliceData(shape))), 2*len(shape))
		id, ok := b.shapeIdx[key]
		if !ok {
			id = uint32(len(b.shapes))
			b.shapes = append(b.shapes, append([]uint16(nil), shape...))
			b.shapeIdx[strings.Clone(key)] = id
		}
		b.rowShape = append(b.rowShape, id)
	}
	b.n++
}

// extraColumn returns the index of the extra column for key that row n
// has not filled yet, creating it if needed, and marks it filled. An event
// that repeats a key gets a second column of the same name, so that it
// reads back as it was added.
func (b *block) extraColumn(key string, n int) int {
	x, ok := b.extraIdx[key]
	for dup := 2; ok && b.extras[x].last == n; dup++ {
		x, ok = b.extraIdx[key+"\x00"+strconv.Itoa(dup)]
		if !ok {
			name := strings.Clone(key)
			x = b.newExtra(name)
			b.extraIdx[name+"\x00"+strconv.Itoa(dup)] = x
			ok = true
			break
		}
	}
	if !ok {
		name := strings.Clone(key)
		x = b.newExtra(name)
		b.extraIdx[name] = x
	}
	b.extras[x].last = n
	return x
}

func (b *block) newExtra(name string) int {
	col := &strCol{}
	if h, ok := b.extraHint[name]; ok {
		col.ends = b.getEnds(h[0])
		col.buf = b.getBytes(h[1])
	}
	b.extras = append(b.extras, extraCol{name: name, col: col, last: -1})
	return len(b.extras) - 1
}

// full reports whether the block has reached its bounds.
func (b *block) full(maxRows, maxBytes int) bool {
	return b.n >= maxRows || b.valueBytes >= maxBytes
}

// view returns a copy of the block's column headers covering its current
// rows, for a search to read while Add goes on appending to b.
func (b *block) view() *block {
	n := b.n
	v := &block{
		n:            n,
		times:        b.times[:n:n],
		seqs:         b.seqs[:n:n],
		host:         b.host.viewOf(n),
		source:       b.source.viewOf(n),
		originFile:   b.originFile.viewOf(n),
		originLine:   b.originLine[:n:n],
		originRecord: b.originRecord[:n:n],
		raw:          b.raw.viewOf(n),
		shapes:       b.shapes[:len(b.shapes):len(b.shapes)],
		unknown:      b.unknown,
	}
	if b.rowShape != nil {
		v.rowShape = b.rowShape[:n:n]
	}
	for k, c := range b.common {
		if c != nil {
			v.common[k] = c.viewOf(n)
		}
	}
	v.extras = make([]extraCol, len(b.extras))
	for i, e := range b.extras {
		v.extras[i] = extraCol{name: e.name, col: e.col.viewOf(e.col.rows())}
	}
	return v
}

// viewOf returns a copy of a plain column's headers covering n rows.
func (c *strCol) viewOf(n int) *strCol {
	end := uint32(0)
	if n > 0 {
		end = c.ends[n-1]
	}
	return &strCol{buf: c.buf[:end:end], ends: c.ends[:n:n]}
}

// origin returns row i's origin.
func (b *block) origin(i int) event.Origin {
	return event.Origin{File: b.originFile.get(i), Line: b.originLine[i], Record: b.originRecord[i]}
}
