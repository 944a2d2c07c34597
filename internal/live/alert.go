package live

import (
	"strings"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/journal"
)

// Kinds of alert: which detection raised it.
const (
	// KindSigma is a Sigma rule that fired on one stored event. Alerts
	// kept before kinds existed have no kind and are Sigma alerts.
	KindSigma = "sigma"
	// KindJPCERT is a finding of a JPCERT/CC analysis (J1–J13) over an
	// analysis window.
	KindJPCERT = "jpcert"
	// KindIOC is an indicator from a list found in a stored event, live or
	// by a retro-hunt.
	KindIOC = "ioc"
	// KindHealth is about the collection itself: a source that fell
	// silent (an agent stopped, a route changed, or logging turned off).
	KindHealth = "health"
)

// Alert is one alert of live detection, as kept in the alerts journal and
// served by the API. The fields up to Detected are those of the first
// (Sigma-only) version and keep their meaning for every kind: RuleID is the
// Sigma rule id, or "J1" … "J13", or "IOC"; Rule is the rule's title; Level
// is the Sigma level or the finding's severity. The others are empty for
// Sigma alerts, so Sigma alerts encode as they always did (plus "kind").
type Alert struct {
	Kind     string            `json:"kind"`
	Seq      journal.Seq       `json:"seq"` // the journal record of the (first) event
	Time     string            `json:"time"`
	Rule     string            `json:"rule_title"`
	RuleID   string            `json:"rule_id"`
	Level    string            `json:"level"`
	Author   string            `json:"author"`
	Tags     []string          `json:"tags"`
	Host     string            `json:"host"`
	Source   string            `json:"source"`
	Origin   string            `json:"origin"`
	Fields   map[string]string `json:"fields"`
	Detected string            `json:"detected"`

	// ID is the finding's stable id (JPCERT and indicator alerts).
	ID string `json:"id,omitempty"`
	// Key is what makes two alerts the same finding: an alert whose key
	// was kept already is not raised again (JPCERT and indicator alerts).
	Key          string      `json:"key,omitempty"`
	Summary      string      `json:"summary,omitempty"`
	LastTime     string      `json:"last_time,omitempty"`
	Count        int64       `json:"count,omitempty"`
	Requirements []string    `json:"requirements,omitempty"`
	Stages       []int       `json:"stages,omitempty"`
	StageNames   []string    `json:"stage_names,omitempty"`
	Techniques   []string    `json:"techniques,omitempty"`
	Attack       []string    `json:"attack,omitempty"`
	NextSteps    *alert.Text `json:"next_steps,omitempty"`
	Caveats      *alert.Text `json:"caveats,omitempty"`
	Evidence     []Evidence  `json:"evidence,omitempty"`
	// Window is the analysis window a JPCERT finding was made over.
	Window *Window `json:"window,omitempty"`
	// Retro marks an indicator found by a retro-hunt over stored history:
	// Time and Origin are the original event's, Detected is when it was
	// found.
	Retro bool `json:"retro,omitempty"`
}

// Evidence is one stored record supporting a JPCERT or indicator alert.
type Evidence struct {
	Seq    journal.Seq `json:"seq"`
	Time   string      `json:"time"`
	Source string      `json:"source"`
	Origin string      `json:"origin"`
	Raw    string      `json:"raw"`
	Note   string      `json:"note,omitempty"`
}

// Window is an analysis window: the tier that ran it ("short", "daily",
// "weekly"),
// and the receive times it covered.
type Window struct {
	Tier  string `json:"tier"`
	Start string `json:"start"`
	End   string `json:"end"`
}

// levelOf names a finding's severity the way Sigma names levels.
func levelOf(s alert.Severity) string {
	if s == alert.Info {
		return "informational"
	}
	return s.String()
}

// fromFinding turns a JPCERT or indicator finding into an alert. Its
// evidence comes from live events, whose Origin is the journal record's
// (originOf).
func fromFinding(kind string, a *alert.Alert, key string, detected string) Alert {
	out := Alert{
		Kind: kind, Time: event.FormatTime(a.Time), Rule: a.Title, RuleID: a.Rule, Level: levelOf(a.Severity),
		Author: "kizuki", Tags: attackTags(a.Attack), Host: a.Host, Fields: a.Fields, Detected: detected,
		ID: a.ID, Key: key, Summary: a.Summary, LastTime: event.FormatTime(a.LastTime), Count: a.Count,
		Requirements: a.Requirements, Techniques: a.Techniques, Attack: a.Attack,
	}
	if out.Fields == nil {
		out.Fields = map[string]string{}
	}
	if out.LastTime == "" {
		out.LastTime = out.Time
	}
	for _, s := range a.Stages {
		out.Stages = append(out.Stages, int(s))
		out.StageNames = append(out.StageNames, s.String())
	}
	if len(a.NextSteps.EN)+len(a.NextSteps.JA) > 0 {
		t := a.NextSteps
		out.NextSteps = &t
	}
	if len(a.Caveats.EN)+len(a.Caveats.JA) > 0 {
		t := a.Caveats
		out.Caveats = &t
	}
	for i, e := range a.Evidence {
		ev := Evidence{Seq: seqOf(e.Origin), Time: event.FormatTime(e.Time), Source: e.Source,
			Origin: e.Origin.File, Raw: e.Raw, Note: e.Note}
		out.Evidence = append(out.Evidence, ev)
		if i == 0 {
			out.Seq, out.Source, out.Origin = ev.Seq, ev.Source, ev.Origin
		}
	}
	return out
}

// attackTags renders ATT&CK ids as Sigma tags ("T1071.001" →
// "attack.t1071.001"), so that a client filtering Sigma alerts by tag finds
// the others too.
func attackTags(ids []string) []string {
	if len(ids) == 0 {
		return nil
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = "attack." + strings.ToLower(id)
	}
	return out
}
