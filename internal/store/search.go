package store

import (
	"context"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/query"
)

// Request is one search.
type Request struct {
	// Query selects events; nil selects all. With a pipe (stats ...), the
	// result is its aggregation.
	Query *query.Query
	// From, To bound event times to [From, To); zero means unbounded.
	From, To time.Time
	// Limit is how many events to return, newest first: 0 means 100;
	// at most 10,000.
	Limit int
}

// Result is what a search found.
type Result struct {
	// Total is the exact number of matching events in [From, To).
	Total int64
	// Events are the newest matches (by event time, then journal order),
	// newest first, at most Limit, as they were added. Empty when the
	// query has an aggregation.
	Events []*event.Event
	// Aggregation is the query's aggregation result, when it has a pipe.
	Aggregation any
	// Scanned says how much work the search took.
	Scanned ScanStats
}

// ScanStats counts a search's work, for the API's "took" details and for
// tests that prove blocks are skipped.
type ScanStats struct {
	Parts         int   // parts whose time range met the request's
	Blocks        int   // blocks looked at (part and tail blocks; a block wholly in range, all of whose rows match and none of which can be among the newest Limit, is counted from its index entry, not read)
	BlocksSkipped int   // blocks not read: outside the time range, or their token filter ruled them out
	Rows          int64 // rows evaluated
}

// searchTask is one block to scan: block bi of p, or tail block tb.
type searchTask struct {
	p      *part
	bi     int
	tb     *block
	minT   int64
	maxT   int64
	rows   int
	inside bool // every row is within the time range
}

// hit is one match kept for the result: which row of which task.
type hit struct {
	t    int64
	seq  uint64
	task int32
	row  int32
}

func (h hit) less(o hit) bool { return h.t < o.t || (h.t == o.t && h.seq < o.seq) }

// topK keeps the k newest hits in a min-heap.
type topK struct {
	k int
	h []hit
}

func (t *topK) full() bool { return len(t.h) == t.k }

func (t *topK) push(x hit) {
	if len(t.h) < t.k {
		t.h = append(t.h, x)
		for i := len(t.h) - 1; i > 0; {
			p := (i - 1) / 2
			if !t.h[i].less(t.h[p]) {
				break
			}
			t.h[i], t.h[p] = t.h[p], t.h[i]
			i = p
		}
		return
	}
	if !t.h[0].less(x) {
		return
	}
	t.h[0] = x
	for i := 0; ; {
		l, s := 2*i+1, i
		if l < len(t.h) && t.h[l].less(t.h[s]) {
			s = l
		}
		if r := l + 1; r < len(t.h) && t.h[r].less(t.h[s]) {
			s = r
		}
		if s == i {
			break
		}
		t.h[i], t.h[s] = t.h[s], t.h[i]
		i = s
	}
}

// search is one Search call's shared, read-only state.
type search struct {
	q        *query.Query
	matchAll bool
	names    []string
	all      bool
	pf       prefilter // for parts whose filters hold pairs
	pfTokens prefilter // pf without the clauses that ask for a pair: for version 1 parts
	from     int64
	to       int64 // exclusive; hasTo false: unbounded
	hasTo    bool
	limit    int
	agg      bool
	reqFrom  time.Time
	reqTo    time.Time
	tasks    []searchTask
}

func (s *search) inRange(t int64) bool { return t >= s.from && (!s.hasTo || t < s.to) }

// searchWorker scans tasks; one per goroutine.
type searchWorker struct {
	s         *search
	rd        *blockReader
	cur       rowCursor
	top       topK
	agg       query.Aggregator
	total     int64
	rows      int64
	blocks    int
	skipped   int
	filterBuf []byte
}

// Search finds the events of req. It reads the tail and the parts (on
// GOMAXPROCS goroutines), skipping blocks by time and by token filter,
// reads only the columns the query names, and stops early when ctx is
// done. A damaged block fails the search with a *CorruptionError naming
// it; an answer is never made from damaged data.
func (x *Index) Search(ctx context.Context, req Request) (*Result, error) {
	if !x.beginSearch() {
		return nil, ErrClosed
	}
	defer x.searches.Done()
	s := &search{q: req.Query, matchAll: true, all: false, limit: req.Limit, from: math.MinInt64,
		reqFrom: req.From, reqTo: req.To}
	if s.limit <= 0 {
		s.limit = defaultLimit
	}
	s.limit = min(s.limit, maxLimit)
	if !req.From.IsZero() {
		s.from = timeNanos(req.From)
	}
	if !req.To.IsZero() {
		s.to, s.hasTo = timeNanos(req.To), true
	}
	if q := s.q; q != nil {
		s.matchAll = q.MatchAll()
		s.names, s.all = q.Fields()
		for _, clause := range q.Prefilter() {
			if len(clause) == 0 {
				continue // no token to look for: no constraint on the block
			}
			hs := make([]uint64, len(clause))
			pairs := false
			for i, entry := range clause {
				_, _, isPair := query.IsPair(entry)
				pairs = pairs || isPair
				hs[i] = hashEntry(entry)
			}
			s.pf = append(s.pf, hs)
			// A filter without pairs cannot say no to a pair, so a
			// clause that holds one is no constraint on it; the
			// tokens of the pair have clauses of their own.
			if !pairs {
				s.pfTokens = append(s.pfTokens, hs)
			}
		}
		s.agg = q.Aggregation(req.From, req.To) != nil
	}
	res := &Result{}

	// Snapshot: the live parts (each held until the search ends) and the
	// tail, taken together under the lock so that a concurrent flush
	// neither hides nor doubles an event.
	x.mu.Lock()
	parts := slices.Clone(x.parts)
	for _, p := range parts {
		p.acquire()
	}
	held := slices.Clone(x.tail.sealed)
	tblocks := slices.Clone(held)
	if x.tail.open.n > 0 {
		held = append(held, x.tail.open)
		tblocks = append(tblocks, x.tail.open.view())
	}
	for _, b := range held {
		b.acquire() // its buffers stay ours until the search ends
	}
	x.mu.Unlock()
	defer func() {
		for _, p := range parts {
			p.release()
		}
		for _, b := range held {
			b.release()
		}
	}()

	for _, p := range parts {
		if !p.overlaps(s.from, s.toOrMax()) {
			res.Scanned.BlocksSkipped += len(p.blocks)
			continue
		}
		res.Scanned.Parts++
		for bi := range p.blocks {
			e := &p.blocks[bi]
			s.addTask(searchTask{p: p, bi: bi, minT: e.minTime, maxT: e.maxTime, rows: e.rows}, &res.Scanned)
		}
	}
	for _, b := range tblocks {
		t := searchTask{tb: b, minT: math.MaxInt64, maxT: math.MinInt64, rows: b.n}
		for _, v := range b.times[:b.n] {
			t.minT, t.maxT = min(t.minT, v), max(t.maxT, v)
		}
		s.addTask(t, &res.Scanned)
	}
	// Newest blocks first: the top-k fills with the newest rows early and
	// lets whole older blocks be counted without reading them.
	slices.SortStableFunc(s.tasks, func(a, b searchTask) int { return cmpI64(b.maxT, a.maxT) })

	workers, err := x.runWorkers(ctx, s)
	if err != nil {
		return nil, err
	}
	var agg query.Aggregator
	var hits []hit
	for _, w := range workers {
		res.Total += w.total
		res.Scanned.Rows += w.rows
		res.Scanned.Blocks += w.blocks
		res.Scanned.BlocksSkipped += w.skipped
		hits = append(hits, w.top.h...)
		if w.agg != nil {
			if agg == nil {
				agg = w.agg
			} else {
				agg.Merge(w.agg)
			}
		}
	}
	if s.agg {
		if agg == nil {
			agg = s.q.Aggregation(req.From, req.To)
		}
		res.Aggregation = agg.Result()
		return res, nil
	}
	slices.SortFunc(hits, func(a, b hit) int {
		switch {
		case b.less(a):
			return -1
		case a.less(b):
			return 1
		}
		return 0
	})
	if len(hits) > s.limit {
		hits = hits[:s.limit]
	}
	res.Events, err = x.materialize(ctx, s, hits)
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (s *search) toOrMax() int64 {
	if s.hasTo {
		return s.to
	}
	return math.MaxInt64
}

// addTask queues a block unless it is outside the time range.
func (s *search) addTask(t searchTask, st *ScanStats) {
	if t.rows == 0 || t.maxT < s.from || (s.hasTo && t.minT >= s.to) {
		st.BlocksSkipped++
		return
	}
	t.inside = t.minT >= s.from && (!s.hasTo || t.maxT < s.to)
	s.tasks = append(s.tasks, t)
}

func cmpI64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// runWorkers scans s.tasks on up to GOMAXPROCS goroutines. The first error
// stops the others.
func (x *Index) runWorkers(ctx context.Context, s *search) ([]*searchWorker, error) {
	n := min(runtime.GOMAXPROCS(0), len(s.tasks))
	n = max(n, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := make([]*searchWorker, n)
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for i := range workers {
		w := &searchWorker{s: s, rd: newBlockReader(x.dec), top: topK{k: s.limit}}
		w.cur.r = w.rd
		if s.agg {
			w.agg = s.q.Aggregation(s.reqFrom, s.reqTo)
		}
		workers[i] = w
	}
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(s.tasks) {
					return
				}
				if err := ctx.Err(); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				if err := w.scan(ctx, int32(i)); err != nil {
					errOnce.Do(func() { firstErr = err })
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return workers, nil
}

// scan evaluates the query on every row of task ti.
func (w *searchWorker) scan(ctx context.Context, ti int32) error {
	s := w.s
	t := &s.tasks[ti]
	rd := w.rd
	pf := s.pf
	if t.p != nil && !t.p.pairs {
		pf = s.pfTokens
	}
	if t.p != nil && pf != nil {
		var err error
		if w.filterBuf, err = t.p.readFilter(w.filterBuf, t.bi); err != nil {
			return err
		}
		if !pf.mayMatch(w.filterBuf) {
			w.skipped++
			return nil
		}
	}
	w.blocks++
	// Every row matches and none can make the newest k: count the block
	// from its index entry without reading it.
	if s.matchAll && !s.agg && t.inside && w.top.full() && t.maxT < w.top.h[0].t {
		w.total += int64(t.rows)
		return nil
	}
	if t.p != nil {
		if err := rd.reset(t.p, t.bi); err != nil {
			return err
		}
		names, all := s.names, s.all
		if s.matchAll {
			names, all = nil, false
		}
		if err := rd.loadFields(names, all); err != nil {
			return err
		}
	} else {
		rd.resetTail(t.tb)
	}
	b := &rd.b
	for i := 0; i < b.n; i++ {
		if i&4095 == 4095 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		ts := b.times[i]
		if !t.inside && !s.inRange(ts) {
			continue
		}
		w.rows++
		w.cur.i = i
		if !s.matchAll && !s.q.Match(&w.cur) {
			continue
		}
		w.total++
		if w.agg != nil {
			w.agg.Add(&w.cur)
			continue
		}
		w.top.push(hit{t: ts, seq: b.seqs[i], task: ti, row: int32(i)})
	}
	// A column that failed to load made Get report "absent": the counts
	// of this block cannot be trusted.
	return rd.err
}

// materialize turns hits (newest first) into events, reading each block
// they come from once.
func (x *Index) materialize(ctx context.Context, s *search, hits []hit) ([]*event.Event, error) {
	out := make([]*event.Event, len(hits))
	order := make([]int, len(hits))
	for i := range order {
		order[i] = i
	}
	// By block, and by row within a block: the reader's cursor over the
	// extra fields moves forward only (see extraPos).
	slices.SortFunc(order, func(a, b int) int {
		if hits[a].task != hits[b].task {
			return int(hits[a].task) - int(hits[b].task)
		}
		return int(hits[a].row) - int(hits[b].row)
	})
	rd := newBlockReader(x.dec)
	cur := int32(-1)
	for _, i := range order {
		h := hits[i]
		if h.task != cur {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			t := &s.tasks[h.task]
			if t.p != nil {
				if err := rd.reset(t.p, t.bi); err != nil {
					return nil, err
				}
				if err := rd.loadAll(); err != nil {
					return nil, err
				}
			} else {
				rd.resetTail(t.tb)
			}
			cur = h.task
		}
		out[i] = rd.event(int(h.row))
	}
	return out, nil
}
