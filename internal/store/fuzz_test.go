package store

import (
	"bytes"
	"os"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// bytesPart is a part file held in memory.
type bytesPart struct{ *bytes.Reader }

func (bytesPart) Close() error { return nil }

// seedPart returns the bytes of a small real part: synthetic events in a
// few blocks, with dict, plain and const columns, extras and shapes.
func seedPart(f *testing.F) []byte {
	dir := f.TempDir()
	x, err := Open(dir, Options{NoMerge: true, BlockEvents: 40})
	if err != nil {
		f.Fatal(err)
	}
	for i, ev := range synthEvents(100, t0) {
		if err := x.Add(uint64(i), ev); err != nil {
			f.Fatal(err)
		}
	}
	if err := x.Close(); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(x.parts0Path())
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzPart feeds arbitrary bytes to the part and block decoders: reading
// the header, trailer and index, each block's filter, directory and every
// column, and materializing every row. Whatever the bytes, they must
// return errors, never panic or allocate without bound.
func FuzzPart(f *testing.F) {
	good := seedPart(f)
	f.Add(good)
	f.Add(good[:len(good)/2])
	for _, off := range []int{9, 100, 300, len(good) - 60, len(good) - 10} {
		b := bytes.Clone(good)
		b[off] ^= 0x41
		f.Add(b)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(maxColumnBytes), zstd.WithDecodeAllCapLimit(true))
	if err != nil {
		f.Fatal(err)
	}
	defer dec.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := readPart(bytesPart{bytes.NewReader(data)}, int64(len(data)), partName(0, 99))
		if err != nil {
			return
		}
		rd := newBlockReader(dec)
		cur := &rowCursor{r: rd}
		for bi := range p.blocks {
			if _, err := p.readFilter(nil, bi); err != nil {
				continue
			}
			if _, err := p.readStored(nil, bi); err != nil {
				continue
			}
			if err := rd.reset(p, bi); err != nil {
				continue
			}
			if err := rd.loadAll(); err != nil {
				continue
			}
			for i := 0; i < min(rd.b.n, 200); i++ {
				rd.event(i)
				cur.i = i
				cur.Get("user")
				cur.Get("zone")
				cur.Each(func(string, string) bool { return true })
			}
		}
	})
}

// FuzzColumns feeds arbitrary payloads to each column decoder.
func FuzzColumns(f *testing.F) {
	var ds dictScratch
	c := &strCol{}
	for _, v := range []string{"a", "bb", "a", "", "ccc"} {
		c.appendValue(v)
	}
	f.Add(appendStrCol(nil, c, 5, true, &ds), 5)
	f.Add(appendStrCol(nil, c, 5, false, &ds), 5)
	f.Add(appendTimeCol(nil, []int64{1e18, 1e18 + 1e9, 1e18 - 5e9}), 3)
	f.Add(appendSeqCol(nil, []uint64{5, 6, 9}), 3)
	f.Add(appendIntCol(nil, []int64{1, 2, 3}), 3)
	f.Add(appendShapeCol(nil, [][]uint16{nil, {0, 1}}, []uint32{0, 1, 1}), 3)
	f.Fuzz(func(t *testing.T, payload []byte, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		var s strCol
		if decodeStrCol(&s, payload, n) == nil {
			for i := 0; i < n; i++ {
				s.get(i)
			}
		}
		decodeTimeCol(nil, payload, n)
		decodeSeqCol(nil, payload, n)
		decodeIntCol(nil, payload, n)
		if shapes, rows, err := decodeShapeCol(payload, n, 4); err == nil && rows != nil {
			for _, r := range rows {
				_ = shapes[r]
			}
		}
	})
}

// parts0Path is the path of the first part file (for the fuzz seeds).
func (x *Index) parts0Path() string {
	ps, _ := os.ReadDir(x.dir)
	for _, p := range ps {
		if _, _, ok := parsePartName(p.Name()); ok {
			return x.dir + "/" + p.Name()
		}
	}
	return ""
}
