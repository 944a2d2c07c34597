package detect

import (
	"sort"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/event"
)

// MaxGroups bounds the number of open findings one detector keeps, so memory
// stays bounded on hostile input; beyond it new keys are counted as dropped
// and reported in a note.
const MaxGroups = 200_000

// Group aggregates events into one alert per key (e.g. host + destination),
// with capped evidence and first/last times. Most analyses want exactly this:
// one finding per "who did what to whom", not one per line.
type Group struct {
	info    *Info
	alerts  map[string]*alert.Alert
	order   []string
	Dropped int64
}

// NewGroup returns an empty group for the detector described by info.
func NewGroup(info *Info) *Group {
	return &Group{info: info, alerts: map[string]*alert.Alert{}}
}

// Add records ev under key. On the first event of a key, init is called to
// fill the new alert (severity, summary, fields); it may be nil.
func (g *Group) Add(key, host string, ev *event.Event, init func(a *alert.Alert)) *alert.Alert {
	a, ok := g.alerts[key]
	if !ok {
		if len(g.alerts) >= MaxGroups {
			g.Dropped++
			return nil
		}
		a = g.info.NewAlert(host, alert.Medium, "")
		if init != nil {
			init(a)
		}
		g.alerts[key] = a
		g.order = append(g.order, key)
	}
	a.AddEvidence(alert.EvidenceOf(ev))
	return a
}

// Get returns the alert of key, if any.
func (g *Group) Get(key string) *alert.Alert { return g.alerts[key] }

// Len is the number of findings.
func (g *Group) Len() int { return len(g.alerts) }

// Each calls fn for each finding in first-seen order.
func (g *Group) Each(fn func(key string, a *alert.Alert)) {
	for _, k := range g.order {
		fn(k, g.alerts[k])
	}
}

// Emit finalizes ids and emits every finding for which keep returns true
// (keep nil = all), in first-seen order.
func (g *Group) Emit(emit func(*alert.Alert), keep func(*alert.Alert) bool) {
	for _, k := range g.order {
		a := g.alerts[k]
		if keep != nil && !keep(a) {
			continue
		}
		a.FinalizeID(k)
		emit(a)
	}
}

// DroppedNote returns a note when keys were dropped, nil otherwise.
func (g *Group) DroppedNote() []Note {
	if g.Dropped == 0 {
		return nil
	}
	return []Note{{Rule: g.info.ID, Level: Degraded,
		Message: "too many distinct findings: " + itoa(g.Dropped) + " events beyond the first 200000 keys were not grouped"}}
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// SortedKeys returns m's keys sorted, for deterministic output.
func SortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
