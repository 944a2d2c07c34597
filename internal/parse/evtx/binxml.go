package evtx

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"
)

// BinXml tokens (MS-EVEN6 2.2.12). 0x40 on an element start says an
// attribute list follows; on value, attribute, CDATA and reference tokens it
// says more of the same content follows (the reader does not need it).
const (
	tokEOF           = 0x00
	tokOpenStart     = 0x01
	tokCloseStart    = 0x02
	tokCloseEmpty    = 0x03
	tokEndElement    = 0x04
	tokValue         = 0x05
	tokAttribute     = 0x06
	tokCDATA         = 0x07
	tokCharRef       = 0x08
	tokEntityRef     = 0x09
	tokPITarget      = 0x0a
	tokPIData        = 0x0b
	tokTemplate      = 0x0c
	tokSubst         = 0x0d
	tokOptSubst      = 0x0e
	tokFragment      = 0x0f
	tokMoreFlag      = 0x40
	maxElementDepth  = 64
	templateDefHead  = 24 // next offset, GUID, data size
	nameHeaderLen    = 8  // next offset (or hash link), hash, character count
	instanceHeadSize = 10 // token, version, template id, definition offset
)

// A compiled template is the tree of a template definition (or of a BinXml
// fragment without template) with its substitutions left as holes: compiled
// once per chunk, instantiated for every record that uses it.
type template struct {
	nodes []node // top level: normally one <Event> element
	// Field programs (program.go), by the classes of the values of an
	// instance of this template; those of one key differ in the templates
	// of the nested instances.
	progs  map[string][]*program
	nprogs int
	walked bool // a record of it was read: the next ones get programs
}

type nodeKind uint8

const (
	nodeText  nodeKind = iota // literal text (value text, character and entity references)
	nodeCDATA                 // CDATA section
	nodeSubst                 // substitution of a template value
	nodeElem                  // child element
	nodePI                    // processing instruction
)

type node struct {
	kind nodeKind
	opt  bool   // optional substitution (0x0E)
	sub  uint16 // substitution index
	text []byte // nodeText, nodeCDATA: UTF-8; nodePI: target
	data []byte // nodePI: data
	elem *elem
}

type elem struct {
	name, local string // qualified name as written; local part (after the prefix)
	attrs       []attrDef
	content     []node
	// subs lists the substitutions directly in this element's content and
	// attributes: an optional one with a NULL value removes the element (or
	// the attribute), an array one repeats the element per array member.
	subs []subRef
}

type attrDef struct {
	name, local string
	parts       []node // nodeText and nodeSubst
	// Precomputed for the field sink, so that no record pays for them:
	lit     string // the value when it is literal text (no substitution)
	hasLit  bool
	xmlns   bool   // a namespace declaration
	sysName string // the field name when the element is a child of System
	edName  string // the field name when the element is EventData
}

type subRef struct {
	id     uint16
	opt    bool
	inAttr bool
}

// compiler turns BinXml in one chunk into templates. Names are cached per
// chunk by offset and interned across chunks.
type compiler struct {
	b      []byte // the whole chunk
	names  map[uint32]string
	intern map[string]string
	buf    []byte
}

func newCompiler() *compiler {
	return &compiler{names: map[uint32]string{}, intern: map[string]string{}}
}

func (c *compiler) reset(chunk []byte) {
	c.b = chunk
	clear(c.names)
	if len(c.intern) > 1<<14 {
		clear(c.intern)
	}
}

type binxmlError struct {
	off int
	msg string
}

func (e *binxmlError) Error() string {
	return fmt.Sprintf("binxml at chunk offset %#x: %s", e.off, e.msg)
}

func errAt(off int, format string, args ...any) error {
	return &binxmlError{off: off, msg: fmt.Sprintf(format, args...)}
}

func (c *compiler) u16(p int) uint16 { return binary.LittleEndian.Uint16(c.b[p:]) }
func (c *compiler) u32(p int) uint32 { return binary.LittleEndian.Uint32(c.b[p:]) }

// name returns the name stored at chunk offset off. A name is written in
// full the first time a chunk uses it, right where it is referenced (off ==
// pos): next returns the position after it then, else pos. ok is false when
// off does not hold a well-formed name.
func (c *compiler) name(off uint32, pos int) (s string, next int, ok bool) {
	o := int(off)
	if o < chunkHeaderSize || o+nameHeaderLen > len(c.b) {
		return "", pos, false
	}
	n := int(c.u16(o + 6))
	end := o + nameHeaderLen + 2*n
	if n == 0 || end+2 > len(c.b) || c.u16(end) != 0 {
		return "", pos, false
	}
	next = pos
	if o == pos {
		next = end + 2
	} else if o > pos {
		// Names are defined before they are referenced.
		return "", pos, false
	}
	if s, hit := c.names[off]; hit {
		return s, next, true
	}
	for i := o + nameHeaderLen; i < end; i += 2 {
		if c.u16(i) == 0 {
			return "", pos, false // a NUL inside a name
		}
	}
	c.buf = appendUTF16(c.buf[:0], c.b[o+nameHeaderLen:end])
	s = c.internBytes(c.buf)
	c.names[off] = s
	return s, next, true
}

// localName is the part of a qualified name after its prefix, as
// encoding/xml splits it (one colon, non-empty on both sides).
func localName(s string) string {
	if i := strings.IndexByte(s, ':'); i > 0 && i < len(s)-1 && strings.IndexByte(s[i+1:], ':') < 0 {
		return s[i+1:]
	}
	return s
}

// templateAt compiles the template definition at chunk offset off: its
// 24-byte header (next template offset, GUID, data size), then a BinXml
// fragment whose element starts carry a dependency identifier.
func (c *compiler) templateAt(off int) (*template, error) {
	if off < chunkHeaderSize || off+templateDefHead > len(c.b) {
		return nil, errAt(off, "template definition offset out of the chunk")
	}
	size := int(c.u32(off + 20))
	start := off + templateDefHead
	if size > len(c.b)-start {
		return nil, errAt(off, "template definition of %d bytes overruns the chunk", size)
	}
	nodes, _, err := c.fragment(start, start+size, true)
	if err != nil {
		return nil, err
	}
	return &template{nodes: nodes}, nil
}

// fragment compiles the BinXml at [pos, end) up to its end-of-stream token
// (or end), which it leaves unread: fragment headers, elements and processing
// instructions. It is not for template instances, which the walker handles.
func (c *compiler) fragment(pos, end int, hasDep bool) ([]node, int, error) {
	var nodes []node
	for pos < end {
		t := c.b[pos]
		switch t &^ tokMoreFlag {
		case tokEOF:
			return nodes, pos, nil
		case tokFragment:
			pos += 4
		case tokOpenStart:
			e, p, err := c.element(pos, end, hasDep, 0)
			if err != nil {
				return nil, pos, err
			}
			nodes = append(nodes, node{kind: nodeElem, elem: e})
			pos = p
		case tokPITarget:
			n, p, err := c.pi(pos, end)
			if err != nil {
				return nil, pos, err
			}
			nodes = append(nodes, n)
			pos = p
		default:
			return nil, pos, errAt(pos, "unexpected token %#02x at fragment level", t)
		}
	}
	return nodes, pos, nil
}

// elementStart reads an element start token at pos and returns its name and
// the position after the name (and after the attribute list size when there
// is one). The dependency identifier is present in template definitions and
// absent elsewhere, but writers do not always agree: when the expected layout
// does not lead to a well-formed name, the other one is tried.
func (c *compiler) elementStart(pos, end int, hasDep bool) (string, int, error) {
	for _, dep := range [2]bool{hasDep, !hasDep} {
		p := pos + 1
		if dep {
			p += 2
		}
		if p+8 > end {
			continue
		}
		size := int(c.u32(p))
		nameOff := c.u32(p + 4)
		if size > end-p-4 {
			continue
		}
		name, next, ok := c.name(nameOff, p+8)
		if !ok || next > end {
			continue
		}
		if c.b[pos]&tokMoreFlag != 0 {
			next += 4 // attribute list size
			if next > end {
				continue
			}
		}
		return name, next, nil
	}
	return "", pos, errAt(pos, "element start with no readable name")
}

func (c *compiler) element(pos, end int, hasDep bool, depth int) (*elem, int, error) {
	if depth >= maxElementDepth {
		return nil, pos, errAt(pos, "elements nested deeper than %d", maxElementDepth)
	}
	name, p, err := c.elementStart(pos, end, hasDep)
	if err != nil {
		return nil, pos, err
	}
	e := &elem{name: name, local: localName(name)}
	// Attributes.
	for p < end && c.b[p]&^tokMoreFlag == tokAttribute {
		if p+5 > end {
			return nil, p, errAt(p, "attribute cut short")
		}
		an, next, ok := c.name(c.u32(p+1), p+5)
		if !ok || next > end {
			return nil, p, errAt(p, "attribute with no readable name")
		}
		a := attrDef{name: an, local: localName(an)}
		a.parts, p, err = c.content(next, end, true)
		if err != nil {
			return nil, p, err
		}
		c.precompute(e.local, &a)
		for _, n := range a.parts {
			if n.kind == nodeSubst {
				e.subs = append(e.subs, subRef{id: n.sub, opt: n.opt, inAttr: true})
			}
		}
		e.attrs = append(e.attrs, a)
	}
	if p >= end {
		return nil, p, errAt(p, "element <%s> cut short", name)
	}
	switch c.b[p] {
	case tokCloseEmpty:
		return e, p + 1, nil
	case tokCloseStart:
		p++
	default:
		return nil, p, errAt(p, "unexpected token %#02x in start of <%s>", c.b[p], name)
	}
	// Content, up to the end element token.
	for {
		var nodes []node
		nodes, p, err = c.content(p, end, false)
		if err != nil {
			return nil, p, err
		}
		for _, n := range nodes {
			if n.kind == nodeSubst {
				e.subs = append(e.subs, subRef{id: n.sub, opt: n.opt})
			}
		}
		e.content = appendNodes(e.content, nodes)
		if p >= end {
			return nil, p, errAt(p, "element <%s> not closed", name)
		}
		switch t := c.b[p]; t &^ tokMoreFlag {
		case tokEndElement:
			return e, p + 1, nil
		case tokOpenStart:
			child, np, err := c.element(p, end, hasDep, depth+1)
			if err != nil {
				return nil, np, err
			}
			e.content = append(e.content, node{kind: nodeElem, elem: child})
			p = np
		case tokPITarget:
			n, np, err := c.pi(p, end)
			if err != nil {
				return nil, np, err
			}
			e.content = append(e.content, n)
			p = np
		default:
			return nil, p, errAt(p, "unexpected token %#02x in <%s>", t, name)
		}
	}
}

// precompute fills the names the field sink derives from an attribute of
// element elem (see fieldSink.systemAttrs, winxml's systemAttrs).
func (c *compiler) precompute(elem string, a *attrDef) {
	a.xmlns = isXMLNS(a.name, a.local)
	a.hasLit = true
	c.buf = c.buf[:0]
	for _, n := range a.parts {
		if n.kind != nodeText {
			a.hasLit = false
			break
		}
		c.buf = append(c.buf, n.text...)
	}
	if a.hasLit {
		a.lit = c.internBytes(c.buf)
	}
	switch elem {
	case "Security":
		a.sysName = a.local
		if a.local == "UserID" {
			a.sysName = "SecurityUserID"
		}
	case "EventID", "Correlation", "Execution":
		a.sysName = a.local
	default: // Provider_Name, TimeCreated_SystemTime...
		a.sysName = c.internJoin(elem, a.local)
	}
	a.edName = c.internJoin("EventData", a.local)
}

// internJoin returns prefix + "_" + name, interned: without allocating when
// it already is (every element compiled asks again).
func (c *compiler) internJoin(prefix, name string) string {
	c.buf = append(append(append(c.buf[:0], prefix...), '_'), name...)
	return c.internBytes(c.buf)
}

func (c *compiler) internBytes(b []byte) string {
	if s, ok := c.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	c.intern[s] = s
	return s
}

// appendNodes appends nodes to dst, merging adjacent literal text.
func appendNodes(dst, nodes []node) []node {
	for _, n := range nodes {
		if k := len(dst) - 1; n.kind == nodeText && k >= 0 && dst[k].kind == nodeText {
			dst[k].text = append(dst[k].text[:len(dst[k].text):len(dst[k].text)], n.text...)
			continue
		}
		dst = append(dst, n)
	}
	return dst
}

// content reads value text, CDATA, character and entity references and
// substitutions from pos until another token; an attribute value takes no
// CDATA.
func (c *compiler) content(pos, end int, inAttr bool) ([]node, int, error) {
	var nodes []node
	for pos < end {
		t := c.b[pos]
		switch t &^ tokMoreFlag {
		case tokValue:
			if pos+2 > end {
				return nil, pos, errAt(pos, "value cut short")
			}
			text, p, err := c.valueText(pos+1, end)
			if err != nil {
				return nil, pos, err
			}
			nodes = appendNodes(nodes, []node{{kind: nodeText, text: text}})
			pos = p
		case tokCDATA:
			if inAttr {
				return nodes, pos, nil
			}
			text, p, err := c.utf16Text(pos+1, end)
			if err != nil {
				return nil, pos, err
			}
			nodes = append(nodes, node{kind: nodeCDATA, text: text})
			pos = p
		case tokCharRef:
			if pos+3 > end {
				return nil, pos, errAt(pos, "character reference cut short")
			}
			r := rune(c.u16(pos + 1))
			if !utf8.ValidRune(r) {
				r = utf8.RuneError
			}
			nodes = appendNodes(nodes, []node{{kind: nodeText, text: utf8.AppendRune(nil, r)}})
			pos += 3
		case tokEntityRef:
			if pos+5 > end {
				return nil, pos, errAt(pos, "entity reference cut short")
			}
			name, p, ok := c.name(c.u32(pos+1), pos+5)
			if !ok || p > end {
				return nil, pos, errAt(pos, "entity reference with no readable name")
			}
			nodes = appendNodes(nodes, []node{{kind: nodeText, text: []byte(entityText(name))}})
			pos = p
		case tokSubst, tokOptSubst:
			if pos+4 > end {
				return nil, pos, errAt(pos, "substitution cut short")
			}
			nodes = append(nodes, node{kind: nodeSubst, sub: c.u16(pos + 1), opt: t == tokOptSubst})
			pos += 4
		default:
			return nodes, pos, nil
		}
	}
	return nodes, pos, nil
}

// entityText is the text of a predefined XML entity; any other is kept as
// its reference.
func entityText(name string) string {
	switch name {
	case "lt":
		return "<"
	case "gt":
		return ">"
	case "amp":
		return "&"
	case "quot":
		return `"`
	case "apos":
		return "'"
	}
	return "&" + name + ";"
}

// valueText reads the value of a value-text token at pos (after the token):
// a value type, then a string (length-prefixed) or a fixed-size value.
func (c *compiler) valueText(pos, end int) ([]byte, int, error) {
	t := c.b[pos]
	pos++
	switch t {
	case typeString:
		return c.utf16Text(pos, end)
	case typeAnsi:
		if pos+2 > end {
			return nil, pos, errAt(pos, "value cut short")
		}
		n := int(c.u16(pos))
		if pos+2+n > end {
			return nil, pos, errAt(pos, "ANSI value overruns its record")
		}
		return appendAnsi(nil, c.b[pos+2:pos+2+n]), pos + 2 + n, nil
	}
	n := fixedSize(t)
	if n == 0 || pos+n > end {
		return nil, pos, errAt(pos, "value text of type %#02x not readable", t)
	}
	return appendScalar(nil, t, c.b[pos:pos+n]), pos + n, nil
}

// utf16Text reads a length-prefixed (in UTF-16 units) string.
func (c *compiler) utf16Text(pos, end int) ([]byte, int, error) {
	if pos+2 > end {
		return nil, pos, errAt(pos, "string cut short")
	}
	n := int(c.u16(pos))
	if pos+2+2*n > end {
		return nil, pos, errAt(pos, "string of %d characters overruns its record", n)
	}
	return appendUTF16(nil, c.b[pos+2:pos+2+2*n]), pos + 2 + 2*n, nil
}

// pi reads a processing instruction: a target token (name) and a data token.
func (c *compiler) pi(pos, end int) (node, int, error) {
	if pos+5 > end {
		return node{}, pos, errAt(pos, "PI target cut short")
	}
	name, p, ok := c.name(c.u32(pos+1), pos+5)
	if !ok || p > end {
		return node{}, pos, errAt(pos, "PI target with no readable name")
	}
	n := node{kind: nodePI, text: []byte(name)}
	if p < end && c.b[p] == tokPIData {
		data, np, err := c.utf16Text(p+1, end)
		if err != nil {
			return node{}, p, err
		}
		n.data = data
		p = np
	}
	return n, p, nil
}
