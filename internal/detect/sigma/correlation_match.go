package sigma

// This file holds what a correlation reports: the group, the window, the
// aggregate that met the condition and the evidence behind it.

import (
	"strconv"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/event"
)

// CorrelationMatch is one firing of a correlation rule for one group.
type CorrelationMatch struct {
	Correlation *Correlation
	// Group holds the group-by fields (as the rule names them, aliases
	// included) and their values, in group-by order.
	Group []CorrelationField
	// First and Last are the times of the oldest and newest observation
	// in the window that met the condition.
	First, Last time.Time
	// Value is the aggregate that met the condition: the event count, the
	// number of distinct values, the sum, average or percentile, or (for
	// temporal types) the number of referenced rules that matched.
	Value float64
	// Count is the number of observations (base-rule matches or matches of
	// chained correlations) in the window.
	Count int
	// Values are the distinct values a value_count counted, sorted, at
	// most CorrelationLimits.MaxValues of them; ValuesOmitted says how many
	// more there were.
	Values        []string
	ValuesOmitted int
	// Evidence are the base events behind the match, oldest first, at most
	// CorrelationLimits.MaxEvidence; EvidenceOmitted counts the others.
	Evidence        []CorrelationEvidence
	EvidenceOmitted int
	// Parts are the matches of chained correlations that fed this one.
	Parts []*CorrelationMatch
}

// CorrelationField is one group-by field and its value.
type CorrelationField struct {
	Field string
	Value string
}

// CorrelationEvidence is one event behind a match: what must outlive the
// event (the pipeline reuses events) and the rule it matched.
type CorrelationEvidence struct {
	alert.Evidence
	// Rule is the base rule the event matched.
	Rule *Rule
}

// Summary says in one line what matched, for reports:
// `event_count 5 (>= 5) within 1m for IpAddress=10.0.0.9`.
func (m *CorrelationMatch) Summary() string {
	c := m.Correlation
	var b strings.Builder
	b.WriteString(c.Type.String())
	b.WriteByte(' ')
	b.WriteString(strconv.FormatFloat(m.Value, 'g', -1, 64))
	b.WriteString(" (")
	b.WriteString(c.Condition.String())
	b.WriteString(") within ")
	b.WriteString(c.TimespanText)
	if len(m.Group) > 0 {
		b.WriteString(" for ")
		for i, g := range m.Group {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(g.Field)
			b.WriteByte('=')
			b.WriteString(g.Value)
		}
	}
	return b.String()
}

// GroupValue returns the value of group-by field f and whether the match
// is grouped by it.
func (m *CorrelationMatch) GroupValue(f string) (string, bool) {
	for _, g := range m.Group {
		if g.Field == f {
			return g.Value, true
		}
	}
	return "", false
}

// AllEvidence returns the evidence of the match and of the chained matches
// below it, oldest first: what an analyst reads to check the finding.
func (m *CorrelationMatch) AllEvidence() []CorrelationEvidence {
	out := append([]CorrelationEvidence(nil), m.Evidence...)
	for _, p := range m.Parts {
		out = append(out, p.AllEvidence()...)
	}
	sortEvidence(out)
	return out
}

// rawBytes is the raw text the match holds, for the memory budget of a
// Correlator that keeps it as part of a chain.
func (m *CorrelationMatch) rawBytes() int {
	n := 0
	for i := range m.Evidence {
		n += len(m.Evidence[i].Raw)
	}
	for _, p := range m.Parts {
		n += p.rawBytes()
	}
	return n
}

// sortEvidence orders evidence by time, then origin, stably.
func sortEvidence(ev []CorrelationEvidence) {
	// Insertion sort: evidence lists are short and nearly sorted.
	for i := 1; i < len(ev); i++ {
		for j := i; j > 0 && evidenceBefore(&ev[j], &ev[j-1]); j-- {
			ev[j], ev[j-1] = ev[j-1], ev[j]
		}
	}
}

func evidenceBefore(a, b *CorrelationEvidence) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.Before(b.Time)
	}
	if a.Origin.File != b.Origin.File {
		return a.Origin.File < b.Origin.File
	}
	return a.Origin.Line < b.Origin.Line
}

// corrEvidenceOf captures an event as evidence of rule r, keeping its raw
// text only when keepRaw is set (the Correlator's memory budget).
func corrEvidenceOf(ev *event.Event, r *Rule, keepRaw bool) CorrelationEvidence {
	e := CorrelationEvidence{Evidence: alert.EvidenceOf(ev), Rule: r}
	if !keepRaw {
		e.Raw = ""
		e.Note = "raw record not kept: correlation evidence memory budget reached; see origin"
	}
	return e
}
