package sigma

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse/winxml"
)

// Helpers shared by the tests: events built the way the Windows readers
// build them, and one-rule rulesets from YAML.

const sysmonChannel = "Microsoft-Windows-Sysmon/Operational"

// sysmonEvent returns a Sysmon process-creation event (EventID 1) with the
// given EventData fields (name, value pairs). A value is stored even when
// empty, as the Windows readers keep <Data Name="X"/>.
func sysmonEvent(kv ...string) *event.Event {
	return winEv(sysmonChannel, "1", kv...)
}

// winEv returns a Windows event of channel and event id with the given
// EventData fields, normalized as winxml / winjson do.
func winEv(channel, eventID string, kv ...string) *event.Event {
	ev := &event.Event{Source: "winxml"}
	winxml.SetField(ev, "EventID", eventID)
	winxml.SetField(ev, "Channel", channel)
	winxml.SetField(ev, "Computer", "host1.example.local")
	for i := 0; i+1 < len(kv); i += 2 {
		winxml.SetDataField(ev, kv[i], kv[i+1])
	}
	winxml.Normalize(ev)
	return ev
}

// mustLoad loads YAML rules that must all load.
func mustLoad(t testing.TB, yaml string) *Ruleset {
	t.Helper()
	rs, errs := LoadBytes("test.yml", []byte(yaml), Options{})
	for _, e := range errs {
		t.Fatalf("load: %v", e)
	}
	return rs
}

// fired returns the titles of the rules of rs that fire on ev.
func fired(rs *Ruleset, ev *event.Event) []string {
	var out []string
	rs.NewMatcher().Match(ev, func(r *Rule) { out = append(out, r.Title) })
	return out
}

// procRule wraps a detection body (indented YAML lines under detection:)
// into a Windows process_creation rule.
func procRule(detection string) string {
	return "title: t\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n" + indent(detection, "    ") + "\n"
}

func indent(s, pre string) string {
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n")
}

// itemRule is a one-item process_creation rule: "key: value" as YAML.
func itemRule(key, value string) string {
	return procRule(fmt.Sprintf("sel:\n    %s: %s\ncondition: sel", key, value))
}

// matchCase checks one detection item against one field value: the core of
// the modifier table tests. value is YAML; fieldValue is the event's value
// of field (absent when field is "").
type matchCase struct {
	key, value string // "Field|mods", YAML value
	field, got string // event field and its value ("" field: absent)
	want       bool
}

func runMatchCases(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, c := range cases {
		rs, errs := LoadBytes("test.yml", []byte(itemRule(c.key, c.value)), Options{})
		if len(errs) > 0 {
			t.Errorf("%s: %s: load: %v", c.key, c.value, errs[0])
			continue
		}
		var ev *event.Event
		if c.field == "" {
			ev = sysmonEvent()
		} else {
			ev = sysmonEvent(c.field, c.got)
		}
		if got := len(fired(rs, ev)) == 1; got != c.want {
			t.Errorf("%s: %s on %s=%q: fired %v, want %v", c.key, c.value, c.field, c.got, got, c.want)
		}
	}
}

// loadErr returns the error of the one rule in yaml that must not load.
func loadErr(t *testing.T, yaml string) error {
	t.Helper()
	rs, errs := LoadBytes("bad.yml", []byte(yaml), Options{})
	if len(errs) != 1 {
		t.Fatalf("want one load error, got %d (rules loaded: %d)", len(errs), len(rs.Rules()))
	}
	return errs[0]
}
