package winjson

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// A small JSON reader that keeps object members in document order (extras
// are stored in the order the record wrote them) and allocates little: the
// nodes live in one reused slice, and strings without escapes are substrings
// of the record.

type kind uint8

const (
	kNull kind = iota
	kBool
	kNum
	kStr
	kObj
	kArr
)

type node struct {
	kind  kind
	key   string // member name within its object
	val   string // scalar text: unescaped string, number as written, "true"/"false"
	first int32  // first child (objects, arrays), -1 if none
	next  int32  // next sibling, -1 if none
}

type tree struct {
	nodes []node
	s     string
	pos   int
	depth int
	sb    []byte // scratch for unescaping
}

var treePool = sync.Pool{New: func() any { return &tree{nodes: make([]node, 0, 128)} }}

const maxDepth = 200

var errDepth = errors.New("JSON nested too deeply")

// parseDoc parses s, which must hold exactly one JSON value (surrounding
// white space allowed). The root is node 0.
func (t *tree) parseDoc(s string) error {
	t.nodes = t.nodes[:0]
	t.s, t.pos, t.depth = s, 0, 0
	if _, err := t.value(""); err != nil {
		return err
	}
	t.skipSpace()
	if t.pos < len(t.s) {
		return t.errf("unexpected %q after the JSON value", t.s[t.pos])
	}
	return nil
}

func (t *tree) errf(format string, args ...any) error {
	return fmt.Errorf("offset %d: "+format, append([]any{t.pos}, args...)...)
}

func (t *tree) skipSpace() {
	for t.pos < len(t.s) {
		switch t.s[t.pos] {
		case ' ', '\t', '\n', '\r':
			t.pos++
		default:
			return
		}
	}
}

func (t *tree) add(n node) int32 {
	t.nodes = append(t.nodes, n)
	return int32(len(t.nodes) - 1)
}

func (t *tree) value(key string) (int32, error) {
	t.skipSpace()
	if t.pos >= len(t.s) {
		return -1, t.errf("unexpected end of JSON")
	}
	switch c := t.s[t.pos]; {
	case c == '{':
		return t.object(key)
	case c == '[':
		return t.array(key)
	case c == '"':
		s, err := t.str()
		if err != nil {
			return -1, err
		}
		return t.add(node{kind: kStr, key: key, val: s, first: -1, next: -1}), nil
	case c == '-' || (c >= '0' && c <= '9'):
		return t.number(key)
	case strings.HasPrefix(t.s[t.pos:], "true"):
		t.pos += 4
		return t.add(node{kind: kBool, key: key, val: "true", first: -1, next: -1}), nil
	case strings.HasPrefix(t.s[t.pos:], "false"):
		t.pos += 5
		return t.add(node{kind: kBool, key: key, val: "false", first: -1, next: -1}), nil
	case strings.HasPrefix(t.s[t.pos:], "null"):
		t.pos += 4
		return t.add(node{kind: kNull, key: key, first: -1, next: -1}), nil
	default:
		return -1, t.errf("unexpected %q", c)
	}
}

func (t *tree) object(key string) (int32, error) {
	if t.depth++; t.depth > maxDepth {
		return -1, errDepth
	}
	self := t.add(node{kind: kObj, key: key, first: -1, next: -1})
	t.pos++ // '{'
	last := int32(-1)
	t.skipSpace()
	if t.pos < len(t.s) && t.s[t.pos] == '}' {
		t.pos++
		t.depth--
		return self, nil
	}
	for {
		t.skipSpace()
		if t.pos >= len(t.s) || t.s[t.pos] != '"' {
			return -1, t.errf("expected a member name")
		}
		k, err := t.str()
		if err != nil {
			return -1, err
		}
		t.skipSpace()
		if t.pos >= len(t.s) || t.s[t.pos] != ':' {
			return -1, t.errf("expected ':' after %q", k)
		}
		t.pos++
		c, err := t.value(k)
		if err != nil {
			return -1, err
		}
		if last < 0 {
			t.nodes[self].first = c
		} else {
			t.nodes[last].next = c
		}
		last = c
		t.skipSpace()
		if t.pos >= len(t.s) {
			return -1, t.errf("unexpected end of JSON in an object")
		}
		switch t.s[t.pos] {
		case ',':
			t.pos++
		case '}':
			t.pos++
			t.depth--
			return self, nil
		default:
			return -1, t.errf("expected ',' or '}' in an object, got %q", t.s[t.pos])
		}
	}
}

func (t *tree) array(key string) (int32, error) {
	if t.depth++; t.depth > maxDepth {
		return -1, errDepth
	}
	self := t.add(node{kind: kArr, key: key, first: -1, next: -1})
	t.pos++ // '['
	last := int32(-1)
	t.skipSpace()
	if t.pos < len(t.s) && t.s[t.pos] == ']' {
		t.pos++
		t.depth--
		return self, nil
	}
	for {
		c, err := t.value("")
		if err != nil {
			return -1, err
		}
		if last < 0 {
			t.nodes[self].first = c
		} else {
			t.nodes[last].next = c
		}
		last = c
		t.skipSpace()
		if t.pos >= len(t.s) {
			return -1, t.errf("unexpected end of JSON in an array")
		}
		switch t.s[t.pos] {
		case ',':
			t.pos++
		case ']':
			t.pos++
			t.depth--
			return self, nil
		default:
			return -1, t.errf("expected ',' or ']' in an array, got %q", t.s[t.pos])
		}
	}
}

func (t *tree) number(key string) (int32, error) {
	start := t.pos
	exp := false
	for t.pos < len(t.s) {
		c := t.s[t.pos]
		if c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' {
			t.pos++
			continue
		}
		if c == 'e' || c == 'E' {
			exp = true
			t.pos++
			continue
		}
		break
	}
	raw := t.s[start:t.pos]
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return -1, t.errf("bad number %q", raw)
	}
	if exp {
		// Numbers are stored as decimal strings.
		raw = strconv.FormatFloat(f, 'f', -1, 64)
	}
	return t.add(node{kind: kNum, key: key, val: raw, first: -1, next: -1}), nil
}

// str reads the string at t.pos (which is '"').
func (t *tree) str() (string, error) {
	t.pos++
	start := t.pos
	for t.pos < len(t.s) {
		c := t.s[t.pos]
		if c == '"' {
			s := t.s[start:t.pos]
			t.pos++
			return s, nil
		}
		if c == '\\' {
			return t.strEscaped(start)
		}
		t.pos++
	}
	return "", t.errf("unterminated string")
}

func (t *tree) strEscaped(start int) (string, error) {
	b := append(t.sb[:0], t.s[start:t.pos]...)
	for t.pos < len(t.s) {
		c := t.s[t.pos]
		switch {
		case c == '"':
			t.pos++
			t.sb = b
			return string(b), nil
		case c != '\\':
			b = append(b, c)
			t.pos++
			continue
		}
		if t.pos+1 >= len(t.s) {
			break
		}
		e := t.s[t.pos+1]
		t.pos += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := t.hex4()
			if !ok {
				return "", t.errf(`bad \u escape`)
			}
			if utf16.IsSurrogate(r) {
				pair := false
				if r < 0xDC00 && strings.HasPrefix(t.s[t.pos:], `\u`) {
					save := t.pos
					t.pos += 2
					if r2, ok := t.hex4(); ok && r2 >= 0xDC00 && r2 <= 0xDFFF {
						r, pair = utf16.DecodeRune(r, r2), true
					} else {
						t.pos = save
					}
				}
				if !pair {
					r = utf8.RuneError
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", t.errf(`bad escape \%c`, e)
		}
	}
	return "", t.errf("unterminated string")
}

func (t *tree) hex4() (rune, bool) {
	if t.pos+4 > len(t.s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(t.s[t.pos : t.pos+4]) {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	t.pos += 4
	return r, true
}

// child returns the member of object i named key, or -1.
func (t *tree) child(i int32, key string) int32 {
	if i < 0 || t.nodes[i].kind != kObj {
		return -1
	}
	for c := t.nodes[i].first; c >= 0; c = t.nodes[c].next {
		if t.nodes[c].key == key {
			return c
		}
	}
	return -1
}

// text returns the scalar value of node i: strings, numbers and booleans as
// text, null as "", an evtx_dump {"#attributes":…, "#text":…} object as its
// #text, and an array of scalars joined with ",".
func (t *tree) text(i int32) string {
	if i < 0 {
		return ""
	}
	n := &t.nodes[i]
	switch n.kind {
	case kStr, kNum, kBool:
		return n.val
	case kObj:
		if x := t.child(i, "#text"); x >= 0 {
			return t.text(x)
		}
		return ""
	case kArr:
		var sb strings.Builder
		for c := n.first; c >= 0; c = t.nodes[c].next {
			v := t.text(c)
			if v == "" {
				continue
			}
			if sb.Len() > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(v)
		}
		return sb.String()
	}
	return ""
}

// isScalar reports whether node i has a plain value (not an object or array).
func (t *tree) isScalar(i int32) bool {
	k := t.nodes[i].kind
	return k != kObj && k != kArr
}

// hasText reports whether object i is an evtx_dump element with a value:
// {"#text": …} with or without "#attributes".
func (t *tree) hasText(i int32) bool {
	return t.nodes[i].kind == kObj && t.child(i, "#text") >= 0
}
