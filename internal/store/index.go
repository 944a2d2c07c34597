// Package store is the embedded search index behind `kizuki serve`: events
// parsed from the journal, kept in immutable columnar parts with a token
// filter per block, plus an in-memory tail of the newest events, so that an
// event is searchable as soon as Add returns.
//
// The index is derived data. The journal is the source of truth, and
// `kizuki reindex` rebuilds the index from it; so the index does not fsync
// per event. What it does promise: a part file under its final name is
// whole (written as .tmp, fsynced, renamed), Open settles whatever a crash
// left (manifest.go), damage is detected by checksums and reported, never
// answered from, and Next says where the follower must resume.
//
// The shape follows VictoriaLogs' lib/logstorage: parts of blocks, columns
// per field, a token filter per block; docs/formats/index.md gives the byte layout.
// One file per concept: block*.go (rows in memory and their stored form),
// column.go (column encodings), filter.go (token filters), part*.go (part
// files), tail.go (the newest events and the flusher), merge.go,
// manifest.go (which parts are live), search.go, retain.go.
package store

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// Options tunes an index. The zero value works (see the Default constants).
type Options struct {
	// FlushEvents: the tail is written to a part when it holds this many events.
	FlushEvents int
	// FlushAge: ... or when its oldest event arrived this long ago.
	FlushAge time.Duration
	// BlockEvents is the most rows of a block.
	BlockEvents int
	// BlockBytes is roughly the most value bytes of a block.
	BlockBytes int
	// MergeFanIn is the most adjacent parts merged into one (see pickMerge).
	MergeFanIn int
	// MaxPartEvents bounds a merged part's events.
	MaxPartEvents int
	// MaxPartSpan bounds the time a merged part covers (by its parts'
	// newest events), so that retention, which drops whole parts, can
	// drop old events about on time. Default 24 hours.
	MaxPartSpan time.Duration
	// MaxValueBytes: longer field values are cut (Stats.Truncated).
	MaxValueBytes int
	// MaxTailBytes bounds the tail's memory (raw and value bytes): past it,
	// or past four times FlushEvents events, Add waits for the flusher.
	// Default 64 MiB.
	MaxTailBytes int
	// NoMerge turns background merging off (tests, reindex then merge).
	NoMerge bool
	// Logf receives what the index repaired, removed or failed at in the
	// background. nil: discarded.
	Logf func(format string, args ...any)
}

func (o *Options) resolve() error {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.FlushEvents, DefaultFlushEvents)
	def(&o.BlockEvents, DefaultBlockEvents)
	def(&o.BlockBytes, DefaultBlockBytes)
	def(&o.MergeFanIn, DefaultMergeFanIn)
	def(&o.MaxPartEvents, DefaultMaxPartEvents)
	def(&o.MaxValueBytes, DefaultMaxValueBytes)
	def(&o.MaxTailBytes, DefaultMaxTailBytes)
	if o.FlushAge <= 0 {
		o.FlushAge = DefaultFlushAge
	}
	if o.MaxPartSpan <= 0 {
		o.MaxPartSpan = 24 * time.Hour
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	switch {
	case o.BlockEvents > maxBlockRows:
		return fmt.Errorf("store: BlockEvents %d over %d", o.BlockEvents, maxBlockRows)
	case o.BlockBytes > maxColumnBytes/2:
		return fmt.Errorf("store: BlockBytes %d over %d", o.BlockBytes, maxColumnBytes/2)
	case o.MergeFanIn < 2:
		return fmt.Errorf("store: MergeFanIn %d under 2", o.MergeFanIn)
	case o.MaxValueBytes > maxColumnBytes/4:
		return fmt.Errorf("store: MaxValueBytes %d over %d", o.MaxValueBytes, maxColumnBytes/4)
	}
	return nil
}

// Index is an open index directory. Its methods are safe for concurrent
// use; Add is meant to be called by one follower, in journal order.
type Index struct {
	dir string
	opt Options
	lim limits
	enc *zstd.Encoder
	dec *zstd.Decoder

	mu       sync.Mutex
	cond     *sync.Cond // tail shrank, or the index closed (Add's backpressure)
	parts    []*part    // live parts in sequence order; each holds one reference
	tail     tail
	next     uint64 // one past the last seq in a live part (or the NEXT floor)
	last     uint64 // the last seq added
	haveLast bool
	closing  bool
	closed   bool
	flushErr error // the last background flush failure, until one succeeds
	counts   addCounts
	merges   int64
	flushes  int64
	lastFl   time.Time
	badMerge map[*part]bool // parts a merge failed on: not chosen again

	flushMu  sync.Mutex // one flush at a time
	flushEnc *blockEncoder
	kick     chan struct{} // wakes the flusher
	mergeK   chan struct{} // wakes the merger
	stop     chan struct{}
	bgCtx    context.Context // cancelled by Close: aborts a merge
	bgCancel context.CancelFunc
	bg       sync.WaitGroup
	searches sync.WaitGroup
}

// Open opens the index in dir, creating dir if missing, and removes what an
// interrupted write or merge left (see manifest.go).
func Open(dir string, opt Options) (*Index, error) {
	if err := opt.resolve(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	parts, next, err := loadParts(dir, opt.Logf)
	if err != nil {
		return nil, err
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(2),
		zstd.WithEncoderCRC(false), zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil, fmt.Errorf("store: zstd encoder: %w", err)
	}
	// Output is capped at cap(dst), which the reader sets to the column's
	// decoded size, so a hostile frame cannot inflate past it.
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(runtime.GOMAXPROCS(0)),
		zstd.WithDecoderMaxMemory(maxColumnBytes), zstd.WithDecodeAllCapLimit(true))
	if err != nil {
		enc.Close()
		return nil, fmt.Errorf("store: zstd decoder: %w", err)
	}
	x := &Index{
		dir: dir, opt: opt, lim: limits{maxValue: opt.MaxValueBytes},
		enc: enc, dec: dec,
		parts: parts, next: next,
		kick: make(chan struct{}, 1), mergeK: make(chan struct{}, 1), stop: make(chan struct{}),
		badMerge: map[*part]bool{},
	}
	for _, p := range parts {
		p.logf = opt.Logf
	}
	x.cond = sync.NewCond(&x.mu)
	x.tail.open = newBlockLike(nil, &x.tail.pool)
	x.flushEnc = newBlockEncoder(enc)
	x.bgCtx, x.bgCancel = context.WithCancel(context.Background())
	x.bg.Add(1)
	go x.flusher()
	if !opt.NoMerge {
		x.bg.Add(1)
		go x.merger()
		x.kickMerge()
	}
	return x, nil
}

// Dir returns the index directory.
func (x *Index) Dir() string { return x.dir }

// Add indexes ev as the journal record seq. Sequence numbers must grow
// (gaps are fine) and start at Next or later. ev is copied: the caller may
// reuse it. The event is searchable when Add returns. Add waits only when
// the tail is full (4 × FlushEvents events or MaxTailBytes: the flusher is
// slower than the input), and then returns the flusher's error if it is
// failing. Events over the index's bounds (a raw record over 32 MiB, 64
// MiB of values) are refused with ErrTooLarge: the follower should skip
// the sequence number, the journal keeps the record.
func (x *Index) Add(seq uint64, ev *event.Event) error {
	if len(ev.Raw) > maxRawBytes {
		return fmt.Errorf("%w: record %d has %d raw bytes, the index holds at most %d", ErrTooLarge, seq, len(ev.Raw), maxRawBytes)
	}
	if n := len(ev.Raw) + (ev.NumFields()+3)*x.lim.maxValue; n > maxEventBytes {
		// Rare (thousands of long fields): count exactly.
		n = len(ev.Raw) + len(ev.Host) + len(ev.Source) + len(ev.Origin.File)
		ev.Fields(func(k, v string) { n += len(k) + min(len(v), x.lim.maxValue) })
		if n > maxEventBytes {
			return fmt.Errorf("%w: record %d has %d bytes of values, the index holds at most %d", ErrTooLarge, seq, n, maxEventBytes)
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for {
		switch {
		case x.closing || x.closed:
			return ErrClosed
		case seq < x.next || (x.haveLast && seq <= x.last):
			prev := x.next
			if x.haveLast {
				prev = x.last + 1
			}
			return fmt.Errorf("store: add %d: sequence numbers must grow (next is %d)", seq, prev)
		}
		if x.tail.rows < 4*x.opt.FlushEvents && x.tail.bytes < x.opt.MaxTailBytes {
			break
		}
		if x.flushErr != nil {
			return fmt.Errorf("store: the tail is full and flushing fails: %w", x.flushErr)
		}
		x.cond.Wait()
	}
	t := &x.tail
	if !t.open.fits(ev) {
		t.seal()
	}
	if t.open.n == 0 {
		t.open.since = time.Now()
	}
	before := t.open.valueBytes
	t.open.add(seq, ev, x.lim, &x.counts)
	t.rows++
	t.bytes += t.open.valueBytes - before
	x.last, x.haveLast = seq, true
	if t.open.full(x.opt.BlockEvents, x.opt.BlockBytes) {
		t.seal()
	}
	if t.rows == 1 || t.rows == x.opt.FlushEvents || (t.bytes >= x.opt.MaxTailBytes/4 && t.open.n == 0) {
		select {
		case x.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// Next returns the sequence number to resume from after a restart: one past
// the last event in a durable part (events still in the tail are not
// durable), 0 for an empty index.
func (x *Index) Next() uint64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.next
}

// Flush writes the tail to a part now (at shutdown, at the end of a
// reindex). Events added meanwhile stay in the tail.
func (x *Index) Flush(ctx context.Context) error {
	x.mu.Lock()
	closed := x.closed
	x.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return x.flushTail(ctx)
}

// Stats describes the index at one moment.
type Stats struct {
	Parts       int
	Blocks      int
	Events      int64 // in parts
	DiskBytes   int64 // part files
	FilterBytes int64 // of which token filters
	ValueBytes  int64 // raw and value bytes of the events in parts, before encoding
	TailEvents  int
	TailBytes   int64 // raw and value bytes in the tail
	TailBlocks  int
	Next        uint64
	Flushes     int64
	Merges      int64
	LastFlush   time.Time
	Truncated   int64  // field values and names cut to their bound
	Dropped     int64  // extra fields beyond 1024 per event, dropped
	FlushError  string // the background flusher's last error, until it succeeds again
	BadParts    int    // parts a merge found damaged (see the log)
	MergingNow  int    // parts being merged
	OldestEvent time.Time
	NewestEvent time.Time
}

// Stats returns the index's figures.
func (x *Index) Stats() Stats {
	x.mu.Lock()
	defer x.mu.Unlock()
	s := Stats{
		Parts: len(x.parts), TailEvents: x.tail.rows, TailBytes: int64(x.tail.bytes), TailBlocks: len(x.tail.sealed),
		Next: x.next, Flushes: x.flushes, Merges: x.merges, LastFlush: x.lastFl,
		Truncated: x.counts.truncated, Dropped: x.counts.dropped, BadParts: len(x.badMerge),
	}
	if x.tail.open.n > 0 {
		s.TailBlocks++
	}
	if x.flushErr != nil {
		s.FlushError = x.flushErr.Error()
	}
	for i, p := range x.parts {
		s.Blocks += len(p.blocks)
		for j := range p.blocks {
			s.FilterBytes += int64(p.blocks[j].filterLen)
		}
		s.Events += p.rows
		s.DiskBytes += p.size
		s.ValueBytes += int64(p.valueLen)
		if p.merging {
			s.MergingNow++
		}
		if i == 0 || p.minTime < timeNanos(s.OldestEvent) {
			s.OldestEvent = nanosTime(p.minTime)
		}
		if i == 0 || p.maxTime > timeNanos(s.NewestEvent) {
			s.NewestEvent = nanosTime(p.maxTime)
		}
	}
	return s
}

// Close flushes the tail, stops the background work (a merge in progress
// is abandoned; its .tmp removed) and waits for searches in flight.
func (x *Index) Close() error {
	x.mu.Lock()
	if x.closing || x.closed {
		x.mu.Unlock()
		return nil
	}
	x.closing = true
	x.cond.Broadcast()
	x.mu.Unlock()

	x.bgCancel()
	close(x.stop)
	x.bg.Wait()
	err := x.flushTail(context.Background())

	x.mu.Lock()
	x.closed = true
	parts := x.parts
	x.parts = nil
	x.cond.Broadcast()
	x.mu.Unlock()
	x.searches.Wait()
	for _, p := range parts {
		p.release()
	}
	x.enc.Close()
	x.dec.Close()
	if err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// beginSearch registers a search; false once the index is closing.
func (x *Index) beginSearch() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closing || x.closed {
		return false
	}
	x.searches.Add(1)
	return true
}
