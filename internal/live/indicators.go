package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kizuki-dev/kizuki/internal/detect/ioc"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/journal"
)

// Indicator lists are matched in the Sigma loop, record by record, so that
// a known-bad destination raises its alert within a poll interval. The
// lists are compiled into an ioc.Matcher off that loop (at start, when a
// file in the folder changes, when AddIndicators is called) and published;
// the loop installs the new matcher between two records and notes the
// record it starts at: every record from there on is matched with the new
// indicators, and the retro-hunt searches the records before it.

// DefaultPoll is how often the indicator folder is looked at.
const DefaultPoll = 5 * time.Second

// IndicatorOptions configures indicator matching.
type IndicatorOptions struct {
	// Dir is the folder of indicator lists (one file each: text, CSV or
	// STIX), read at start and looked at every Poll; AddIndicators stores
	// lists there. "" = no folder (Static lists only).
	Dir string
	// Static are lists that do not change while the server runs (the
	// organization configuration's indicators: ioc.FromConfig).
	Static []*ioc.List
	// Poll is how often Dir is looked at (default DefaultPoll, at least
	// 100 ms).
	Poll time.Duration
	// Limits bound each list and all of them together.
	Limits ioc.Limits
	// StateFile keeps what the retro-hunt has searched for (default
	// retro-hunt.json next to Options.PositionFile; "" without one: every
	// start hunts every indicator again, its alerts not raised twice).
	StateFile string
	// NoRetro turns the retro-hunt off.
	NoRetro bool
}

// IndicatorStats says what indicator matching holds and found.
type IndicatorStats struct {
	Lists      int         // lists matched
	Indicators int         // distinct indicators matched
	Since      journal.Seq // first record matched with the current lists
	Hits       uint64      // indicators found in events (repeats included)
	Errors     int         // lists whose last version could not be read
	Loaded     time.Time   // when the current lists were compiled
}

// ErrNoIndicatorDir is returned by AddIndicators and RemoveIndicators when
// no folder of lists is configured.
var ErrNoIndicatorDir = errors.New("no indicator folder is configured")

// matcherSet is one compiled generation of the lists.
type matcherSet struct {
	m      *ioc.Matcher
	lists  []*ioc.List
	loaded time.Time
}

// indicators is the live indicator matching.
type indicators struct {
	d      *Detector
	dir    *ioc.Dir
	static []*ioc.List
	poll   time.Duration
	lim    ioc.Limits

	reloadMu sync.Mutex // one compile at a time
	mu       sync.Mutex // guards pending, current, st
	pending  *matcherSet
	current  *matcherSet
	version  atomic.Uint64 // bumped with each pending set

	// Owned by the Sigma loop.
	installed uint64
	live      *ioc.Matcher

	st IndicatorStats // guarded by mu
}

func newIndicators(d *Detector, o IndicatorOptions) (*indicators, error) {
	if o.Poll == 0 {
		o.Poll = DefaultPoll
	}
	if o.Poll < 100*time.Millisecond {
		return nil, errors.New("indicator folder poll interval under 100 ms")
	}
	in := &indicators{d: d, static: o.Static, poll: o.Poll, lim: o.Limits}
	if in.lim.MaxTotal <= 0 {
		in.lim.MaxTotal = ioc.DefaultMaxTotal
	}
	if o.Dir != "" {
		dir, err := ioc.OpenDir(o.Dir, o.Limits)
		if err != nil {
			return nil, err
		}
		in.dir = dir
		_, problems, err := dir.Scan()
		if err != nil {
			return nil, err
		}
		for _, p := range problems {
			d.logf("indicators: %v (not matched)", p)
		}
	}
	if err := in.reload(); err != nil {
		return nil, err
	}
	return in, nil
}

// reload compiles the current lists and publishes them for the Sigma loop
// to install.
func (in *indicators) reload() error {
	in.reloadMu.Lock()
	defer in.reloadMu.Unlock()
	lists := append([]*ioc.List(nil), in.static...)
	if in.dir != nil {
		lists = append(lists, in.dir.Lists()...)
	}
	m, err := ioc.Compile(lists, in.lim.MaxTotal)
	if err != nil {
		return fmt.Errorf("indicators: %w", err)
	}
	set := &matcherSet{m: m, lists: lists, loaded: time.Now()}
	in.mu.Lock()
	in.pending, in.current = set, set
	in.st.Lists, in.st.Indicators, in.st.Loaded = len(lists), m.Len(), set.loaded
	in.mu.Unlock()
	in.version.Add(1)
	return nil
}

// watch looks at the folder every poll interval until ctx ends.
func (in *indicators) watch(ctx context.Context) {
	if in.dir == nil {
		return
	}
	t := time.NewTicker(in.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, problems, err := in.dir.Scan()
		if err != nil {
			in.d.logf("indicators: %v", err)
			continue
		}
		for _, p := range problems {
			in.d.logf("indicators: %v (the previous version, if any, is still matched)", p)
		}
		if changed {
			if err := in.reload(); err != nil {
				in.d.logf("%v (the previous lists are still matched)", err)
				continue
			}
			in.mu.Lock()
			n := in.current.m.Len()
			in.mu.Unlock()
			in.d.logf("indicators: lists changed in %s: %d indicators now matched", in.dir.Path(), n)
		}
	}
}

// install takes a newly published matcher, if any, into the Sigma loop:
// records from seq on are matched with it, and the retro-hunt is given
// what it has not searched the records before seq for.
func (in *indicators) install(seq journal.Seq) {
	v := in.version.Load()
	if v == in.installed {
		return
	}
	in.mu.Lock()
	set := in.pending
	in.pending = nil
	in.mu.Unlock()
	in.installed = v
	if set == nil {
		return
	}
	in.live = set.m
	in.mu.Lock()
	in.st.Since = seq
	in.mu.Unlock()
	if in.d.retro != nil {
		in.d.retro.enqueue(set.lists, seq)
	}
}

// match appends to alerts those of every indicator found in ev.
func (in *indicators) match(ev *event.Event, alerts []Alert) []Alert {
	if in.live == nil {
		return alerts
	}
	n := 0
	in.live.Match(ev, func(h ioc.Hit) {
		n++
		alerts = append(alerts, in.d.iocAlert(h, ev, false))
	})
	if n > 0 {
		in.mu.Lock()
		in.st.Hits += uint64(n)
		in.mu.Unlock()
	}
	return alerts
}

// lists returns the lists of the latest generation.
func (in *indicators) lists() []*ioc.List {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.current == nil {
		return nil
	}
	return in.current.lists
}

func (in *indicators) stats() IndicatorStats {
	in.mu.Lock()
	st := in.st
	in.mu.Unlock()
	if in.dir != nil {
		for _, li := range in.dir.Info() {
			if li.Error != "" {
				st.Errors++
			}
		}
	}
	return st
}

// AddIndicators stores a list under name in the indicator folder (replacing
// a list of that name) and has it matched from the next record on; the
// retro-hunt then searches the stored history for the indicators it had
// not searched for before (Report.New of them). The list is read whole (at
// most Limits.MaxBytes) and parsed before anything is stored: a list that
// does not parse, or holds no indicator, is refused with the reason, and
// the report lists every entry that is not matched. name is a file name
// (letters, digits, '.', '_', '-'); without an extension (.txt, .csv,
// .json, .stix) the detected format's is added. Safe to call from an HTTP
// handler while Run runs.
func (d *Detector) AddIndicators(name string, r io.Reader) (ioc.Report, error) {
	if d.ind == nil || d.ind.dir == nil {
		return ioc.Report{}, ErrNoIndicatorDir
	}
	lim := d.ind.lim
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = ioc.DefaultMaxBytes
	}
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return ioc.Report{}, fmt.Errorf("indicator list %s: %w", name, err)
	}
	if int64(len(data)) > lim.MaxBytes {
		return ioc.Report{}, fmt.Errorf("%w: %s is larger than %d bytes", ioc.ErrTooLarge, name, lim.MaxBytes)
	}
	// All lists together must stay within the limit: checked before the
	// list is stored, so a refused list is not left in the folder.
	total := func(next []*ioc.List) error {
		_, err := ioc.Compile(append(append([]*ioc.List(nil), d.ind.static...), next...), d.ind.lim.MaxTotal)
		return err
	}
	l, rep, err := d.ind.dir.Add(name, data, total)
	if err != nil {
		return rep, err
	}
	if d.retro != nil {
		rep.New = d.retro.countNew(l)
	}
	if err := d.ind.reload(); err != nil {
		return rep, err
	}
	d.logf("indicators: list %s", rep)
	return rep, nil
}

// RemoveIndicators deletes a list from the indicator folder; its
// indicators are no longer matched from the next record on.
func (d *Detector) RemoveIndicators(name string) error {
	if d.ind == nil || d.ind.dir == nil {
		return ErrNoIndicatorDir
	}
	if err := d.ind.dir.Remove(name); err != nil {
		return err
	}
	return d.ind.reload()
}

// IndicatorLists describes every list matched: the static ones (the
// configuration's) and those of the folder, with their reports and any
// read error.
func (d *Detector) IndicatorLists() []ioc.ListInfo {
	if d.ind == nil {
		return nil
	}
	var out []ioc.ListInfo
	for _, l := range d.ind.static {
		rep := ioc.Report{List: l.Name, Format: l.Format, Digest: l.Digest, Indicators: len(l.Indicators), ByKind: map[string]int{}}
		for _, in := range l.Indicators {
			rep.ByKind[in.Kind.String()]++
		}
		out = append(out, ioc.ListInfo{Name: l.Name, Report: rep})
	}
	if d.ind.dir != nil {
		out = append(out, d.ind.dir.Info()...)
	}
	return out
}
