// Package live runs detection on what kizuki serve stores, as it is
// stored: it follows the journal (never a copy of the stream), so an event
// is checked once it is durable, detection that falls behind catches up
// instead of dropping anything, and its lag is measurable.
package live

import (
	"bytes"
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

	"github.com/kizuki-dev/kizuki/internal/detect/sigma"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/fsutil"
	"github.com/kizuki-dev/kizuki/internal/health"
	"github.com/kizuki-dev/kizuki/internal/journal"
	"github.com/kizuki-dev/kizuki/internal/parse"
)

// MaxAlerts bounds the alerts kept in memory (the newest).
const MaxAlerts = 10_000

// Alert is one Sigma rule that fired on one stored event.
type Alert struct {
	Seq      journal.Seq       `json:"seq"`
	Time     string            `json:"time"`
	Rule     string            `json:"rule_title"`
	RuleID   string            `json:"rule_id"`
	Level    string            `json:"level"`
	Author   string            `json:"author"`
	Tags     []string          `json:"tags"`
	Host     string            `json:"host"`
	Source   string            `json:"source"`
	Origin   string            `json:"origin"`
	Fields   map[string]string `json:"fields"`
	Detected string            `json:"detected"`
}

// Stats says how detection keeps up.
type Stats struct {
	Checked     uint64      // records looked at
	Parsed      uint64      // of which parsed into events
	Unparsed    uint64      // records of no known format, or malformed (kept in the journal, not checked)
	Alerts      uint64      // alerts raised since start
	Next        journal.Seq // the next record to check
	LagSeconds  float64     // how long ago the newest checked record was received
	LastChecked time.Time
}

// Options configures a Detector.
type Options struct {
	// Alerts, when set, keeps every alert (JSON, one record each) before
	// detection moves past its event: a restart loses none, and alerts
	// already kept are not raised twice.
	Alerts *journal.Journal
	// PositionFile, when set, keeps the next record to check, so that a
	// restart resumes there (records stored while detection was behind
	// are still checked).
	PositionFile string
	// OnAlert, when set, is called for every new alert once it is kept
	// (webhooks); it must not block.
	OnAlert func(Alert)
	Logf    func(string, ...any)
}

// Detector follows a journal and runs Sigma rules on its new records.
type Detector struct {
	j     *journal.Journal
	rules *sigma.Ruleset
	reg   *parse.Registry
	logf  func(string, ...any)
	opt   Options
	// keptUpTo: alerts of records below it are already in opt.Alerts.
	keptUpTo journal.Seq
	saved    time.Time

	mu     sync.Mutex
	alerts []Alert // ring, newest last
	stats  Stats
	// byOrigin remembers the format detected for a sender.
	byOrigin map[string]parse.Parser
}

// New returns a detector that checks records from seq from on, or from
// where a previous run stopped (Options.PositionFile), reloading the
// alerts it kept (Options.Alerts).
func New(j *journal.Journal, rules *sigma.Ruleset, reg *parse.Registry, from journal.Seq, opt Options) (*Detector, error) {
	if opt.Logf == nil {
		opt.Logf = func(string, ...any) {}
	}
	d := &Detector{j: j, rules: rules, reg: reg, logf: opt.Logf, opt: opt, stats: Stats{Next: from}, byOrigin: map[string]parse.Parser{}}
	if opt.PositionFile != "" {
		b, err := os.ReadFile(opt.PositionFile)
		switch {
		case err == nil:
			n, perr := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
			if perr != nil {
				return nil, fmt.Errorf("live: %s: %w", opt.PositionFile, perr)
			}
			if first := j.Stats().FirstSeq; journal.Seq(n) < first {
				n = uint64(first) // retention removed what was not checked
			}
			d.stats.Next = journal.Seq(n)
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("live: %w", err)
		}
	}
	if opt.Alerts != nil {
		err := opt.Alerts.Iterate(context.Background(), 0, func(r journal.Record) error {
			var a Alert
			if err := json.Unmarshal(r.Raw, &a); err != nil {
				return fmt.Errorf("alert record %d: %w", r.Seq, err)
			}
			d.keep(a)
			if a.Seq >= d.keptUpTo {
				d.keptUpTo = a.Seq + 1
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("live: reading the kept alerts: %w", err)
		}
	}
	return d, nil
}

// keep adds a to the in-memory ring (caller holds mu or owns d).
func (d *Detector) keep(a Alert) {
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
// caught up.
func (d *Detector) Run(ctx context.Context, interval time.Duration) error {
	m := d.rules.NewMatcher()
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
	r, err := d.j.NewReader(from)
	if err != nil {
		return err
	}
	defer r.Close()
	pc := parse.NewContext(time.UTC, time.Time{})
	for ctx.Err() == nil {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := d.check(ctx, m, rec, pc); err != nil {
			return err
		}
	}
	return nil
}

// check parses one record and matches it; its alerts are kept before
// detection moves past it (an error leaves it to be checked again).
func (d *Detector) check(ctx context.Context, m *sigma.Matcher, rec journal.Record, pc *parse.Context) error {
	line := stripPRI(rec.Raw)
	p := d.parserFor(rec, line)
	var ev event.Event
	parsed := false
	if p != nil {
		ev.Raw, ev.Source = string(line), p.Name()
		ev.Origin = event.Origin{File: rec.Origin, Record: int64(rec.Seq)}
		pc.RefTime = rec.Received
		parsed = p.Parse(line, &ev, pc) == nil
	}
	var fired []Alert
	if parsed {
		m.Match(&ev, func(r *sigma.Rule) {
			fields := map[string]string{}
			ev.Fields(func(k, v string) { fields[k] = v })
			fired = append(fired, Alert{Seq: rec.Seq, Time: event.FormatTime(ev.Time), Rule: r.Title, RuleID: r.ID,
				Level: r.Level, Author: r.Author, Tags: r.Tags, Host: ev.Host, Source: ev.Source, Origin: rec.Origin,
				Fields: fields, Detected: time.Now().UTC().Format(event.TimeFormat)})
		})
	}
	if rec.Seq < d.keptUpTo {
		fired = nil // kept by an earlier run
	}
	if len(fired) > 0 && d.opt.Alerts != nil {
		recs := make([]journal.Record, 0, len(fired))
		for _, a := range fired {
			b, _ := json.Marshal(a)
			recs = append(recs, journal.Record{Origin: "live", Source: "kizuki-alert", Raw: b})
		}
		if _, err := d.opt.Alerts.Append(ctx, recs); err != nil {
			return fmt.Errorf("keeping alerts of record %d: %w", rec.Seq, err)
		}
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
	for _, a := range fired {
		d.stats.Alerts++
		d.keep(a)
		if d.opt.OnAlert != nil {
			d.opt.OnAlert(a)
		}
	}
	return nil
}

// parserFor picks the record's format: the one its sender named (?type=),
// else the one detected for its sender, detected on its first record.
func (d *Detector) parserFor(rec journal.Record, line []byte) parse.Parser {
	if rec.Source != "" {
		if p, ok := d.reg.Lookup(rec.Source); ok {
			return p
		}
	}
	listener, host := health.ParseOrigin(rec.Origin)
	key := listener + " " + host
	if p, ok := d.byOrigin[key]; ok && p.Sniff(line) {
		return p
	}
	det, err := d.reg.Detect([][]byte{line})
	if err != nil {
		return nil
	}
	if len(d.byOrigin) < 10_000 {
		d.byOrigin[key] = det.Parser
	}
	return det.Parser
}

// stripPRI removes a syslog "<PRI>" prefix (and an RFC 5424 version "1 "),
// which kizuki's format parsers do not expect.
func stripPRI(b []byte) []byte {
	if len(b) > 2 && b[0] == '<' {
		if i := bytes.IndexByte(b[:min(len(b), 5)], '>'); i > 1 {
			b = b[i+1:]
			if len(b) > 2 && b[0] == '1' && b[1] == ' ' {
				b = b[2:]
			}
		}
	}
	return bytes.TrimRight(b, "\r\n")
}

// Alerts returns the newest alerts, newest first, at most limit.
func (d *Detector) Alerts(limit int) []Alert {
	d.mu.Lock()
	defer d.mu.Unlock()
	if limit <= 0 || limit > len(d.alerts) {
		limit = len(d.alerts)
	}
	out := make([]Alert, 0, limit)
	for i := len(d.alerts) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, d.alerts[i])
	}
	return out
}

// Stats returns how detection keeps up.
func (d *Detector) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// String describes the stats in one line.
func (s Stats) String() string {
	return fmt.Sprintf("%d records checked (%d parsed, %d not: no known format, or malformed), %d alerts, lag %.1f s",
		s.Checked, s.Parsed, s.Unparsed, s.Alerts, s.LagSeconds)
}
