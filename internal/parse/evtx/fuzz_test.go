package evtx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// handBuilt returns small files of the hand-built cases: every value type,
// arrays, optional substitutions, nested BinXml, plain BinXml.
func handBuilt() [][]byte {
	var out [][]byte
	one := func(vals []xval, content ...any) {
		c := newChunkBuilder()
		c.record(7, testFileTime, func() {
			c.b = append(c.b, tokFragment, 1, 1, 0)
			c.templateInstance(systemTemplate(content...), 1, 0, append(systemVals(4688, 7), vals...))
			c.u8(tokEOF)
		})
		out = append(out, evtxFile(c.bytes()))
	}
	one([]xval{{typeString | typeArray, utf16le("a\x00b\x00")}, {typeSID, []byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}}},
		xel{name: "EventData", kids: []any{data("A", 4, typeString|typeArray), data("S", 5, typeSID)}})
	one([]xval{vNull(), {typeSysTime, make([]byte, 16)}},
		xel{name: "EventData", kids: []any{
			xel{name: "Data", attrs: []xattr{{name: "Name", parts: []any{"O"}}}, kids: []any{xsub{id: 4, typ: typeString, opt: true}}},
			data("T", 5, typeSysTime)}})
	c := newChunkBuilder()
	c.record(5, testFileTime, func() {
		c.b = append(c.b, tokFragment, 1, 1, 0)
		c.element(xel{name: "Event", kids: []any{xel{name: "System", kids: []any{
			xel{name: "EventID", kids: []any{"1", xentity("amp"), xcharref(65), xcdata("x")}}}}}}, false)
		c.u8(tokEOF)
	})
	out = append(out, evtxFile(c.bytes()))
	return out
}

// FuzzRead feeds arbitrary bytes to Read: it must not panic nor hang, must
// report problems within the file, deliver as many events as it counts, and
// the same events whether or not it renders XML, and whether it reads the
// bytes with ReadAt or from memory.
func FuzzRead(f *testing.F) {
	for _, b := range handBuilt() {
		f.Add(b)
	}
	for _, name := range []string{"rdp-1149-plain-binxml.evtx", "security-4625.evtx"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[fileHeaderSize:]) // headerless
	}
	f.Add([]byte("ElfFile\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// With XML, every record takes the generic walk; without, field
		// programs replay what earlier records recorded: the events must
		// be the same. So must they be when the file is read from memory
		// (mapped) rather than with ReadAt.
		var withXML []*event.Event
		for i, opt := range []Options{{Workers: 1, RenderXML: true, MaxChunks: 8}, {Workers: 2, MaxChunks: 8}, {Workers: 2, MaxChunks: 8}} {
			n := 0
			var r io.ReaderAt = bytes.NewReader(data)
			if i == 2 {
				r = mappedFile{bytes.NewReader(data), data}
			}
			st, err := Read(context.Background(), r, int64(len(data)), "fuzz.evtx", opt,
				func(ev *event.Event) error {
					if ev.Source != "evtx" || ev.Time.IsZero() || (opt.RenderXML && ev.Raw == "") {
						t.Errorf("event: source %q time %v raw %d bytes", ev.Source, ev.Time, len(ev.Raw))
					}
					if opt.RenderXML {
						withXML = append(withXML, ev.Clone())
					} else if n >= len(withXML) {
						t.Errorf("more events without XML than with")
					} else if d := fieldDiff(ev, withXML[n]); d != "" {
						t.Errorf("record %d: without XML %s", ev.Origin.Line, d)
					}
					n++
					return nil
				},
				func(p Problem) {
					if p.Offset < 0 || p.Offset > int64(len(data)) || p.Err == nil || p.Chunk < -1 {
						t.Errorf("problem out of the file: %v", p)
					}
				})
			if err != nil && !errors.Is(err, ErrTooManyChunks) {
				t.Errorf("%+v: %v", opt, err)
			}
			if n != st.Records || st.BadChunks > st.Chunks || n != len(withXML) {
				t.Errorf("%+v: %d events (%d with XML), stats %+v", opt, n, len(withXML), st)
			}
		}
	})
}
