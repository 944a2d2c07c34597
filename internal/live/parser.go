package live

import (
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/journal"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/records"
)

// recordParser turns journal records into events (package records, as the
// index does). Each goroutine reading the journal (the Sigma and indicator
// loop, each analysis tier, the retro-hunt) has its own: it remembers the
// formats seen per sender, which is not safe to share.
type recordParser struct{ p *records.Parser }

func newRecordParser(reg *parse.Registry, loc *time.Location) *recordParser {
	return &recordParser{records.NewParser(reg, loc)}
}

// parse fills ev (reset first) from rec and reports whether it is an
// event of a known format. want, when not nil, is asked about the format
// first: a record of a format it does not want is not parsed (the long
// analysis tier reads proxy and Windows logs only).
func (p *recordParser) parse(rec journal.Record, ev *event.Event, want func(format string) bool) bool {
	ok := p.p.ParseIf(rec, ev, want)
	ev.Origin = originOf(rec)
	return ok
}

// originOf is where a live event comes from: the record's origin (listener
// and sender) and its place in the journal, as Record (its sequence
// number) and as Line (the number plus one, 1-based like a line number:
// some analyses keep only the line of their evidence, and record 0 must
// not read as "no record").
func originOf(rec journal.Record) event.Origin {
	return event.Origin{File: rec.Origin, Line: int64(rec.Seq) + 1, Record: int64(rec.Seq)}
}

// seqOf is the journal record of a live event's origin.
func seqOf(o event.Origin) journal.Seq {
	if o.Line > 0 {
		return journal.Seq(o.Line - 1)
	}
	return journal.Seq(o.Record)
}
