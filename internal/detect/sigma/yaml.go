package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// This file turns YAML into a small tree of our own (ynode). Sigma needs more
// than a decoder into map[string]any gives: the text of a number as written
// (EventID: 4688 is matched as text), whether a scalar was null, '' or
// missing, map keys in their written order, and the line of every node for
// error messages. goccy/go-yaml's AST has all of it; the rest of the package
// never sees the AST.

// Limits on rule files. Real SigmaHQ rules are at most ~300 KB
// (driver_load_win_vuln_drivers.yml, 4,400 list items) and nest 5 deep;
// parsing a 1 MiB file of the worst shape takes about half a second.
const (
	MaxFileSize  = 1 << 20 // bytes of one rule file
	MaxDepth     = 64      // nesting of YAML collections
	MaxNodes     = 200_000 // YAML nodes in one document
	MaxDocuments = 1_000   // YAML documents in one file
)

type ykind uint8

const (
	yNull ykind = iota
	yBool
	yInt
	yFloat
	yString
	ySeq
	yMap
)

func (k ykind) String() string {
	return [...]string{"null", "boolean", "integer", "number", "string", "list", "map"}[k]
}

// ynode is one YAML value. Scalars keep their text (a string's decoded
// value; a number's or boolean's text as written). Maps keep keys in order.
type ynode struct {
	kind  ykind
	text  string
	keys  []string // yMap: keys, parallel to items
	items []*ynode // ySeq: elements; yMap: values
	line  int      // 1-based line in the file
	col   int      // 1-based column
}

// get returns the value of key in a map node, nil when absent (or when n is
// not a map).
func (n *ynode) get(key string) *ynode {
	if n == nil || n.kind != yMap {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.items[i]
		}
	}
	return nil
}

func (n *ynode) isScalar() bool { return n != nil && n.kind < ySeq }

// value converts n to plain Go values (for Rule.Custom).
func (n *ynode) value() any {
	switch n.kind {
	case yNull:
		return nil
	case yBool:
		return strings.EqualFold(n.text, "true")
	case yInt:
		if v, err := strconv.ParseInt(n.text, 0, 64); err == nil {
			return v
		}
		return n.text
	case yFloat:
		if v, err := strconv.ParseFloat(n.text, 64); err == nil {
			return v
		}
		return n.text
	case ySeq:
		out := make([]any, len(n.items))
		for i, c := range n.items {
			out[i] = c.value()
		}
		return out
	case yMap:
		out := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			out[k] = n.items[i].value()
		}
		return out
	}
	return n.text
}

// yamlDoc is one document of a file: its text and where it starts.
type yamlDoc struct {
	text      []byte
	firstLine int // 1-based line of text's first line in the file
}

// splitDocuments cuts a YAML stream at its "---" document markers (and "..."
// end markers). Documents that hold only blanks and comments are dropped.
func splitDocuments(data []byte) []yamlDoc {
	var docs []yamlDoc
	start, startLine, line := 0, 1, 1
	flush := func(end int) {
		if hasContent(data[start:end]) {
			docs = append(docs, yamlDoc{text: data[start:end], firstLine: startLine})
		}
	}
	for off := 0; off < len(data); {
		nl := bytes.IndexByte(data[off:], '\n')
		end := len(data)
		if nl >= 0 {
			end = off + nl + 1
		}
		l := bytes.TrimRight(data[off:end], "\r\n")
		if isDocMarker(l) {
			flush(off)
			start, startLine = end, line+1
			if bytes.HasPrefix(l, []byte("---")) && len(bytes.TrimSpace(l[3:])) > 0 && l[3] == ' ' {
				// "--- value" carries content on the marker line.
				start, startLine = off+4, line
			}
		}
		off = end
		line++
	}
	flush(len(data))
	return docs
}

func isDocMarker(l []byte) bool {
	if !bytes.HasPrefix(l, []byte("---")) && !bytes.HasPrefix(l, []byte("...")) {
		return false
	}
	rest := l[3:]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t'
}

func hasContent(b []byte) bool {
	for _, l := range bytes.Split(b, []byte("\n")) {
		t := bytes.TrimSpace(l)
		if len(t) > 0 && t[0] != '#' && !(len(t) >= 3 && t[0] == '%') {
			return true
		}
	}
	return false
}

// parseYAML parses one YAML document into a ynode tree. firstLine shifts the
// line numbers to the document's place in its file. goccy/go-yaml has
// panicked on malformed input (see internal/org/config.go), so a panic is
// turned into an error.
func parseYAML(doc []byte, firstLine int) (n *ynode, err error) {
	if err := checkNesting(doc, firstLine); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			n, err = nil, fmt.Errorf("invalid YAML: %v", r)
		}
	}()
	f, err := parser.ParseBytes(doc, 0)
	if err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) && ye.GetToken() != nil && ye.GetToken().Position != nil {
			return nil, &posError{line: ye.GetToken().Position.Line + firstLine - 1, msg: "invalid YAML: " + ye.GetMessage()}
		}
		return nil, fmt.Errorf("invalid YAML: %s", firstLineOf(err.Error()))
	}
	var body ast.Node
	for _, d := range f.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		if body != nil {
			return nil, errors.New("invalid YAML: more than one document")
		}
		body = d.Body
	}
	if body == nil {
		return &ynode{kind: yNull, line: firstLine}, nil
	}
	c := converter{lineOff: firstLine - 1}
	return c.node(body, 0)
}

// maxIndent caps the indentation (spaces and "- " markers) of a line: block
// nesting cannot be deeper than the indentation is wide.
const maxIndent = 1024

// checkNesting rejects documents nested too deeply before goccy/go-yaml
// sees them: its parser takes time and memory growing faster than linearly
// with the nesting (16,000 open brackets: 0.3 s; a 4 MB file of them does
// not finish), so the depth limit must hold before parsing, not after. Flow
// nesting ([ and { outside quotes and comments) is held to MaxDepth, block
// nesting by the width of the indentation.
func checkNesting(doc []byte, firstLine int) error {
	depth, line := 0, firstLine
	var quote byte
	lineStart := true
	indent := 0
	prev := byte(' ') // last non-blank byte of the line (' ' at its start)
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		if c == '\n' {
			// Quoted scalars may span lines: the quote state carries over.
			line++
			lineStart, indent, prev = true, 0, ' '
			continue
		}
		if lineStart && quote == 0 {
			switch {
			case c == ' ' || c == '\t':
				indent++
			case c == '-' && i+1 < len(doc) && (doc[i+1] == ' ' || doc[i+1] == '\t'):
				indent += 2
				i++
			default:
				lineStart = false
			}
			if indent > maxIndent {
				return &posError{line: line, msg: fmt.Sprintf("YAML indented deeper than %d columns", maxIndent)}
			}
			if lineStart {
				continue
			}
		}
		switch {
		case quote != 0:
			if c == quote {
				if quote == '\'' && i+1 < len(doc) && doc[i+1] == '\'' {
					i++ // '' inside a single-quoted scalar
					continue
				}
				quote = 0
			} else if c == '\\' && quote == '"' {
				i++
			}
			continue
		case (c == '\'' || c == '"') && startsValue(prev):
			quote = c
		case c == '#' && (prev == ' ' || prev == '\t'):
			for i < len(doc) && doc[i] != '\n' {
				i++
			}
			i--
			continue
		case (c == '[' || c == '{') && startsValue(prev) && (depth > 0 || (prev != '[' && prev != '{' && prev != ',')):
			// After [ { or , only inside a flow collection: "x [[" is text.
			depth++
			if depth > MaxDepth {
				return &posError{line: line, msg: fmt.Sprintf("YAML nested deeper than %d levels", MaxDepth)}
			}
		case (c == ']' || c == '}') && depth > 0:
			depth--
		}
		if c != ' ' && c != '\t' {
			prev = c
		}
	}
	return nil
}

// startsValue reports whether a flow collection or a quoted scalar may begin
// after prev, the last non-blank byte before it (' ' at a line's start): an
// indicator, not text, so that "[" inside a plain scalar (title: foo [bar])
// is not taken for nesting.
func startsValue(prev byte) bool {
	switch prev {
	case ' ', ':', ',', '-', '[', '{', '?':
		return true
	}
	return false
}

func firstLineOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

type converter struct {
	lineOff int
	nodes   int
}

func (c *converter) pos(n ast.Node, y *ynode) *ynode {
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		y.line, y.col = tk.Position.Line+c.lineOff, tk.Position.Column
	}
	return y
}

func (c *converter) node(n ast.Node, depth int) (*ynode, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("YAML nested deeper than %d levels", MaxDepth)
	}
	c.nodes++
	if c.nodes > MaxNodes {
		return nil, fmt.Errorf("YAML document has more than %d nodes", MaxNodes)
	}
	switch v := n.(type) {
	case nil:
		return &ynode{kind: yNull}, nil
	case *ast.NullNode:
		return c.pos(n, &ynode{kind: yNull, text: "null"}), nil
	case *ast.BoolNode:
		return c.pos(n, &ynode{kind: yBool, text: v.GetToken().Value}), nil
	case *ast.IntegerNode:
		return c.pos(n, &ynode{kind: yInt, text: v.GetToken().Value}), nil
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return c.pos(n, &ynode{kind: yFloat, text: v.GetToken().Value}), nil
	case *ast.StringNode:
		return c.pos(n, &ynode{kind: yString, text: v.Value}), nil
	case *ast.LiteralNode:
		s := ""
		if v.Value != nil {
			s = v.Value.Value
		}
		return c.pos(n, &ynode{kind: yString, text: s}), nil
	case *ast.TagNode:
		inner, err := c.node(v.Value, depth+1)
		if err != nil {
			return nil, err
		}
		if tk := v.Start; tk != nil && tk.Value == "!!str" && inner.isScalar() {
			inner.kind = yString
		}
		return inner, nil
	case *ast.AnchorNode:
		return c.node(v.Value, depth+1)
	case *ast.AliasNode:
		return nil, c.errAt(n, "YAML aliases are not supported in Sigma rules")
	case *ast.MappingNode:
		y := c.pos(n, &ynode{kind: yMap})
		for _, mv := range v.Values {
			if err := c.addPair(y, mv, depth); err != nil {
				return nil, err
			}
		}
		return y, nil
	case *ast.MappingValueNode:
		y := c.pos(n, &ynode{kind: yMap})
		if err := c.addPair(y, v, depth); err != nil {
			return nil, err
		}
		return y, nil
	case *ast.SequenceNode:
		y := c.pos(n, &ynode{kind: ySeq})
		for _, e := range v.Values {
			item, err := c.node(e, depth+1)
			if err != nil {
				return nil, err
			}
			y.items = append(y.items, item)
		}
		return y, nil
	case *ast.CommentNode, *ast.CommentGroupNode:
		return &ynode{kind: yNull}, nil
	}
	return nil, c.errAt(n, fmt.Sprintf("unsupported YAML node %s", n.Type()))
}

func (c *converter) addPair(y *ynode, mv *ast.MappingValueNode, depth int) error {
	if mv == nil {
		return nil
	}
	if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
		return c.errAt(mv, "YAML merge keys (<<) are not supported in Sigma rules")
	}
	k, err := c.node(mv.Key, depth+1)
	if err != nil {
		return err
	}
	if !k.isScalar() {
		return c.errAt(mv, "a map key must be a scalar")
	}
	key := k.text
	for _, old := range y.keys {
		if old == key {
			return c.errAt(mv.Key, fmt.Sprintf("duplicate key %q", key))
		}
	}
	val, err := c.node(mv.Value, depth+1)
	if err != nil {
		return err
	}
	if val.line == 0 {
		val.line, val.col = k.line, k.col
	}
	y.keys = append(y.keys, key)
	y.items = append(y.items, val)
	return nil
}

func (c *converter) errAt(n ast.Node, msg string) error {
	if n != nil {
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			return &posError{line: tk.Position.Line + c.lineOff, msg: msg}
		}
	}
	return errors.New(msg)
}

// posError is an error tied to a line of the rule file.
type posError struct {
	line int
	msg  string
	err  error // the wrapped error, when there is one
}

func (e *posError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

func (e *posError) Unwrap() error { return e.err }

// errorf builds an error located at n's line; %w wraps as in fmt.Errorf.
func errorf(n *ynode, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	if n != nil && n.line > 0 {
		return &posError{line: n.line, msg: err.Error(), err: errors.Unwrap(err)}
	}
	return err
}

// wrapPos prefixes err with context, keeping its line.
func wrapPos(context string, err error) error {
	var pe *posError
	if errors.As(err, &pe) {
		return &posError{line: pe.line, msg: context + ": " + pe.msg, err: err}
	}
	return fmt.Errorf("%s: %w", context, err)
}

// lineOf returns the line carried by err, 0 when none.
func lineOf(err error) int {
	var pe *posError
	if errors.As(err, &pe) {
		return pe.line
	}
	return 0
}
