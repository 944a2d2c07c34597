package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"
)

// strCol is one string column of a block in memory, in one of two forms:
//
//   - plain: the values back to back in buf, value i ending at ends[i]
//     (how the tail appends, and how varied columns such as raw decode);
//   - dict: the distinct values in dict and one byte per row in ids, or no
//     ids at all when every row holds dict[0] (how repetitive columns such as
//     host or action decode, at one byte per row or none).
//
// Strings handed out alias buf or the decoded payload: the owner of the
// memory decides how long they live (see blockReader).
type strCol struct {
	buf  []byte
	ends []uint32
	dict []string
	ids  []uint8
}

// get returns row i's value.
func (c *strCol) get(i int) string {
	if c == nil {
		return ""
	}
	if c.dict != nil {
		if c.ids == nil {
			return c.dict[0]
		}
		return c.dict[c.ids[i]]
	}
	start := uint32(0)
	if i > 0 {
		start = c.ends[i-1]
	}
	end := c.ends[i]
	if end == start {
		return ""
	}
	return unsafe.String(&c.buf[start], int(end-start))
}

// appendValue appends one row to a plain column.
func (c *strCol) appendValue(v string) {
	c.buf = append(c.buf, v...)
	c.ends = append(c.ends, uint32(len(c.buf)))
}

// appendEmpty appends n empty rows to a plain column.
func (c *strCol) appendEmpty(n int) {
	for ; n > 0; n-- {
		c.ends = append(c.ends, uint32(len(c.buf)))
	}
}

// rows returns the number of rows of a plain column.
func (c *strCol) rows() int { return len(c.ends) }

// String column encodings (the first byte of a decoded string column).
const (
	strConst = 0 // one value for every row: uvarint length, bytes
	strDict  = 1 // uvarint count (≤ 256), the values (uvarint length, bytes), one id byte per row
	strPlain = 2 // one uvarint length per row, then the bytes back to back
)

// maxDict is the most distinct values a dict column holds (ids are bytes).
const maxDict = 256

// dictScratch is reused while choosing a string column's encoding.
type dictScratch struct {
	ids  map[string]uint8
	vals []string
	row  []uint8
}

// appendStrCol appends the encoded form of the first n rows of c (plain) to
// dst, choosing const, dict or plain. tryDict false skips the dict attempt
// (raw records are almost never repeated).
func appendStrCol(dst []byte, c *strCol, n int, tryDict bool, ds *dictScratch) []byte {
	if n > 0 && tryDict {
		if ds.ids == nil {
			ds.ids = make(map[string]uint8, maxDict)
		}
		clear(ds.ids)
		ds.vals = ds.vals[:0]
		ds.row = ds.row[:0]
		prev, prevID := "", -1
		ok := true
		for i := 0; i < n; i++ {
			v := c.get(i)
			if prevID >= 0 && v == prev {
				ds.row = append(ds.row, uint8(prevID))
				continue
			}
			id, seen := ds.ids[v]
			if !seen {
				if len(ds.vals) == maxDict {
					ok = false
					break
				}
				id = uint8(len(ds.vals))
				ds.ids[v] = id
				ds.vals = append(ds.vals, v)
			}
			ds.row = append(ds.row, id)
			prev, prevID = v, int(id)
		}
		if ok && len(ds.vals) == 1 {
			dst = append(dst, strConst)
			dst = binary.AppendUvarint(dst, uint64(len(ds.vals[0])))
			return append(dst, ds.vals[0]...)
		}
		if ok {
			dst = append(dst, strDict)
			dst = binary.AppendUvarint(dst, uint64(len(ds.vals)))
			for _, v := range ds.vals {
				dst = binary.AppendUvarint(dst, uint64(len(v)))
				dst = append(dst, v...)
			}
			return append(dst, ds.row...)
		}
	}
	dst = append(dst, strPlain)
	prev := uint32(0)
	for i := 0; i < n; i++ {
		dst = binary.AppendUvarint(dst, uint64(c.ends[i]-prev))
		prev = c.ends[i]
	}
	end := uint32(0)
	if n > 0 {
		end = c.ends[n-1]
	}
	return append(dst, c.buf[:end]...)
}

// errShort and friends describe malformed column payloads; the caller wraps
// them in a CorruptionError naming the part and block.
var (
	errShort    = errors.New("column ends early")
	errTrailing = errors.New("bytes after the column's values")
)

// decoder reads a column payload; the first problem sticks in err and
// every later read returns zero, so decoding code checks err once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail(errShort)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes returns the next n bytes (aliasing the payload).
func (d *decoder) bytes(n uint64) []byte {
	if n > uint64(len(d.b)) {
		d.fail(errShort)
		return nil
	}
	b := d.b[:n]
	d.b = d.b[n:]
	return b
}

// str returns a length-prefixed string aliasing the payload.
func (d *decoder) str() string {
	b := d.bytes(d.uvarint())
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (d *decoder) end() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errTrailing
	}
	return d.err
}

// decodeStrCol decodes an n-row string column from payload into c, whose
// slices it reuses. The values alias payload.
func decodeStrCol(c *strCol, payload []byte, n int) error {
	d := decoder{b: payload}
	c.buf, c.dict, c.ids = nil, c.dict[:0], nil
	c.ends = c.ends[:0]
	switch enc := d.byte(); enc {
	case strConst:
		c.dict = append(c.dict, d.str())
	case strDict:
		k := d.uvarint()
		if k == 0 || k > maxDict {
			return fmt.Errorf("dictionary of %d values", k)
		}
		for j := uint64(0); j < k && d.err == nil; j++ {
			c.dict = append(c.dict, d.str())
		}
		c.ids = d.bytes(uint64(n))
		for _, id := range c.ids {
			if uint64(id) >= k {
				return fmt.Errorf("dictionary id %d of %d values", id, k)
			}
		}
	case strPlain:
		if cap(c.ends) < n {
			c.ends = make([]uint32, 0, n)
		}
		total := uint64(0)
		for i := 0; i < n && d.err == nil; i++ {
			total += d.uvarint()
			if total > uint64(len(payload)) {
				return errShort
			}
			c.ends = append(c.ends, uint32(total))
		}
		c.buf = d.bytes(total)
		c.dict = nil
	default:
		return fmt.Errorf("unknown string encoding %d", enc)
	}
	if err := d.end(); err != nil {
		return err
	}
	return nil
}

// Integer column encodings (origin line and record numbers).
const (
	intConst = 0 // one zigzag varint for every row
	intDelta = 1 // zigzag varint first value, then zigzag varint deltas
)

// appendIntCol appends the encoded form of vs to dst.
func appendIntCol(dst []byte, vs []int64) []byte {
	same := true
	for _, v := range vs {
		if v != vs[0] {
			same = false
			break
		}
	}
	if same {
		dst = append(dst, intConst)
		v := int64(0)
		if len(vs) > 0 {
			v = vs[0]
		}
		return binary.AppendVarint(dst, v)
	}
	dst = append(dst, intDelta)
	prev := int64(0)
	for _, v := range vs {
		dst = binary.AppendVarint(dst, v-prev)
		prev = v
	}
	return dst
}

// decodeIntCol decodes an n-row integer column into dst[:0].
func decodeIntCol(dst []int64, payload []byte, n int) ([]int64, error) {
	d := decoder{b: payload}
	dst = dst[:0]
	switch enc := d.byte(); enc {
	case intConst:
		v := d.varint()
		for i := 0; i < n; i++ {
			dst = append(dst, v)
		}
	case intDelta:
		prev := int64(0)
		for i := 0; i < n && d.err == nil; i++ {
			prev += d.varint()
			dst = append(dst, prev)
		}
	default:
		return nil, fmt.Errorf("unknown integer encoding %d", enc)
	}
	return dst, d.end()
}

// timeUnits are the steps a time column's deltas may be counted in: the
// coarsest that divides every delta of the block is used, so that second-
// or millisecond-precision logs cost a byte or two per row.
var timeUnits = [4]int64{1, 1e3, 1e6, 1e9}

// appendTimeCol appends the encoded time column (Unix nanoseconds; see
// timeNanos) to dst: the unit's index, the first value, then the deltas in
// units, all zigzag varints. Deltas wrap around like int64 arithmetic, so any
// sequence of values round-trips.
func appendTimeCol(dst []byte, ts []int64) []byte {
	u := len(timeUnits) - 1
	for i := 1; i < len(ts) && u > 0; i++ {
		delta := ts[i] - ts[i-1]
		for u > 0 && delta%timeUnits[u] != 0 {
			u--
		}
	}
	dst = append(dst, byte(u))
	prev := int64(0)
	for i, v := range ts {
		if i == 0 {
			dst = binary.AppendVarint(dst, v)
		} else {
			dst = binary.AppendVarint(dst, (v-prev)/timeUnits[u])
		}
		prev = v
	}
	return dst
}

// decodeTimeCol decodes an n-row time column into dst[:0].
func decodeTimeCol(dst []int64, payload []byte, n int) ([]int64, error) {
	d := decoder{b: payload}
	dst = dst[:0]
	u := d.byte()
	if int(u) >= len(timeUnits) {
		return nil, fmt.Errorf("unknown time unit %d", u)
	}
	unit := timeUnits[u]
	prev := int64(0)
	for i := 0; i < n && d.err == nil; i++ {
		if i == 0 {
			prev = d.varint()
		} else {
			prev += d.varint() * unit
		}
		dst = append(dst, prev)
	}
	return dst, d.end()
}

// appendSeqCol appends the encoded sequence numbers (strictly increasing):
// the first as a uvarint, then each gap minus one, so consecutive numbers
// cost one zero byte each before compression and nothing after.
func appendSeqCol(dst []byte, seqs []uint64) []byte {
	for i, s := range seqs {
		if i == 0 {
			dst = binary.AppendUvarint(dst, s)
		} else {
			dst = binary.AppendUvarint(dst, s-seqs[i-1]-1)
		}
	}
	return dst
}

// decodeSeqCol decodes an n-row sequence column into dst[:0].
func decodeSeqCol(dst []uint64, payload []byte, n int) ([]uint64, error) {
	d := decoder{b: payload}
	dst = dst[:0]
	prev := uint64(0)
	for i := 0; i < n && d.err == nil; i++ {
		v := d.uvarint()
		if i == 0 {
			prev = v
		} else {
			next := prev + v + 1
			if next <= prev {
				return nil, errors.New("sequence numbers overflow")
			}
			prev = next
		}
		dst = append(dst, prev)
	}
	return dst, d.end()
}

// appendShapeCol appends the shapes column: which extra fields a row has,
// in its own order. shapes lists the distinct shapes (indexes into the
// block's extra columns); rowShape gives each row's shape. No shapes (no
// row has extras) is a single zero.
func appendShapeCol(dst []byte, shapes [][]uint16, rowShape []uint32) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(shapes)))
	for _, s := range shapes {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		for _, x := range s {
			dst = binary.AppendUvarint(dst, uint64(x))
		}
	}
	if len(shapes) <= 256 {
		for _, s := range rowShape {
			dst = append(dst, byte(s))
		}
		return dst
	}
	for _, s := range rowShape {
		dst = binary.AppendUvarint(dst, uint64(s))
	}
	return dst
}

// decodeShapeCol decodes the shapes column of an n-row block with nextra
// extra columns.
func decodeShapeCol(payload []byte, n, nextra int) (shapes [][]uint16, rowShape []uint32, err error) {
	d := decoder{b: payload}
	k := d.uvarint()
	if k == 0 && d.err == nil {
		return nil, nil, d.end() // no row has extras
	}
	if k > uint64(n) {
		return nil, nil, fmt.Errorf("%d shapes for %d rows", k, n)
	}
	shapes = make([][]uint16, 0, k)
	for j := uint64(0); j < k && d.err == nil; j++ {
		m := d.uvarint()
		if m > uint64(nextra) {
			return nil, nil, fmt.Errorf("shape of %d fields, block has %d", m, nextra)
		}
		s := make([]uint16, 0, m)
		for x := uint64(0); x < m && d.err == nil; x++ {
			v := d.uvarint()
			if v >= uint64(nextra) {
				return nil, nil, fmt.Errorf("shape names field %d, block has %d", v, nextra)
			}
			s = append(s, uint16(v))
		}
		shapes = append(shapes, s)
	}
	rowShape = make([]uint32, n)
	for i := 0; i < n && d.err == nil; i++ {
		var v uint64
		if k <= 256 {
			v = uint64(d.byte())
		} else {
			v = d.uvarint()
		}
		if v >= k {
			return nil, nil, fmt.Errorf("row %d has shape %d of %d", i, v, k)
		}
		rowShape[i] = uint32(v)
	}
	return shapes, rowShape, d.end()
}
