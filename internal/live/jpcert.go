package live

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/detect/jpcert"
	"github.com/kizuki-dev/kizuki/internal/journal"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// The JPCERT/CC analyses were written for batch runs: Observe every event
// in input order, then Flush the findings once the input ends. Live, the
// input never ends, so it is cut into analysis windows: a fresh engine
// observes every event of a window, in journal order, and is finished when
// the window is over; its findings are raised unless an earlier window (or
// an earlier run) raised the same finding (findingKey).
//
// Windows are periods of receive time (the journal's time stamp, set by
// kizuki when a record arrives), not of event time: receive time is what
// the journal is ordered by, is the same when a window is replayed after a
// restart, and is not fooled by a sender's wrong clock or by old files
// imported today (an import of a month of logs lands in one window and is
// analyzed as kizuki analyze would). A window ends at the first record
// received after its end, or, when none comes, once the wall clock passes
// its end (plus Grace, for records received but not yet committed).
//
// Tiers of windows run, each in its own goroutine with its own position,
// because the analyses need different amounts of history (DefaultTiers):
//
//   - short, 15 minutes (Window): the analyses that judge single events or
//     minutes of them (J1–J6, J9–J12, and J13's admin and volume checks); a
//     finding is raised at most one window after its first event.
//   - daily: J7, whose User-Agent baseline is learned from the share of
//     clients using each User-Agent; over 15 minutes, every rare but normal
//     one (Office, Java updaters) would look non-standard.
//   - weekly: J8 periodic communication (contact on at least 3 days) and
//     J13's per-host baseline of daily authentication counts, which a
//     shorter window could never show.
//
// A restart replays each tier's unfinished window from the journal (its
// first record is kept in StateFile): the window's findings are the same
// as without the restart, and those already raised are not raised again.

// Defaults of JPCERTOptions.
const (
	DefaultWindow = 15 * time.Minute
	DefaultGrace  = 10 * time.Second
)

// Tier is one series of analysis windows: the analyses it runs and how
// long its windows are.
type Tier struct {
	Name   string
	Window time.Duration
	Rules  []string
}

// DefaultTiers returns the tiers live JPCERT analysis runs by default; the
// short tier's window is window.
func DefaultTiers(window time.Duration) []Tier {
	return []Tier{
		{Name: "short", Window: window, Rules: []string{"J1", "J2", "J3", "J4", "J5", "J6", "J9", "J10", "J11", "J12", "J13"}},
		{Name: "weekly", Window: 7 * 24 * time.Hour, Rules: []string{"J7", "J8", "J13"}},
	}
}

// JPCERTOptions configures the live JPCERT/CC analyses.
type JPCERTOptions struct {
	// Model is the organization model of serve's --config (the one
	// kizuki analyze --config builds); nil gives the defaults, with which
	// the analyses that need no configuration run and the others say in
	// Notes what would enable them.
	Model *org.Model
	// Window is the short tier's window (default DefaultWindow; at least
	// a second).
	Window time.Duration
	// Tiers replaces DefaultTiers(Window). An analysis runs in every tier
	// that lists it; one no tier lists does not run live.
	Tiers []Tier
	// Exclude lists analyses not run live. Nil with Options.Indicators
	// set excludes J5: the indicator lists (fed the configuration's
	// indicators with ioc.FromConfig) raise its findings at once and
	// retro-hunt them. An empty, non-nil list excludes nothing.
	Exclude []string
	// StateFile keeps where each tier's open window starts (default
	// live-windows.json next to Options.PositionFile; "" without one:
	// nothing kept, a restart starts new windows).
	StateFile string
	// Grace is how long after a window's end, by the wall clock, records
	// received before the end are still waited for (default DefaultGrace).
	Grace time.Duration
	// Detectors makes the analyses for one window (default jpcert.All).
	Detectors func(*org.Model) []detect.Detector
}

// jpcertRun is the live JPCERT analyses: the tiers and their shared state
// file.
type jpcertRun struct {
	d       *Detector
	model   *org.Model
	tiers   []*tier
	cfgNote []detect.Note

	stateMu sync.Mutex // guards state and the file
	state   map[string]tierState
	file    string
}

func newJPCERT(d *Detector, o JPCERTOptions, from journal.Seq) (*jpcertRun, error) {
	if o.Model == nil {
		m, err := org.New(nil, "")
		if err != nil {
			return nil, err
		}
		o.Model = m
	}
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	if o.Tiers == nil {
		o.Tiers = DefaultTiers(o.Window)
	}
	for _, t := range o.Tiers {
		if t.Window < time.Second || t.Name == "" {
			return nil, fmt.Errorf("JPCERT analysis tier %q: a name and a window of at least a second are needed", t.Name)
		}
	}
	if o.Grace == 0 {
		o.Grace = DefaultGrace
	}
	if o.Detectors == nil {
		o.Detectors = jpcert.All
	}
	if o.StateFile == "" && d.opt.PositionFile != "" {
		o.StateFile = siblingFile(d.opt.PositionFile, "live-windows.json")
	}
	jp := &jpcertRun{d: d, model: o.Model, file: o.StateFile}
	state, err := loadTierStates(o.StateFile)
	if err != nil {
		return nil, err
	}
	jp.state = state

	// The analyses that cannot run, or run degraded, for want of
	// configuration: what a fresh detector's Notes say before any event.
	all := o.Detectors(o.Model)
	for _, det := range all {
		id := det.Info().ID
		if slices.Contains(o.Exclude, id) {
			continue
		}
		for _, n := range det.Notes() {
			if configKey(n.Enable) {
				jp.cfgNote = append(jp.cfgNote, n)
			}
		}
	}
	for _, id := range o.Exclude {
		jp.cfgNote = append(jp.cfgNote, detect.Note{Rule: id, Level: detect.Skipped,
			Message: "not run live: its findings are raised by another detection (indicator lists match the configuration's indicators)"})
	}

	var tiers []tierSpec
	for _, t := range o.Tiers {
		rules := ruleIDs(all, func(id string) bool { return slices.Contains(t.Rules, id) && !slices.Contains(o.Exclude, id) })
		if len(rules) > 0 {
			tiers = append(tiers, tierSpec{name: t.Name, window: t.Window, rules: rules})
		}
	}
	for _, spec := range tiers {
		jp.tiers = append(jp.tiers, newTier(jp, spec, o, from))
	}
	return jp, nil
}

// configKey reports whether a note's Enable names configuration keys
// ("accounts.admins", "indicators.domains / indicators.ips"): a fresh
// detector's notes also say what it has not seen yet ("no DNS query log"),
// which says nothing before any event.
func configKey(enable string) bool {
	if enable == "" {
		return false
	}
	for i := 0; i < len(enable); i++ {
		c := enable[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("_.[]/ ", c) >= 0) {
			return false
		}
	}
	return true
}

// tierSpec names a tier, its window and its analyses.
type tierSpec struct {
	name   string
	window time.Duration
	rules  []string
}

// ruleIDs returns the ids of dets that keep says to run.
func ruleIDs(dets []detect.Detector, keep func(string) bool) []string {
	var out []string
	for _, d := range dets {
		if id := d.Info().ID; keep(id) {
			out = append(out, id)
		}
	}
	return out
}

// notes returns the configuration notes and each tier's last window notes.
func (jp *jpcertRun) notes() []detect.Note {
	out := append([]detect.Note(nil), jp.cfgNote...)
	for _, st := range jp.stats() {
		out = append(out, st.Notes...)
	}
	return out
}

// stats returns every tier's stats.
func (jp *jpcertRun) stats() []TierStats {
	jp.d.mu.Lock()
	defer jp.d.mu.Unlock()
	out := make([]TierStats, 0, len(jp.tiers))
	for _, t := range jp.tiers {
		st := t.st
		st.Rules = slices.Clone(st.Rules)
		st.Notes = slices.Clone(st.Notes)
		out = append(out, st)
	}
	return out
}

// Describe says in one line which analyses run live and how, for the
// server's log.
func (jp *jpcertRun) describe() string {
	var parts []string
	for _, t := range jp.tiers {
		parts = append(parts, fmt.Sprintf("%s in %s windows", strings.Join(t.st.Rules, " "), t.st.Window))
	}
	s := "JPCERT analyses " + strings.Join(parts, "; ")
	var skipped []string
	for _, n := range jp.cfgNote {
		if n.Level == detect.Skipped {
			skipped = append(skipped, n.Rule)
		}
	}
	if len(skipped) > 0 {
		sort.Strings(skipped)
		s += "; skipped or partly skipped for want of configuration: " + strings.Join(slices.Compact(skipped), " ")
	}
	return s
}

// Describe says in one line what live detection runs (for the server's
// log).
func (d *Detector) Describe() string {
	var parts []string
	if d.rules != nil {
		parts = append(parts, fmt.Sprintf("%d Sigma rules", len(d.rules.Rules())))
	}
	if d.ind != nil {
		st := d.ind.stats()
		parts = append(parts, fmt.Sprintf("%d indicators in %d lists", st.Indicators, st.Lists))
	}
	if d.jp != nil {
		parts = append(parts, d.jp.describe())
	}
	return strings.Join(parts, "; ")
}

// findingKey says which findings of different windows are the same: the
// rule, the host, the title and the fields that name what was found (the
// grouping key of each analysis, without its counts and times). A rule not
// listed here is keyed by its summary as well, which raises it again
// whenever its numbers change: never a finding lost to a too-coarse key.
func findingKey(a *alert.Alert) string {
	var b strings.Builder
	b.WriteString(KindJPCERT + "\x00" + a.Rule + "\x00" + a.Host + "\x00" + a.Title)
	fields, ok := identityFields(a)
	if !ok {
		b.WriteString("\x00" + a.Summary)
	}
	for _, f := range fields {
		b.WriteString("\x00" + f + "=" + a.Fields[f])
	}
	return b.String()
}

// identityFields are the fields naming a finding of each analysis, as the
// analysis groups its findings (see each detector's Group key).
func identityFields(a *alert.Alert) ([]string, bool) {
	switch a.Rule {
	case "J1": // recipient (host), spoofed display address, real sender
		return []string{"display_address", "from_address"}, true
	case "J2": // recipient (host), kind, attachment name
		return []string{"kind", "attachment"}, true
	case "J3": // source (host), destination, port
		return []string{"dst_ip", "dst_port"}, true
	case "J4":
		return []string{"dst_ip", "dst_port", "kind"}, true
	case "J5": // host, indicator
		return []string{"indicator"}, true
	case "J6": // client (host), CONNECT host and port
		return []string{"dst", "dst_port"}, true
	case "J7": // client (host), User-Agent
		return []string{"user_agent"}, true
	case "J8", "J9", "J10": // client (host), destination host
		return []string{"domain"}, true
	case "J11": // client (host), destination and port (bulk: the title)
		return []string{"dst_ip", "dst_port"}, true
	case "J12": // computer (host), event id
		return []string{"event_id"}, true
	case "J13": // per check: admin and source, account and computer, host and day, host
		if a.Fields["check"] == "privileges" {
			return []string{"check", "account", "computer"}, true
		}
		return []string{"check", "account", "src", "day"}, true
	}
	return nil, false
}
