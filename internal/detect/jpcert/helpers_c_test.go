package jpcert

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// Test helpers of J11–J13 (the "hc" prefix keeps them apart from the other
// analyses' helpers).

func hcModel(t testing.TB, cfg *org.Config) *org.Model {
	t.Helper()
	if cfg == nil {
		cfg = &org.Config{}
	}
	if cfg.Timezone == "" {
		cfg.Timezone = "Asia/Tokyo"
	}
	m, err := org.New(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// hcJST parses a "2006-01-02 15:04:05" time in Japan time.
func hcJST(t testing.TB, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	tm, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UTC()
}

// hcEv builds an event as a parser would: source format, time, origin
// file:line, raw line, and field-name/value pairs (common fields by JSON
// name, anything else as an extra; "host" sets ev.Host).
func hcEv(source string, tm time.Time, file string, line int64, raw string, kv ...string) *event.Event {
	ev := &event.Event{Source: source, Time: tm.UTC(), Origin: event.Origin{File: file, Line: line}, Raw: raw}
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		switch k, v := kv[i], kv[i+1]; {
		case k == "host":
			ev.Host = v
		default:
			if key, ok := event.KeyByName(k); ok {
				ev.Set(key, v)
			} else {
				ev.SetExtra(k, v)
			}
		}
		parts = append(parts, kv[i]+"="+kv[i+1])
	}
	if ev.Raw == "" {
		ev.Raw = strings.Join(parts, " ")
	}
	return ev
}

// hcRun feeds evs to d, flushes, and returns the findings and notes.
func hcRun(d detect.Detector, evs ...*event.Event) ([]*alert.Alert, []detect.Note) {
	for _, ev := range evs {
		d.Observe(ev)
	}
	var out []*alert.Alert
	d.Flush(context.Background(), func(a *alert.Alert) { out = append(out, a) })
	return out, d.Notes()
}

// hcCheck asserts a finding's identity.
func hcCheck(t *testing.T, a *alert.Alert, rule, host string, sev alert.Severity, stages ...alert.Stage) {
	t.Helper()
	if a.Rule != rule || a.Host != host || a.Severity != sev {
		t.Errorf("got rule %s host %q severity %s, want %s %q %s (summary %q)", a.Rule, a.Host, a.Severity, rule, host, sev, a.Summary)
	}
	if len(stages) > 0 && !hcSameStages(a.Stages, stages) {
		t.Errorf("stages %v, want %v", a.Stages, stages)
	}
	if a.ID == "" || !strings.HasPrefix(a.ID, rule+"-") {
		t.Errorf("id %q not finalized", a.ID)
	}
	if len(a.NextSteps.EN) == 0 || len(a.NextSteps.JA) == 0 || len(a.Caveats.EN) == 0 || len(a.Caveats.JA) == 0 {
		t.Errorf("guidance missing")
	}
}

func hcSameStages(a, b []alert.Stage) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// hcSummary asserts the summary contains every part.
func hcSummary(t *testing.T, a *alert.Alert, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(a.Summary, p) {
			t.Errorf("summary %q lacks %q", a.Summary, p)
		}
	}
}

// hcField asserts one field value.
func hcField(t *testing.T, a *alert.Alert, key, want string) {
	t.Helper()
	if got := a.Fields[key]; got != want {
		t.Errorf("field %s = %q, want %q", key, got, want)
	}
}

// hcOrigins returns the evidence origins as file:line strings.
func hcOrigins(a *alert.Alert) []string {
	var out []string
	for _, e := range a.Evidence {
		out = append(out, e.Origin.String())
	}
	return out
}

// hcEvidence asserts the evidence origins, in order.
func hcEvidence(t *testing.T, a *alert.Alert, want ...string) {
	t.Helper()
	got := hcOrigins(a)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("evidence %v, want %v", got, want)
	}
}

// hcNote finds a note of the given level whose message contains sub.
func hcNote(notes []detect.Note, level detect.NoteLevel, sub string) *detect.Note {
	for i := range notes {
		if notes[i].Level == level && strings.Contains(notes[i].Message, sub) {
			return &notes[i]
		}
	}
	return nil
}

// hcInfo asserts the detector's identity.
func hcInfo(t *testing.T, d detect.Detector, id, section string, stages []alert.Stage, techniques ...string) {
	t.Helper()
	in := d.Info()
	if in.ID != id || in.Section != section || len(in.Requirements) != 1 || in.Requirements[0] != id {
		t.Errorf("info %s %s %v", in.ID, in.Section, in.Requirements)
	}
	if !hcSameStages(in.Stages, stages) {
		t.Errorf("stages %v, want %v", in.Stages, stages)
	}
	if strings.Join(in.Techniques, ",") != strings.Join(techniques, ",") {
		t.Errorf("techniques %v, want %v", in.Techniques, techniques)
	}
	if in.Title == "" || in.TitleJA == "" || len(in.Attack) == 0 || len(in.Categories) == 0 {
		t.Errorf("incomplete info %+v", in)
	}
}
