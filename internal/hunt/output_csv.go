package hunt

import (
	"bufio"
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
	var head []byte
	for i, h := range csvHeader {
		head = appendCSVField(head, h, i == 0)
	}
	if _, err := bw.Write(append(head, '\r', '\n')); err != nil {
		return err
	}
	if err := res.write(bw, "csv", appendCSVMatch); err != nil {
		return err
	}
	return bw.Flush()
}

// appendCSVMatch renders one match as a CSV row.
func appendCSVMatch(b []byte, m *Match) []byte {
	r, ev := m.Rule, m.Event
	for i, v := range [...]string{event.FormatTime(ev.Time), r.Level, r.Title, r.ID, r.Author, ev.Host,
		field(ev, "Channel"), field(ev, "EventID"), field(ev, "EventRecordID"), ev.Origin.String(),
		strings.Join(r.Tags, " "), details(m, 0, " ¦ ")} {
		b = appendCSVField(b, v, i == 0)
	}
	return append(b, '\r', '\n')
}

// appendCSVField appends one RFC 4180 field: quoted when it holds a comma,
// a quote or a line break (as encoding/csv writes it), preceded by a comma
// unless it is the first of its row.
func appendCSVField(b []byte, v string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	if v == "" || !strings.ContainsAny(v, ",\"\r\n") && v[0] != ' ' && v[0] != '\t' {
		return append(b, v...)
	}
	b = append(b, '"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, v[i])
	}
	return append(b, '"')
}
