// Package report renders the findings of an analysis: JSON lines for other
// tools, and a readable per-host storyline in kill-chain order (I2) for
// people.
package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/event"
)

// jsonEvidence is one evidence record on output.
type jsonEvidence struct {
	Source string `json:"source"`
	Time   string `json:"time,omitempty"`
	Origin string `json:"origin"`
	Raw    string `json:"raw"`
	Note   string `json:"note,omitempty"`
}

// jsonAlert is the stable JSON shape of an alert.
type jsonAlert struct {
	ID            string            `json:"id"`
	Rule          string            `json:"rule"`
	Requirements  []string          `json:"requirements"`
	Title         string            `json:"title"`
	Severity      string            `json:"severity"`
	Stages        []int             `json:"stages"`
	StageNames    []string          `json:"stage_names"`
	Techniques    []string          `json:"techniques"`
	Attack        []string          `json:"attack"`
	Time          string            `json:"time"`
	LastTime      string            `json:"last_time"`
	Host          string            `json:"host"`
	Summary       string            `json:"summary"`
	Count         int64             `json:"count"`
	Fields        map[string]string `json:"fields,omitempty"`
	Evidence      []jsonEvidence    `json:"evidence"`
	EvidenceTotal int64             `json:"evidence_total"`
	NextSteps     alert.Text        `json:"next_steps"`
	Caveats       alert.Text        `json:"caveats"`
}

func toJSON(a *alert.Alert) jsonAlert {
	j := jsonAlert{
		ID: a.ID, Rule: a.Rule, Requirements: nonNil(a.Requirements), Title: a.Title,
		Severity: a.Severity.String(), Techniques: nonNil(a.Techniques), Attack: nonNil(a.Attack),
		Time: event.FormatTime(a.Time), LastTime: event.FormatTime(a.LastTime),
		Host: a.Host, Summary: a.Summary, Count: a.Count, Fields: a.Fields,
		EvidenceTotal: a.EvidenceTotal, NextSteps: text(a.NextSteps), Caveats: text(a.Caveats),
		Stages: []int{}, StageNames: []string{}, Evidence: []jsonEvidence{},
	}
	if j.LastTime == "" {
		j.LastTime = j.Time
	}
	for _, s := range a.Stages {
		j.Stages = append(j.Stages, int(s))
		j.StageNames = append(j.StageNames, s.String())
	}
	for _, e := range a.Evidence {
		j.Evidence = append(j.Evidence, jsonEvidence{
			Source: e.Source, Time: event.FormatTime(e.Time), Origin: e.Origin.String(), Raw: e.Raw, Note: e.Note,
		})
	}
	return j
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func text(t alert.Text) alert.Text {
	return alert.Text{EN: nonNil(t.EN), JA: nonNil(t.JA)}
}

// WriteJSON writes one JSON object per line per alert.
func WriteJSON(w io.Writer, alerts []*alert.Alert) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, a := range alerts {
		if err := enc.Encode(toJSON(a)); err != nil {
			return fmt.Errorf("write alert %s: %w", a.ID, err)
		}
	}
	return bw.Flush()
}
