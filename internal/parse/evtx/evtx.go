// Package evtx reads Windows event log files (.evtx) natively, without
// Windows and without the Go EVTX modules: file header, 64 KiB chunks, event
// records and their binary XML (BinXml: templates, substitutions, every value
// type), after libyal's "Windows XML Event Log (EVTX) format" and MS-EVEN6.
//
// Records become kizuki events with exactly the field names of the XML and
// JSON readers (see winxml/common.go), values rendered as Windows renders
// them in XML, so a rule sees the same event whether the log came as .evtx,
// as `wevtutil qe /f:xml` output or through an agent.
//
// Chunks are independent (each carries its own string and template tables),
// so they are decoded in parallel and handed over in file order. Damage is
// local: a bad chunk or record is reported through a callback with its file
// offset and skipped, and the rest of the file is read.
package evtx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// DefaultMaxChunks is the chunk limit when Options.MaxChunks is 0: 2^18
// chunks is a 16 GiB file, far beyond the event logs Windows keeps by
// default (20 MiB to 128 MiB), yet a bound on what a bogus size can cost.
const DefaultMaxChunks = 1 << 18

// ErrTooManyChunks is returned (wrapped) when a file holds more chunks than
// Options.MaxChunks; the chunks up to the limit have been read.
var ErrTooManyChunks = errors.New("more chunks than the limit")

// Options tune Read.
type Options struct {
	// Workers is the number of chunks decoded at the same time; 0 means
	// GOMAXPROCS.
	Workers int
	// RenderXML sets event.Raw to the record as one line of Windows event
	// XML. It costs about as much again as decoding the record.
	RenderXML bool
	// MaxChunks bounds the chunks read from one file (0: DefaultMaxChunks).
	MaxChunks int

	// noSharedTemplates makes every chunk compile its own templates (tests
	// check that sharing them by identifier changes nothing).
	noSharedTemplates bool
}

// Problem is a damaged part of a file that was skipped (or, for
// ErrRecordsChecksum, read without being verified).
type Problem struct {
	Offset int64  // file offset of the damaged chunk or record
	Chunk  int    // 0-based chunk index in the file; -1 for the file header
	Record uint64 // event record identifier, when the record framing was readable
	Err    error
}

func (p Problem) Error() string {
	s := fmt.Sprintf("offset %d", p.Offset)
	if p.Chunk >= 0 {
		s += fmt.Sprintf(" (chunk %d)", p.Chunk)
	}
	if p.Record != 0 {
		s += fmt.Sprintf(" record %d", p.Record)
	}
	return s + ": " + p.Err.Error()
}

func (p Problem) Unwrap() error { return p.Err }

// Stats counts what a read found.
type Stats struct {
	Chunks     int  // chunks in use (with a valid header, or damaged but not blank)
	BadChunks  int  // chunks skipped, truncated, blank amid used ones, or with a records checksum mismatch
	Records    int  // events delivered
	BadRecords int  // records skipped
	Dirty      bool // the file header says the log was being written (its last chunk may lack a valid records checksum)
}

// Sniff reports whether head (the first bytes of a file) starts with the EVTX
// file signature.
func Sniff(head []byte) bool { return bytes.HasPrefix(head, fileMagic) }

// ReadFile reads the EVTX file at path; see Read.
func ReadFile(ctx context.Context, path string, opt Options, fn func(ev *event.Event) error, bad func(Problem)) (Stats, error) {
	return NewReader(opt).ReadFile(ctx, path, fn, bad)
}

// Read reads the EVTX data of size bytes in r; name is what ev.Origin.File
// says. fn receives the events in file order (chunk by chunk, records in
// chunk order), always on the calling goroutine; ev and its fields' storage
// are reused after fn returns, so fn must copy (ev.Clone) what it keeps.
// Strings taken from ev stay valid. An error from fn stops the read and is
// returned as is; so does the cancellation of ctx (wrapped).
//
// bad (may be nil) receives the damaged chunks and records, in file order
// with the events; they are skipped and the rest of the file is read. Every
// chunk the file size holds is visited, whatever the file header says (a
// dirty file holds more than its header counts), and a damaged file header
// only means chunks are looked for at 64 KiB steps. A chunk whose decoding
// panics is skipped too (ErrPanic), on whichever goroutine it was decoded.
//
// When r also has a method Bytes() []byte that returns the whole file
// (len(Bytes()) == size), as a memory-mapped file does, the file header and
// chunks are read from that memory rather than copied out with ReadAt. Nothing
// delivered or kept after Read returns refers to it, so the caller may unmap
// it then; memory faults while reading it (a mapped file truncated meanwhile:
// SIGBUS) are turned into panics, and so into problems of the chunks hit.
func Read(ctx context.Context, r io.ReaderAt, size int64, name string, opt Options, fn func(ev *event.Event) error, bad func(Problem)) (Stats, error) {
	return NewReader(opt).Read(ctx, r, size, name, fn, bad)
}

// Reader reads EVTX files one after the other, keeping from file to file its
// decoders, their compiled templates and their event buffers: many small
// files (a collection of samples, one log per host) then cost no more than
// one big one. A Reader is not for concurrent use; its Read and ReadFile are
// those of the package.
type Reader struct {
	opt  Options
	decs []*decoder // one per worker
	free []*batch
	head []byte // the file header, when read with ReadAt
	// recordHook, for tests, is called on the decoding goroutine before each
	// record is decoded (to make a decoder panic).
	recordHook func(chunk int, record uint64)
}

// NewReader returns a Reader with options opt.
func NewReader(opt Options) *Reader { return &Reader{opt: opt} }

// ReadFile reads the EVTX file at path; see Read.
func (x *Reader) ReadFile(ctx context.Context, path string, fn func(ev *event.Event) error, bad func(Problem)) (Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, fmt.Errorf("evtx: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Stats{}, fmt.Errorf("evtx: %w", err)
	}
	return x.Read(ctx, f, st.Size(), path, fn, bad)
}

// Read reads the EVTX data of size bytes in r; see the package's Read.
func (x *Reader) Read(ctx context.Context, r io.ReaderAt, size int64, name string, fn func(ev *event.Event) error, bad func(Problem)) (Stats, error) {
	rd := &reader{x: x, r: r, size: size, name: name, opt: x.opt, fn: fn, bad: bad}
	return rd.run(ctx)
}

// decoder returns the decoder of worker i, set to name the events' file.
func (x *Reader) decoder(i int, name string) *decoder {
	for len(x.decs) <= i {
		x.decs = append(x.decs, newDecoder(x.opt))
	}
	d := x.decs[i]
	d.name = name
	d.hook = x.recordHook
	return d
}

// renew gives worker i a new decoder, after a panic that may have left the
// old one's state half-updated (its compiled templates included); the chunk
// buffer is kept.
func (x *Reader) renew(i int) {
	old := x.decs[i]
	d := newDecoder(x.opt)
	d.name, d.hook, d.buf = old.name, old.hook, old.buf
	x.decs[i] = d
}

// batch returns a batch to reuse, or a new one.
func (x *Reader) batch() *batch {
	if n := len(x.free); n > 0 {
		b := x.free[n-1]
		x.free = x.free[:n-1]
		return b
	}
	return &batch{}
}
