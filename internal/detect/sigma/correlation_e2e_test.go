package sigma

import (
	"archive/zip"
	"bufio"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/parse/winjson"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// End to end: rule files loaded by the loader, events parsed by kizuki's
// Windows JSON reader, base rules run by the Matcher, their matches fed to
// the Correlator in time order, as the hunt CLI does.
//
// The events are a real failed logon (4625) and a real successful logon
// (4624) from an OTRF Security Datasets recording, replayed with new times,
// accounts and source addresses (the datasets README's way to get volume).

const mordorLogons = "windows/mordor/atomic/windows/defense_evasion/host/auditpol_system_user_auditpolicy_modification.zip"

// logonTemplates returns the recording's first 4625 and 4624 JSON lines.
func logonTemplates(t *testing.T) (failed, success string) {
	t.Helper()
	z, err := zip.OpenReader(testutil.Dataset(t, mordorLogons))
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	if len(z.File) != 1 {
		t.Fatalf("%s: %d files, want 1", mordorLogons, len(z.File))
	}
	f, err := z.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() && (failed == "" || success == "") {
		l := sc.Text()
		switch {
		case failed == "" && strings.Contains(l, `"EventID":4625,`):
			failed = l
		case success == "" && strings.Contains(l, `"EventID":4624,`) && strings.Contains(l, `"LogonType":"5"`):
			success = l
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if failed == "" || success == "" {
		t.Fatalf("%s: no 4625 or 4624 found", mordorLogons)
	}
	return failed, success
}

// replay rewrites a recorded JSON event with a new time, account and source
// address and parses it as kizuki reads such a file.
func replay(t *testing.T, tmpl string, at time.Time, line int64, user, ip string) *event.Event {
	t.Helper()
	rec := tmpl
	for _, kv := range [][2]string{{"TimeCreated", at.Format(event.TimeFormat)}, {"@timestamp", at.Format(event.TimeFormat)},
		{"TargetUserName", user}, {"IpAddress", ip}} {
		i := strings.Index(rec, `"`+kv[0]+`":"`)
		if i < 0 {
			t.Fatalf("template has no %s", kv[0])
		}
		i += len(kv[0]) + 4
		j := strings.IndexByte(rec[i:], '"')
		rec = rec[:i] + kv[1] + rec[i+j:]
	}
	ev := &event.Event{Source: "winjson", Raw: rec, Origin: event.Origin{File: "replayed-security.json", Line: line}}
	if err := winjson.New().Parse([]byte(rec), ev, parse.NewContext(time.UTC, time.Time{})); err != nil {
		t.Fatal(err)
	}
	if !ev.Time.Equal(at) {
		t.Fatalf("replayed event time %v, want %v", ev.Time, at)
	}
	return ev
}

// e2eRules are base rules as SigmaHQ writes them and the correlations of
// requirements A5 (brute force) and A8 (password spraying), and the
// specification's failed-then-successful example, in rule files.
const e2eRules = `title: Failed logon
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_logon
status: test
author: kizuki tests
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
    condition: selection
level: low
---
title: Successful logon
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
name: successful_logon
author: kizuki tests
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4624
    condition: selection
level: informational
---
title: Brute force from one address
id: 0e95725d-7320-415d-80f7-004da920fc11
author: kizuki tests
correlation:
    type: event_count
    rules:
        - failed_logon
    group-by:
        - IpAddress
    timespan: 1m
    condition:
        gte: 5
level: high
---
title: Password spraying from one address
id: 0e95725d-7320-415d-80f7-004da920fc12
author: kizuki tests
correlation:
    type: value_count
    rules:
        - failed_logon
    group-by:
        - IpAddress
    timespan: 5m
    condition:
        field: TargetUserName
        gte: 10
level: high
---
title: Many failed logons of one account
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
name: multiple_failed_logon
author: kizuki tests
correlation:
    type: event_count
    rules:
        - failed_logon
    group-by:
        - TargetUserName
    timespan: 10m
    condition:
        gte: 10
---
title: Failed logons followed by a successful logon
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
author: kizuki tests
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_logon
        - successful_logon
    group-by:
        - TargetUserName
    timespan: 10m
level: critical
`

type e2eRun struct {
	t       *testing.T
	rs      *Ruleset
	m       *Matcher
	c       *Correlator
	matches []*CorrelationMatch
	own     []*Rule // base-rule matches that report on their own
}

func newE2E(t *testing.T) *e2eRun {
	rs, errs := LoadBytes("mr_logons.yml", []byte(e2eRules), Options{})
	for _, e := range errs {
		t.Fatal(e)
	}
	if len(rs.Correlations()) != 4 || len(rs.Rules()) != 2 {
		t.Fatalf("loaded %d correlations and %d rules", len(rs.Correlations()), len(rs.Rules()))
	}
	return &e2eRun{t: t, rs: rs, m: rs.NewMatcher(), c: rs.NewCorrelator()}
}

func (r *e2eRun) feed(evs ...*event.Event) {
	for _, ev := range evs {
		r.m.Match(ev, func(rule *Rule) {
			if r.rs.RuleOutput(rule) {
				r.own = append(r.own, rule)
			}
			r.c.Observe(rule, ev, func(m *CorrelationMatch) { r.matches = append(r.matches, m) })
		})
	}
}

func (r *e2eRun) flush() []string {
	r.c.Flush(func(m *CorrelationMatch) { r.matches = append(r.matches, m) })
	var out []string
	for _, m := range r.matches {
		out = append(out, m.Correlation.Title+": "+m.Summary())
	}
	return out
}

func TestCorrelationEndToEndBruteForce(t *testing.T) {
	failed, _ := logonTemplates(t)
	start := time.Date(2022, 8, 18, 7, 0, 0, 0, time.UTC)
	r := newE2E(t)
	// 10.10.10.66: five failures of one account within 59 s.
	for i := range 5 {
		r.feed(replay(t, failed, start.Add(time.Duration(i)*59*time.Second/4), int64(i+1), "pedro-admin", "10.10.10.66"))
	}
	// 10.10.10.67, later: four failures, then a fifth 61 s after the first.
	at := start.Add(10 * time.Minute)
	for i, off := range []time.Duration{0, 10, 20, 30, 61} {
		r.feed(replay(t, failed, at.Add(off*time.Second), int64(10+i), "backup", "10.10.10.67"))
	}
	got := r.flush()
	want := "Brute force from one address: event_count 5 (>= 5) within 1m for IpAddress=10.10.10.66"
	if len(got) != 1 || got[0] != want {
		t.Fatalf("matches:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
	m := r.matches[0]
	if len(m.Evidence) != 5 || m.Evidence[0].Origin.Line != 1 || !strings.Contains(m.Evidence[4].Raw, `"IpAddress":"10.10.10.66"`) ||
		m.Evidence[0].Rule.Title != "Failed logon" || m.Correlation.Author != "kizuki tests" {
		t.Errorf("evidence %+v", m.Evidence)
	}
	if len(r.own) != 0 {
		t.Errorf("failed_logon reported on its own %d times; its correlations have generate: false", len(r.own))
	}
}

func TestCorrelationEndToEndPasswordSpraying(t *testing.T) {
	failed, _ := logonTemplates(t)
	start := time.Date(2022, 8, 18, 7, 0, 0, 0, time.UTC)
	r := newE2E(t)
	// 192.168.2.20 tries ten accounts, one every 20 s; 192.168.2.21 nine.
	for i := range 10 {
		r.feed(replay(t, failed, start.Add(time.Duration(i)*20*time.Second), int64(2*i), fmt.Sprintf("user%02d", i), "192.168.2.20"))
		if i < 9 {
			r.feed(replay(t, failed, start.Add(time.Duration(i)*20*time.Second+time.Second), int64(2*i+1), fmt.Sprintf("user%02d", i), "192.168.2.21"))
		}
	}
	got := r.flush()
	var spray []*CorrelationMatch
	for _, m := range r.matches {
		if m.Correlation.Type == CorrValueCount {
			spray = append(spray, m)
		}
	}
	if len(spray) != 1 || spray[0].Summary() != "value_count 10 (>= 10) within 5m for IpAddress=192.168.2.20" {
		t.Fatalf("matches:\n%s", strings.Join(got, "\n"))
	}
	if v := spray[0].Values; len(v) != 10 || v[0] != "user00" || v[9] != "user09" {
		t.Errorf("accounts %v", v)
	}
	// Nothing else: at most 4 failures from one address fall within any
	// minute, and no account failed more than twice.
	for _, m := range r.matches {
		if m.Correlation.Type != CorrValueCount {
			t.Errorf("unexpected %s", m.Summary())
		}
	}
}

// The specification's example: ten failures of one account, then its
// successful logon within ten minutes.
func TestCorrelationEndToEndFailedThenSuccess(t *testing.T) {
	failed, success := logonTemplates(t)
	start := time.Date(2022, 8, 18, 7, 0, 0, 0, time.UTC)
	run := func(successAfter time.Duration) (*e2eRun, []*CorrelationMatch) {
		r := newE2E(t)
		for i := range 10 {
			// one failure every 30 s from ten addresses: no brute force
			r.feed(replay(t, failed, start.Add(time.Duration(i)*30*time.Second), int64(i+1), "administrator", fmt.Sprintf("10.0.5.%d", i+1)))
		}
		r.feed(replay(t, success, start.Add(270*time.Second+successAfter), 11, "administrator", "10.0.5.10"))
		r.flush()
		var out []*CorrelationMatch
		for _, m := range r.matches {
			if m.Correlation.Type == CorrTemporalOrdered {
				out = append(out, m)
			}
		}
		return r, out
	}
	r, ms := run(9 * time.Minute)
	if len(ms) != 1 || len(r.matches) != 1 {
		t.Fatalf("%d temporal_ordered matches of %d; want 1 of 1 (the inner event_count is silenced)", len(ms), len(r.matches))
	}
	m := ms[0]
	if m.Correlation.Level != "critical" || len(m.Parts) != 1 || m.Parts[0].Value != 10 || len(m.AllEvidence()) != 11 {
		t.Errorf("match %s, %d parts, %d evidence", m.Summary(), len(m.Parts), len(m.AllEvidence()))
	}
	if all := m.AllEvidence(); all[10].Rule.Title != "Successful logon" || !strings.Contains(all[10].Raw, `"EventID":4624`) {
		t.Errorf("last evidence %+v", all[10])
	}
	// Both base rules feed generate: false correlations: neither reports on
	// its own.
	if len(r.own) != 0 {
		t.Errorf("own matches %v", r.own)
	}
	if _, ms := run(10*time.Minute + time.Millisecond); len(ms) != 0 {
		t.Errorf("success 10m+1ms after the 10th failure: %d matches", len(ms))
	}
}

// A broken correlation in a rule file is a LoadError of its own; the rules
// and correlations around it still load.
func TestCorrelationEndToEndLoadErrors(t *testing.T) {
	file := e2eRules + `---
title: Refers to a rule nobody wrote
correlation:
    type: event_count
    rules: [no_such_rule]
    group-by: [IpAddress]
    timespan: 1m
    condition: {gte: 5}
---
title: Misspelt
correlation:
    type: event_count
    rules: [failed_logon]
    groupby: [IpAddress]
    timespan: 1m
    condition: {gte: 5}
`
	rs, errs := LoadBytes("mr_logons.yml", []byte(file), Options{})
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	if len(errs) != 2 || !strings.Contains(msgs[0], "correlation.groupby is not a correlation attribute") ||
		!strings.Contains(msgs[1], `rule "no_such_rule" is not loaded`) || !strings.Contains(msgs[1], "Refers to a rule nobody wrote") {
		t.Errorf("errors:\n%s", strings.Join(msgs, "\n"))
	}
	if len(rs.Correlations()) != 4 || len(rs.Rules()) != 2 {
		t.Errorf("loaded %d correlations and %d rules", len(rs.Correlations()), len(rs.Rules()))
	}
}
