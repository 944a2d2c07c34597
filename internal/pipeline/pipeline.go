// Package pipeline reads inputs, recognizes their format, parses records on
// all cores and hands the events, in input order, to one consumer (the
// detection engine for `kizuki analyze`, a JSON writer for `kizuki parse`).
//
// Files are read one after another, ordered by the time of their first
// event, so rotated logs (access.log.2.gz, access.log.1, access.log) reach
// the analyses in chronological order whatever their names. Within a file,
// chunks of lines are parsed in parallel and reassembled in order.
package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/input"
	"github.com/kizuki-dev/kizuki/internal/parse"
)

// Limits.
const (
	// MaxRecordBytes bounds one record; longer lines are cut there and
	// counted as malformed.
	MaxRecordBytes = 1 << 20
	chunkBytes     = 512 << 10
	sniffBytes     = 64 << 10
	sniffLines     = 64
	// MaxErrorLocations is how many malformed-record locations are kept per
	// file for the report.
	MaxErrorLocations = 5
	// MaxContainerBytes bounds a container (EVTX) that must be read into
	// memory because it is compressed or comes from stdin.
	MaxContainerBytes = 4 << 30
	// containerBatch is how many container events are handed to a Batch
	// consumer at a time.
	containerBatch = 512
)

// Options configures a run.
type Options struct {
	Registry *parse.Registry
	Type     string         // force this format for every file
	Location *time.Location // zone of zone-less time stamps
	Since    time.Time      // drop events before (zero: no bound)
	Until    time.Time      // drop events at or after (zero: no bound)
	Workers  int            // parse goroutines; 0 = GOMAXPROCS
	Stdin    io.Reader
	// Batch, when set, receives the events of each parsed chunk in order
	// instead of the per-event observe callback, with a release function
	// to call once they are no longer needed (possibly from another
	// goroutine). It lets a consumer spread work over cores.
	Batch func(evs []event.Event, release func())
	// Unordered reads FileWorkers files at a time, each opened once, and
	// calls Batch (required) from several goroutines, with the batches of
	// different files interleaved (one file's batches still come in
	// order). For consumers that do not depend on the order of files
	// (kizuki hunt sorts what it keeps): many small files then keep every
	// core busy.
	Unordered   bool
	FileWorkers int // with Unordered; 0 = GOMAXPROCS
	// NewRegistry gives each concurrent file reader of an Unordered run its
	// own registry (container formats keep state from file to file). nil:
	// the files are read one at a time, as without Unordered.
	NewRegistry func() *parse.Registry
	// NewObserver, with Unordered, gives each concurrent file reader its
	// own observe callback, called inline on that reader's goroutine for
	// every event (instead of Batch): a consumer that keeps per-goroutine
	// state (a Sigma matcher) then works on each event while it is still
	// in the cache, with no copy into a batch.
	NewObserver func() func(*event.Event)
}

// ErrorLocation is one malformed record: its line, or for a binary
// container where it is (e.g. "offset 0x10000, chunk 1").
type ErrorLocation struct {
	Line int64  `json:"line,omitempty"`
	At   string `json:"at,omitempty"`
	Err  string `json:"error"`
}

// Where renders the location in path as file:line or "file (at)".
func (e ErrorLocation) Where(path string) string {
	if e.At != "" {
		return path + " (" + e.At + ")"
	}
	return path + ":" + strconv.FormatInt(e.Line, 10)
}

// FileReport says what happened to one input.
type FileReport struct {
	Path        string          `json:"path"`
	Format      string          `json:"format,omitempty"`
	Reason      string          `json:"reason,omitempty"`
	Compression string          `json:"compression,omitempty"`
	Records     int64           `json:"records"`
	Events      int64           `json:"events"`
	Skipped     int64           `json:"skipped"`
	Malformed   int64           `json:"malformed"`
	OutOfRange  int64           `json:"out_of_range,omitempty"`
	Errors      []ErrorLocation `json:"first_errors,omitempty"`
	First       time.Time       `json:"-"`
	Last        time.Time       `json:"-"`
	Error       string          `json:"error,omitempty"` // the file could not be read or recognized
}

// Run reads files and calls observe for every event, in order, from a
// single goroutine. The event is reused after observe returns. Run returns
// a report per file; an error is returned for conditions that make the run
// meaningless (an explicitly named file missing or of unknown format).
//
// With opt.Unordered, files are read several at a time and their batches
// reach opt.Batch in any order (see Options.Unordered).
func Run(ctx context.Context, files []input.File, opt Options, observe func(*event.Event)) ([]*FileReport, error) {
	if opt.Registry == nil {
		return nil, errors.New("pipeline: no format registry")
	}
	if opt.Location == nil {
		opt.Location = time.Local
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	rn, err := newRunner(opt.Registry, opt, observe)
	if err != nil {
		return nil, err
	}
	if opt.Unordered {
		if opt.Batch == nil && opt.NewObserver == nil {
			return nil, errors.New("pipeline: Unordered needs Batch or NewObserver")
		}
		return runUnordered(ctx, files, opt, rn)
	}

	// Pass 1: recognize every file and find its first time stamp.
	var preps []*prepared
	reports := make([]*FileReport, 0, len(files))
	sniffBuf := make([]byte, sniffBytes)
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return reports, err
		}
		pp, err := rn.prepare(f, sniffBuf, false)
		reports = append(reports, pp.rep)
		if err != nil {
			return reports, err
		}
		if pp.rep.Error == "" {
			preps = append(preps, pp)
		}
	}
	sort.SliceStable(preps, func(i, j int) bool {
		a, b := preps[i].first, preps[j].first
		if a.IsZero() != b.IsZero() {
			return !a.IsZero()
		}
		return a.Before(b)
	})

	// Pass 2: parse and deliver.
	for _, pp := range preps {
		if err := rn.process(ctx, pp); err != nil {
			return reports, err
		}
	}
	return reports, nil
}

// runner holds what reading one file needs: the options, the registry
// (containers keep state from file to file, so a concurrent reader has its
// own) and the forced format.
type runner struct {
	opt       Options
	reg       *parse.Registry
	forced    parse.Parser
	forcedC   parse.Container
	observe   func(*event.Event)
	batchPool *sync.Pool
	brPool    sync.Pool // *bufio.Reader of input.BufferSize, reused from file to file
}

// open opens f through a pooled buffer; release returns the buffer once
// the Reader is closed.
func (rn *runner) open(f input.File) (r *input.Reader, release func(), err error) {
	br, _ := rn.brPool.Get().(*bufio.Reader)
	if br == nil {
		br = bufio.NewReaderSize(nil, input.BufferSize)
	}
	r, err = input.OpenBuffered(f, rn.opt.Stdin, br)
	if err != nil {
		br.Reset(nil)
		rn.brPool.Put(br)
		return nil, nil, err
	}
	return r, func() { br.Reset(nil); rn.brPool.Put(br) }, nil
}

func newRunner(reg *parse.Registry, opt Options, observe func(*event.Event)) (*runner, error) {
	rn := &runner{opt: opt, reg: reg, observe: observe, batchPool: newBatchPool()}
	if opt.Type != "" {
		p, ok := reg.Lookup(opt.Type)
		c, okC := reg.LookupContainer(opt.Type)
		if !ok && !okC {
			return nil, fmt.Errorf("unknown --type %q (known: %v)", opt.Type, reg.Names())
		}
		rn.forced, rn.forcedC = p, c
	}
	return rn, nil
}

// prepared is a recognized file waiting to be read.
type prepared struct {
	f         input.File
	rep       *FileReport
	parser    parse.Parser
	container parse.Container
	first     time.Time
	held      io.Reader // the opened input kept for reading: stdin (it cannot be reopened), or keep
	file      *os.File  // a plain container file kept open for reading in place
	closer    io.Closer
	release   func() // returns the pooled buffer once closer is closed
}

// close closes the input kept open, if any.
func (pp *prepared) close() {
	if pp.closer != nil {
		pp.closer.Close()
		pp.closer = nil
	}
	if pp.release != nil {
		pp.release()
		pp.release = nil
	}
}

// prepare opens f, recognizes its format from its head (read into
// sniffBuf) and, for a text format, finds its first time stamp. A problem
// with the file is recorded in the report; the error is for problems that
// end the run (an explicitly named file missing or unknown). With keep, the
// input stays open for process (read once, as Unordered does); otherwise
// only stdin does.
func (rn *runner) prepare(f input.File, sniffBuf []byte, keep bool) (*prepared, error) {
	opt := rn.opt
	rep := &FileReport{Path: f.Path}
	pp := &prepared{f: f, rep: rep}
	r, release, err := rn.open(f)
	if err != nil {
		rep.Error = err.Error()
		if f.Explicit {
			return pp, err
		}
		return pp, nil
	}
	rep.Compression = string(r.Compression)
	// The head is peeked in the pooled buffer of an uncompressed input
	// (nothing consumed, nothing allocated: a hunt over tens of thousands
	// of small .evtx files must not allocate a reader for each); a
	// compressed one is read into sniffBuf, or, when it stays open, peeked
	// through a reader of its own.
	var br *bufio.Reader
	var head []byte
	keep = keep || f.Path == "-"
	// A plain file is first asked for a container's magic number in
	// place, a few bytes: a container is then read in its own way
	// without the 64 KiB text sample being read too.
	var c parse.Container
	if r.File() != nil && rn.forced == nil && rn.forcedC == nil {
		c, _ = rn.reg.DetectContainer(r.Head())
	}
	switch {
	case c != nil:
	case r.Buffered() != nil:
		br = r.Buffered()
		head, _ = br.Peek(sniffBytes)
	case keep:
		br = bufio.NewReaderSize(r, sniffBytes)
		head, _ = br.Peek(sniffBytes)
	default:
		n, _ := io.ReadFull(r, sniffBuf)
		head = sniffBuf[:n]
	}
	hold := func() {
		if keep {
			pp.held, pp.closer, pp.release = br, r, release
		} else {
			r.Close()
			release()
		}
	}
	if c == nil {
		c = rn.forcedC
	}
	if c == nil && rn.forced == nil && r.File() == nil {
		c, _ = rn.reg.DetectContainer(head)
	}
	if c != nil {
		rep.Format = c.Name()
		rep.Reason = "forced by --type"
		if rn.forcedC == nil {
			rep.Reason = "the file starts with the " + c.Name() + " magic number"
		}
		pp.container = c
		// A plain file is read in place (at random offsets), through
		// the file already open when it is kept.
		if keep && f.Path != "-" && r.File() != nil {
			pp.file, pp.closer, pp.release = r.File(), r, release
			return pp, nil
		}
		hold()
		return pp, nil
	}
	if f.ModTime.IsZero() {
		// Found in a folder: the walk did not stat it (text formats
		// infer a missing year from it).
		f.ModTime = r.ModTime()
		pp.f.ModTime = f.ModTime
	}
	sample := sampleLines(head, len(head) < sniffBytes)
	p := rn.forced
	if p == nil {
		det, err := rn.reg.Detect(sample)
		if err != nil {
			r.Close()
			release()
			rep.Error = err.Error()
			if f.Explicit {
				return pp, fmt.Errorf("%s: %w", f.Path, err)
			}
			return pp, nil
		}
		p = det.Parser
		rep.Reason = det.Reason
	} else {
		rep.Reason = "forced by --type"
	}
	rep.Format = p.Name()
	pp.parser = p
	pp.first = firstTime(p, sample, parse.NewContext(opt.Location, f.ModTime))
	hold()
	return pp, nil
}

// process reads a prepared file and delivers its events. Only a cancelled
// context is returned as an error; other problems go to the report.
func (rn *runner) process(ctx context.Context, pp *prepared) error {
	defer pp.close()
	if err := ctx.Err(); err != nil {
		return err
	}
	opt := rn.opt
	var err error
	if pp.container != nil {
		err = runContainer(ctx, pp.f, pp.held, pp.file, pp.container, opt, pp.rep, rn.observe, rn.batchPool)
	} else {
		src := pp.held
		if src == nil {
			r, release, oerr := rn.open(pp.f)
			if oerr != nil {
				pp.rep.Error = oerr.Error()
				return nil
			}
			src, pp.closer, pp.release = r, r, release
		}
		pc := parse.NewContext(opt.Location, pp.f.ModTime)
		err = runFile(ctx, src, pp.f.Path, pp.parser, pc, opt, pp.rep, rn.observe)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		pp.rep.Error = err.Error()
	}
	return nil
}

// sampleLines splits the head of a file into at most sniffLines lines,
// dropping a last partial line unless the head is the whole file.
func sampleLines(head []byte, whole bool) [][]byte {
	var out [][]byte
	for len(head) > 0 && len(out) < sniffLines {
		i := bytes.IndexByte(head, '\n')
		if i < 0 {
			if whole {
				out = append(out, bytes.TrimRight(head, "\r"))
			}
			break
		}
		out = append(out, bytes.TrimRight(head[:i], "\r"))
		head = head[i+1:]
	}
	return out
}

// firstTime parses sample records until one yields a time.
func firstTime(p parse.Parser, sample [][]byte, pc *parse.Context) time.Time {
	if _, framed := p.(parse.Framer); framed {
		var t time.Time
		joined := bytes.Join(sample, []byte("\n"))
		_ = p.(parse.Framer).Split(bytes.NewReader(joined), func(rec []byte, _ int64) error {
			var ev event.Event
			ev.Raw = string(rec)
			if p.Parse(rec, &ev, pc) == nil && !ev.Time.IsZero() {
				t = ev.Time
				return io.EOF
			}
			return nil
		})
		return t
	}
	var ev event.Event
	for _, rec := range sample {
		ev.Reset()
		ev.Raw = string(rec)
		if p.Parse(rec, &ev, pc) == nil && !ev.Time.IsZero() {
			return ev.Time
		}
	}
	return time.Time{}
}

// job is a unit of parallel work: a chunk of lines or a batch of framed
// records, parsed by a worker, consumed in order.
type job struct {
	data      []byte   // line chunk (nil for framed batches)
	recs      [][]byte // framed records
	recLines  []int64  // their start lines
	firstLine int64
	done      chan *result
}

type result struct {
	events     []event.Event
	n          int
	records    int64
	skipped    int64
	malformed  int64
	outOfRange int64
	errs       []ErrorLocation
}

func runFile(ctx context.Context, src io.Reader, path string, p parse.Parser, pc *parse.Context, opt Options, rep *FileReport, observe func(*event.Event)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *job, opt.Workers*2)
	order := make(chan *job, opt.Workers*2)
	pool := sync.Pool{New: func() any { return &result{} }}

	var wg sync.WaitGroup
	for w := 0; w < opt.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				res := pool.Get().(*result)
				parseJob(j, path, p, pc, opt, res)
				j.done <- res
			}
		}()
	}

	readErr := make(chan error, 1)
	go func() {
		defer close(jobs)
		defer close(order)
		send := func(j *job) bool {
			j.done = make(chan *result, 1)
			select {
			case order <- j:
			case <-ctx.Done():
				return false
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return false
			}
			return true
		}
		if fr, ok := p.(parse.Framer); ok {
			readErr <- splitFramed(ctx, fr, src, send)
			return
		}
		readErr <- splitLines(ctx, src, send)
	}()

	for j := range order {
		res := <-j.done
		rep.Records += res.records
		rep.Skipped += res.skipped
		rep.Malformed += res.malformed
		rep.OutOfRange += res.outOfRange
		for _, e := range res.errs {
			if len(rep.Errors) < MaxErrorLocations {
				rep.Errors = append(rep.Errors, e)
			}
		}
		for i := 0; i < res.n; i++ {
			ev := &res.events[i]
			rep.count(ev)
			if opt.Batch == nil {
				observe(ev)
			}
		}
		if opt.Batch != nil && res.n > 0 {
			r := res
			opt.Batch(res.events[:res.n], func() { pool.Put(r) })
		} else {
			pool.Put(res)
		}
	}
	wg.Wait()
	return <-readErr
}

// splitLines cuts the stream into chunks ending at a line boundary.
func splitLines(ctx context.Context, src io.Reader, send func(*job) bool) error {
	br, ok := src.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(src, 1<<20)
	}
	line := int64(1)
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		buf := make([]byte, chunkBytes, chunkBytes+4096)
		n, err := io.ReadFull(br, buf)
		buf = buf[:n]
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			err = io.EOF
		} else if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		// Complete the last line (bounded: a line may not exceed
		// MaxRecordBytes; the worker cuts and reports longer ones).
		if err == nil && n > 0 && buf[n-1] != '\n' {
			for len(buf)-n < MaxRecordBytes+1 {
				frag, ferr := br.ReadSlice('\n')
				buf = append(buf, frag...)
				if ferr == nil {
					break
				}
				if ferr == bufio.ErrBufferFull {
					continue
				}
				if ferr == io.EOF {
					err = io.EOF
					break
				}
				return fmt.Errorf("read: %w", ferr)
			}
		}
		if len(buf) > 0 {
			j := &job{data: buf, firstLine: line}
			line += int64(bytes.Count(buf, []byte{'\n'}))
			if !send(j) {
				return ctx.Err()
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// splitFramed batches the records a Framer finds.
func splitFramed(ctx context.Context, fr parse.Framer, src io.Reader, send func(*job) bool) error {
	j := &job{}
	size := 0
	flush := func() bool {
		if len(j.recs) == 0 {
			return true
		}
		ok := send(j)
		j, size = &job{}, 0
		return ok
	}
	err := fr.Split(src, func(rec []byte, line int64) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if len(rec) > MaxRecordBytes {
			rec = rec[:MaxRecordBytes]
		}
		j.recs = append(j.recs, bytes.Clone(rec))
		j.recLines = append(j.recLines, line)
		size += len(rec)
		if len(j.recs) >= 2048 || size >= chunkBytes {
			if !flush() {
				return ctx.Err()
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	flush()
	return nil
}

func parseJob(j *job, path string, p parse.Parser, pc *parse.Context, opt Options, res *result) {
	res.n, res.records, res.skipped, res.malformed, res.outOfRange = 0, 0, 0, 0, 0
	res.errs = res.errs[:0]
	one := func(rec []byte, line int64) {
		res.records++
		if len(bytes.TrimSpace(rec)) == 0 {
			res.skipped++
			return
		}
		if res.n == len(res.events) {
			res.events = append(res.events, event.Event{})
		}
		ev := &res.events[res.n]
		ev.Reset()
		ev.Raw = string(rec)
		ev.Source = p.Name()
		ev.Origin = event.Origin{File: path, Line: line}
		var err error
		if len(rec) > MaxRecordBytes {
			err = fmt.Errorf("record longer than %d bytes", MaxRecordBytes)
		} else {
			err = safeParse(p, rec, ev, pc)
		}
		switch {
		case err == nil:
		case errors.Is(err, parse.ErrSkip):
			res.skipped++
			return
		default:
			res.malformed++
			if len(res.errs) < MaxErrorLocations {
				res.errs = append(res.errs, ErrorLocation{Line: line, Err: err.Error()})
			}
			return
		}
		if opt.outOfRange(ev.Time) {
			res.outOfRange++
			return
		}
		res.n++
	}
	if j.data == nil {
		for i, rec := range j.recs {
			one(rec, j.recLines[i])
		}
		return
	}
	data, line := j.data, j.firstLine
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var rec []byte
		if i < 0 {
			rec, data = data, nil
		} else {
			rec, data = data[:i], data[i+1:]
		}
		if n := len(rec); n > 0 && rec[n-1] == '\r' {
			rec = rec[:n-1]
		}
		one(rec, line)
		line++
	}
}

// safeParse turns a parser panic into a malformed-record error: bad input
// must never stop a run, even when a parser has a bug.
func safeParse(p parse.Parser, rec []byte, ev *event.Event, pc *parse.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parser %s panicked: %v", p.Name(), r)
		}
	}()
	return p.Parse(rec, ev, pc)
}

// outOfRange reports whether t is outside [Since, Until).
func (opt *Options) outOfRange(t time.Time) bool {
	return (!opt.Since.IsZero() && t.Before(opt.Since)) || (!opt.Until.IsZero() && !t.Before(opt.Until))
}

// count adds a delivered event to the report: one more event, and the
// file's first and last times.
func (r *FileReport) count(ev *event.Event) {
	r.Events++
	if ev.Time.IsZero() {
		return
	}
	if r.First.IsZero() || ev.Time.Before(r.First) {
		r.First = ev.Time
	}
	if ev.Time.After(r.Last) {
		r.Last = ev.Time
	}
}

// Summary formats counts for logs.
func (r *FileReport) Summary() string {
	return r.Path + ": " + r.Format + " " + strconv.FormatInt(r.Events, 10) + " events, " +
		strconv.FormatInt(r.Malformed, 10) + " malformed"
}
