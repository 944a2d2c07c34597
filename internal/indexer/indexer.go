// Package indexer keeps the search index up to date with the journal: it
// follows the journal's new records, parses them (package records) and
// adds them to the index, so that an event is searchable about a second
// after it arrived (C5). The journal is the truth and the index derived
// from it: after a restart, the indexer resumes at the first record the
// index's durable parts do not hold, and `kizuki reindex` rebuilds the
// whole index with Catch up from an empty one.
package indexer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/health"
	"github.com/kizuki-dev/kizuki/internal/journal"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/records"
	"github.com/kizuki-dev/kizuki/internal/store"
)

// Options configures an Indexer.
type Options struct {
	// Tracker, when set, is told each parsed event's time against its
	// arrival, per source (clock skew, C6).
	Tracker *health.Tracker
	// Logf reports trouble (nil: silent).
	Logf func(format string, args ...any)
}

// Stats says how far indexing is.
type Stats struct {
	Indexed  uint64      // records added since start
	Unparsed uint64      // of which no format parser read (indexed as raw text)
	TooLarge uint64      // records too large for the index (kept in the journal only)
	Next     journal.Seq // the next record to index
	// Lag is how long the last record indexed waited between its arrival
	// and being searchable; LagP99 the 99th percentile over every record
	// indexed since start (to the upper bound of its histogram bucket, a
	// few percent wide).
	Lag, LagP99 time.Duration
}

// The arrival-to-searchable histogram: buckets from 1 ms growing by 5%,
// the last one open-ended (about 10 minutes and more).
const (
	lagBuckets = 280
	lagGrowth  = 1.05
)

// lagBucket is the bucket of a delay.
func lagBucket(d time.Duration) int {
	ms := float64(d) / float64(time.Millisecond)
	if ms <= 1 {
		return 0
	}
	return min(int(math.Ceil(math.Log(ms)/math.Log(lagGrowth))), lagBuckets-1)
}

// lagBound is the upper bound of bucket i.
func lagBound(i int) time.Duration {
	return time.Duration(math.Pow(lagGrowth, float64(i)) * float64(time.Millisecond))
}

// Source is the journal an indexer follows: a *journal.Journal open for
// appending (kizuki serve), or Dir, a journal's folder read as it is
// (kizuki reindex and search --data, with the server stopped).
type Source = journal.Opener

// Dir reads the journal in a folder without opening it for appending.
type Dir string

// NewReader reads the records of the journal in d from record from on.
func (d Dir) NewReader(from journal.Seq) (*journal.Reader, error) {
	return journal.NewReader(string(d), from)
}

// Indexer follows a journal into an index.
type Indexer struct {
	j   Source
	x   *store.Index
	p   *records.Parser
	opt Options

	follow journal.Follower

	mu    sync.Mutex
	stats Stats
	lags  [lagBuckets]uint64 // arrival-to-searchable histogram
}

// New returns an indexer of j into x, starting where x's durable parts end
// (a reader of the journal starts at its first record when retention
// removed older ones).
func New(j Source, x *store.Index, reg *parse.Registry, opt Options) *Indexer {
	if opt.Logf == nil {
		opt.Logf = func(string, ...any) {}
	}
	return &Indexer{j: j, x: x, p: records.NewParser(reg, nil), opt: opt, stats: Stats{Next: journal.Seq(x.Next())}}
}

// Run indexes new records until ctx ends, looking for more every interval
// once caught up.
func (ix *Indexer) Run(ctx context.Context, interval time.Duration) error {
	for {
		if err := ix.CatchUp(ctx); err != nil && ctx.Err() == nil {
			ix.opt.Logf("indexing: %v (retrying)", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// CatchUp indexes every record committed when it is called.
func (ix *Indexer) CatchUp(ctx context.Context) error {
	ix.mu.Lock()
	from := ix.stats.Next
	ix.mu.Unlock()
	r, err := ix.follow.Open(ix.j, from)
	if err != nil {
		return fmt.Errorf("reading the journal from record %d: %w", from, err)
	}
	defer r.Close()
	var ev event.Event
	for n := 0; ; n++ {
		if n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			ix.follow.Stopped(r)
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the journal: %w", err)
		}
		parsed := ix.p.Parse(rec, &ev)
		switch err := ix.x.Add(uint64(rec.Seq), &ev); {
		case errors.Is(err, store.ErrTooLarge):
			// Kept in the journal, not searchable: say so once, go on.
			ix.opt.Logf("record %d is too large to index (%d bytes): kept in the journal, not searchable", rec.Seq, len(rec.Raw))
			ix.mu.Lock()
			ix.stats.TooLarge++
			ix.mu.Unlock()
		case err != nil:
			return fmt.Errorf("indexing record %d: %w", rec.Seq, err)
		}
		if ev.Source != "" && ix.opt.Tracker != nil { // its own time: a format's, or a syslog header's
			ix.opt.Tracker.ObserveTime(rec.Origin, ev.Time, rec.Received)
		}
		ix.done(rec, parsed)
	}
}

// done counts one indexed record.
func (ix *Indexer) done(rec journal.Record, parsed bool) {
	lag := time.Since(rec.Received)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.stats.Indexed++
	if !parsed {
		ix.stats.Unparsed++
	}
	ix.stats.Next = rec.Seq + 1
	ix.stats.Lag = lag
	ix.lags[lagBucket(lag)]++
}

// Stats returns the indexer's progress.
func (ix *Indexer) Stats() Stats {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	st := ix.stats
	var total, seen uint64
	for _, n := range ix.lags {
		total += n
	}
	for i, n := range ix.lags {
		if seen += n; n > 0 && seen*100 >= total*99 {
			st.LagP99 = lagBound(i)
			break
		}
	}
	return st
}
