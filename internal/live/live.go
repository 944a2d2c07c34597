// Package live runs detection on what kizuki serve stores, as it is
// stored: it follows the journal (never a copy of the stream), so an event
// is checked once it is durable, detection that falls behind catches up
// instead of dropping anything, and its lag is measurable.
package live

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/kizuki-dev/kizuki/internal/detect/sigma"
	"github.com/kizuki-dev/kizuki/internal/event"
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
	Unparsed    uint64      // records of no known format (kept in the journal, not checked)
	Alerts      uint64      // alerts raised since start
	Next        journal.Seq // the next record to check
	LagSeconds  float64     // how long ago the newest checked record was received
	LastChecked time.Time
}

// Detector follows a journal and runs Sigma rules on its new records.
type Detector struct {
	j     *journal.Journal
	rules *sigma.Ruleset
	reg   *parse.Registry
	logf  func(string, ...any)

	mu     sync.Mutex
	alerts []Alert // ring, newest last
	stats  Stats
	// byOrigin remembers the format detected for a sender.
	byOrigin map[string]parse.Parser
}

// New returns a detector that checks records from seq from on.
func New(j *journal.Journal, rules *sigma.Ruleset, reg *parse.Registry, from journal.Seq, logf func(string, ...any)) *Detector {
	return &Detector{j: j, rules: rules, reg: reg, logf: logf, stats: Stats{Next: from}, byOrigin: map[string]parse.Parser{}}
}

// Run checks new records until ctx ends, polling every interval once
// caught up.
func (d *Detector) Run(ctx context.Context, interval time.Duration) error {
	m := d.rules.NewMatcher()
	for {
		if err := d.catchUp(ctx, m); err != nil && ctx.Err() == nil {
			d.logf("live detection: %v (retrying)", err)
		}
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
		d.check(m, rec, pc)
	}
	return nil
}

// check parses one record and matches it.
func (d *Detector) check(m *sigma.Matcher, rec journal.Record, pc *parse.Context) {
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
		if len(d.alerts) == MaxAlerts {
			copy(d.alerts, d.alerts[1:])
			d.alerts = d.alerts[:MaxAlerts-1]
		}
		d.alerts = append(d.alerts, a)
	}
}

// parserFor picks the record's format: the one its sender named (?type=),
// else the one detected for its sender, detected on its first record.
func (d *Detector) parserFor(rec journal.Record, line []byte) parse.Parser {
	if rec.Source != "" {
		if p, ok := d.reg.Lookup(rec.Source); ok {
			return p
		}
	}
	key := originKey(rec.Origin)
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

// originKey is the sender part of an origin (without its port).
func originKey(origin string) string {
	if i := bytes.LastIndexByte([]byte(origin), ':'); i > 0 {
		return origin[:i]
	}
	return origin
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
	return fmt.Sprintf("%d records checked (%d parsed, %d of no known format), %d alerts, lag %.1f s",
		s.Checked, s.Parsed, s.Unparsed, s.Alerts, s.LagSeconds)
}
