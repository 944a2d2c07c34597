package hunt

import (
	"bufio"
	"encoding/csv"
	"io"
	"strings"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// csvHeader is the column order of WriteCSV; spreadsheet and timeline
// tools (Timeline Explorer, LibreOffice) open it as is.
var csvHeader = []string{"time", "level", "rule_title", "rule_id", "author", "computer", "channel", "event_id", "record_id", "origin", "tags", "details"}

// WriteCSV writes the matches as CSV (RFC 4180), one row per match in time
// order; details holds the event's key fields as "key: value ¦ ...".
func WriteCSV(w io.Writer, res *Result) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	row := make([]string, len(csvHeader))
	err := res.Each(func(m *Match) error {
		r, ev := m.Rule, m.Event
		row[0] = event.FormatTime(ev.Time)
		row[1] = r.Level
		row[2] = r.Title
		row[3] = r.ID
		row[4] = r.Author
		row[5] = ev.Host
		row[6] = field(ev, "Channel")
		row[7] = field(ev, "EventID")
		row[8] = field(ev, "EventRecordID")
		row[9] = ev.Origin.String()
		row[10] = strings.Join(r.Tags, " ")
		row[11] = details(m, 0, " ¦ ")
		return cw.Write(row)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}
