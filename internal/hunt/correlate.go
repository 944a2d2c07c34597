package hunt

import (
	"strconv"
	"strings"

	"github.com/kizuki-dev/kizuki/internal/detect/sigma"
	"github.com/kizuki-dev/kizuki/internal/event"
)

// suppressed reports whether r's own matches stay out of the timeline: a
// correlation with generate: false uses it as a building block only.
func suppressed(rs *sigma.Ruleset, r *sigma.Rule) bool { return !rs.RuleOutput(r) }

// correlate runs the correlation rules of rs over the base matches (in time
// order) and returns their matches. Each correlation is shown as a rule of
// its own (title, level, author, tags); its match's event is its newest
// evidence, with the group-by fields, the aggregate and the window as
// fields.
func correlate(rs *sigma.Ruleset, based []*Match) []*Match {
	if len(rs.Correlations()) == 0 {
		return nil
	}
	c := rs.NewCorrelator()
	asRule := map[*sigma.Correlation]*sigma.Rule{}
	var out []*Match
	emit := func(cm *sigma.CorrelationMatch) {
		cr := cm.Correlation
		r := asRule[cr]
		if r == nil {
			r = &sigma.Rule{ID: cr.ID, Name: cr.Name, Title: cr.Title, Status: cr.Status, Description: cr.Description,
				Author: cr.Author, Level: cr.Level, Date: cr.Date, Modified: cr.Modified, Path: cr.Path,
				Tags: cr.Tags, References: cr.References, FalsePositives: cr.FalsePositives}
			asRule[cr] = r
		}
		ev := &event.Event{Time: cm.Last, Source: "correlation"}
		if ev.Time.IsZero() {
			ev.Time = cm.First
		}
		if evs := cm.AllEvidence(); len(evs) > 0 {
			last := evs[len(evs)-1]
			ev.Origin, ev.Source = last.Origin, last.Source
		}
		for _, g := range cm.Group {
			ev.SetExtraValue(g.Field, g.Value)
			if strings.EqualFold(g.Field, "Computer") || strings.EqualFold(g.Field, "host") {
				ev.Host = g.Value
			}
		}
		ev.SetExtra("correlation_type", cr.Type.String())
		ev.SetExtra("correlation_value", strconv.FormatFloat(cm.Value, 'g', -1, 64))
		ev.SetExtra("correlation_count", strconv.Itoa(cm.Count))
		ev.SetExtra("correlation_first", event.FormatTime(cm.First))
		out = append(out, &Match{Rule: r, Event: ev, Correlation: cm})
	}
	for _, m := range based {
		c.Observe(m.Rule, m.Event, emit)
	}
	c.Flush(emit)
	return out
}

// correlationDetails describes a correlation match for the table and CSV.
func correlationDetails(cm *sigma.CorrelationMatch, sep string) string {
	var b strings.Builder
	b.WriteString(cm.Summary())
	evs := cm.AllEvidence()
	for i, e := range evs {
		if i == 5 {
			b.WriteString(sep)
			b.WriteString("… " + strconv.Itoa(len(evs)-5+cm.EvidenceOmitted) + " more")
			break
		}
		b.WriteString(sep)
		rule := ""
		if e.Rule != nil {
			rule = e.Rule.Title + " @ "
		}
		b.WriteString(rule + event.FormatTime(e.Time) + " " + e.Origin.String())
	}
	return b.String()
}

// appendCorrelationJSON renders a correlation match: type, group, value,
// window, the values counted and the evidence (origin and time).
func appendCorrelationJSON(b []byte, cm *sigma.CorrelationMatch) []byte {
	cr := cm.Correlation
	b = append(b, `{"type":`...)
	b = event.AppendString(b, cr.Type.String())
	b = append(b, `,"timespan":`...)
	b = event.AppendString(b, cr.TimespanText)
	b = append(b, `,"condition":`...)
	b = event.AppendString(b, cr.Condition.String())
	b = append(b, `,"group":{`...)
	for i, g := range cm.Group {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendString(b, g.Field)
		b = append(b, ':')
		b = event.AppendString(b, g.Value)
	}
	b = append(b, `},"value":`...)
	b = strconv.AppendFloat(b, cm.Value, 'g', -1, 64)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(cm.Count), 10)
	b = append(b, `,"first_time":`...)
	b = event.AppendString(b, event.FormatTime(cm.First))
	b = append(b, `,"last_time":`...)
	b = event.AppendString(b, event.FormatTime(cm.Last))
	if len(cm.Values) > 0 {
		b = append(b, `,"values":[`...)
		for i, v := range cm.Values {
			if i > 0 {
				b = append(b, ',')
			}
			b = event.AppendString(b, v)
		}
		b = append(b, ']')
	}
	b = append(b, `,"evidence":[`...)
	for i, e := range cm.AllEvidence() {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"time":`...)
		b = event.AppendString(b, event.FormatTime(e.Time))
		b = append(b, `,"origin":`...)
		b = event.AppendString(b, e.Origin.String())
		if e.Rule != nil {
			b = append(b, `,"rule_id":`...)
			b = event.AppendString(b, e.Rule.ID)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if cm.EvidenceOmitted > 0 {
		b = append(b, `,"evidence_omitted":`...)
		b = strconv.AppendInt(b, int64(cm.EvidenceOmitted), 10)
	}
	return append(b, '}')
}
