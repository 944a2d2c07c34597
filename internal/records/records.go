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
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/health"
	"github.com/kizuki-dev/kizuki/internal/journal"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/parse/syslog"
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

// syslogFallback gives a record of no known format that has a syslog
// header (sshd, cron, kernel, any daemon) that header's parts, so that it
// can be searched by host, program and time (source:syslog process:sshd)
// and its sender's clock compared: its time, host, the program as
// process, and pid and message as fields. It stays unparsed for detection.
func (p *Parser) syslogFallback(rec journal.Record, ev *event.Event) {
	h, err := syslog.Parse(bytes.TrimRight(rec.Raw, "\r\n"), p.pc)
	if err != nil || h.Time.IsZero() {
		return
	}
	ev.Source, ev.Time = "syslog", h.Time
	if h.Host != "" {
		ev.Host = h.Host
	}
	ev.Set(event.Process, h.Program)
	if h.PID != "" {
		ev.SetExtra("pid", h.PID)
	}
	ev.SetExtra("message", string(h.Msg))
}

// parserFor picks the record's format, nil when none fits.
func (p *Parser) parserFor(rec journal.Record, line []byte) parse.Parser {
	if rec.Source != "" {
		if fp, ok := p.reg.Lookup(rec.Source); ok {
			return fp
		}
	}
	listener, host := health.ParseOrigin(rec.Origin)
	key := listener + " " + host
	s := p.bySender[key]
	if s == nil {
		s = &sender{}
		if len(p.bySender) < maxSenders {
			p.bySender[key] = s
		}
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
