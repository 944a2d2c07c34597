// Package hunt runs Sigma rules over log files: the offline threat hunt of
// `kizuki hunt`. Files of every format kizuki reads (EVTX, Windows XML and
// JSON, syslog sources...) are parsed on all cores, every event meets the
// rules its log source routes to, and the matches come back as a timeline,
// with correlation rules evaluated over the time-ordered base matches.
package hunt

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kizuki-dev/kizuki/internal/detect/sigma"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/formats"
	"github.com/kizuki-dev/kizuki/internal/input"
	"github.com/kizuki-dev/kizuki/internal/pipeline"
	"github.com/kizuki-dev/kizuki/rules"
)

// Levels in increasing order, as Sigma defines them.
var levels = []string{"informational", "low", "medium", "high", "critical"}

// LevelRank returns the rank of a Sigma level (informational 0 … critical
// 4) and whether it is one.
func LevelRank(level string) (int, bool) {
	for i, l := range levels {
		if strings.EqualFold(l, level) {
			return i, true
		}
	}
	return 0, false
}

// Options configures a hunt.
type Options struct {
	// RulePaths are Sigma rule files and folders. Empty: kizuki's own rule
	// pack (rules/), built into the binary.
	RulePaths []string
	// MinLevel drops matches of rules below this level ("" = all).
	MinLevel     string
	Placeholders map[string][]string
	Type         string // force one input format
	Location     *time.Location
	Since, Until time.Time
	Workers      int // parse and match goroutines; 0 = GOMAXPROCS
	Stdin        io.Reader
	// MaxMatches bounds the matches kept for the timeline (0 = 5,000,000);
	// beyond it matches are counted per rule only.
	MaxMatches int
	// Profile measures what each rule costs (Result.Costs), for --stats.
	Profile bool
	// Format, when set ("table", "json" or "csv"), renders each match as
	// it is found, on the goroutine that matched it, and keeps only the
	// rendered bytes: writing the timeline is then a copy in time order,
	// with no event encoded, stored and decoded again. The Result can then
	// only be written in that format (Write*), not read with Each.
	Format string

	spillAt int // bytes of matches each reader keeps in memory (tests); 0 = memPerStore
}

// Match is one rule that fired on one event, or one correlation that fired
// on a group of them.
type Match struct {
	Rule  *sigma.Rule
	Event *event.Event // for a correlation, its last event
	// Correlation is set for a correlation rule's match.
	Correlation *sigma.CorrelationMatch
}

// RuleCount is how often one rule fired.
type RuleCount struct {
	Rule    *sigma.Rule
	Matches int64
}

// Result is what a hunt found and how it went. Its matches are kept on
// disk past a memory budget: read them in time order with Each, and Close
// the result when done.
type Result struct {
	Matches     int64 // matches in the timeline (after --min-level)
	Dropped     int64 // matches beyond MaxMatches: counted in Counts only
	Suppressed  int64 // base matches of correlation rules with generate: false
	Counts      []RuleCount
	ByLevel     map[string]int64 // timeline matches per level
	Files       []*pipeline.FileReport
	Rules       *sigma.Ruleset
	LoadErrors  []*sigma.LoadError
	Events      int64
	Elapsed     time.Duration
	RuleSources []string // where the rules came from
	// With Options.Profile: the rules by the time their conditions took,
	// most expensive first, and the time of the shared prefilter scan.
	Costs         []sigma.RuleCost
	PrefilterTime time.Duration

	rules  []*sigma.Rule // index of matchKey.rule
	format string        // the format the stored matches are rendered in; "" = events
	stores []*store
	keys   []matchKey
	corr   []*Match // correlation matches, in time order
}

// order returns the timeline as indexes: i >= 0 is keys[i], i < 0 is
// corr[-i-1]; both are sorted by time, merged here.
func (r *Result) order() []int32 {
	out := make([]int32, 0, len(r.keys)+len(r.corr))
	ci := 0
	for i := range r.keys {
		for ci < len(r.corr) && r.corr[ci].Event.Time.UnixNano() < r.keys[i].t {
			out = append(out, int32(-ci-1))
			ci++
		}
		out = append(out, int32(i))
	}
	for ; ci < len(r.corr); ci++ {
		out = append(out, int32(-ci-1))
	}
	return out
}

// matchReader decodes the stored matches of a Result; one per goroutine.
type matchReader struct {
	r   *Result
	ev  event.Event
	buf []byte
	m   Match
	// alias: the event's strings point into buf or the stores' memory
	// (no copy per match); they are valid until the next call of at.
	alias bool
}

func (mr *matchReader) at(i int32) (*Match, error) {
	if i < 0 {
		return mr.r.corr[-i-1], nil
	}
	k := &mr.r.keys[i]
	if err := mr.r.stores[k.store].read(k, &mr.ev, &mr.buf, mr.alias); err != nil {
		return nil, err
	}
	mr.m = Match{Rule: mr.r.rules[k.rule], Event: &mr.ev}
	return &mr.m, nil
}

// Each calls fn for every match of the timeline in time order. The Match
// and its Event are reused between calls.
func (r *Result) Each(fn func(*Match) error) error {
	if r.format != "" {
		return fmt.Errorf("hunt: the matches were rendered as %s when found (Options.Format), not kept as events", r.format)
	}
	mr := &matchReader{r: r}
	for _, i := range r.order() {
		m, err := mr.at(i)
		if err != nil {
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// renderBlock is how many matches one goroutine renders at a time.
const renderBlock = 1024

// Render writes the timeline to w in time order, each match rendered by
// render (which appends to dst and returns it; it runs on several
// goroutines at once, so it must keep no state). Matches are decoded and
// rendered in blocks on all cores and written in order: the output of a
// hunt with a million matches is not left to one core.
func (r *Result) Render(w io.Writer, render func(dst []byte, m *Match) []byte) error {
	if r.format != "" {
		return fmt.Errorf("hunt: the matches were rendered as %s when found (Options.Format)", r.format)
	}
	return r.write(w, "", render)
}

// write is Render for a timeline whose matches were rendered in format when
// found ("" = kept as events): their bytes are copied as they are, and render
// serves the correlation matches only.
func (r *Result) write(w io.Writer, format string, render func(dst []byte, m *Match) []byte) error {
	if r.format != "" && r.format != format {
		return fmt.Errorf("hunt: the matches were rendered as %s when found, not %s", r.format, format)
	}
	if r.format != "" {
		return r.writeRendered(w, render)
	}
	order := r.order()
	nblocks := (len(order) + renderBlock - 1) / renderBlock
	workers := min(runtime.GOMAXPROCS(0), max(nblocks, 1))
	type block struct {
		out  []byte
		err  error
		done chan struct{}
	}
	blocks := make([]*block, nblocks)
	for i := range blocks {
		blocks[i] = &block{done: make(chan struct{})}
	}
	next := make(chan int, nblocks)
	for i := 0; i < nblocks; i++ {
		next <- i
	}
	close(next)
	// At most this many rendered blocks wait to be written: memory stays
	// bounded however many matches there are.
	window := make(chan struct{}, workers*4)
	// Their buffers are reused: a fresh one per block would be grown
	// (and copied) from nothing a dozen times, for a megabyte or more.
	bufs := make(chan []byte, workers*4)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// render appends each match before the next is read.
			mr := &matchReader{r: r, alias: true}
			for {
				// A slot first, then the next block: blocks holding
				// slots are then always the earliest unwritten ones,
				// so the writer never waits on a block that waits for
				// a slot.
				select {
				case window <- struct{}{}:
				case <-stop:
					return
				}
				bi, ok := <-next
				if !ok {
					<-window
					return
				}
				b := blocks[bi]
				select {
				case b.out = <-bufs:
				default:
				}
				end := min((bi+1)*renderBlock, len(order))
				for _, i := range order[bi*renderBlock : end] {
					m, err := mr.at(i)
					if err != nil {
						b.err = err
						break
					}
					b.out = render(b.out, m)
				}
				close(b.done)
			}
		}()
	}
	var err error
	for _, b := range blocks {
		<-b.done
		if err == nil {
			err = b.err
		}
		if err == nil {
			_, err = w.Write(b.out)
		}
		select {
		case bufs <- b.out[:0]:
		default:
		}
		b.out = nil
		<-window
		if err != nil {
			close(stop)
			break
		}
	}
	wg.Wait()
	return err
}

// writeRendered writes a timeline whose matches were rendered when found:
// their bytes in time order, read run by run in large sequential reads (a
// copy: one goroutine is enough), and the correlation matches rendered by
// render between them.
func (r *Result) writeRendered(w io.Writer, render func(dst []byte, m *Match) []byte) error {
	readers := make([]*runReader, len(r.stores))
	for i, s := range r.stores {
		readers[i] = newRunReader(s)
	}
	var buf []byte
	for _, i := range r.order() {
		if i < 0 {
			buf = render(buf[:0], r.corr[-i-1])
			if _, err := w.Write(buf); err != nil {
				return err
			}
			continue
		}
		k := &r.keys[i]
		rec, err := readers[k.store].record(k)
		if err != nil {
			return err
		}
		if _, err := w.Write(rec); err != nil {
			return err
		}
	}
	return nil
}

// Close releases the spilled matches.
func (r *Result) Close() {
	for _, s := range r.stores {
		s.close()
	}
}

// LoadRules loads the rules of opt: the files and folders given, or the
// built-in pack.
func LoadRules(opt Options) (*sigma.Ruleset, []*sigma.LoadError, []string, error) {
	so := sigma.Options{Placeholders: opt.Placeholders}
	if len(opt.RulePaths) == 0 {
		rs, errs := sigma.LoadFS(rules.FS(), so)
		return rs, errs, []string{"built-in kizuki rule pack"}, nil
	}
	rs, errs := sigma.LoadPaths(opt.RulePaths, so)
	if rs == nil || len(rs.Rules()) == 0 {
		if len(errs) > 0 {
			return nil, errs, opt.RulePaths, fmt.Errorf("no rule loaded from %s (%d failed; first: %v)", strings.Join(opt.RulePaths, ", "), len(errs), errs[0])
		}
		return nil, errs, opt.RulePaths, fmt.Errorf("no Sigma rule found in %s", strings.Join(opt.RulePaths, ", "))
	}
	return rs, errs, opt.RulePaths, nil
}

// memPerStore is how many bytes of encoded matches each matcher goroutine
// keeps in memory before it writes them to a temporary file.
const memPerStore = 32 << 20

// Run hunts paths with the rules of opt.
func Run(ctx context.Context, paths []string, opt Options) (*Result, error) {
	start := time.Now()
	// The folders are listed while the rules load: both take a moment
	// (thousands of rules, tens of thousands of files) on one core each.
	type listing struct {
		files []input.File
		err   error
	}
	listed := make(chan listing, 1)
	go func() {
		files, err := input.Expand(paths)
		listed <- listing{files, err}
	}()
	rs, loadErrs, sources, err := LoadRules(opt)
	l := <-listed
	if err != nil {
		return nil, err
	}
	minRank := 0
	if opt.MinLevel != "" {
		r, ok := LevelRank(opt.MinLevel)
		if !ok {
			return nil, fmt.Errorf("unknown level %q (want one of %s)", opt.MinLevel, strings.Join(levels, ", "))
		}
		minRank = r
	}
	files, err := l.files, l.err
	if err != nil {
		return nil, err
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	maxMatches := opt.MaxMatches
	if maxMatches <= 0 {
		maxMatches = 5_000_000
	}

	// What to do with each rule's matches: keep for the timeline (at or
	// above --min-level, and not a correlation-only rule), keep as input
	// of the correlations, or only count.
	all := rs.Rules()
	index := make(map[*sigma.Rule]int32, len(all))
	timeline := make([]bool, len(all))
	for i, r := range all {
		index[r] = int32(i)
		rank, _ := LevelRank(r.Level)
		timeline[i] = rank >= minRank && !suppressed(rs, r)
	}

	// The timeline's order: rules with the same time and origin by title.
	order := keyOrder(func(a, b int32) bool {
		if all[a].Title != all[b].Title {
			return all[a].Title < all[b].Title
		}
		return a < b
	})

	// Each file reader matches its events as it reads them, with its own
	// Matcher and store (the event is still in the cache, and nothing is
	// copied into a batch); files are read several at a time, in any
	// order, and the timeline is sorted at the end.
	var kept atomic.Int64
	var mu sync.Mutex
	var cols []*collector
	res := &Result{Rules: rs, LoadErrors: loadErrs, RuleSources: sources, rules: all, ByLevel: map[string]int64{}, format: opt.Format}
	spillAt := opt.spillAt
	if spillAt <= 0 {
		spillAt = memPerStore
	}
	var render func(dst []byte, m *Match) []byte
	if opt.Format != "" {
		if render, err = renderer(opt.Format, all, nil); err != nil {
			return nil, err
		}
	}
	newObserver := func() func(*event.Event) {
		mu.Lock()
		c := &collector{counts: make([]int64, len(all)), store: newStore(len(cols), spillAt, "", order), m: rs.NewMatcher()}
		cols = append(cols, c)
		res.stores = append(res.stores, c.store)
		mu.Unlock()
		m := c.m
		m.Profile(opt.Profile)
		var ev *event.Event
		// Made once per reader: a closure per match would be allocated.
		renderMatch := func(b []byte) []byte { return render(b, &c.match) }
		onMatch := func(r *sigma.Rule) {
			ri := index[r]
			c.counts[ri]++
			if r.Correlated {
				c.based = append(c.based, &Match{Rule: r, Event: ev.Clone()})
			}
			if !timeline[ri] || c.err != nil {
				return
			}
			if kept.Add(1) > int64(maxMatches) {
				c.dropped++
				return
			}
			if render == nil {
				c.err = c.store.add(ri, ev)
				return
			}
			c.match = Match{Rule: r, Event: ev}
			c.err = c.store.addWith(ri, ev, renderMatch)
		}
		return func(e *event.Event) {
			ev = e
			c.events++
			m.Match(e, onMatch)
		}
	}
	reps, err := pipeline.Run(ctx, files, pipeline.Options{
		Registry: formats.Registry(),
		Type:     opt.Type,
		Location: opt.Location,
		Since:    opt.Since,
		Until:    opt.Until,
		Workers:  workers,
		Stdin:    opt.Stdin,
		// The timeline is sorted at the end: files can be read several
		// at a time, which keeps the cores busy on many small files.
		Unordered:   true,
		NewRegistry: formats.Registry,
		NewObserver: newObserver,
	}, nil)
	// Each store sorts its own keys, on all cores at once.
	var wg sync.WaitGroup
	for _, c := range cols {
		c.costs, c.prefTime = c.m.Costs(), c.m.PrefilterTime()
		wg.Add(1)
		go func() {
			defer wg.Done()
			slices.SortFunc(c.store.keys, order)
		}()
	}
	wg.Wait()
	var events int64
	for _, c := range cols {
		events += c.events
	}
	if err == nil {
		err = ctx.Err()
	}
	for _, c := range cols {
		if err == nil {
			err = c.err
		}
	}
	if err != nil {
		res.Close()
		return nil, err
	}
	res.Files, res.Events = reps, events

	counts := make([]int64, len(all))
	var based []*Match
	costs := map[*sigma.Rule]*sigma.RuleCost{}
	for _, c := range cols {
		res.PrefilterTime += c.prefTime
		for _, rc := range c.costs {
			if t := costs[rc.Rule]; t != nil {
				t.Evals += rc.Evals
				t.Time += rc.Time
			} else {
				rc := rc
				costs[rc.Rule] = &rc
			}
		}
		based = append(based, c.based...)
		res.Dropped += c.dropped
		for i, n := range c.counts {
			counts[i] += n
		}
	}
	for _, rc := range costs {
		res.Costs = append(res.Costs, *rc)
	}
	sort.Slice(res.Costs, func(i, j int) bool {
		if res.Costs[i].Time != res.Costs[j].Time {
			return res.Costs[i].Time > res.Costs[j].Time
		}
		return res.Costs[i].Rule.ID < res.Costs[j].Rule.ID
	})
	var sorted [][]matchKey
	for _, c := range cols {
		sorted = append(sorted, c.store.keys)
	}
	res.keys = mergeKeys(sorted, order)
	for _, k := range res.keys {
		res.ByLevel[all[k.rule].Level]++
	}
	res.Matches = int64(len(res.keys))
	for i, r := range all {
		if suppressed(rs, r) {
			res.Suppressed += counts[i]
		}
	}

	// Correlations see the base matches in time order.
	sortMatches(based)
	corrCounts := map[*sigma.Rule]int64{}
	for _, m := range correlate(rs, based) {
		corrCounts[m.Rule]++
		if rank, _ := LevelRank(m.Rule.Level); rank < minRank {
			continue
		}
		res.corr = append(res.corr, m)
		res.ByLevel[m.Rule.Level]++
		res.Matches++
	}
	sortMatches(res.corr)

	for i, n := range counts {
		if rank, _ := LevelRank(all[i].Level); n > 0 && rank >= minRank {
			res.Counts = append(res.Counts, RuleCount{all[i], n})
		}
	}
	for r, n := range corrCounts {
		if rank, _ := LevelRank(r.Level); rank >= minRank {
			res.Counts = append(res.Counts, RuleCount{r, n})
		}
	}
	sort.Slice(res.Counts, func(i, j int) bool {
		a, b := res.Counts[i], res.Counts[j]
		ra, _ := LevelRank(a.Rule.Level)
		rb, _ := LevelRank(b.Rule.Level)
		if ra != rb {
			return ra > rb
		}
		if a.Matches != b.Matches {
			return a.Matches > b.Matches
		}
		return a.Rule.Title < b.Rule.Title
	})
	res.Elapsed = time.Since(start)
	return res, nil
}

// collector is one file reader's matcher and findings.
type collector struct {
	m        *sigma.Matcher
	events   int64
	costs    []sigma.RuleCost
	prefTime time.Duration
	store    *store
	counts   []int64  // per rule index
	based    []*Match // matches of rules that correlations use
	dropped  int64
	err      error
	match    Match // the match being rendered (Options.Format)
}

// sortMatches orders in-memory matches by time, then origin, then rule, so
// that the output does not depend on scheduling.
func sortMatches(ms []*Match) {
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := ms[i], ms[j]
		if !a.Event.Time.Equal(b.Event.Time) {
			return a.Event.Time.Before(b.Event.Time)
		}
		if a.Event.Origin != b.Event.Origin {
			if a.Event.Origin.File != b.Event.Origin.File {
				return a.Event.Origin.File < b.Event.Origin.File
			}
			if a.Event.Origin.Line != b.Event.Origin.Line {
				return a.Event.Origin.Line < b.Event.Origin.Line
			}
			return a.Event.Origin.Record < b.Event.Origin.Record
		}
		if a.Rule.Title != b.Rule.Title {
			return a.Rule.Title < b.Rule.Title
		}
		return a.Rule.ID < b.Rule.ID
	})
}
