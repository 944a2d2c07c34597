package evtx

import (
	"encoding/binary"
	"hash/crc32"
	"unicode/utf16"
)

// This file builds EVTX bytes by hand, token by token after MS-EVEN6 and
// libyal's format description, for tests of what the public samples do not
// hold (arrays, SYSTEMTIME, optional substitutions of NULL...).

// xel is an element to encode; kids are xel, string (value text), xsub,
// xcdata, xcharref, xentity or xpi.
type xel struct {
	name  string
	attrs []xattr
	kids  []any
}

type xattr struct {
	name  string
	parts []any // string or xsub
}

type xsub struct {
	id  uint16
	typ byte
	opt bool
}

type (
	xcdata   string
	xcharref uint16
	xentity  string
	xpi      struct{ target, data string }
)

// xval is a template instance value.
type xval struct {
	typ  byte
	data []byte
}

type chunkBuilder struct {
	b       []byte // from the start of the chunk
	names   map[string]int
	nrec    int
	firstID uint64
	lastID  uint64
	lastRec int
}

func newChunkBuilder() *chunkBuilder {
	return &chunkBuilder{b: make([]byte, chunkHeaderSize), names: map[string]int{}}
}

func (c *chunkBuilder) u8(v byte)    { c.b = append(c.b, v) }
func (c *chunkBuilder) u16(v uint16) { c.b = binary.LittleEndian.AppendUint16(c.b, v) }
func (c *chunkBuilder) u32(v uint32) { c.b = binary.LittleEndian.AppendUint32(c.b, v) }
func (c *chunkBuilder) u64(v uint64) { c.b = binary.LittleEndian.AppendUint64(c.b, v) }
func (c *chunkBuilder) pos() int     { return len(c.b) }

func (c *chunkBuilder) patch32(at int, v uint32) { binary.LittleEndian.PutUint32(c.b[at:], v) }

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// nameRef writes the offset of name, and the name itself the first time the
// chunk uses it.
func (c *chunkBuilder) nameRef(name string) {
	if off, ok := c.names[name]; ok {
		c.u32(uint32(off))
		return
	}
	off := c.pos() + 4
	c.names[name] = off
	c.u32(uint32(off))
	c.u32(0) // next
	c.u16(0) // hash (not checked)
	c.u16(uint16(len(utf16.Encode([]rune(name)))))
	c.b = append(c.b, utf16le(name)...)
	c.u16(0)
}

func (c *chunkBuilder) valueText(s string, more bool) {
	tok := byte(tokValue)
	if more {
		tok |= tokMoreFlag
	}
	c.u8(tok)
	c.u8(typeString)
	c.u16(uint16(len(utf16.Encode([]rune(s)))))
	c.b = append(c.b, utf16le(s)...)
}

func (c *chunkBuilder) part(p any, more bool) {
	switch p := p.(type) {
	case string:
		c.valueText(p, more)
	case xsub:
		tok := byte(tokSubst)
		if p.opt {
			tok = tokOptSubst
		}
		c.u8(tok)
		c.u16(p.id)
		c.u8(p.typ)
	case xcdata:
		c.u8(tokCDATA)
		c.u16(uint16(len(utf16.Encode([]rune(string(p))))))
		c.b = append(c.b, utf16le(string(p))...)
	case xcharref:
		c.u8(tokCharRef)
		c.u16(uint16(p))
	case xentity:
		c.u8(tokEntityRef)
		c.nameRef(string(p))
	case xpi:
		c.u8(tokPITarget)
		c.nameRef(p.target)
		c.u8(tokPIData)
		c.u16(uint16(len(utf16.Encode([]rune(p.data)))))
		c.b = append(c.b, utf16le(p.data)...)
	case xel:
		panic("element where a part is expected")
	}
}

// element encodes e; dep says whether element starts carry the dependency
// identifier (template definitions) or not (plain BinXml).
func (c *chunkBuilder) element(e xel, dep bool) {
	tok := byte(tokOpenStart)
	if len(e.attrs) > 0 {
		tok |= tokMoreFlag
	}
	c.u8(tok)
	if dep {
		c.u16(0xffff)
	}
	sizeAt := c.pos()
	c.u32(0)
	c.nameRef(e.name)
	if len(e.attrs) > 0 {
		listAt := c.pos()
		c.u32(0)
		for i, a := range e.attrs {
			t := byte(tokAttribute)
			if i < len(e.attrs)-1 {
				t |= tokMoreFlag
			}
			c.u8(t)
			c.nameRef(a.name)
			for j, p := range a.parts {
				c.part(p, j < len(a.parts)-1)
			}
		}
		c.patch32(listAt, uint32(c.pos()-listAt-4))
	}
	if len(e.kids) == 0 {
		c.u8(tokCloseEmpty)
	} else {
		c.u8(tokCloseStart)
		for i, k := range e.kids {
			if ke, ok := k.(xel); ok {
				c.element(ke, dep)
				continue
			}
			c.part(k, i < len(e.kids)-1)
		}
		c.u8(tokEndElement)
	}
	c.patch32(sizeAt, uint32(c.pos()-sizeAt-4))
}

// templateInstance writes a template instance of t with vals; def is the
// offset of an earlier definition of the same template, or 0 to define it
// here. It returns the offset of the definition.
func (c *chunkBuilder) templateInstance(t xel, guid byte, def int, vals []xval) int {
	c.u8(tokTemplate)
	c.u8(1)
	c.u32(uint32(guid)) // template id
	if def == 0 {
		def = c.pos() + 4
		c.u32(uint32(def))
		c.u32(0) // next template
		g := make([]byte, 16)
		g[0] = guid
		c.b = append(c.b, g...)
		sizeAt := c.pos()
		c.u32(0)
		c.b = append(c.b, tokFragment, 1, 1, 0)
		c.element(t, true)
		c.u8(tokEOF)
		c.patch32(sizeAt, uint32(c.pos()-sizeAt-4))
	} else {
		c.u32(uint32(def))
	}
	c.u32(uint32(len(vals)))
	for _, v := range vals {
		c.u16(uint16(len(v.data)))
		c.u8(v.typ)
		c.u8(0)
	}
	for _, v := range vals {
		c.b = append(c.b, v.data...)
	}
	return def
}

// record writes an event record whose BinXml body writes.
func (c *chunkBuilder) record(id, filetime uint64, body func()) {
	start := c.pos()
	c.b = append(c.b, recordMagic...)
	c.u32(0)
	c.u64(id)
	c.u64(filetime)
	body()
	for (c.pos()+4-start)%8 != 0 {
		c.u8(0)
	}
	size := uint32(c.pos() + 4 - start)
	c.u32(size)
	c.patch32(start+4, size)
	if c.nrec == 0 {
		c.firstID = id
	}
	c.nrec++
	c.lastID = id
	c.lastRec = start
}

// bytes returns the chunk: padded to 64 KiB, with its header and checksums.
func (c *chunkBuilder) bytes() []byte {
	free := c.pos()
	b := make([]byte, chunkSize)
	copy(b, c.b)
	copy(b, chunkMagic)
	binary.LittleEndian.PutUint64(b[8:], c.firstID)
	binary.LittleEndian.PutUint64(b[16:], c.lastID)
	binary.LittleEndian.PutUint64(b[24:], c.firstID)
	binary.LittleEndian.PutUint64(b[32:], c.lastID)
	binary.LittleEndian.PutUint32(b[40:], 128)
	binary.LittleEndian.PutUint32(b[44:], uint32(c.lastRec))
	binary.LittleEndian.PutUint32(b[48:], uint32(free))
	binary.LittleEndian.PutUint32(b[52:], crc32.ChecksumIEEE(b[chunkHeaderSize:free]))
	fixChunkCRC(b)
	return b
}

func fixChunkCRC(b []byte) {
	binary.LittleEndian.PutUint32(b[124:], crc32.Update(crc32.ChecksumIEEE(b[:120]), crc32.IEEETable, b[128:chunkHeaderSize]))
}

func fixRecordsCRC(b []byte) {
	free := binary.LittleEndian.Uint32(b[48:])
	binary.LittleEndian.PutUint32(b[52:], crc32.ChecksumIEEE(b[chunkHeaderSize:free]))
	fixChunkCRC(b)
}

// evtxFile assembles a file header and chunks.
func evtxFile(chunks ...[]byte) []byte {
	h := make([]byte, fileHeaderSize)
	copy(h, fileMagic)
	binary.LittleEndian.PutUint64(h[16:], uint64(max(len(chunks)-1, 0)))
	binary.LittleEndian.PutUint32(h[32:], 128)
	binary.LittleEndian.PutUint16(h[36:], 1)
	binary.LittleEndian.PutUint16(h[38:], 3)
	binary.LittleEndian.PutUint16(h[40:], fileHeaderSize)
	binary.LittleEndian.PutUint16(h[42:], uint16(len(chunks)))
	binary.LittleEndian.PutUint32(h[124:], crc32.ChecksumIEEE(h[:120]))
	for _, c := range chunks {
		h = append(h, c...)
	}
	return h
}

// systemTemplate is the System part every test event has, with values 0
// (EventID), 1 (FILETIME), 2 (record id), and the Correlation attribute as
// optional substitution 3; content is appended after System.
func systemTemplate(content ...any) xel {
	return xel{
		name:  "Event",
		attrs: []xattr{{name: "xmlns", parts: []any{"http://schemas.microsoft.com/win/2004/08/events/event"}}},
		kids: append([]any{xel{name: "System", kids: []any{
			xel{name: "Provider", attrs: []xattr{{name: "Name", parts: []any{"Test-Provider"}}}},
			xel{name: "EventID", kids: []any{xsub{id: 0, typ: typeUint16}}},
			xel{name: "TimeCreated", attrs: []xattr{{name: "SystemTime", parts: []any{xsub{id: 1, typ: typeFileTime, opt: true}}}}},
			xel{name: "EventRecordID", kids: []any{xsub{id: 2, typ: typeUint64}}},
			xel{name: "Correlation", attrs: []xattr{{name: "ActivityID", parts: []any{xsub{id: 3, typ: typeGUID, opt: true}}}}},
			xel{name: "Channel", kids: []any{"Test"}},
			xel{name: "Computer", kids: []any{"host1"}},
		}}}, content...),
	}
}

// Value encoders.
func vU16(v uint16) xval { return xval{typeUint16, binary.LittleEndian.AppendUint16(nil, v)} }
func vU64(v uint64) xval { return xval{typeUint64, binary.LittleEndian.AppendUint64(nil, v)} }
func vFT(v uint64) xval  { return xval{typeFileTime, binary.LittleEndian.AppendUint64(nil, v)} }
func vStr(s string) xval { return xval{typeString, utf16le(s)} }
func vNull() xval        { return xval{typeNull, nil} }

// testFileTime is 2021-03-04T05:06:07.1234567Z.
const testFileTime = 132593079671234567

// systemVals are the values of systemTemplate for a record.
func systemVals(eventID uint16, id uint64) []xval {
	return []xval{vU16(eventID), vFT(testFileTime), vU64(id), vNull()}
}
