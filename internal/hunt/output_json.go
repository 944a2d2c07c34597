package hunt

import (
	"bufio"
	"fmt"
	"io"
	"strconv"

	"github.com/kizuki-dev/kizuki/internal/detect/sigma"
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
	if err := res.write(bw, "json", jsonRenderer(res.rules, res.corr)); err != nil {
		return err
	}
	return bw.Flush()
}

// jsonRenderer returns the renderer of match objects. What a match says of
// its rule is the same for every match of it: rendered once per rule, here
// (the map is then only read, on every rendering goroutine).
func jsonRenderer(rules []*sigma.Rule, corr []*Match) func(b []byte, m *Match) []byte {
	heads := map[*sigma.Rule][]byte{}
	for _, r := range rules {
		heads[r] = appendRuleJSON(nil, r)
	}
	for _, m := range corr {
		if heads[m.Rule] == nil {
			heads[m.Rule] = appendRuleJSON(nil, m.Rule)
		}
	}
	return func(b []byte, m *Match) []byte {
		head := heads[m.Rule]
		if head == nil {
			head = appendRuleJSON(nil, m.Rule)
		}
		b = appendMatchJSON(b, m, head)
		return append(b, '\n')
	}
}

// appendRuleJSON renders the rule's part of a match object: its opening
// brace and the fields up to rule_path.
func appendRuleJSON(b []byte, r *sigma.Rule) []byte {
	b = append(b, `{"rule_id":`...)
	b = event.AppendString(b, r.ID)
	b = appendStrField(b, "rule_title", r.Title)
	b = appendStrField(b, "level", r.Level)
	b = appendStrField(b, "status", r.Status)
	b = appendStrField(b, "author", r.Author)
	b = append(b, `,"tags":[`...)
	for i, t := range r.Tags {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendString(b, t)
	}
	b = append(b, ']')
	return appendStrField(b, "rule_path", r.Path)
}

func appendStrField(b []byte, key, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return event.AppendString(b, v)
}

// appendMatchJSON renders one match; head is appendRuleJSON of its rule.
func appendMatchJSON(b []byte, m *Match, head []byte) []byte {
	ev := m.Event
	str := appendStrField
	b = append(b, head...)
	if ev.Time.IsZero() {
		b = append(b, `,"time":""`...)
	} else {
		b = append(b, `,"time":"`...)
		b = ev.Time.UTC().AppendFormat(b, event.TimeFormat)
		b = append(b, '"')
	}
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
	b = append(b, `,"origin":`...)
	b = appendOrigin(b, ev.Origin)
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

// appendOrigin appends Origin.String() as a JSON string.
func appendOrigin(b []byte, o event.Origin) []byte {
	b = event.AppendString(b, o.File)
	b = b[:len(b)-1] // reopen the string
	switch {
	case o.Line != 0:
		b = append(b, ':')
		b = strconv.AppendInt(b, o.Line, 10)
	case o.Record != 0:
		b = append(b, '#')
		b = strconv.AppendInt(b, o.Record, 10)
	}
	return append(b, '"')
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

// renderer returns the function that renders one match of the timeline in
// format (Options.Format): table, json or csv.
func renderer(format string, rules []*sigma.Rule, corr []*Match) (func(b []byte, m *Match) []byte, error) {
	switch format {
	case "table":
		return appendTableMatch, nil
	case "json":
		return jsonRenderer(rules, corr), nil
	case "csv":
		return appendCSVMatch, nil
	}
	return nil, fmt.Errorf("hunt: unknown output format %q (want table, json or csv)", format)
}
