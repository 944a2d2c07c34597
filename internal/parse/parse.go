// Package parse holds the format registry, content sniffing and the contract
// every format parser follows. One sub-package per format implements Parser;
// a parser knows one format and nothing about detection.
package parse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// ErrSkip is returned by Parse for a record that is legitimately not an event
// (a blank line, a comment, a format header such as Squid's or Zeek's "#"
// lines). Skipped records are counted but are not malformed.
var ErrSkip = errors.New("not an event")

// Context carries what a parser needs to know beyond the record itself.
type Context struct {
	// Location is the time zone of timestamps that carry none (RFC 3164,
	// BIND's "16-Dec-2014 01:03:55", Squid combined without offset). Never nil.
	Location *time.Location
	// RefTime is the newest time the file can hold, normally its modification
	// time (now for stdin). RFC 3164 timestamps, which have no year, get the
	// year that puts them at or before RefTime.
	RefTime time.Time
}

// NewContext returns a Context for loc (nil means time.Local) and ref (zero
// means now).
func NewContext(loc *time.Location, ref time.Time) *Context {
	if loc == nil {
		loc = time.Local
	}
	if ref.IsZero() {
		ref = time.Now()
	}
	return &Context{Location: loc, RefTime: ref}
}

// Parser parses one format.
//
// Implementations must be safe for concurrent use by several goroutines (keep
// no mutable state in the Parser; use the Context and the Event).
type Parser interface {
	// Name is the stable format name used by --type and as event.Source.
	Name() string
	// Describe says in one line what the format is, for --explain and docs.
	Describe() string
	// Sniff looks at one record from the start of a file and reports whether
	// it is of this format. It must be cheap and must not allocate much: it
	// is called on the first lines of every file for every format.
	Sniff(rec []byte) bool
	// Parse fills ev from one record. The caller has already set ev.Raw
	// (the record, byte-exact), ev.Origin and ev.Source; Parse sets Time,
	// Host and fields. It returns ErrSkip for non-event records and a
	// descriptive error for malformed ones; it must never panic.
	Parse(rec []byte, ev *event.Event, pc *Context) error
}

// Framer is implemented by parsers whose records are not single lines
// (pretty-printed XML or JSON). Split calls fn for each record with the
// 1-based line number where the record starts, and stops at the first error fn
// returns.
type Framer interface {
	Split(r io.Reader, fn func(rec []byte, line int64) error) error
}

// Container is a format whose files are binary containers that the format
// reads whole (EVTX: a file header, 64 KiB chunks, binary XML), rather than
// a stream of text records the pipeline can cut and hand out. It reads at
// random offsets, so it can decode parts of the file in parallel. A
// registry's containers read one file at a time (they may keep state from
// file to file); make a registry per concurrent run.
type Container interface {
	Name() string
	Describe() string
	// SniffFile reports whether a file whose first bytes are head is of
	// this format (a magic number).
	SniffFile(head []byte) bool
	// ReadFile reads the container r of size bytes, calling fn for each
	// event in file order (ev is reused after fn returns; fn's error stops
	// the read and is returned) and bad for each damaged part it skipped,
	// with where it is (e.g. "offset 0x10000").
	ReadFile(ctx context.Context, r io.ReaderAt, size int64, name string, fn func(ev *event.Event) error, bad func(where string, err error)) error
}

// Registry is the ordered set of known formats. Order matters for sniffing:
// more specific formats come first.
type Registry struct {
	parsers    []Parser
	containers []Container
}

// NewRegistry returns a registry holding ps in sniffing order.
func NewRegistry(ps ...Parser) *Registry { return &Registry{parsers: ps} }

// AddContainers registers container formats; they are recognized by their
// magic number before any text format is tried.
func (r *Registry) AddContainers(cs ...Container) *Registry {
	r.containers = append(r.containers, cs...)
	return r
}

// Containers returns the container formats.
func (r *Registry) Containers() []Container { return r.containers }

// LookupContainer returns the container format named name.
func (r *Registry) LookupContainer(name string) (Container, bool) {
	for _, c := range r.containers {
		if c.Name() == name {
			return c, true
		}
	}
	return nil, false
}

// DetectContainer returns the container format whose magic number head
// starts with.
func (r *Registry) DetectContainer(head []byte) (Container, bool) {
	for _, c := range r.containers {
		if c.SniffFile(head) {
			return c, true
		}
	}
	return nil, false
}

// Parsers returns the formats in sniffing order.
func (r *Registry) Parsers() []Parser { return r.parsers }

// Lookup returns the parser named name.
func (r *Registry) Lookup(name string) (Parser, bool) {
	for _, p := range r.parsers {
		if p.Name() == name {
			return p, true
		}
	}
	return nil, false
}

// Names lists the format names, text formats then containers.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.parsers)+len(r.containers))
	for _, p := range r.parsers {
		out = append(out, p.Name())
	}
	for _, c := range r.containers {
		out = append(out, c.Name())
	}
	return out
}

// Detection is the outcome of sniffing a sample of records.
type Detection struct {
	Parser  Parser
	Matched int    // records of the sample the winner recognized
	Sampled int    // non-blank records looked at
	Reason  string // human explanation for --explain
}

// UnknownFormatError says which formats were tried on a sample.
type UnknownFormatError struct {
	Tried      []string // text formats, tried on the first lines
	Containers []string // binary formats, tried by magic number
	Sampled    int
}

func (e *UnknownFormatError) Error() string {
	s := fmt.Sprintf("unknown log format: none of %v recognized any of the first %d lines", e.Tried, e.Sampled)
	if len(e.Containers) > 0 {
		s += fmt.Sprintf(", and it is not a %v file", e.Containers)
	}
	return s + " (use --type NAME to force one)"
}

func (r *Registry) textNames() []string {
	out := make([]string, len(r.parsers))
	for i, p := range r.parsers {
		out[i] = p.Name()
	}
	return out
}

func (r *Registry) containerNames() []string {
	out := make([]string, len(r.containers))
	for i, c := range r.containers {
		out[i] = c.Name()
	}
	return out
}

// Detect picks the format that recognizes the most records of sample (the
// first lines of a file). Ties go to the earlier, more specific format. A
// format must recognize at least half the sample to win.
func (r *Registry) Detect(sample [][]byte) (Detection, error) {
	var nonBlank [][]byte
	for _, s := range sample {
		if len(trimSpace(s)) > 0 {
			nonBlank = append(nonBlank, s)
		}
	}
	if len(nonBlank) == 0 {
		return Detection{}, &UnknownFormatError{Tried: r.textNames(), Containers: r.containerNames()}
	}
	best, bestN := Parser(nil), 0
	for _, p := range r.parsers {
		n := 0
		for _, s := range nonBlank {
			if p.Sniff(s) {
				n++
			}
		}
		if n > bestN {
			best, bestN = p, n
		}
	}
	if best == nil || bestN*2 < len(nonBlank) {
		return Detection{Sampled: len(nonBlank)}, &UnknownFormatError{Tried: r.textNames(), Containers: r.containerNames(), Sampled: len(nonBlank)}
	}
	return Detection{
		Parser:  best,
		Matched: bestN,
		Sampled: len(nonBlank),
		Reason:  fmt.Sprintf("%d of the first %d lines look like %s (%s)", bestN, len(nonBlank), best.Name(), best.Describe()),
	}, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}
