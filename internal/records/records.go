// Package records turns journal records into events: the one step every
// consumer of the journal (live detection, the search index, reindex,
// retro-hunts) takes, so that they all see the same event for the same
// record.
//
// A record's format is the one its sender named (HTTP ingest ?type=), else
// the one detected on the first record of its sender and kept for the next
// ones while they still look like it. A syslog "<PRI>" prefix (and an RFC
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
)

// maxSenders bounds the formats remembered per sender; past it, formats are
// detected per record (slower, never wrong).
const maxSenders = 10_000

// Parser parses the records of one journal reader. Not for concurrent use.
type Parser struct {
	reg      *parse.Registry
	bySender map[string]parse.Parser
	pc       *parse.Context
}

// NewParser returns a Parser using the formats of reg.
func NewParser(reg *parse.Registry) *Parser {
	return &Parser{reg: reg, bySender: map[string]parse.Parser{}, pc: parse.NewContext(time.UTC, time.Time{})}
}

// Parse fills ev (reset first) from rec and reports whether a format parser
// read it. Either way ev has the record's raw text (without a syslog PRI),
// its origin (rec.Origin, with the record's sequence number) and a time
// (the event's own, or the time it was received); an unparsed record gets
// the sender's address as host. ev's strings are copies: rec may be reused.
func (p *Parser) Parse(rec journal.Record, ev *event.Event) bool {
	ev.Reset()
	line := StripPRI(rec.Raw)
	fp := p.parserFor(rec, line)
	ev.Raw = string(line)
	ev.Origin = event.Origin{File: rec.Origin, Record: int64(rec.Seq)}
	if fp != nil {
		ev.Source = fp.Name()
		p.pc.RefTime = rec.Received
		if fp.Parse(line, ev, p.pc) == nil {
			return true
		}
		raw, origin := ev.Raw, ev.Origin
		ev.Reset()
		ev.Raw, ev.Origin = raw, origin
	}
	ev.Time = rec.Received.UTC()
	_, ev.Host = health.ParseOrigin(rec.Origin)
	return false
}

// parserFor picks the record's format.
func (p *Parser) parserFor(rec journal.Record, line []byte) parse.Parser {
	if rec.Source != "" {
		if fp, ok := p.reg.Lookup(rec.Source); ok {
			return fp
		}
	}
	listener, host := health.ParseOrigin(rec.Origin)
	key := listener + " " + host
	if fp, ok := p.bySender[key]; ok && fp.Sniff(line) {
		return fp
	}
	det, err := p.reg.Detect([][]byte{line})
	if err != nil {
		return nil
	}
	if len(p.bySender) < maxSenders {
		p.bySender[key] = det.Parser
	}
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
