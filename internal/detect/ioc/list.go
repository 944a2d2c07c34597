package ioc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Formats of indicator lists.
const (
	FormatText = "text"
	FormatCSV  = "csv"
	FormatSTIX = "stix"
)

// Limits bound what one list may cost. A feed is outside data: a hostile or
// broken one must end in a clear error, not in memory exhaustion.
type Limits struct {
	// MaxBytes is the largest list read.
	MaxBytes int64
	// MaxLine is the longest line of a text or CSV list.
	MaxLine int
	// MaxIndicators is the most indicators one list may hold.
	MaxIndicators int
	// MaxTotal is the most indicators all lists together may hold (the
	// matcher keeps them in memory).
	MaxTotal int
}

// Default limits: 64 MiB and 500,000 indicators per list, 1,000,000 in all
// (a few hundred MB at most), lines up to 16 KiB (long URLs).
const (
	DefaultMaxBytes      = 64 << 20
	DefaultMaxLine       = 16 << 10
	DefaultMaxIndicators = 500_000
	DefaultMaxTotal      = 1_000_000
)

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{MaxBytes: DefaultMaxBytes, MaxLine: DefaultMaxLine, MaxIndicators: DefaultMaxIndicators, MaxTotal: DefaultMaxTotal}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxLine <= 0 {
		l.MaxLine = d.MaxLine
	}
	if l.MaxIndicators <= 0 {
		l.MaxIndicators = d.MaxIndicators
	}
	if l.MaxTotal <= 0 {
		l.MaxTotal = d.MaxTotal
	}
	return l
}

// Errors for lists over a limit (wrapped with the numbers).
var (
	ErrTooLarge      = errors.New("indicator list too large")
	ErrLineTooLong   = errors.New("line too long")
	ErrTooMany       = errors.New("too many indicators")
	ErrNoIndicators  = errors.New("no indicators")
	ErrUnknownFormat = errors.New("unknown indicator list format")
)

// List is one loaded indicator list.
type List struct {
	Name       string // file name or the name given to AddIndicators
	Format     string // FormatText, FormatCSV or FormatSTIX
	Digest     string // SHA-256 of the list's bytes, hex
	Indicators []Indicator
}

// MaxProblems is how many problems a Report lists; Report.ProblemCount has
// them all.
const MaxProblems = 100

// Problem is an entry of a list that is not matched, and why.
type Problem struct {
	Ref    string `json:"ref"` // "line 7" or a STIX id
	Value  string `json:"value,omitempty"`
	Reason string `json:"reason"`
}

// Report says what loading a list gave: how many indicators of each kind,
// and every entry that is not looked for.
type Report struct {
	List         string         `json:"list"`
	Format       string         `json:"format"`
	Digest       string         `json:"sha256"`
	Indicators   int            `json:"indicators"`
	ByKind       map[string]int `json:"by_kind"`
	Duplicates   int            `json:"duplicates"`
	Problems     []Problem      `json:"problems"`
	ProblemCount int            `json:"problem_count"`
	// New is how many of the indicators were not hunted for before: the
	// retro-hunt searches the stored history for them (set by the
	// server, not by the parsers).
	New int `json:"new,omitempty"`
}

func (r *Report) problem(ref, value, reason string) {
	r.ProblemCount++
	if len(r.Problems) < MaxProblems {
		value = truncate(value, 200)
		r.Problems = append(r.Problems, Problem{Ref: ref, Value: value, Reason: reason})
	}
}

// String summarizes the report in one line.
func (r Report) String() string {
	var parts []string
	for _, k := range Kinds() {
		if n := r.ByKind[k.String()]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	s := fmt.Sprintf("%s (%s): %d indicators", r.List, r.Format, r.Indicators)
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	if r.Duplicates > 0 {
		s += fmt.Sprintf(", %d duplicates", r.Duplicates)
	}
	if r.ProblemCount > 0 {
		s += fmt.Sprintf(", %d entries not matched", r.ProblemCount)
		if len(r.Problems) > 0 {
			p := r.Problems[0]
			s += fmt.Sprintf(" (first: %s %q: %s)", p.Ref, p.Value, p.Reason)
		}
	}
	return s
}

// builder collects the indicators of one list, dropping duplicates and
// enforcing the count limit.
type builder struct {
	list *List
	rep  Report
	seen map[string]bool
	max  int
}

func newBuilder(name, format string, lim Limits) *builder {
	return &builder{list: &List{Name: name, Format: format},
		rep: Report{List: name, Format: format, ByKind: map[string]int{}, Problems: []Problem{}}, seen: map[string]bool{}, max: lim.MaxIndicators}
}

func (b *builder) add(in Indicator) error {
	k := in.Key()
	if b.seen[k] {
		b.rep.Duplicates++
		return nil
	}
	if len(b.list.Indicators) >= b.max {
		return fmt.Errorf("%w: more than %d in %s", ErrTooMany, b.max, b.list.Name)
	}
	b.seen[k] = true
	b.list.Indicators = append(b.list.Indicators, in)
	b.rep.Indicators++
	b.rep.ByKind[in.Kind.String()]++
	return nil
}

func (b *builder) done(data []byte) (*List, Report) {
	sum := sha256.Sum256(data)
	b.list.Digest = hex.EncodeToString(sum[:])
	b.rep.Digest = b.list.Digest
	return b.list, b.rep
}

// readLimited reads r up to lim.MaxBytes, failing beyond.
func readLimited(r io.Reader, name string, lim Limits) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrTooLarge, name, lim.MaxBytes)
	}
	return data, nil
}

// Parse reads a list in any of the formats: the file name's extension
// decides (.txt, .csv, .json or .stix), else the content: a JSON object or
// array is STIX, a first line naming an indicator, value or ioc column is
// CSV, anything else is text.
func Parse(name string, r io.Reader, lim Limits) (*List, Report, error) {
	lim = lim.withDefaults()
	data, err := readLimited(r, name, lim)
	if err != nil {
		return nil, Report{}, err
	}
	switch DetectFormat(name, data) {
	case FormatSTIX:
		return parseSTIX(name, data, lim)
	case FormatCSV:
		return parseCSV(name, data, lim)
	}
	return parseText(name, data, lim)
}

// DetectFormat returns the format of a list named name holding data (see
// Parse).
func DetectFormat(name string, data []byte) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json", ".stix":
		return FormatSTIX
	case ".csv":
		return FormatCSV
	case ".txt", ".list":
		return FormatText
	}
	body := bytes.TrimLeft(bytes.TrimPrefix(data, utf8BOM), " \t\r\n")
	if len(body) > 0 && (body[0] == '{' || body[0] == '[') {
		return FormatSTIX
	}
	first, _, _ := bytes.Cut(body, []byte("\n"))
	if bytes.IndexByte(first, ',') >= 0 {
		if _, ok := csvColumns(splitCSVHeader(string(first))); ok {
			return FormatCSV
		}
	}
	return FormatText
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// truncate cuts s to at most n bytes on a character boundary, marking the
// cut with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// ExtensionFor returns the file extension a list of format is stored with.
func ExtensionFor(format string) string {
	switch format {
	case FormatSTIX:
		return ".json"
	case FormatCSV:
		return ".csv"
	}
	return ".txt"
}
