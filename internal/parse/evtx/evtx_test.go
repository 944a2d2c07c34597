package evtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/parse/winxml"
)

// readBytes reads an in-memory file with XML rendering on, returning cloned
// events and the problems reported.
func readBytes(t *testing.T, data []byte, opt Options) ([]*event.Event, []Problem, Stats) {
	t.Helper()
	opt.RenderXML = true
	var evs []*event.Event
	var probs []Problem
	st, err := Read(context.Background(), bytes.NewReader(data), int64(len(data)), "test.evtx", opt,
		func(ev *event.Event) error { evs = append(evs, ev.Clone()); return nil },
		func(p Problem) { probs = append(probs, p) })
	if err != nil {
		t.Fatal(err)
	}
	return evs, probs, st
}

// oneEvent builds a file of one record of systemTemplate(content...) with
// vals after the System values, reads it, and checks that its XML parses back
// (winxml) to the same fields.
func oneEvent(t *testing.T, vals []xval, content ...any) *event.Event {
	t.Helper()
	c := newChunkBuilder()
	c.record(7, testFileTime, func() {
		c.b = append(c.b, tokFragment, 1, 1, 0)
		c.templateInstance(systemTemplate(content...), 1, 0, append(systemVals(4688, 7), vals...))
		c.u8(tokEOF)
	})
	evs, probs, _ := readBytes(t, evtxFile(c.bytes()), Options{})
	for _, p := range probs {
		t.Error(p)
	}
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	checkRoundTrip(t, evs[0])
	return evs[0]
}

// checkRoundTrip parses ev.Raw with winxml and compares every field.
func checkRoundTrip(t *testing.T, ev *event.Event) {
	t.Helper()
	back := &event.Event{}
	if err := (winxml.Parser{}).Parse([]byte(ev.Raw), back, parse.NewContext(time.UTC, time.Time{})); err != nil {
		t.Errorf("XML does not parse back: %v\n%s", err, ev.Raw)
		return
	}
	if d := fieldDiff(ev, back); d != "" {
		t.Errorf("XML parses back to other fields: %s\n%s", d, ev.Raw)
	}
	if !back.Time.Equal(ev.Time) || back.Host != ev.Host {
		t.Errorf("XML parses back to time %v host %q, want %v %q", back.Time, back.Host, ev.Time, ev.Host)
	}
}

// fieldDiff describes the first difference between the fields of a and b.
func fieldDiff(a, b *event.Event) string {
	var fa, fb []string
	a.Fields(func(k, v string) { fa = append(fa, k+"="+v) })
	b.Fields(func(k, v string) { fb = append(fb, k+"="+v) })
	for i := range max(len(fa), len(fb)) {
		var x, y string
		if i < len(fa) {
			x = fa[i]
		}
		if i < len(fb) {
			y = fb[i]
		}
		if x != y {
			return "field " + strconv.Itoa(i) + ": " + strconv.Quote(x) + " vs " + strconv.Quote(y)
		}
	}
	return ""
}

func data(name string, id uint16, typ byte) xel {
	return xel{name: "Data", attrs: []xattr{{name: "Name", parts: []any{name}}}, kids: []any{xsub{id: id, typ: typ}}}
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

// Every value type renders as Windows renders it in XML (expected values
// written from MS-EVEN6 and Windows' own XML, not from this code).
func TestValueTypes(t *testing.T) {
	sysTime := append(append(append(append(le16(2021), le16(3)...), le16(4)...), le16(4)...),
		append(append(append(le16(5), le16(6)...), le16(7)...), le16(89)...)...)
	sid := append([]byte{1, 5, 0, 0, 0, 0, 0, 5}, append(append(append(append(le32(21), le32(1)...), le32(2)...), le32(3)...), le32(500)...)...)
	guid := []byte{0x25, 0x96, 0x84, 0x54, 0x78, 0x54, 0x94, 0x49, 0xA5, 0xBA, 0x3E, 0x3B, 0x03, 0x28, 0xC3, 0x0D}
	cases := []struct {
		name string
		v    xval
		want string
	}{
		{"Int8", xval{typeInt8, []byte{0xfb}}, "-5"},
		{"UInt8", xval{typeUint8, []byte{200}}, "200"},
		{"Int16", xval{typeInt16, le16(0xfed4)}, "-300"},
		{"UInt16", xval{typeUint16, le16(65535)}, "65535"},
		{"Int32", xval{typeInt32, le32(uint32(0xfffeee90))}, "-70000"},
		{"UInt32", xval{typeUint32, le32(4000000000)}, "4000000000"},
		{"Int64", xval{typeInt64, le64(uint64(0xfffffb73d8c6b000))}, "-5000000000000"},
		{"UInt64", xval{typeUint64, le64(math.MaxUint64)}, "18446744073709551615"},
		{"Real32", xval{typeReal32, le32(math.Float32bits(1.5))}, "1.5"},
		{"Real64", xval{typeReal64, le64(math.Float64bits(0.1))}, "0.1"},
		{"BoolTrue", xval{typeBool, le32(1)}, "true"},
		{"BoolFalse", xval{typeBool, le32(0)}, "false"},
		{"Binary", xval{typeBinary, []byte{0xde, 0xad, 0x01}}, "DEAD01"},
		{"Guid", xval{typeGUID, guid}, "{54849625-5478-4994-A5BA-3E3B0328C30D}"},
		{"SizeT", xval{typeSizeT, le64(0x7ffe0000)}, "0x7ffe0000"},
		{"SizeT32", xval{typeSizeT, le32(0x1000)}, "0x1000"},
		{"FileTime", vFT(testFileTime), "2021-03-04T05:06:07.1234567Z"},
		{"SysTime", xval{typeSysTime, sysTime}, "2021-03-04T05:06:07.0890000Z"},
		{"Sid", xval{typeSID, sid}, "S-1-5-21-1-2-3-500"},
		{"HexInt32", xval{typeHexInt32, le32(0x3e7)}, "0x3e7"},
		{"HexInt64", xval{typeHexInt64, le64(0x8020000000000000)}, "0x8020000000000000"},
		{"Ansi", xval{typeAnsi, []byte("caf\xe9 \x80\x00junk")}, "café €"},
		{"StringNul", vStr("abc\x00def"), "abc"},
		{"StringSurrogates", vStr("clef 𝄞 end"), "clef 𝄞 end"},
		{"StringMarkup", vStr(`a<b & "c" 'd'`), `a<b & "c" 'd'`},
		{"StringCRLF", vStr("line1\r\nline2\ttab"), "line1\r\nline2\ttab"},
		{"Empty", vStr(""), ""},
	}
	var kids []any
	var vals []xval
	for i, c := range cases {
		kids = append(kids, data(c.name, uint16(4+i), c.v.typ))
		vals = append(vals, c.v)
	}
	ev := oneEvent(t, vals, xel{name: "EventData", kids: kids})
	for _, c := range cases {
		got, ok := ev.LookupOK(c.name)
		if !ok || got != c.want {
			t.Errorf("%s = %q (present %v), want %q", c.name, got, ok, c.want)
		}
	}
	// The System part.
	for k, want := range map[string]string{
		"EventID": "4688", "EventRecordID": "7", "Channel": "Test", "Computer": "host1",
		"Provider_Name": "Test-Provider", "TimeCreated": "2021-03-04T05:06:07.1234567Z",
	} {
		if got := ev.Extra(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if ev.Source != "evtx" || ev.Host != "host1" || ev.Origin.Line != 7 || ev.Origin.File != "test.evtx" ||
		!ev.Time.Equal(time.Date(2021, 3, 4, 5, 6, 7, 123456700, time.UTC)) || ev.Get(event.EventID) != "4688" {
		t.Errorf("event header: source %q host %q origin %v time %v event_id %q", ev.Source, ev.Host, ev.Origin, ev.Time, ev.Get(event.EventID))
	}
	if _, ok := ev.LookupOK("ActivityID"); ok {
		t.Error("optional NULL ActivityID attribute rendered")
	}
	if !strings.Contains(ev.Raw, "<Correlation/>") || !strings.Contains(ev.Raw, `>a&lt;b &amp; "c" 'd'</Data>`) {
		t.Errorf("XML: %s", ev.Raw)
	}
	if !strings.HasPrefix(ev.Raw, "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Test-Provider'/><EventID>4688</EventID>") {
		t.Errorf("XML start: %.200s", ev.Raw)
	}
}

// MS-EVEN6 3.1.4.7.2: an optional substitution whose value is NULL removes
// the element (or attribute) around it; a normal one renders empty.
func TestOptionalSubstitution(t *testing.T) {
	ed := xel{name: "EventData", kids: []any{
		xel{name: "Data", attrs: []xattr{{name: "Name", parts: []any{"Optional"}}}, kids: []any{xsub{id: 4, typ: typeString, opt: true}}},
		xel{name: "Data", attrs: []xattr{{name: "Name", parts: []any{"Normal"}}}, kids: []any{xsub{id: 5, typ: typeString}}},
		xel{name: "Data", attrs: []xattr{{name: "Name", parts: []any{"Present"}}}, kids: []any{xsub{id: 6, typ: typeString, opt: true}}},
	}}
	guid := make([]byte, 16)
	guid[0] = 0xab
	vals := []xval{vU16(1), vFT(testFileTime), vU64(9), {typeGUID, guid}, vNull(), vNull(), vStr("x")}
	c := newChunkBuilder()
	c.record(9, testFileTime, func() {
		c.b = append(c.b, tokFragment, 1, 1, 0)
		c.templateInstance(systemTemplate(ed), 1, 0, vals)
		c.u8(tokEOF)
	})
	evs, probs, _ := readBytes(t, evtxFile(c.bytes()), Options{})
	if len(probs) != 0 || len(evs) != 1 {
		t.Fatalf("%d events, problems %v", len(evs), probs)
	}
	ev := evs[0]
	checkRoundTrip(t, ev)
	if _, ok := ev.LookupOK("Optional"); ok {
		t.Error("element of an optional NULL substitution is present")
	}
	if v, ok := ev.LookupOK("Normal"); !ok || v != "" {
		t.Errorf("Normal = %q present %v, want present and empty", v, ok)
	}
	if v := ev.Extra("Present"); v != "x" {
		t.Errorf("Present = %q", v)
	}
	if v := ev.Extra("ActivityID"); v != "{000000AB-0000-0000-0000-000000000000}" {
		t.Errorf("ActivityID = %q", v)
	}
	if !strings.Contains(ev.Raw, "<EventData><Data Name='Normal'/><Data Name='Present'>x</Data></EventData>") {
		t.Errorf("XML: %s", ev.Raw)
	}
}

// MS-EVEN6 3.1.4.7.5: an array value repeats the element around it once per
// member; string arrays are NUL-terminated strings; an empty array gives one
// empty element.
func TestArrays(t *testing.T) {
	strArr := xval{typeString | typeArray, append(append(utf16le("first\x00"), utf16le("\x00")...), utf16le("third\x00")...)}
	u16Arr := xval{typeUint16 | typeArray, append(le16(80), le16(443)...)}
	emptyArr := xval{typeUint32 | typeArray, nil}
	ed := xel{name: "EventData", kids: []any{
		xel{name: "Data", kids: []any{xsub{id: 4, typ: typeString | typeArray}}},
		xel{name: "Data", attrs: []xattr{{name: "Name", parts: []any{"Ports"}}}, kids: []any{xsub{id: 5, typ: typeUint16 | typeArray}}},
		xel{name: "Data", attrs: []xattr{{name: "Name", parts: []any{"None"}}}, kids: []any{xsub{id: 6, typ: typeUint32 | typeArray}}},
	}}
	ev := oneEvent(t, []xval{strArr, u16Arr, emptyArr}, ed)
	want := "<EventData><Data>first</Data><Data/><Data>third</Data>" +
		"<Data Name='Ports'>80</Data><Data Name='Ports'>443</Data><Data Name='None'/></EventData>"
	if !strings.Contains(ev.Raw, want) {
		t.Errorf("XML:\n%s\nwant:\n%s", ev.Raw, want)
	}
	// Unnamed Data: Data joins the non-empty members, Data1..3 each (winxml).
	for k, w := range map[string]string{"Data": "first,third", "Data1": "first", "Data3": "third", "Ports": "443", "None": ""} {
		if v, ok := ev.LookupOK(k); !ok || v != w {
			t.Errorf("%s = %q (present %v), want %q", k, v, ok, w)
		}
	}
}

// A BinXml value (0x21) holds a nested template instance (UserData and the
// EventData of many providers); the second record of a chunk refers to the
// templates the first one defined, by offset.
func TestNestedBinXMLAndTemplateByOffset(t *testing.T) {
	inner := xel{name: "LogFileCleared", attrs: []xattr{{name: "xmlns", parts: []any{"http://manifests.microsoft.com/win/2004/08/windows/eventlog"}}},
		kids: []any{
			xel{name: "SubjectUserName", kids: []any{xsub{id: 0, typ: typeString}}},
			xel{name: "SubjectLogonId", kids: []any{xsub{id: 1, typ: typeHexInt64}}},
		}}
	outer := systemTemplate(xel{name: "UserData", kids: []any{xsub{id: 4, typ: typeBinXML, opt: true}}})
	c := newChunkBuilder()
	// The nested BinXml is written at its place in the value data, so build
	// it in a scratch builder that shares the chunk's offsets: write the
	// record by hand.
	var outerDef, innerDef int
	for i, user := range []string{"alice", "bob"} {
		id := uint64(100 + i)
		c.record(id, testFileTime, func() {
			c.b = append(c.b, tokFragment, 1, 1, 0)
			// Template instance header and, the first time, the definition.
			vals := systemVals(1102, id)
			c.u8(tokTemplate)
			c.u8(1)
			c.u32(1)
			if outerDef == 0 {
				outerDef = c.pos() + 4
				c.u32(uint32(outerDef))
				c.u32(0)
				c.b = append(c.b, make([]byte, 16)...)
				c.b[len(c.b)-16] = 1
				sizeAt := c.pos()
				c.u32(0)
				c.b = append(c.b, tokFragment, 1, 1, 0)
				c.element(outer, true)
				c.u8(tokEOF)
				c.patch32(sizeAt, uint32(c.pos()-sizeAt-4))
			} else {
				c.u32(uint32(outerDef))
			}
			c.u32(5)
			for _, v := range vals {
				c.u16(uint16(len(v.data)))
				c.u8(v.typ)
				c.u8(0)
			}
			sizeAt := c.pos()
			c.u16(0) // size of the BinXml value, patched below
			c.u8(typeBinXML)
			c.u8(0)
			for _, v := range vals {
				c.b = append(c.b, v.data...)
			}
			start := c.pos()
			c.b = append(c.b, tokFragment, 1, 1, 0)
			d := c.templateInstance(inner, 2, innerDef, []xval{vStr(user), {typeHexInt64, le64(0x68314)}})
			innerDef = d
			c.u8(tokEOF)
			binary.LittleEndian.PutUint16(c.b[sizeAt:], uint16(c.pos()-start))
			c.u8(tokEOF)
		})
	}
	evs, probs, _ := readBytes(t, evtxFile(c.bytes()), Options{})
	if len(probs) != 0 || len(evs) != 2 {
		t.Fatalf("%d events, problems %v", len(evs), probs)
	}
	for i, user := range []string{"alice", "bob"} {
		ev := evs[i]
		checkRoundTrip(t, ev)
		if ev.Extra("SubjectUserName") != user || ev.Extra("SubjectLogonId") != "0x68314" || ev.Get(event.User) != user {
			t.Errorf("record %d: SubjectUserName %q SubjectLogonId %q user %q", i, ev.Extra("SubjectUserName"), ev.Extra("SubjectLogonId"), ev.Get(event.User))
		}
		want := "<UserData><LogFileCleared xmlns='http://manifests.microsoft.com/win/2004/08/windows/eventlog'><SubjectUserName>" + user +
			"</SubjectUserName><SubjectLogonId>0x68314</SubjectLogonId></LogFileCleared></UserData>"
		if !strings.Contains(ev.Raw, want) {
			t.Errorf("record %d XML: %s", i, ev.Raw)
		}
	}
}

// Records written out in full, without template: element starts without
// dependency identifier, character and entity references, CDATA and a
// processing instruction; the System time as text.
func TestPlainBinXML(t *testing.T) {
	doc := xel{name: "Event", kids: []any{
		xel{name: "System", kids: []any{
			xel{name: "EventID", attrs: []xattr{{name: "Qualifiers", parts: []any{"16384"}}}, kids: []any{"7036"}},
			xel{name: "TimeCreated", attrs: []xattr{{name: "SystemTime", parts: []any{"2016-09-21T03:40:37.088867100Z"}}}},
			xel{name: "Computer", kids: []any{"pc"}},
		}},
		xel{name: "EventData", kids: []any{
			xel{name: "Data", attrs: []xattr{{name: "Name", parts: []any{"param1"}}}, kids: []any{"a", xentity("amp"), "b", xcharref(0x263A)}},
			xel{name: "Data", attrs: []xattr{{name: "Name", parts: []any{"param2"}}}, kids: []any{xcdata("<raw & text>")}},
			xpi{target: "pi", data: "x=1"},
		}},
	}}
	c := newChunkBuilder()
	c.record(5, testFileTime, func() {
		c.b = append(c.b, tokFragment, 1, 1, 0)
		c.element(doc, false)
		c.u8(tokEOF)
		c.b = append(c.b, "trailing garbage after the end of stream"...)
	})
	evs, probs, _ := readBytes(t, evtxFile(c.bytes()), Options{})
	if len(probs) != 0 || len(evs) != 1 {
		t.Fatalf("%d events, problems %v", len(evs), probs)
	}
	ev := evs[0]
	checkRoundTrip(t, ev)
	for k, w := range map[string]string{"param1": "a&b☺", "param2": "<raw & text>", "EventID": "7036", "Qualifiers": "16384",
		"TimeCreated": "2016-09-21T03:40:37.0888671Z"} {
		if v := ev.Extra(k); v != w {
			t.Errorf("%s = %q, want %q", k, v, w)
		}
	}
	if !strings.Contains(ev.Raw, "<?pi x=1?>") {
		t.Errorf("XML: %s", ev.Raw)
	}
}

// The dependency identifier is expected in template definitions and not
// elsewhere; a writer that differs is still read (the other layout is tried
// when the expected one gives no name).
func TestElementWithoutDependencyID(t *testing.T) {
	c := newChunkBuilder()
	c.record(1, testFileTime, func() {
		c.b = append(c.b, tokFragment, 1, 1, 0)
		// A template definition whose element starts lack the identifier.
		c.u8(tokTemplate)
		c.u8(1)
		c.u32(1)
		def := c.pos() + 4
		c.u32(uint32(def))
		c.u32(0)
		c.b = append(c.b, make([]byte, 16)...)
		sizeAt := c.pos()
		c.u32(0)
		c.b = append(c.b, tokFragment, 1, 1, 0)
		c.element(systemTemplate(), false)
		c.u8(tokEOF)
		c.patch32(sizeAt, uint32(c.pos()-sizeAt-4))
		vals := systemVals(4624, 1)
		c.u32(uint32(len(vals)))
		for _, v := range vals {
			c.u16(uint16(len(v.data)))
			c.u8(v.typ)
			c.u8(0)
		}
		for _, v := range vals {
			c.b = append(c.b, v.data...)
		}
		c.u8(tokEOF)
	})
	evs, probs, _ := readBytes(t, evtxFile(c.bytes()), Options{})
	if len(probs) != 0 || len(evs) != 1 || evs[0].Extra("EventID") != "4624" {
		t.Fatalf("%d events, problems %v", len(evs), probs)
	}
}

// Sniff takes the file signature only.
func TestSniff(t *testing.T) {
	if !Sniff([]byte("ElfFile\x00\x01\x02")) || Sniff([]byte("ElfChnk\x00")) || Sniff([]byte("Elf")) || Sniff(nil) {
		t.Error("Sniff")
	}
}

// fn's error stops the read and is returned as is; so does a cancelled
// context (wrapped).
func TestStop(t *testing.T) {
	var chunks [][]byte
	for i := range 6 {
		c := newChunkBuilder()
		for j := range 3 {
			id := uint64(i*3 + j + 1)
			c.record(id, testFileTime, func() {
				c.b = append(c.b, tokFragment, 1, 1, 0)
				c.templateInstance(systemTemplate(), 1, 0, systemVals(1, id))
				c.u8(tokEOF)
			})
			break
		}
		chunks = append(chunks, c.bytes())
	}
	data := evtxFile(chunks...)
	stop := errors.New("stop")
	for _, workers := range []int{1, 3} {
		n := 0
		_, err := Read(context.Background(), bytes.NewReader(data), int64(len(data)), "x", Options{Workers: workers},
			func(ev *event.Event) error {
				n++
				if n == 2 {
					return stop
				}
				return nil
			}, nil)
		if err != stop || n != 2 {
			t.Errorf("workers %d: err %v after %d events", workers, err, n)
		}
		ctx, cancel := context.WithCancel(context.Background())
		n = 0
		_, err = Read(ctx, bytes.NewReader(data), int64(len(data)), "x", Options{Workers: workers},
			func(ev *event.Event) error {
				n++
				cancel()
				return nil
			}, nil)
		if !errors.Is(err, context.Canceled) || n != 1 {
			t.Errorf("workers %d: cancelled read: err %v after %d events", workers, err, n)
		}
	}
	// MaxChunks: the first chunks are read, then ErrTooManyChunks.
	st, err := Read(context.Background(), bytes.NewReader(data), int64(len(data)), "x", Options{MaxChunks: 4},
		func(*event.Event) error { return nil }, nil)
	if !errors.Is(err, ErrTooManyChunks) || st.Records != 4 {
		t.Errorf("MaxChunks: %v, %+v", err, st)
	}
}

// A template whose fields repeat a name (two <Data Name='X'>, or a field
// named TimeCreated) is not "unique": its records take the path that looks
// for an earlier field of the same name, as winxml does.
func TestUniqueNames(t *testing.T) {
	ok := []progEntry{{name: "A"}, {name: "B"}, {kind: kindTime}, {unnamed: true}, {unnamed: true}}
	if !uniqueNames(ok) {
		t.Error("distinct names reported as repeated")
	}
	for _, bad := range [][]progEntry{
		{{name: "A"}, {name: "B"}, {name: "A"}},
		{{name: "TimeCreated"}, {kind: kindTime}},
	} {
		if uniqueNames(bad) {
			t.Errorf("%+v reported unique", bad)
		}
	}
}
