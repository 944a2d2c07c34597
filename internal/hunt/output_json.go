package hunt

import (
	"bufio"
	"io"
	"strconv"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// WriteJSON writes one JSON object per match, in time order:
//
//	{"rule_id","rule_title","level","status","author","tags","rule_path",
//	 "time","computer","channel","event_id","record_id","source","origin",
//	 "fields":{...}, "correlation":{...}}
//
// author is always present: the Detection Rule License of SigmaHQ's rules
// asks that every alert raised from a rule shows it.
func WriteJSON(w io.Writer, res *Result) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	err := res.Render(bw, func(b []byte, m *Match) []byte {
		b = appendMatchJSON(b, m)
		return append(b, '\n')
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

func appendMatchJSON(b []byte, m *Match) []byte {
	r, ev := m.Rule, m.Event
	str := func(b []byte, key, v string) []byte {
		b = append(b, ',', '"')
		b = append(b, key...)
		b = append(b, '"', ':')
		return event.AppendString(b, v)
	}
	b = append(b, `{"rule_id":`...)
	b = event.AppendString(b, r.ID)
	b = str(b, "rule_title", r.Title)
	b = str(b, "level", r.Level)
	b = str(b, "status", r.Status)
	b = str(b, "author", r.Author)
	b = append(b, `,"tags":[`...)
	for i, t := range r.Tags {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendString(b, t)
	}
	b = append(b, ']')
	b = str(b, "rule_path", r.Path)
	b = str(b, "time", event.FormatTime(ev.Time))
	b = str(b, "computer", ev.Host)
	b = str(b, "channel", field(ev, "Channel"))
	eid := field(ev, "EventID")
	if n, err := strconv.ParseInt(eid, 10, 64); err == nil {
		b = append(b, `,"event_id":`...)
		b = strconv.AppendInt(b, n, 10)
	} else {
		b = str(b, "event_id", eid)
	}
	rec := field(ev, "EventRecordID")
	if n, err := strconv.ParseInt(rec, 10, 64); err == nil {
		b = append(b, `,"record_id":`...)
		b = strconv.AppendInt(b, n, 10)
	} else {
		b = str(b, "record_id", rec)
	}
	b = str(b, "source", ev.Source)
	b = str(b, "origin", ev.Origin.String())
	b = append(b, `,"fields":{`...)
	first := true
	ev.Fields(func(k, v string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = event.AppendString(b, k)
		b = append(b, ':')
		b = event.AppendString(b, v)
	})
	b = append(b, '}')
	if c := m.Correlation; c != nil {
		b = append(b, `,"correlation":`...)
		b = appendCorrelationJSON(b, c)
	}
	return append(b, '}')
}

// field returns a Windows field, falling back to kizuki's common names for
// the events of other sources.
func field(ev *event.Event, name string) string {
	if v, ok := ev.LookupOK(name); ok {
		return v
	}
	switch name {
	case "Channel":
		return ev.Get(event.Channel)
	case "EventID":
		return ev.Get(event.EventID)
	}
	return ""
}
