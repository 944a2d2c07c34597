// Package detect holds the Detector contract and the streaming engine that
// routes normalized events to detectors. A detector knows event.Event and
// org.Model, never a file format; the engine knows neither: it routes by the
// event's source category.
package detect

import (
	"context"
	"sort"
	"strings"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/event"
)

// Source categories: what kind of device wrote an event. Detectors subscribe
// to categories, not to formats, so a new firewall format feeds J3/J4
// without touching them.
const (
	Mail     = "mail"
	Firewall = "firewall"
	Proxy    = "proxy"
	DNS      = "dns"
	Auth     = "auth" // Windows / Active Directory events
)

// categoryOf maps a format name (event.Source) to its category.
var categoryOf = map[string]string{
	"postfix":        Mail,
	"netscreen":      Firewall,
	"kv":             Firewall,
	"iptables":       Firewall,
	"squid":          Proxy,
	"squid-combined": Proxy,
	"bind":           DNS,
	"winxml":         Auth,
	"winjson":        Auth,
	"evtx":           Auth,
}

// Category returns the category of a format name, "" when unknown.
func Category(source string) string { return categoryOf[source] }

// Info describes a detector: identity, kill-chain placement and the
// guidance every alert it raises carries.
type Info struct {
	ID           string   // stable id, e.g. "J3"
	Title        string   // short English title
	TitleJA      string   // the JPCERT section title
	Requirements []string // requirement ids covered
	Section      string   // JPCERT section, e.g. "4.2.2.1"
	Categories   []string // source categories consumed
	Stages       []alert.Stage
	Techniques   []string // A–H
	Attack       []string // ATT&CK ids
	NextSteps    alert.Text
	Caveats      alert.Text
}

// NewAlert starts an alert carrying the detector's identity and guidance.
func (in *Info) NewAlert(host string, sev alert.Severity, summary string) *alert.Alert {
	return &alert.Alert{
		Rule:         in.ID,
		Requirements: in.Requirements,
		Title:        in.Title,
		Severity:     sev,
		Stages:       in.Stages,
		Techniques:   in.Techniques,
		Attack:       in.Attack,
		Host:         host,
		Summary:      summary,
		NextSteps:    in.NextSteps,
		Caveats:      in.Caveats,
		Fields:       map[string]string{},
	}
}

// NoteLevel says how a configuration or input gap affected an analysis.
type NoteLevel string

// Note levels.
const (
	Skipped  NoteLevel = "skipped"
	Degraded NoteLevel = "degraded"
	// Folded: findings were summarized instead of listed one by one.
	Folded NoteLevel = "folded"
)

// Note tells the user that an analysis could not run fully, and what would
// enable it (a configuration key, or a source-side log setting).
type Note struct {
	Rule    string    `json:"rule"`
	Level   NoteLevel `json:"level"`
	Message string    `json:"message"`
	Enable  string    `json:"enable,omitempty"`
}

// Detector is one analysis.
//
// Observe is called for every event of the detector's categories, in input
// order, from one goroutine; the event is reused after the call returns, so
// a detector copies what it keeps (alert.EvidenceOf does). State must be
// bounded by the number of distinct entities (hosts, domains, accounts), not
// by the number of events. Flush emits the findings once the input ends.
type Detector interface {
	Info() *Info
	Observe(ev *event.Event)
	Flush(ctx context.Context, emit func(*alert.Alert))
	// Notes reports what was skipped or degraded and why; called after
	// Flush. The engine adds "no events of category X" notes itself.
	Notes() []Note
}

// Annotator is implemented by detectors that enrich other detectors'
// findings after all have flushed (J11 attaches DNS names to firewall and
// proxy evidence).
type Annotator interface {
	Annotate(alerts []*alert.Alert)
}

// Engine routes events to detectors and collects their findings.
type Engine struct {
	dets     []Detector
	byCat    map[string][]Detector
	seenCat  map[string]int64
	unrouted int64
}

// NewEngine returns an engine running dets.
func NewEngine(dets ...Detector) *Engine {
	e := &Engine{dets: dets, byCat: map[string][]Detector{}, seenCat: map[string]int64{}}
	for _, d := range dets {
		for _, c := range d.Info().Categories {
			e.byCat[c] = append(e.byCat[c], d)
		}
	}
	return e
}

// Detectors returns the detectors in registration order.
func (e *Engine) Detectors() []Detector { return e.dets }

// Observe hands ev to every detector of its category.
func (e *Engine) Observe(ev *event.Event) {
	c := categoryOf[ev.Source]
	if c == "" {
		e.unrouted++
		return
	}
	e.seenCat[c]++
	for _, d := range e.byCat[c] {
		d.Observe(ev)
	}
}

// Seen returns how many events of each category were observed.
func (e *Engine) Seen() map[string]int64 { return e.seenCat }

// Result is what the engine found.
type Result struct {
	Alerts []*alert.Alert
	Notes  []Note
}

// Finish flushes every detector, runs annotators, and returns the alerts in
// time order together with the notes.
func (e *Engine) Finish(ctx context.Context) Result {
	var res Result
	for _, d := range e.dets {
		if ctx.Err() != nil {
			break
		}
		d.Flush(ctx, func(a *alert.Alert) { res.Alerts = append(res.Alerts, a) })
	}
	for _, d := range e.dets {
		if an, ok := d.(Annotator); ok {
			an.Annotate(res.Alerts)
		}
	}
	for _, d := range e.dets {
		in := d.Info()
		var missing []string
		for _, c := range in.Categories {
			if e.seenCat[c] == 0 {
				missing = append(missing, c)
			}
		}
		if len(missing) == len(in.Categories) {
			res.Notes = append(res.Notes, Note{Rule: in.ID, Level: Skipped,
				Message: "no " + strings.Join(missing, "/") + " logs in the input"})
			continue
		}
		res.Notes = append(res.Notes, d.Notes()...)
	}
	for _, a := range res.Alerts {
		if a.ID == "" {
			a.FinalizeID(a.Summary)
		}
	}
	sort.SliceStable(res.Alerts, func(i, j int) bool {
		a, b := res.Alerts[i], res.Alerts[j]
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.ID < b.ID
	})
	return res
}
