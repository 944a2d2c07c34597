package ioc

import (
	"errors"
	"fmt"
	"strings"
)

// This file parses the subset of the STIX 2.1 patterning language that names
// single values: observations of comparisons joined by OR,
//
//	[domain-name:value = 'evil.example']
//	[ipv4-addr:value = '203.0.113.0/24' OR ipv4-addr:value ISSUBSET '198.51.100.0/24']
//	[url:value = 'http://evil.example/x'] OR [file:hashes.'SHA-256' = '...']
//
// A pattern that needs several observations together (AND, FOLLOWEDBY),
// negation or qualifiers (WITHIN, REPEATS, START/STOP) cannot be checked one
// event value at a time and is unsupported as a whole; within an OR, an
// unsupported comparison is reported and the others are kept (any one of
// them matching is a match of the indicator).

// maxPatternLen bounds a pattern.
const maxPatternLen = 64 << 10

// errUnsupported marks a pattern kizuki cannot match (as opposed to a
// malformed one).
var errUnsupported = errors.New("unsupported pattern")

// comparison is one "object-path op value".
type comparison struct {
	path, op, value string
	str             bool // value is a string literal
}

type stixTok struct {
	kind byte // '[', ']', '(', ')', 'w' word, 'p' path, 's' string, 'l' other literal, 'o' operator
	text string
}

// lexPattern cuts a pattern into tokens.
func lexPattern(p string) ([]stixTok, error) {
	var toks []stixTok
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '[' || c == ']' || c == '(' || c == ')':
			toks = append(toks, stixTok{kind: c})
			i++
		case c == '\'':
			s, n, err := lexString(p[i:])
			if err != nil {
				return nil, err
			}
			toks = append(toks, stixTok{kind: 's', text: s})
			i += n
		case c == '=' || c == '!' || c == '<' || c == '>':
			j := i + 1
			if j < len(p) && p[j] == '=' {
				j++
			}
			if p[i:j] == "!" {
				return nil, fmt.Errorf("unexpected %q", "!")
			}
			toks = append(toks, stixTok{kind: 'o', text: p[i:j]})
			i = j
		case (c == 'h' || c == 'b' || c == 't') && i+1 < len(p) && p[i+1] == '\'':
			s, n, err := lexString(p[i+1:])
			if err != nil {
				return nil, err
			}
			toks = append(toks, stixTok{kind: 'l', text: string(c) + "'" + s + "'"})
			i += 1 + n
		case c >= '0' && c <= '9' || c == '-':
			j := i + 1
			for j < len(p) && (p[j] >= '0' && p[j] <= '9' || p[j] == '.') {
				j++
			}
			toks = append(toks, stixTok{kind: 'l', text: p[i:j]})
			i = j
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_':
			j := i
			for j < len(p) {
				d := p[j]
				if d >= 'a' && d <= 'z' || d >= 'A' && d <= 'Z' || d >= '0' && d <= '9' || d == '_' || d == '-' || d == ':' || d == '.' {
					j++
					continue
				}
				// A quoted path component: hashes.'SHA-256'.
				if d == '\'' && j > i && p[j-1] == '.' {
					_, n, err := lexString(p[j:])
					if err != nil {
						return nil, err
					}
					j += n
					continue
				}
				// A list index: values[*], values[0].
				if d == '[' && j > i && strings.Contains(p[i:j], ":") {
					k := strings.IndexByte(p[j:], ']')
					if k < 0 {
						return nil, errors.New("unterminated list index")
					}
					j += k + 1
					continue
				}
				break
			}
			w := p[i:j]
			kind := byte('w')
			if strings.Contains(w, ":") {
				kind = 'p'
			}
			toks = append(toks, stixTok{kind: kind, text: w})
			i = j
		default:
			return nil, fmt.Errorf("unexpected %q", c)
		}
	}
	return toks, nil
}

// lexString reads a quoted string at the start of s (which begins with a
// quote) and returns its value and length.
func lexString(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) {
				return "", 0, errors.New("unterminated string")
			}
			i++
			b.WriteByte(s[i])
		case '\'':
			return b.String(), i + 1, nil
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, errors.New("unterminated string")
}

// patternParser is a recursive-descent parser over the tokens.
type patternParser struct {
	toks []stixTok
	pos  int
	out  []comparison
}

func (pp *patternParser) peek() stixTok {
	if pp.pos < len(pp.toks) {
		return pp.toks[pp.pos]
	}
	return stixTok{}
}

func (pp *patternParser) next() stixTok {
	t := pp.peek()
	if pp.pos < len(pp.toks) {
		pp.pos++
	}
	return t
}

// isWord reports whether t is the keyword w.
func isWord(t stixTok, w string) bool { return t.kind == 'w' && strings.EqualFold(t.text, w) }

// parsePattern returns the comparisons of a pattern whose observations are
// joined by OR only.
func parsePattern(p string) ([]comparison, error) {
	if len(p) > maxPatternLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", errUnsupported, maxPatternLen)
	}
	toks, err := lexPattern(p)
	if err != nil {
		return nil, err
	}
	pp := &patternParser{toks: toks}
	if err := pp.observations(0); err != nil {
		return nil, err
	}
	if t := pp.peek(); t.kind != 0 {
		return nil, pp.unexpected(t)
	}
	if len(pp.out) == 0 {
		return nil, errors.New("no comparison")
	}
	return pp.out, nil
}

func (pp *patternParser) unexpected(t stixTok) error {
	switch {
	case isWord(t, "AND"), isWord(t, "FOLLOWEDBY"):
		return fmt.Errorf("%w: %s needs several observations together", errUnsupported, strings.ToUpper(t.text))
	case isWord(t, "WITHIN"), isWord(t, "REPEATS"), isWord(t, "START"), isWord(t, "STOP"):
		return fmt.Errorf("%w: qualifier %s", errUnsupported, strings.ToUpper(t.text))
	case t.kind == 0:
		return errors.New("unexpected end of pattern")
	}
	return fmt.Errorf("unexpected %q", tokText(t))
}

func tokText(t stixTok) string {
	if t.kind == 'w' || t.kind == 'p' || t.kind == 'o' || t.kind == 'l' {
		return t.text
	}
	if t.kind == 's' {
		return "'" + t.text + "'"
	}
	return string(t.kind)
}

// observations: observation { OR observation }.
func (pp *patternParser) observations(depth int) error {
	if depth > 32 {
		return fmt.Errorf("%w: nested too deeply", errUnsupported)
	}
	for {
		if err := pp.observation(depth); err != nil {
			return err
		}
		if !isWord(pp.peek(), "OR") {
			return nil
		}
		pp.next()
	}
}

// observation: "[" comparisons "]" | "(" observations ")".
func (pp *patternParser) observation(depth int) error {
	switch t := pp.next(); t.kind {
	case '[':
		if err := pp.comparisons(depth); err != nil {
			return err
		}
		if t := pp.next(); t.kind != ']' {
			return pp.unexpected(t)
		}
	case '(':
		if err := pp.observations(depth + 1); err != nil {
			return err
		}
		if t := pp.next(); t.kind != ')' {
			return pp.unexpected(t)
		}
	default:
		return pp.unexpected(t)
	}
	return nil
}

// comparisons: comparison { OR comparison }.
func (pp *patternParser) comparisons(depth int) error {
	if depth > 32 {
		return fmt.Errorf("%w: nested too deeply", errUnsupported)
	}
	for {
		if pp.peek().kind == '(' {
			pp.next()
			if err := pp.comparisons(depth + 1); err != nil {
				return err
			}
			if t := pp.next(); t.kind != ')' {
				return pp.unexpected(t)
			}
		} else if err := pp.comparison(); err != nil {
			return err
		}
		if !isWord(pp.peek(), "OR") {
			return nil
		}
		pp.next()
	}
}

// comparison: path op value.
func (pp *patternParser) comparison() error {
	t := pp.next()
	if isWord(t, "NOT") {
		return fmt.Errorf("%w: NOT", errUnsupported)
	}
	if t.kind != 'p' {
		return pp.unexpected(t)
	}
	c := comparison{path: t.text}
	op := pp.next()
	switch {
	case op.kind == 'o':
		c.op = op.text
	case op.kind == 'w':
		c.op = strings.ToUpper(op.text)
		if c.op == "NOT" {
			return fmt.Errorf("%w: NOT", errUnsupported)
		}
	default:
		return pp.unexpected(op)
	}
	switch v := pp.next(); v.kind {
	case 's':
		c.value, c.str = v.text, true
	case 'l', 'w':
		c.value = v.text
	case '(': // IN ('a', 'b')
		depth := 1
		for depth > 0 {
			switch pp.next().kind {
			case '(':
				depth++
			case ')':
				depth--
			case 0:
				return errors.New("unexpected end of pattern")
			}
		}
		c.value = "(...)"
	default:
		return pp.unexpected(v)
	}
	pp.out = append(pp.out, c)
	return nil
}

// stixPaths maps the supported object paths to a kind.
var stixPaths = map[string]Kind{
	"domain-name:value":              Domain,
	"ipv4-addr:value":                IP,
	"ipv6-addr:value":                IP,
	"url:value":                      URL,
	"email-addr:value":               Email,
	"email-message:from_ref.value":   Email,
	"email-message:sender_ref.value": Email,
}

// indicatorOf turns one comparison into an indicator, or says why it
// cannot be matched.
func indicatorOf(c comparison) (Indicator, error) {
	path := c.path
	kind, ok := stixPaths[path]
	algo := ""
	if !ok && strings.HasPrefix(path, "file:hashes.") {
		a := strings.ToUpper(strings.Trim(strings.TrimPrefix(path, "file:hashes."), "'"))
		switch strings.ReplaceAll(a, "-", "") {
		case "MD5":
			kind, algo, ok = Hash, "md5", true
		case "SHA1":
			kind, algo, ok = Hash, "sha1", true
		case "SHA256":
			kind, algo, ok = Hash, "sha256", true
		default:
			return Indicator{}, fmt.Errorf("hash %s is not supported (MD5, SHA-1, SHA-256)", a)
		}
	}
	if !ok {
		return Indicator{}, fmt.Errorf("object path %s is not supported", path)
	}
	if !c.str {
		return Indicator{}, fmt.Errorf("%s %s %s: the value is not a string", path, c.op, c.value)
	}
	switch {
	case c.op == "=":
	case c.op == "ISSUBSET" && kind == IP:
	default:
		return Indicator{}, fmt.Errorf("operator %s is not supported for %s (only =, and ISSUBSET for addresses)", c.op, path)
	}
	in, err := NewIndicator(kind, c.value)
	if err != nil {
		return in, err
	}
	if algo != "" && in.Algo != algo {
		return Indicator{}, fmt.Errorf("%w: %s holds %d hex digits", ErrInvalid, path, len(in.Value))
	}
	return in, nil
}
