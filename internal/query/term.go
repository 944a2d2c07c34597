package query

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// A term is one leaf of the query: what the lexer recognized, already
// classified (phrase, wildcard word, field comparison...), with its values
// parsed (numbers, addresses, prefixes) so that a bad value is a parse
// error with a position rather than a term that silently never matches.

type termKind uint8

const (
	termAll     termKind = iota // "*": every row
	termText                    // free text without wildcards: a word or a "phrase"
	termWild                    // free text with wildcards: mimi*, *evil.com*
	termExists                  // field:*
	termValue                   // field:value, field:"value", field:val*ue
	termCompare                 // field:>N, field>=N, ...
)

// cmpOp is a numeric comparison.
type cmpOp uint8

const (
	opLT cmpOp = iota + 1
	opLE
	opGT
	opGE
)

func (o cmpOp) String() string {
	switch o {
	case opLT:
		return "<"
	case opLE:
		return "<="
	case opGT:
		return ">"
	case opGE:
		return ">="
	}
	return "?"
}

type term struct {
	kind  termKind
	field string  // the field name as written; "" for free text
	val   pattern // termText (no wildcards), termWild, termValue
	op    cmpOp   // termCompare
	num   number  // termCompare
	src   string  // the term as written in the query
	pos   int     // byte offset of the term in the query

	// For termValue without wildcards: the value read as an address or
	// network prefix (then compared as one).
	addr   netip.Addr
	prefix netip.Prefix
}

// piece is one part of a parsed value: a literal (wild == 0) or a
// wildcard, '*' or '?'.
type piece struct {
	wild byte
	lit  string
}

// pattern is a value as written, escapes resolved: literal text and the
// wildcards that were not escaped. Adjacent literals are joined and runs
// of '*' collapse to one.
type pattern []piece

func (p pattern) hasWild() bool {
	for _, pc := range p {
		if pc.wild != 0 {
			return true
		}
	}
	return false
}

// onlyStars reports whether the pattern is made of '*' alone.
func (p pattern) onlyStars() bool {
	return len(p) == 1 && p[0].wild == '*'
}

// literal returns the text of a pattern without wildcards.
func (p pattern) literal() string {
	switch len(p) {
	case 0:
		return ""
	case 1:
		return p[0].lit
	}
	var b strings.Builder
	for _, pc := range p {
		b.WriteString(pc.lit)
	}
	return b.String()
}

// patternBuilder accumulates a pattern while the lexer reads a value.
type patternBuilder struct {
	p   pattern
	lit []byte
}

func (b *patternBuilder) addLit(s string) { b.lit = append(b.lit, s...) }

func (b *patternBuilder) addByte(c byte) { b.lit = append(b.lit, c) }

func (b *patternBuilder) addWild(c byte) {
	b.flush()
	if c == '*' && len(b.p) > 0 && b.p[len(b.p)-1].wild == '*' {
		return
	}
	b.p = append(b.p, piece{wild: c})
}

func (b *patternBuilder) flush() {
	if len(b.lit) > 0 {
		b.p = append(b.p, piece{lit: string(b.lit)})
		b.lit = b.lit[:0]
	}
}

func (b *patternBuilder) pattern() pattern {
	b.flush()
	return b.p
}

// number is a decimal number, as a query writes it and as a field value
// holds it: an integer when it is one and fits, a float otherwise.
type number struct {
	text  string
	isInt bool
	i     int64
	f     float64
}

// parseNumber reads a decimal number: an optional sign, digits with an
// optional fraction (or a fraction alone, ".5") and an optional exponent.
// Hex, "Inf", "NaN" and digit separators are not numbers: a value such as
// "0xc0000234" or "-" never matches a comparison. It does not allocate.
func parseNumber(s string) (number, bool) {
	if !isNumberSyntax(s) {
		return number{}, false
	}
	if n, ok := parseInt(s); ok {
		return number{text: s, isInt: true, i: n, f: float64(n)}, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		// Only a range error is possible after the syntax check; the
		// value is then ±Inf, which compares as a very large number.
		if !errors.Is(err, strconv.ErrRange) {
			return number{}, false
		}
	}
	return number{text: s, f: f}, true
}

// isNumberSyntax checks s against [+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?.
func isNumberSyntax(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

// parseInt reads an optionally signed run of decimal digits that fits in
// an int64.
func parseInt(s string) (int64, bool) {
	neg := false
	switch {
	case s == "":
		return 0, false
	case s[0] == '-':
		neg, s = true, s[1:]
	case s[0] == '+':
		s = s[1:]
	}
	if s == "" || len(s) > 18 { // 18 digits always fit; longer ones go to ParseFloat
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// compare reports whether v op lit holds.
func compare(v number, op cmpOp, lit number) bool {
	var c int
	if v.isInt && lit.isInt {
		c = cmpOrdered(v.i, lit.i)
	} else {
		c = cmpOrdered(v.f, lit.f)
	}
	switch op {
	case opLT:
		return c < 0
	case opLE:
		return c <= 0
	case opGT:
		return c > 0
	case opGE:
		return c >= 0
	}
	return false
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parseAddr reads s as an IP address in a form netip accepts, IPv4-mapped
// IPv6 addresses unmapped and zones dropped (so "::ffff:10.0.0.12", as
// Windows logs IPv4 clients, equals 10.0.0.12). It does not allocate for
// a value that is not an address: the cheap check spares netip the error
// it would build.
func parseAddr(s string) (netip.Addr, bool) {
	if len(s) < 2 || len(s) > 64 || !maybeAddr(s) {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

// maybeAddr reports whether s is made of the characters of an IP address
// (up to a '%' zone) and has a '.' or ':'.
func maybeAddr(s string) bool {
	sep := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.' || c == ':':
			sep = true
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		case c == '%':
			return sep
		default:
			return false
		}
	}
	return sep
}

// parsePrefix reads a literal value as a network prefix when it has the
// shape of one: an address, '/', and decimal digits. ok reports the shape;
// err says why a value of that shape is not a valid prefix.
func parsePrefix(s string) (p netip.Prefix, ok bool, err error) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 || i == len(s)-1 || len(s)-i > 4 {
		return netip.Prefix{}, false, nil
	}
	for _, c := range []byte(s[i+1:]) {
		if c < '0' || c > '9' {
			return netip.Prefix{}, false, nil
		}
	}
	a, e := netip.ParseAddr(s[:i])
	if e != nil {
		return netip.Prefix{}, false, nil
	}
	if bits, _ := parseInt(s[i+1:]); bits > int64(a.BitLen()) {
		return netip.Prefix{}, true, fmt.Errorf("the prefix length is at most %d", a.BitLen())
	}
	p, err = netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, true, err
	}
	p = p.Masked()
	// An IPv4-mapped prefix (::ffff:10.0.0.0/104) is the IPv4 prefix it
	// maps: values are unmapped before they are compared.
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p, true, nil
}
