// Package live runs detection on what kizuki serve stores, as it is
// stored: it follows the journal (never a copy of the stream), so an event
// is checked once it is durable, detection that falls behind catches up
// instead of dropping anything, and its lag is measurable.
//
// Three detections follow the journal, each at its own pace and with its
// own position, so that a slow one never holds back another:
//
//   - Sigma rules and indicator lists, record by record (this file and
//     indicators.go): an alert within a poll interval of storage.
//   - The JPCERT/CC analyses J1–J13 (jpcert.go, windows.go), which were
//     written for batch runs, over analysis windows of receive time: a fresh
//     engine observes the window's events in journal order and is finished
//     when the window ends; what an earlier window found is not raised
//     again.
//   - Retro-hunts (retro.go): when indicators are added, the stored history
//     before that point is searched for them, in the background.
//
// Every alert is kept in the alerts journal before detection moves past it,
// and every position is kept on disk, so a restart loses nothing and
// raises nothing twice.
package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/detect/ioc"
	"github.com/kizuki-dev/kizuki/internal/detect/sigma"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/fsutil"
	"github.com/kizuki-dev/kizuki/internal/journal"
	"github.com/kizuki-dev/kizuki/internal/parse"
)

// MaxAlerts bounds the alerts kept in memory (the newest).
const MaxAlerts = 10_000

// Stats says how detection keeps up.
type Stats struct {
	Checked     uint64      // records looked at
	Parsed      uint64      // of which parsed into events
	Unparsed    uint64      // records of no known format, or malformed (kept in the journal, not checked)
	Alerts      uint64      // alerts raised since start, every kind
	Next        journal.Seq // the next record for Sigma rules and indicators
	LagSeconds  float64     // how long ago the newest checked record was received
	LastChecked time.Time

	// Alerts raised since start, per kind.
	SigmaAlerts, JPCERTAlerts, IOCAlerts, HealthAlerts uint64

	// JPCERT is each analysis tier (nil when the analyses do not run).
	JPCERT []TierStats
	// Indicators is the indicator matching (zero when it does not run).
	Indicators IndicatorStats
	// Retro is the retro-hunt.
	Retro RetroStats
}

// Options configures a Detector.
type Options struct {
	// Alerts, when set, keeps every alert (JSON, one record each) before
	// detection moves past its event: a restart loses none, and alerts
	// already kept are not raised twice.
	Alerts *journal.Journal
	// PositionFile, when set, keeps the next record to check, so that a
	// restart resumes there (records stored while detection was behind
	// are still checked). The analysis windows and the retro-hunt keep
	// their state next to it unless told otherwise.
	PositionFile string
	// OnAlert, when set, is called for every new alert once it is kept
	// (webhooks); it must not block. It may be called from several
	// goroutines, one call at a time.
	OnAlert func(Alert)
	Logf    func(string, ...any)
	// Location is the time zone of records whose time stamps carry none
	// (RFC 3164 syslog, BIND); default UTC. Pass the organization
	// model's (--config timezone) so that times agree with kizuki analyze.
	Location *time.Location
	// JPCERT, when set, runs the JPCERT/CC analyses J1–J13 live.
	JPCERT *JPCERTOptions
	// Indicators, when set, matches indicator lists live and retro-hunts
	// new indicators over the stored history.
	Indicators *IndicatorOptions
	// Now replaces the wall clock (tests, simulations): it decides when an
	// analysis window has ended with no record after it, and stamps
	// alerts' detection time.
	Now func() time.Time
}

// Detector follows a journal and runs Sigma rules, indicator lists and the
// JPCERT analyses on its records.
type Detector struct {
	// follow and parser belong to the Sigma and indicator loop (catchUp).
	follow journal.Follower
	parser *recordParser

	j     *journal.Journal
	rules *sigma.Ruleset
	reg   *parse.Registry
	logf  func(string, ...any)
	opt   Options
	// keptUpTo: Sigma alerts of records below it are already in opt.Alerts.
	keptUpTo journal.Seq
	saved    time.Time

	// keepMu serializes keep: the key check, the append and the listing.
	keepMu sync.Mutex
	keys   keySet

	mu     sync.Mutex
	alerts []Alert // ring, newest last
	stats  Stats

	jp    *jpcertRun // nil: the analyses do not run
	ind   *indicators
	retro *retro
}

// New returns a detector that checks records from seq from on, or from
// where a previous run stopped (Options.PositionFile), reloading the
// alerts it kept (Options.Alerts). rules may be nil (no Sigma rules).
func New(j *journal.Journal, rules *sigma.Ruleset, reg *parse.Registry, from journal.Seq, opt Options) (*Detector, error) {
	if opt.Logf == nil {
		opt.Logf = func(string, ...any) {}
	}
	d := &Detector{j: j, rules: rules, reg: reg, logf: opt.Logf, opt: opt, stats: Stats{Next: from}}
	if opt.PositionFile != "" {
		n, ok, err := readSeqFile(opt.PositionFile)
		if err != nil {
			return nil, fmt.Errorf("live: %w", err)
		}
		if ok {
			if first := j.Stats().FirstSeq; n < first {
				n = first // retention removed what was not checked
			}
			d.stats.Next = n
		}
	}
	if opt.Alerts != nil {
		err := opt.Alerts.Iterate(context.Background(), 0, func(r journal.Record) error {
			var a Alert
			if err := json.Unmarshal(r.Raw, &a); err != nil {
				return fmt.Errorf("alert record %d: %w", r.Seq, err)
			}
			if a.Kind == "" {
				a.Kind = KindSigma // kept before alerts had kinds
			}
			d.remember(a)
			if a.Key != "" {
				d.keys.add(keyDigest(a.Key))
			}
			// Only Sigma alerts say how far Sigma matching got: the
			// others come from other positions (windows, retro-hunts).
			if a.Kind == KindSigma && a.Seq >= d.keptUpTo {
				d.keptUpTo = a.Seq + 1
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("live: reading the kept alerts: %w", err)
		}
	}
	if opt.JPCERT != nil {
		jo := *opt.JPCERT
		if jo.Exclude == nil && opt.Indicators != nil {
			// The indicator lists raise J5's findings at once, and
			// retro-hunt them: J5 over windows would raise them twice.
			jo.Exclude = []string{"J5"}
		}
		// Without a state of their own (a first start, or an upgrade
		// from Sigma-only detection), the windows start where Sigma
		// matching resumes.
		jp, err := newJPCERT(d, jo, d.stats.Next)
		if err != nil {
			return nil, fmt.Errorf("live: %w", err)
		}
		d.jp = jp
	}
	if opt.Indicators != nil {
		ind, err := newIndicators(d, *opt.Indicators)
		if err != nil {
			return nil, fmt.Errorf("live: %w", err)
		}
		d.ind = ind
		if !opt.Indicators.NoRetro {
			rt, err := newRetro(d, d.retroStateFile())
			if err != nil {
				return nil, fmt.Errorf("live: %w", err)
			}
			d.retro = rt
		}
	}
	return d, nil
}

// readSeqFile reads a file holding one sequence number; ok is false when
// the file does not exist.
func readSeqFile(path string) (journal.Seq, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", path, err)
	}
	return journal.Seq(n), true, nil
}

// remember adds a to the in-memory ring (caller holds mu or owns d).
func (d *Detector) remember(a Alert) {
	if len(d.alerts) == MaxAlerts {
		copy(d.alerts, d.alerts[1:])
		d.alerts = d.alerts[:MaxAlerts-1]
	}
	d.alerts = append(d.alerts, a)
}

// savePosition writes the next record to check (at most once a second
// unless force).
func (d *Detector) savePosition(force bool) {
	if d.opt.PositionFile == "" || (!force && time.Since(d.saved) < time.Second) {
		return
	}
	d.mu.Lock()
	next := d.stats.Next
	d.mu.Unlock()
	if err := fsutil.WriteFileAtomic(d.opt.PositionFile, []byte(strconv.FormatUint(uint64(next), 10)+"\n"), 0o600); err != nil {
		d.logf("live detection: saving its position: %v", err)
		return
	}
	d.saved = time.Now()
}

// Run checks new records until ctx ends, polling every interval once
// caught up. The analysis windows, the indicator folder watch and the
// retro-hunt run in goroutines of their own, ended and waited for before
// Run returns, each having saved its position.
func (d *Detector) Run(ctx context.Context, interval time.Duration) error {
	var wg sync.WaitGroup
	if d.jp != nil {
		for _, t := range d.jp.tiers {
			wg.Go(func() { t.run(ctx, interval) })
		}
	}
	if d.ind != nil {
		wg.Go(func() { d.ind.watch(ctx) })
	}
	if d.retro != nil {
		wg.Go(func() { d.retro.run(ctx, interval) })
	}
	defer wg.Wait()
	var m *sigma.Matcher
	if d.rules != nil {
		m = d.rules.NewMatcher()
	}
	defer d.savePosition(true)
	for {
		if err := d.catchUp(ctx, m); err != nil && ctx.Err() == nil {
			d.logf("live detection: %v (retrying)", err)
		}
		d.savePosition(false)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

func (d *Detector) catchUp(ctx context.Context, m *sigma.Matcher) error {
	d.mu.Lock()
	from := d.stats.Next
	d.mu.Unlock()
	if d.ind != nil {
		d.ind.install(from)
	}
	if d.j.Stats().NextSeq <= from {
		return nil // nothing new: no reader (each opens a segment and a decoder)
	}
	r, err := d.follow.Open(d.j, from)
	if err != nil {
		return err
	}
	defer r.Close()
	if d.parser == nil {
		d.parser = newRecordParser(d.reg, d.opt.Location)
	}
	p := d.parser
	var ev event.Event
	for ctx.Err() == nil {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			d.follow.Stopped(r)
			return nil
		}
		if err != nil {
			return err
		}
		if d.ind != nil {
			d.ind.install(rec.Seq)
		}
		if err := d.check(ctx, m, rec, p, &ev); err != nil {
			return err
		}
	}
	return nil
}

// check parses one record and matches it against the Sigma rules and the
// indicators; its alerts are kept before detection moves past it (an
// error leaves it to be checked again).
func (d *Detector) check(ctx context.Context, m *sigma.Matcher, rec journal.Record, p *recordParser, ev *event.Event) error {
	parsed := p.parse(rec, ev, nil)
	var fired []Alert
	if parsed && m != nil && rec.Seq >= d.keptUpTo { // below keptUpTo: kept by an earlier run
		m.Match(ev, func(r *sigma.Rule) {
			fields := map[string]string{}
			ev.Fields(func(k, v string) { fields[k] = v })
			fired = append(fired, Alert{Kind: KindSigma, Seq: rec.Seq, Time: event.FormatTime(ev.Time), Rule: r.Title, RuleID: r.ID,
				Level: r.Level, Author: r.Author, Tags: r.Tags, Host: ev.Host, Source: ev.Source, Origin: rec.Origin,
				Fields: fields, Detected: d.now()})
		})
	}
	if parsed && d.ind != nil {
		fired = d.ind.match(ev, fired)
	}
	if _, err := d.keep(ctx, fired); err != nil {
		return fmt.Errorf("record %d: %w", rec.Seq, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stats.Checked++
	if parsed {
		d.stats.Parsed++
	} else {
		d.stats.Unparsed++
	}
	d.stats.Next = rec.Seq + 1
	d.stats.LastChecked = time.Now()
	d.stats.LagSeconds = time.Since(rec.Received).Seconds()
	return nil
}

// Alerts returns the newest alerts, newest first, at most limit.
func (d *Detector) Alerts(limit int) []Alert { return d.AlertsOf("", limit) }

// AlertsOf returns the newest alerts of one kind (KindSigma, KindJPCERT,
// KindIOC; "" for all), newest first, at most limit.
func (d *Detector) AlertsOf(kind string, limit int) []Alert {
	d.mu.Lock()
	defer d.mu.Unlock()
	if limit <= 0 || limit > len(d.alerts) {
		limit = len(d.alerts)
	}
	out := make([]Alert, 0, limit)
	for i := len(d.alerts) - 1; i >= 0 && len(out) < limit; i-- {
		if kind == "" || d.alerts[i].Kind == kind {
			out = append(out, d.alerts[i])
		}
	}
	return out
}

// Stats returns how detection keeps up.
func (d *Detector) Stats() Stats {
	d.mu.Lock()
	st := d.stats
	st.JPCERT = nil
	d.mu.Unlock()
	if d.jp != nil {
		st.JPCERT = d.jp.stats()
	}
	if d.ind != nil {
		st.Indicators = d.ind.stats()
	}
	if d.retro != nil {
		st.Retro = d.retro.stats()
	}
	return st
}

// String describes the stats in one line.
func (s Stats) String() string {
	str := fmt.Sprintf("%d records checked (%d parsed, %d not: no known format, or malformed), %d alerts, lag %.1f s",
		s.Checked, s.Parsed, s.Unparsed, s.Alerts, s.LagSeconds)
	if s.JPCERTAlerts+s.IOCAlerts > 0 {
		str += fmt.Sprintf(" (%d Sigma, %d JPCERT, %d indicators)", s.SigmaAlerts, s.JPCERTAlerts, s.IOCAlerts)
	}
	for _, t := range s.JPCERT {
		str += fmt.Sprintf("; %s windows (%s): %d finished, next record %d", t.Tier, t.Window, t.Windows, t.Next)
	}
	if s.Retro.Running {
		str += fmt.Sprintf("; retro-hunt of %d indicators at record %d of %d", s.Retro.Indicators, s.Retro.Next, s.Retro.To)
	}
	return str
}

// Notes reports the analyses that do not run, or run degraded, for want
// of configuration (as kizuki analyze reports them), and the notes of
// each analysis tier's last finished window.
func (d *Detector) Notes() []detect.Note {
	if d.jp == nil {
		return nil
	}
	return d.jp.notes()
}

// kindCount returns the per-kind counter of kind (caller holds mu).
func (s *Stats) kindCount(kind string) *uint64 {
	switch kind {
	case KindJPCERT:
		return &s.JPCERTAlerts
	case KindIOC:
		return &s.IOCAlerts
	case KindHealth:
		return &s.HealthAlerts
	}
	return &s.SigmaAlerts
}

// Raise keeps an alert that another part of the server found (KindHealth:
// a silent source), as detection keeps its own: in the alerts journal,
// listed, counted and sent to webhooks; not again when an alert of its
// Key was kept already. It reports whether the alert was new.
func (d *Detector) Raise(ctx context.Context, a Alert) (bool, error) {
	if a.Detected == "" {
		a.Detected = d.now()
	}
	fresh, err := d.keep(ctx, []Alert{a})
	return len(fresh) > 0, err
}

// iocAlert is the alert of one indicator hit.
func (d *Detector) iocAlert(h ioc.Hit, ev *event.Event, retro bool) Alert {
	a := fromFinding(KindIOC, h.Alert(ev, retro), ioc.DedupKey(h, retro), d.now())
	a.Retro = retro
	return a
}
