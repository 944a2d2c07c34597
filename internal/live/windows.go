package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"time"

	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/fsutil"
	"github.com/kizuki-dev/kizuki/internal/journal"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// TierStats says where one tier of JPCERT analysis windows is.
type TierStats struct {
	Tier   string        // "short", "daily", "weekly"
	Window time.Duration // window length
	Rules  []string      // analyses run
	Next   journal.Seq   // next record to read
	// Start is the first record of the open window: a restart replays
	// from there.
	Start journal.Seq
	Open  bool // a window has events
	// WindowStart and WindowEnd bound the open window (receive time).
	WindowStart, WindowEnd time.Time
	Events                 uint64 // events observed in the open window
	Windows                uint64 // windows finished since start
	Alerts                 uint64 // alerts this tier raised since start (not counting repeats)
	LastFinished           time.Time
	// Notes are the last finished window's notes (analyses skipped or
	// degraded, and why).
	Notes []detect.Note
}

// tierState is what a tier keeps on disk.
type tierState struct {
	// Start is the first record of the open window (or the next record,
	// when no window is open): the replay point.
	Start journal.Seq `json:"start"`
	// Open is the open window's index, -1 when none.
	Open int64 `json:"open"`
	// Last is the last finished window's index.
	Last int64 `json:"last"`
}

// tierFile is the state file's shape.
type tierFile struct {
	Version int                  `json:"version"`
	Tiers   map[string]tierState `json:"tiers"`
}

func loadTierStates(path string) (map[string]tierState, error) {
	out := map[string]tierState{}
	if path == "" {
		return out, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("analysis windows: %w", err)
	}
	var f tierFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("analysis windows: %s: %w", path, err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("analysis windows: %s: version %d, want 1", path, f.Version)
	}
	for k, v := range f.Tiers {
		out[k] = v
	}
	return out, nil
}

// saveState records a tier's state and writes the file.
func (jp *jpcertRun) saveState(name string, st tierState) {
	if jp.file == "" {
		return
	}
	jp.stateMu.Lock()
	defer jp.stateMu.Unlock()
	if old, ok := jp.state[name]; ok && old == st {
		return
	}
	jp.state[name] = st
	b, _ := json.MarshalIndent(tierFile{Version: 1, Tiers: jp.state}, "", "  ")
	if err := fsutil.WriteFileAtomic(jp.file, append(b, '\n'), 0o600); err != nil {
		jp.d.logf("live detection: saving the analysis windows: %v", err)
	}
}

// mondayEpoch is 1970-01-05, the first Monday after the Unix epoch:
// windows are counted from a Monday midnight, so that a week window is a
// Monday-to-Sunday week and a day window a calendar day, in the
// organization's time zone.
const mondayEpoch = 4 * 86400

// tier is one series of analysis windows, run by one goroutine.
type tier struct {
	follow journal.Follower
	jp     *jpcertRun
	name   string
	window time.Duration
	grace  time.Duration
	loc    *time.Location
	make   func() *detect.Engine
	want   func(format string) bool
	p      *recordParser
	ev     event.Event

	// Owned by the tier's goroutine.
	next  journal.Seq
	start journal.Seq
	open  int64 // -1: no window open
	last  int64
	eng   *detect.Engine

	st TierStats // guarded by jp.d.mu
}

func newTier(jp *jpcertRun, spec tierSpec, o JPCERTOptions, from journal.Seq) *tier {
	m := o.Model
	mk := func() *detect.Engine {
		var dets []detect.Detector
		for _, det := range o.Detectors(m) {
			if slices.Contains(spec.rules, det.Info().ID) {
				dets = append(dets, det)
			}
		}
		return detect.NewEngine(dets...)
	}
	cats := map[string]bool{}
	for _, det := range mk().Detectors() {
		for _, c := range det.Info().Categories {
			cats[c] = true
		}
	}
	t := &tier{jp: jp, name: spec.name, window: spec.window, grace: o.Grace, loc: locationOf(m), make: mk,
		want: func(format string) bool { return cats[detect.Category(format)] },
		p:    newRecordParser(jp.d.reg, locationOf(m)),
		next: from, start: from, open: -1, last: math.MinInt64}
	if s, ok := jp.state[spec.name]; ok {
		t.next, t.start, t.last = s.Start, s.Start, s.Last
	}
	if ns := jp.d.j.Stats().NextSeq; t.next > ns {
		// The journal holds fewer records than the state says (a new
		// data folder with an old state file): start at its end.
		jp.d.logf("live detection: %s analysis windows: state says record %d, the journal ends at %d; starting there", spec.name, t.next, ns)
		t.next, t.start = ns, ns
	}
	t.st = TierStats{Tier: spec.name, Window: spec.window, Rules: spec.rules, Next: t.next, Start: t.start}
	return t
}

func locationOf(m *org.Model) *time.Location {
	if m != nil && m.Location != nil {
		return m.Location
	}
	return time.UTC
}

// index is the window holding receive time rt.
func (t *tier) index(rt time.Time) int64 {
	_, off := rt.In(t.loc).Zone()
	s := rt.Unix() + int64(off) - mondayEpoch
	w := int64(t.window / time.Second)
	q := s / w
	if s%w < 0 {
		q--
	}
	return q
}

// bounds returns the receive times a window covers.
func (t *tier) bounds(idx int64) (time.Time, time.Time) {
	w := int64(t.window / time.Second)
	at := func(local int64) time.Time {
		u := time.Unix(local, 0)
		_, off := u.In(t.loc).Zone()
		u = time.Unix(local-int64(off), 0)
		_, off2 := u.In(t.loc).Zone()
		return time.Unix(local-int64(off2), 0).UTC()
	}
	return at(idx*w + mondayEpoch), at((idx+1)*w + mondayEpoch)
}

// tierPoll is the least time between two looks at the journal by a tier:
// a window lasts minutes, so a tier need not look as often as Sigma
// matching does.
const tierPoll = time.Second

// run reads and finishes windows until ctx ends.
func (t *tier) run(ctx context.Context, interval time.Duration) {
	interval = max(interval, tierPoll)
	defer t.save()
	for {
		if err := t.catchUp(ctx); err != nil && ctx.Err() == nil {
			t.jp.d.logf("live detection: %s analysis windows: %v (retrying)", t.name, err)
		}
		if ctx.Err() != nil {
			return
		}
		if t.open >= 0 {
			if _, end := t.bounds(t.open); !t.jp.d.clock().Before(end.Add(t.grace)) {
				if err := t.finish(ctx, t.next); err != nil && ctx.Err() == nil {
					t.jp.d.logf("live detection: %s analysis window: %v (replaying it)", t.name, err)
				}
			}
		}
		t.save()
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// catchUp observes the records stored since the last call, finishing each
// window when the first record after it comes.
func (t *tier) catchUp(ctx context.Context) error {
	js := t.jp.d.j.Stats()
	if t.next < js.FirstSeq {
		t.jp.d.logf("live detection: %s analysis windows: records %d to %d were removed by retention before being analyzed", t.name, t.next, js.FirstSeq-1)
		t.reset(js.FirstSeq)
	}
	if js.NextSeq <= t.next {
		return nil // nothing new: no reader (each opens a segment and a decoder)
	}
	r, err := t.follow.Open(t.jp.d.j, t.next)
	if err != nil {
		return err
	}
	defer r.Close()
	n := 0
	defer func() { t.publish() }()
	for ctx.Err() == nil {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			t.follow.Stopped(r)
			return nil
		}
		if err != nil {
			return err
		}
		idx := max(t.index(rec.Received), t.last+1)
		if t.open >= 0 && idx > t.open {
			if err := t.finish(ctx, rec.Seq); err != nil {
				return err // the window is read again from its start
			}
		}
		if t.open < 0 {
			t.open, t.start, t.eng = idx, rec.Seq, t.make()
			t.jp.d.mu.Lock()
			t.st.Events = 0
			t.jp.d.mu.Unlock()
		}
		if t.p.parse(rec, &t.ev, t.want) {
			t.eng.Observe(&t.ev)
			t.jp.d.mu.Lock()
			t.st.Events++
			t.jp.d.mu.Unlock()
		}
		t.next = rec.Seq + 1
		if n++; n%4096 == 0 {
			t.publish()
		}
	}
	return nil
}

// reset abandons the open window and reads again from seq.
func (t *tier) reset(seq journal.Seq) {
	t.next, t.start, t.open, t.eng = seq, seq, -1, nil
}

// finish ends the open window: its findings are kept (those not raised
// before), and the next window starts at record next. When they cannot be
// kept, the window is read again from its first record.
func (t *tier) finish(ctx context.Context, next journal.Seq) error {
	res := t.eng.Finish(ctx)
	if err := ctx.Err(); err != nil {
		t.reset(t.start)
		return err
	}
	ws, we := t.bounds(t.open)
	win := &Window{Tier: t.name, Start: event.FormatTime(ws), End: event.FormatTime(we)}
	detected := t.jp.d.now()
	alerts := make([]Alert, 0, len(res.Alerts))
	for _, a := range res.Alerts {
		la := fromFinding(KindJPCERT, a, findingKey(a), detected)
		la.Window = win
		alerts = append(alerts, la)
	}
	kept, err := t.jp.d.keep(ctx, alerts)
	if err != nil {
		t.reset(t.start)
		return fmt.Errorf("window %s–%s: %w", win.Start, win.End, err)
	}
	t.last, t.open, t.eng, t.start = t.open, -1, nil, next
	t.jp.d.mu.Lock()
	t.st.Windows++
	t.st.Alerts += uint64(len(kept))
	t.st.LastFinished = time.Now()
	t.st.Notes = windowNotes(res.Notes)
	t.st.Events = 0
	t.jp.d.mu.Unlock()
	t.save()
	return nil
}

// windowNotes keeps the notes that say something about the data: "no logs
// of category X in this window" is the normal state of most windows.
func windowNotes(ns []detect.Note) []detect.Note {
	var out []detect.Note
	for _, n := range ns {
		if n.Level == detect.Skipped && n.Enable == "" {
			continue
		}
		out = append(out, n)
	}
	return out
}

// publish copies the tier's position into its stats.
func (t *tier) publish() {
	t.jp.d.mu.Lock()
	defer t.jp.d.mu.Unlock()
	t.st.Next, t.st.Start, t.st.Open = t.next, t.start, t.open >= 0
	if t.open >= 0 {
		t.st.WindowStart, t.st.WindowEnd = t.bounds(t.open)
	} else {
		t.st.Start = t.next
		t.st.WindowStart, t.st.WindowEnd = time.Time{}, time.Time{}
	}
}

// save writes the tier's replay point.
func (t *tier) save() {
	t.publish()
	st := tierState{Start: t.start, Open: t.open, Last: t.last}
	if t.open < 0 {
		st.Start = t.next
	}
	t.jp.saveState(t.name, st)
}
