// Package records turns journal records into events: the one step every
// consumer of the journal (live detection, the search index, reindex,
// retro-hunts) takes, so that they all see the same event for the same
// record.
//
// A record's format is the one its sender named (HTTP ingest ?type=), else
// one of the few formats its sender's records had lately (a relay forwards
// several: each is sniffed, most recent first), else the one detected on
// it. Detection sniffs every format: it is the costly step, paid by the
// records of no known format on every record, since skipping it for a
// while after a failure would leave a known record among them (an
// iptables line among a Linux host's kernel messages) unparsed and
// unchecked by detection. A syslog "<PRI>" prefix (and an RFC
// 5424 version) is removed first: kizuki's format parsers read what comes
// after it. A record of no known format, or one its parser refuses, is still
// an event: received time, sender host, origin and raw text, so that it can
// be found by free-text search.
package records

import (
	"bytes"
	"slices"
	"time"

	gosyslog "github.com/leodido/go-syslog/v4"
	sysauto "github.com/leodido/go-syslog/v4/auto"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/health"
	"github.com/kizuki-dev/kizuki/internal/journal"
	"github.com/kizuki-dev/kizuki/internal/parse"
)

// Bounds of what is remembered per sender: past maxSenders senders,
// formats are detected per record (slower, never wrong).
const (
	maxSenders = 10_000
	maxRecent  = 4 // formats remembered per sender
)

// sender is what is remembered of one sender's records.
type sender struct {
	recent []parse.Parser // formats its records had, most recent first
}

// Parser parses the records of one journal reader. Not for concurrent use.
type Parser struct {
	reg      *parse.Registry
	bySender map[string]*sender
	pc       *parse.Context
	sys      gosyslog.Machine // the syslog fallback's parser, made on first use

	lastOrigin string  // the origin of the last record with no format named,
	last       *sender // and its sender
}

// NewParser returns a Parser using the formats of reg; times without a
// zone are read in loc (nil: UTC).
func NewParser(reg *parse.Registry, loc *time.Location) *Parser {
	if loc == nil {
		loc = time.UTC
	}
	return &Parser{reg: reg, bySender: map[string]*sender{}, pc: parse.NewContext(loc, time.Time{})}
}

// Parse fills ev (reset first) from rec and reports whether a format parser
// read it. Either way ev has the record's raw text (without a syslog PRI),
// its origin (rec.Origin, with the record's sequence number) and a time
// (the event's own, or the time it was received); an unparsed record gets
// the sender's address as host, or, when it has a syslog header, source
// "syslog" and that header's time, host and program (syslogFallback). ev's
// strings are copies: rec may be reused.
func (p *Parser) Parse(rec journal.Record, ev *event.Event) bool {
	return p.ParseIf(rec, ev, nil)
}

// ParseIf is Parse for a reader that wants only some formats: a record
// whose format want refuses is not parsed (and reported as not parsed).
func (p *Parser) ParseIf(rec journal.Record, ev *event.Event, want func(format string) bool) bool {
	ev.Reset()
	p.pc.RefTime = rec.Received
	line := StripPRI(rec.Raw)
	fp := p.parserFor(rec, line)
	ev.Raw = string(line)
	ev.Origin = event.Origin{File: rec.Origin, Record: int64(rec.Seq)}
	if fp != nil && want != nil && !want(fp.Name()) {
		fp = nil
	}
	if fp != nil {
		ev.Source = fp.Name()
		if fp.Parse(line, ev, p.pc) == nil {
			return true
		}
		raw, origin := ev.Raw, ev.Origin
		ev.Reset()
		ev.Raw, ev.Origin = raw, origin
	}
	ev.Time = rec.Received.UTC()
	_, ev.Host = health.ParseOrigin(rec.Origin)
	if want == nil {
		p.syslogFallback(rec, ev)
	}
	return false
}

// syslogFallback gives a record of no known format that is a syslog
// message (sshd, cron, the kernel, any daemon; RFC 3164 or 5424, read by
// leodido/go-syslog) that message's parts, so that it can be searched by
// host, program, severity and time (source:syslog process:sshd) and its
// sender's clock compared: its time, host, the program as process, and
// pid, msgid, facility, severity, message and RFC 5424 structured data
// (as ID.param) as fields. It stays unparsed for detection.
func (p *Parser) syslogFallback(rec journal.Record, ev *event.Event) {
	if p.sys == nil {
		p.sys = sysauto.NewMachine(sysauto.WithRFC3164Options(
			rfc3164.WithYear(refYear{p}), rfc3164.WithTimezone(p.pc.Location)))
	}
	msg, err := p.sys.Parse(bytes.TrimRight(rec.Raw, "\r\n"))
	if err != nil || msg == nil {
		return
	}
	var base *gosyslog.Base
	var sd *map[string]map[string]string
	yearless := false
	switch m := msg.(type) {
	case *rfc3164.SyslogMessage:
		base, yearless = &m.Base, true
	case *rfc5424.SyslogMessage:
		base, sd = &m.Base, m.StructuredData
	default:
		return
	}
	if base.Timestamp == nil || base.Message == nil {
		return
	}
	t := base.Timestamp.UTC()
	if ref := p.pc.RefTime; yearless && !ref.IsZero() && t.After(ref.Add(24*time.Hour)) {
		t = t.AddDate(-1, 0, 0) // a year-less time of December read in January
	}
	ev.Source, ev.Time = "syslog", t
	str := func(s *string) string {
		if s == nil || *s == "-" {
			return ""
		}
		return *s
	}
	if h := str(base.Hostname); h != "" {
		ev.Host = h
	}
	ev.Set(event.Process, str(base.Appname))
	for _, f := range []struct{ k, v string }{{"pid", str(base.ProcID)}, {"msgid", str(base.MsgID)},
		{"facility", str(msg.FacilityLevel())}, {"severity", str(msg.SeverityLevel())}} {
		if f.v != "" {
			ev.SetExtra(f.k, f.v)
		}
	}
	if sd != nil {
		ids := make([]string, 0, len(*sd))
		for id := range *sd {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			params := (*sd)[id]
			names := make([]string, 0, len(params))
			for n := range params {
				names = append(names, n)
			}
			slices.Sort(names)
			for _, n := range names {
				ev.SetExtra(id+"."+n, params[n])
			}
		}
	}
	ev.SetExtra("message", *base.Message)
}

// refYear is the year given to RFC 3164 times, which have none: the year
// of the record's arrival (a time then past its arrival is moved a year
// back, as the format parsers do).
type refYear struct{ p *Parser }

func (y refYear) Apply() int {
	if t := y.p.pc.RefTime; !t.IsZero() {
		return t.Year()
	}
	return time.Now().Year()
}

// parserFor picks the record's format, nil when none fits.
func (p *Parser) parserFor(rec journal.Record, line []byte) parse.Parser {
	if rec.Source != "" {
		if fp, ok := p.reg.Lookup(rec.Source); ok {
			return fp
		}
	}
	// A connection's records come in runs of one origin: its sender is
	// looked up once per run, not once per record.
	s := p.last
	if s == nil || rec.Origin != p.lastOrigin {
		listener, host := health.ParseOrigin(rec.Origin)
		key := listener + " " + host
		if s = p.bySender[key]; s == nil {
			s = &sender{}
			if len(p.bySender) < maxSenders {
				p.bySender[key] = s
			}
		}
		p.last, p.lastOrigin = s, rec.Origin
	}
	for i, fp := range s.recent {
		if fp.Sniff(line) {
			copy(s.recent[1:i+1], s.recent[:i])
			s.recent[0] = fp
			return fp
		}
	}
	det, err := p.reg.Detect([][]byte{line})
	if err != nil {
		return nil
	}
	if len(s.recent) < maxRecent {
		s.recent = append(s.recent, nil)
	}
	copy(s.recent[1:], s.recent)
	s.recent[0] = det.Parser
	return det.Parser
}

// StripPRI removes a syslog "<PRI>" prefix (and an RFC 5424 version "1 ")
// and the line ending, which kizuki's format parsers do not expect.
func StripPRI(b []byte) []byte {
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
