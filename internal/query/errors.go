package query

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// The limits of a query. They bound the work a query asks of the server
// (a search API takes queries from anyone with access) and the recursion
// of the parser, so that no query can exhaust the stack.
const (
	MaxLength = 4096 // bytes of query text
	MaxDepth  = 64   // nesting of parentheses and NOT (or -)
	MaxTerms  = 256  // search terms (leaves) in the filter
	MaxBy     = 16   // fields after "stats count by"
)

// ErrLimit is wrapped by the SyntaxError of a query over one of the
// limits, so that a caller can tell "too big" from "malformed".
var ErrLimit = errors.New("query limit exceeded")

// SyntaxError is the error of Parse: what is wrong and where.
type SyntaxError struct {
	// Offset is the byte offset in the query where the problem was
	// found (0-based).
	Offset int
	// Column is the same place as a 1-based column counted in characters
	// (runes), for a caret under the query; 0 when the error is about the
	// query as a whole.
	Column int
	// Msg says what was expected or what is wrong.
	Msg string
	// Err is ErrLimit for a query over a limit, or the error of a value
	// that did not parse (an address prefix); nil otherwise.
	Err error
}

func (e *SyntaxError) Error() string {
	if e.Column == 0 {
		return "query: " + e.Msg
	}
	return fmt.Sprintf("query: column %d: %s", e.Column, e.Msg)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// column returns the 1-based column, in runes, of byte offset off of s.
func column(s string, off int) int {
	off = min(max(off, 0), len(s))
	return utf8.RuneCountInString(s[:off]) + 1
}

// errorAt builds the SyntaxError for byte offset off of src.
func errorAt(src string, off int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Offset: off, Column: column(src, off), Msg: fmt.Sprintf(format, args...)}
}
