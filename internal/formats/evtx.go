package formats

import (
	"context"
	"fmt"
	"io"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse/evtx"
)

// evtxFormat adapts the EVTX reader to the pipeline's container contract.
// It keeps one evtx.Reader for all the files of a run (the pipeline reads
// containers one at a time), so that thousands of small .evtx files reuse
// its decoders and compiled templates.
type evtxFormat struct {
	r *evtx.Reader
}

func newEVTX(renderXML bool) evtxFormat {
	return evtxFormat{r: evtx.NewReader(evtx.Options{RenderXML: renderXML})}
}

func (evtxFormat) Name() string { return "evtx" }

func (evtxFormat) Describe() string {
	return "Windows event log files (.evtx): binary XML, read natively, damaged chunks skipped and reported"
}

func (evtxFormat) SniffFile(head []byte) bool { return evtx.Sniff(head) }

// ReadFile reads an EVTX file; events carry their EventRecordID as
// Origin.Record (file#record), not as a line.
func (f evtxFormat) ReadFile(ctx context.Context, r io.ReaderAt, size int64, name string, fn func(*event.Event) error, bad func(string, error)) error {
	_, err := f.r.Read(ctx, r, size, name, func(ev *event.Event) error {
		if ev.Origin.Record == 0 {
			ev.Origin.Record, ev.Origin.Line = ev.Origin.Line, 0
		}
		return fn(ev)
	}, func(p evtx.Problem) {
		where := fmt.Sprintf("offset 0x%x", p.Offset)
		if p.Chunk >= 0 {
			where += fmt.Sprintf(", chunk %d", p.Chunk)
		} else {
			where += ", file header"
		}
		if p.Record != 0 {
			where += fmt.Sprintf(", record %d", p.Record)
		}
		bad(where, p.Err)
	})
	return err
}
