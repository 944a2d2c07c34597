package jpcert

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// Test helpers of J1–J6 (the "a" prefix keeps them apart from the other
// analyses' helpers).

func aModel(t testing.TB, cfg *org.Config) *org.Model {
	t.Helper()
	m, err := org.New(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var aT0 = time.Date(2014, 12, 15, 16, 11, 15, 0, time.UTC)

// aEv builds an event of format source read from "test.log" line `line`.
// kv are field-name/value pairs: common fields by their JSON name
// (src_ip, dst_port, ...), anything else as an extra.
func aEv(source string, line int64, kv ...string) *event.Event {
	ev := &event.Event{Source: source, Time: aT0.Add(time.Duration(line) * time.Minute),
		Origin: event.Origin{File: "test.log", Line: line}}
	var raw []string
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := event.KeyByName(kv[i]); ok {
			ev.Set(k, kv[i+1])
		} else {
			ev.SetExtra(kv[i], kv[i+1])
		}
		raw = append(raw, kv[i]+"="+kv[i+1])
	}
	ev.Raw = strings.Join(raw, " ")
	return ev
}

// aRun feeds evs to d and returns its findings.
func aRun(d detect.Detector, evs ...*event.Event) []*alert.Alert {
	for _, ev := range evs {
		d.Observe(ev)
	}
	var out []*alert.Alert
	d.Flush(context.Background(), func(a *alert.Alert) { out = append(out, a) })
	return out
}

// aOne asserts exactly one finding and its identity.
func aOne(t *testing.T, got []*alert.Alert, rule, host string, sev alert.Severity) *alert.Alert {
	t.Helper()
	if len(got) != 1 {
		for _, a := range got {
			t.Logf("alert: %s %s %s %q", a.Rule, a.Host, a.Severity, a.Summary)
		}
		t.Fatalf("want 1 alert, got %d", len(got))
	}
	a := got[0]
	aCheck(t, a, rule, host, sev)
	return a
}

func aCheck(t *testing.T, a *alert.Alert, rule, host string, sev alert.Severity) {
	t.Helper()
	if a.Rule != rule || a.Host != host || a.Severity != sev {
		t.Errorf("got rule %s host %q severity %s, want %s %q %s (summary %q)", a.Rule, a.Host, a.Severity, rule, host, sev, a.Summary)
	}
	if a.ID == "" || !strings.HasPrefix(a.ID, rule+"-") {
		t.Errorf("id %q not finalized", a.ID)
	}
	if len(a.Requirements) != 1 || a.Requirements[0] != rule {
		t.Errorf("requirements %v", a.Requirements)
	}
	if len(a.NextSteps.EN) == 0 || len(a.NextSteps.JA) == 0 || len(a.Caveats.EN) == 0 || len(a.Caveats.JA) == 0 {
		t.Errorf("guidance missing")
	}
}

func aStages(t *testing.T, a *alert.Alert, want ...alert.Stage) {
	t.Helper()
	if !reflect.DeepEqual(a.Stages, want) {
		t.Errorf("stages %v, want %v", a.Stages, want)
	}
}

func aSummary(t *testing.T, a *alert.Alert, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(a.Summary, p) {
			t.Errorf("summary %q lacks %q", a.Summary, p)
		}
	}
}

// aEvidence asserts the evidence lines (test.log:N) in order.
func aEvidence(t *testing.T, a *alert.Alert, lines ...int64) {
	t.Helper()
	var got []int64
	for _, e := range a.Evidence {
		if e.Origin.File != "test.log" || e.Raw == "" || e.Time.IsZero() {
			t.Errorf("evidence %+v lacks origin, raw or time", e)
		}
		got = append(got, e.Origin.Line)
	}
	if !reflect.DeepEqual(got, lines) {
		t.Errorf("evidence lines %v, want %v", got, lines)
	}
	if a.Count != int64(len(lines)) && len(lines) < alert.MaxEvidence {
		t.Errorf("count %d, want %d", a.Count, len(lines))
	}
}

func aField(t *testing.T, a *alert.Alert, key, want string) {
	t.Helper()
	if got := a.Fields[key]; got != want {
		t.Errorf("field %s = %q, want %q", key, got, want)
	}
}

// aNote returns the note of level whose message or enable contains sub.
func aNote(notes []detect.Note, level detect.NoteLevel, sub string) *detect.Note {
	for i := range notes {
		n := &notes[i]
		if n.Level == level && (strings.Contains(n.Message, sub) || strings.Contains(n.Enable, sub)) {
			return n
		}
	}
	return nil
}

// aInfo checks the detector's static description.
func aInfo(t *testing.T, d detect.Detector, id, section string, stages []alert.Stage, techniques ...string) {
	t.Helper()
	in := d.Info()
	if in.ID != id || in.Section != section || in.Title == "" || in.TitleJA == "" || len(in.Attack) == 0 || len(in.Categories) == 0 {
		t.Errorf("info %+v", in)
	}
	if !reflect.DeepEqual(in.Stages, stages) || !reflect.DeepEqual(in.Techniques, techniques) {
		t.Errorf("stages %v techniques %v", in.Stages, in.Techniques)
	}
}
