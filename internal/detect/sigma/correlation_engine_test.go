package sigma

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse/winxml"
)

// Base rules as the loader would make them; the Correlator only needs their
// identity (ids and names are what correlations refer to).
var (
	ruleFailedLogon = func() *Rule {
		return &Rule{ID: "53ba33fd-3a50-4468-a5ef-c583635cfa92", Name: "failed_login", Title: "Single failed login", Level: "low"}
	}
	ruleSuccessLogon = func() *Rule {
		return &Rule{ID: "4d0a2c83-c62c-4ed4-b475-c7e23a9269b8", Name: "successful_login", Title: "Successful login", Level: "low"}
	}
)

// corrSet builds a rule set from base rules and correlation documents the way
// the loader does: parseCorrelation per document, then resolveCorrelations.
func corrSet(t testing.TB, rules []*Rule, docs ...string) *Ruleset {
	t.Helper()
	rs := &Ruleset{rules: rules}
	for i, d := range docs {
		for j, doc := range strings.Split(d, "\n---\n") {
			c, err := parseCorrelation(fmt.Sprintf("mr_test_%d_%d.yml", i, j), []byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			rs.correlations = append(rs.correlations, c)
		}
	}
	if errs := rs.resolveCorrelations(); len(errs) > 0 {
		t.Fatal(errs[0])
	}
	return rs
}

var t0 = time.Date(2024, 7, 25, 20, 54, 0, 0, time.UTC)

// winEvent builds an event the way kizuki's Windows readers do (the field
// names of internal/parse/winxml: System fields flattened, EventData names
// as they are), with a raw record in the shape wevtutil writes.
func winEvent(at time.Time, line int64, eventID string, data ...string) *event.Event {
	ev := &event.Event{Source: "winxml", Origin: event.Origin{File: "dc01-Security.xml", Line: line}}
	winxml.SetTime(ev, at)
	winxml.SetField(ev, "EventID", eventID)
	winxml.SetField(ev, "Channel", "Security")
	winxml.SetField(ev, "Computer", "DC01.corp.example.com")
	winxml.SetField(ev, "Provider_Name", "Microsoft-Windows-Security-Auditing")
	var raw strings.Builder
	raw.WriteString(`<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><EventID>` + eventID +
		`</EventID><TimeCreated SystemTime="` + at.Format(time.RFC3339Nano) + `"/><Channel>Security</Channel><Computer>DC01.corp.example.com</Computer></System><EventData>`)
	for i := 0; i+1 < len(data); i += 2 {
		winxml.SetDataField(ev, data[i], data[i+1])
		raw.WriteString(`<Data Name="` + data[i] + `">` + data[i+1] + `</Data>`)
	}
	raw.WriteString(`</EventData></Event>`)
	ev.Raw = raw.String()
	winxml.Normalize(ev)
	return ev
}

// failed4625 is a network logon failure (bad password) as Windows logs it.
func failed4625(at time.Time, line int64, user, ip string) *event.Event {
	return winEvent(at, line, "4625",
		"SubjectUserSid", "S-1-0-0", "SubjectUserName", "-", "SubjectDomainName", "-", "SubjectLogonId", "0x0",
		"TargetUserSid", "S-1-0-0", "TargetUserName", user, "TargetDomainName", "CORP",
		"Status", "0xc000006d", "FailureReason", "%%2313", "SubStatus", "0xc000006a", "LogonType", "3",
		"LogonProcessName", "NtLmSsp ", "AuthenticationPackageName", "NTLM", "WorkstationName", "KALI",
		"IpAddress", ip, "IpPort", "49152")
}

// success4624 is a successful network logon.
func success4624(at time.Time, line int64, user, ip string) *event.Event {
	return winEvent(at, line, "4624",
		"SubjectUserSid", "S-1-0-0", "TargetUserName", user, "TargetDomainName", "CORP", "LogonType", "3",
		"AuthenticationPackageName", "NTLM", "WorkstationName", "KALI", "IpAddress", ip, "IpPort", "49153")
}

// collect runs observations through a Correlator and returns every match,
// Flush included.
type corrRun struct {
	t  testing.TB
	c  *Correlator
	ms []*CorrelationMatch
}

func newRun(t testing.TB, rs *Ruleset) *corrRun {
	return &corrRun{t: t, c: rs.NewCorrelator()}
}

func (r *corrRun) emit(m *CorrelationMatch) { r.ms = append(r.ms, m) }

func (r *corrRun) observe(rule *Rule, ev *event.Event) *corrRun {
	r.c.Observe(rule, ev, r.emit)
	return r
}

func (r *corrRun) flush() []*CorrelationMatch {
	r.c.Flush(r.emit)
	return r.ms
}

const bruteForce = `title: Brute force from one address
id: 0e95725d-7320-415d-80f7-004da920fc11
author: kizuki tests
level: high
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - IpAddress
    timespan: 1m
    condition:
        gte: 5
`

// Five failed logons from one address within one minute fire, the fifth
// exactly one minute after the first included; a millisecond later, or one
// logon short, they do not.
func TestCorrelatorEventCount(t *testing.T) {
	failed := ruleFailedLogon()
	run := func(offsets ...time.Duration) []*CorrelationMatch {
		r := newRun(t, corrSet(t, []*Rule{failed}, bruteForce))
		for i, off := range offsets {
			r.observe(failed, failed4625(t0.Add(off), int64(100+i), fmt.Sprintf("user%d", i), "203.0.113.7"))
		}
		return r.flush()
	}
	ms := run(0, 15*time.Second, 30*time.Second, 45*time.Second, time.Minute)
	if len(ms) != 1 {
		t.Fatalf("5 failures within exactly 1m: %d matches, want 1", len(ms))
	}
	m := ms[0]
	if m.Value != 5 || m.Count != 5 || !m.First.Equal(t0) || !m.Last.Equal(t0.Add(time.Minute)) {
		t.Errorf("value %v count %d first %v last %v", m.Value, m.Count, m.First, m.Last)
	}
	if v, ok := m.GroupValue("IpAddress"); !ok || v != "203.0.113.7" || len(m.Group) != 1 {
		t.Errorf("group %+v", m.Group)
	}
	if len(m.Evidence) != 5 || m.EvidenceOmitted != 0 {
		t.Fatalf("evidence %d omitted %d, want 5 and 0", len(m.Evidence), m.EvidenceOmitted)
	}
	for i, e := range m.Evidence {
		if e.Origin.Line != int64(100+i) || e.Rule != failed || !strings.Contains(e.Raw, `<Data Name="TargetUserName">user`+fmt.Sprint(i)) {
			t.Errorf("evidence %d: origin %v rule %v raw %.80q", i, e.Origin, e.Rule, e.Raw)
		}
	}
	if got := m.Summary(); got != "event_count 5 (>= 5) within 1m for IpAddress=203.0.113.7" {
		t.Errorf("summary %q", got)
	}
	if m.Correlation.Author != "kizuki tests" || m.Correlation.Level != "high" {
		t.Errorf("correlation metadata lost: %+v", m.Correlation)
	}

	if ms := run(0, 15*time.Second, 30*time.Second, 45*time.Second, time.Minute+time.Millisecond); len(ms) != 0 {
		t.Errorf("5th failure 1m+1ms after the 1st: %d matches, want 0", len(ms))
	}
	if ms := run(0, 15*time.Second, 30*time.Second, 45*time.Second); len(ms) != 0 {
		t.Errorf("4 failures: %d matches, want 0", len(ms))
	}
	// The window slides: the 1st, at 0, is out of reach at 61s; the 2nd to
	// 6th are within 1m.
	if ms := run(0, 30*time.Second, 40*time.Second, 50*time.Second, 61*time.Second, 62*time.Second); len(ms) != 1 || !ms[0].First.Equal(t0.Add(30*time.Second)) {
		t.Errorf("sliding window: %d matches %v", len(ms), ms)
	}
	// Observations are consumed by a match: 10 failures are 2 matches.
	var ten []time.Duration
	for i := range 10 {
		ten = append(ten, time.Duration(i)*time.Second)
	}
	if ms := run(ten...); len(ms) != 2 || ms[1].First != t0.Add(5*time.Second) {
		t.Errorf("10 failures: %d matches, want 2 of 5 each", len(ms))
	}
}

// Groups are counted apart; an event lacking a group-by field is not
// counted; an empty value and Windows' "-" are values like others.
func TestCorrelatorGroupBy(t *testing.T) {
	failed := ruleFailedLogon()
	r := newRun(t, corrSet(t, []*Rule{failed}, bruteForce))
	for i := range 8 {
		ip := []string{"198.51.100.1", "198.51.100.2"}[i%2]
		r.observe(failed, failed4625(t0.Add(time.Duration(i)*time.Second), int64(i+1), "alice", ip))
	}
	if ms := r.flush(); len(ms) != 0 {
		t.Fatalf("4 failures from each of two addresses: %d matches, want 0", len(ms))
	}

	r = newRun(t, corrSet(t, []*Rule{failed}, bruteForce))
	for i := range 5 {
		ev := failed4625(t0.Add(time.Duration(i)*time.Second), int64(i+1), "alice", "-")
		r.observe(failed, ev)
	}
	noIP := winEvent(t0, 9, "4625", "TargetUserName", "alice")
	r.observe(failed, noIP)
	ms := r.flush()
	if len(ms) != 1 || ms[0].Group[0].Value != "-" {
		t.Fatalf("5 local failures (IpAddress -): %v", ms)
	}
	st := r.c.Stats()[0]
	if st.NoGroupField != 1 || st.Observed != 6 || st.Matches != 1 {
		t.Errorf("stats %+v", st)
	}

	// Two group-by fields are ANDed.
	twoFields := strings.Replace(bruteForce, "        - IpAddress\n", "        - TargetUserName\n        - TargetDomainName\n", 1)
	r = newRun(t, corrSet(t, []*Rule{failed}, twoFields))
	for i := range 5 {
		ev := failed4625(t0.Add(time.Duration(i)*time.Second), int64(i+1), "alice", "10.0.0.1")
		if i == 4 {
			winxml.SetDataField(ev, "TargetDomainName", "OTHER")
		}
		r.observe(failed, ev)
	}
	r.observe(failed, failed4625(t0.Add(5*time.Second), 6, "alice", "10.0.0.2"))
	ms = r.flush()
	if len(ms) != 1 || ms[0].Summary() != "event_count 5 (>= 5) within 1m for TargetUserName=alice, TargetDomainName=CORP" {
		t.Fatalf("two group-by fields: %d matches %v", len(ms), ms)
	}
}

const passwordSpray = `title: Password spraying
author: kizuki tests
correlation:
    type: value_count
    rules:
        - failed_login
    group-by:
        - IpAddress
    timespan: 5m
    condition:
        field: TargetUserName
        gte: 10
`

// One address failing against ten distinct accounts within five minutes is
// spraying; nine accounts tried many times are not.
func TestCorrelatorValueCountSpraying(t *testing.T) {
	failed := ruleFailedLogon()
	r := newRun(t, corrSet(t, []*Rule{failed}, passwordSpray))
	line := int64(0)
	for round := range 3 {
		for u := range 9 {
			line++
			r.observe(failed, failed4625(t0.Add(time.Duration(line)*time.Second), line, fmt.Sprintf("user%02d", u), "192.0.2.50"))
		}
		_ = round
	}
	if len(r.ms) != 0 {
		t.Fatalf("9 accounts ×3: %d matches", len(r.ms))
	}
	line++
	r.observe(failed, failed4625(t0.Add(time.Duration(line)*time.Second), line, "svc_backup", "192.0.2.50"))
	ms := r.flush()
	if len(ms) != 1 {
		t.Fatalf("10th account: %d matches, want 1", len(ms))
	}
	m := ms[0]
	if m.Value != 10 || m.Count != 28 || len(m.Values) != 10 || m.Values[0] != "svc_backup" || m.Values[1] != "user00" {
		t.Errorf("value %v count %d values %v", m.Value, m.Count, m.Values)
	}
	// Evidence: the first failure of each account, and the 10th account's.
	users := map[string]bool{}
	for _, e := range m.Evidence {
		users[e.Raw[strings.Index(e.Raw, `"TargetUserName">`)+17:][:6]] = true
	}
	if len(m.Evidence) != 10 || len(users) != 10 || m.EvidenceOmitted != 18 {
		t.Errorf("evidence %d (%d accounts) omitted %d", len(m.Evidence), len(users), m.EvidenceOmitted)
	}

	// The accounts must fall within 5 minutes of each other.
	r = newRun(t, corrSet(t, []*Rule{failed}, passwordSpray))
	for u := range 10 {
		r.observe(failed, failed4625(t0.Add(time.Duration(u)*34*time.Second), int64(u), fmt.Sprintf("user%02d", u), "192.0.2.50"))
	}
	if ms := r.flush(); len(ms) != 0 {
		t.Errorf("10 accounts over 5m06s: %d matches, want 0", len(ms))
	}

	// Several fields: distinct (user, domain) pairs.
	pairs := strings.Replace(passwordSpray, "field: TargetUserName", "field: [TargetUserName, TargetDomainName]", 1)
	pairs = strings.Replace(pairs, "gte: 10", "gte: 2", 1)
	r = newRun(t, corrSet(t, []*Rule{failed}, pairs))
	a := failed4625(t0, 1, "alice", "192.0.2.50")
	b := failed4625(t0.Add(time.Second), 2, "alice", "192.0.2.50")
	winxml.SetDataField(b, "TargetDomainName", "LAB")
	r.observe(failed, a).observe(failed, b)
	if ms := r.flush(); len(ms) != 1 || strings.Join(ms[0].Values, ";") != "alice | CORP;alice | LAB" {
		t.Errorf("value tuples: %v", ms)
	}
}

// The specification's temporal example: three reconnaissance rules in any
// order within five minutes on one host by one user.
func TestCorrelatorTemporal(t *testing.T) {
	recon := []*Rule{
		{ID: "b1", Name: "recon_cmd_a", Title: "whoami"},
		{ID: "b2", Name: "recon_cmd_b", Title: "net group"},
		{ID: "b3", Name: "recon_cmd_c", Title: "nltest"},
	}
	doc := `title: Recon
correlation:
    type: temporal
    rules:
        - recon_cmd_a
        - recon_cmd_b
        - recon_cmd_c
    group-by:
        - Computer
        - User
    timespan: 5m
`
	proc := func(at time.Duration, line int64, user, image string) *event.Event {
		ev := winEvent(t0.Add(at), line, "1", "Image", image, "User", user, "CommandLine", image)
		winxml.SetField(ev, "Channel", "Microsoft-Windows-Sysmon/Operational")
		return ev
	}
	type obs struct {
		rule int
		at   time.Duration
		user string
	}
	run := func(seq ...obs) []*CorrelationMatch {
		r := newRun(t, corrSet(t, recon, doc))
		for i, o := range seq {
			r.observe(recon[o.rule], proc(o.at, int64(i+1), o.user, `C:\Windows\System32\`+recon[o.rule].Title+".exe"))
		}
		return r.flush()
	}
	ms := run(obs{1, 0, `CORP\bob`}, obs{2, 2 * time.Minute, `CORP\bob`}, obs{0, 5 * time.Minute, `CORP\bob`})
	if len(ms) != 1 || ms[0].Value != 3 || len(ms[0].Evidence) != 3 || ms[0].Evidence[0].Rule != recon[1] {
		t.Fatalf("b, c, a within 5m: %v", ms)
	}
	if ms := run(obs{1, 0, `CORP\bob`}, obs{2, 2 * time.Minute, `CORP\bob`}, obs{0, 5*time.Minute + time.Millisecond, `CORP\bob`}); len(ms) != 0 {
		t.Errorf("a 5m+1ms after b: %d matches", len(ms))
	}
	if ms := run(obs{1, 0, `CORP\bob`}, obs{2, time.Minute, `CORP\bob`}, obs{1, 2 * time.Minute, `CORP\bob`}); len(ms) != 0 {
		t.Errorf("a never seen: %d matches", len(ms))
	}
	if ms := run(obs{1, 0, `CORP\bob`}, obs{2, time.Minute, `CORP\bob`}, obs{0, 2 * time.Minute, `CORP\eve`}); len(ms) != 0 {
		t.Errorf("a by another user: %d matches", len(ms))
	}
	// A repeated rule keeps its newest observation: b at 0 is too old, b
	// again at 4m makes it.
	if ms := run(obs{1, 0, `CORP\bob`}, obs{2, 3 * time.Minute, `CORP\bob`}, obs{1, 4 * time.Minute, `CORP\bob`}, obs{0, 6 * time.Minute, `CORP\bob`}); len(ms) != 1 || !ms[0].First.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("b repeated: %v", ms)
	}
}

// temporal_ordered needs the listed order; it keeps the latest-starting
// partial sequence, so an early lone "a" does not hide a later full run.
func TestCorrelatorTemporalOrdered(t *testing.T) {
	rules := []*Rule{{ID: "oa", Name: "a"}, {ID: "ob", Name: "b"}, {ID: "oc", Name: "c"}}
	doc := `title: Ordered
correlation:
    type: temporal_ordered
    rules: [a, b, c]
    group-by: [Computer]
    timespan: 5m
`
	run := func(seq string, at ...time.Duration) []*CorrelationMatch {
		r := newRun(t, corrSet(t, rules, doc))
		for i, ch := range seq {
			r.observe(rules[ch-'a'], winEvent(t0.Add(at[i]), int64(i+1), "4688"))
		}
		return r.flush()
	}
	m := time.Minute
	if ms := run("abc", 0, m, 2*m); len(ms) != 1 || ms[0].Value != 3 || ms[0].Evidence[2].Origin.Line != 3 {
		t.Errorf("a b c: %v", ms)
	}
	if ms := run("cba", 0, m, 2*m); len(ms) != 0 {
		t.Errorf("c b a: %d matches", len(ms))
	}
	if ms := run("acbc", 0, m, 2*m, 3*m); len(ms) != 1 || ms[0].Evidence[1].Origin.Line != 3 || ms[0].Evidence[2].Origin.Line != 4 {
		t.Errorf("a c b c: %v", ms)
	}
	if ms := run("aabc", 0, 4*m, 5*m+30*time.Second, 8*m); len(ms) != 1 || !ms[0].First.Equal(t0.Add(4*m)) {
		t.Errorf("a a b c with only the second a in reach: %v", ms)
	}
	if ms := run("abc", 0, m, 5*m+time.Millisecond); len(ms) != 0 {
		t.Errorf("c 5m+1ms after a: %d matches", len(ms))
	}
	if ms := run("abc", 0, m, 5*m); len(ms) != 1 {
		t.Errorf("c exactly 5m after a: %d matches, want 1", len(ms))
	}
}

// The specification's complete example, chained: ten failed logons of one
// user (an event_count) followed by a successful logon of that user within
// ten minutes. Its field "User" is TargetUserName in Windows logon events.
func TestCorrelatorChainedSpecExample(t *testing.T) {
	doc := `title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
status: experimental
description: Detects multiple failed logins by a single user followed by a successful login of that user
references:
    - https://reference.com
author: Florian Roth (Nextron Systems)
date: 2023-06-16
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - TargetUserName
    timespan: 10m
falsepositives:
    - Unlikely
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
description: Detects multiple failed logins within a certain amount of time
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - TargetUserName
    timespan: 10m
    condition:
        gte: 10`
	failed, success := ruleFailedLogon(), ruleSuccessLogon()
	run := func(successAt time.Duration, user string) (*corrRun, []*CorrelationMatch) {
		rs := corrSet(t, []*Rule{failed, success}, doc)
		r := newRun(t, rs)
		done := false
		for i := range 12 {
			at := time.Duration(i) * 20 * time.Second
			if !done && successAt < at {
				r.observe(success, success4624(t0.Add(successAt), 99, user, "198.51.100.9"))
				done = true
			}
			r.observe(failed, failed4625(t0.Add(at), int64(i+1), "administrator", "198.51.100.9"))
		}
		if !done {
			r.observe(success, success4624(t0.Add(successAt), 99, user, "198.51.100.9"))
		}
		return r, r.flush()
	}
	r, ms := run(5*time.Minute, "administrator")
	if len(ms) != 1 {
		t.Fatalf("10 failures then success: %d matches, want 1 (the inner event_count is not reported)", len(ms))
	}
	m := ms[0]
	if m.Correlation.ID != "b180ead8-d58f-40b2-ae54-c8940995b9b6" || m.Value != 2 || len(m.Parts) != 1 || len(m.Evidence) != 1 {
		t.Fatalf("match %+v", m)
	}
	inner := m.Parts[0]
	if inner.Correlation.Name != "multiple_failed_login" || inner.Value != 10 || len(inner.Evidence) != 10 {
		t.Errorf("inner match %+v", inner)
	}
	if !m.First.Equal(t0.Add(180*time.Second)) || !m.Last.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("window %v – %v: want the 10th failure to the success", m.First, m.Last)
	}
	if all := m.AllEvidence(); len(all) != 11 || all[10].Origin.Line != 99 {
		t.Errorf("all evidence: %d records", len(all))
	}
	stats := r.c.Stats()
	if stats[0].Correlation.Name != "multiple_failed_login" || stats[0].Matches != 1 || stats[1].Matches != 1 {
		t.Errorf("stats (inner first): %+v", stats)
	}
	if _, ms := run(150*time.Second, "administrator"); len(ms) != 0 {
		t.Errorf("success before the 10th failure: %d matches", len(ms))
	}
	if _, ms := run(5*time.Minute, "guest"); len(ms) != 0 {
		t.Errorf("success of another user: %d matches", len(ms))
	}
	if _, ms := run(180*time.Second+10*time.Minute+time.Millisecond, "administrator"); len(ms) != 0 {
		t.Errorf("success 10m+1ms after the 10th failure: %d matches", len(ms))
	}
}

// The specification's aliases example: the same address as the destination
// of an HTTP 500 and the source of a new connection.
func TestCorrelatorAliases(t *testing.T) {
	internalError := &Rule{Name: "internal_error", Title: "HTTP 500"}
	newConn := &Rule{Name: "new_network_connection", Title: "New connection"}
	doc := `title: —
id: —
correlation:
    type: temporal
    rules:
        - internal_error
        - new_network_connection
    group-by:
        - internal_ip
        - remote_ip
    timespan: 10s
    aliases:
        internal_ip:
            internal_error: destination.ip
            new_network_connection: source.ip
        remote_ip:
            internal_error: source.ip
            new_network_connection: destination.ip
`
	ecs := func(at time.Duration, line int64, kv ...string) *event.Event {
		ev := &event.Event{Time: t0.Add(at), Source: "jsonl", Origin: event.Origin{File: "ecs.json", Line: line}, Raw: strings.Join(kv, " ")}
		for i := 0; i+1 < len(kv); i += 2 {
			ev.SetExtra(kv[i], kv[i+1])
		}
		return ev
	}
	run := func(connSrc, connDst string, at time.Duration) []*CorrelationMatch {
		r := newRun(t, corrSet(t, []*Rule{internalError, newConn}, doc))
		r.observe(internalError, ecs(0, 1, "http.response.status_code", "500", "source.ip", "203.0.113.5", "destination.ip", "10.1.1.1"))
		r.observe(newConn, ecs(at, 2, "event.category", "network", "source.ip", connSrc, "destination.ip", connDst))
		return r.flush()
	}
	ms := run("10.1.1.1", "203.0.113.5", 10*time.Second)
	if len(ms) != 1 || ms[0].Summary() != "temporal 2 (>= 2) within 10s for internal_ip=10.1.1.1, remote_ip=203.0.113.5" {
		t.Fatalf("aliased addresses: %v", ms)
	}
	if ms := run("203.0.113.5", "10.1.1.1", 5*time.Second); len(ms) != 0 {
		t.Errorf("addresses the wrong way round: %d matches", len(ms))
	}
	if ms := run("10.1.1.1", "203.0.113.5", 11*time.Second); len(ms) != 0 {
		t.Errorf("11s apart: %d matches", len(ms))
	}
}

// value_sum fires as soon as the sum passes; value_avg and value_percentile
// are decided over a whole window.
func TestCorrelatorValueMetrics(t *testing.T) {
	upload := &Rule{Name: "website_access", Title: "Proxy upload"}
	proxy := func(at time.Duration, line int64, bytesOut, ms string) *event.Event {
		ev := &event.Event{Time: t0.Add(at), Source: "squid", Origin: event.Origin{File: "access.log", Line: line},
			Raw: fmt.Sprintf("%d.000 %s 10.0.0.8 TCP_MISS/200 %s POST http://files.example/upload alice HIER_DIRECT/203.0.113.80 -", t0.Add(at).Unix(), ms, bytesOut)}
		ev.Set(event.SrcIP, "10.0.0.8")
		ev.Set(event.User, "alice")
		ev.Set(event.BytesOut, bytesOut)
		ev.Set(event.Duration, ms)
		return ev
	}
	sum := `title: Possible Exfiltration to Website
correlation:
    type: value_sum
    rules:
        - website_access
    group-by:
        - src_ip
        - user
    timespan: 1h
    condition:
        field: bytes_out
        gt: 1000000
`
	r := newRun(t, corrSet(t, []*Rule{upload}, sum))
	r.observe(upload, proxy(0, 1, "400000", "120"))
	r.observe(upload, proxy(10*time.Minute, 2, "400000", "120"))
	r.observe(upload, proxy(20*time.Minute, 3, "not-a-number", "1"))
	if len(r.ms) != 0 {
		t.Fatal("800 kB must not fire")
	}
	r.observe(upload, proxy(59*time.Minute, 4, "200001", "120"))
	if len(r.ms) != 1 || r.ms[0].Value != 1000001 || r.ms[0].Count != 3 {
		t.Fatalf("1,000,001 bytes: %v", r.ms)
	}
	if st := r.c.Stats()[0]; st.NotNumeric != 1 {
		t.Errorf("stats %+v", st)
	}

	avg := `title: Suspicious average network traffic
correlation:
    type: value_avg
    rules:
        - website_access
    group-by:
        - src_ip
    timespan: 24h
    condition:
        field: bytes_out
        gt: 500
`
	r = newRun(t, corrSet(t, []*Rule{upload}, avg))
	r.observe(upload, proxy(0, 1, "2000", "1"))        // alone, 2000 > 500 …
	r.observe(upload, proxy(time.Hour, 2, "100", "1")) // … but the day averages
	r.observe(upload, proxy(2*time.Hour, 3, "100", "1"))
	r.observe(upload, proxy(3*time.Hour, 4, "100", "1")) // 575
	if len(r.ms) != 0 {
		t.Fatal("value_avg must wait for the window to close")
	}
	r.observe(upload, proxy(23*time.Hour, 5, "100", "1")) // 480 over the day
	if ms := r.flush(); len(ms) != 0 {
		t.Errorf("average 480: %v", ms)
	}
	r = newRun(t, corrSet(t, []*Rule{upload}, avg))
	r.observe(upload, proxy(0, 1, "2000", "1"))
	r.observe(upload, proxy(time.Hour, 2, "100", "1"))
	r.observe(upload, proxy(24*time.Hour+time.Millisecond, 3, "100", "1")) // next window
	if len(r.ms) != 1 || r.ms[0].Value != 1050 || r.ms[0].Count != 2 {
		t.Fatalf("first day closes when the next event is past it: %v", r.ms)
	}
	if ms := r.flush(); len(ms) != 1 {
		t.Errorf("second window (100) must not fire: %d matches", len(ms))
	}

	pct := `title: Slow uploads
correlation:
    type: value_percentile
    rules: [website_access]
    group-by: [src_ip]
    timespan: 1h
    condition:
        field: duration_ms
        percentile: 90
        gte: 5000
`
	r = newRun(t, corrSet(t, []*Rule{upload}, pct))
	for i := range 10 {
		d := "100"
		if i == 9 {
			d = "9000"
		}
		r.observe(upload, proxy(time.Duration(i)*time.Minute, int64(i), "1", d))
	}
	if ms := r.flush(); len(ms) != 0 {
		t.Errorf("one slow upload of ten (p90 = 100): %v", ms)
	}
	r = newRun(t, corrSet(t, []*Rule{upload}, pct))
	for i := range 10 {
		d := "100"
		if i >= 8 {
			d = "0x2328" // 9000, as Windows writes numbers
		}
		r.observe(upload, proxy(time.Duration(i)*time.Minute, int64(i), "1", d))
	}
	if ms := r.flush(); len(ms) != 1 || ms[0].Value != 9000 {
		t.Errorf("two slow uploads of ten (p90 = 9000): %v", ms)
	}
}

// A condition with an upper bound is decided once the window is over: a
// range fires for a burst inside it, not for a bigger one.
func TestCorrelatorUpperBounds(t *testing.T) {
	failed := ruleFailedLogon()
	doc := strings.Replace(bruteForce, "gte: 5", "gt: 2\n        lte: 4", 1)
	run := func(n int) []*CorrelationMatch {
		r := newRun(t, corrSet(t, []*Rule{failed}, doc))
		for i := range n {
			r.observe(failed, failed4625(t0.Add(time.Duration(i)*time.Second), int64(i), "bob", "10.9.9.9"))
		}
		if len(r.ms) != 0 {
			t.Fatalf("%d failures: fired before the window closed", n)
		}
		// Another address, two minutes later, closes the first window.
		r.observe(failed, failed4625(t0.Add(2*time.Minute), 100, "bob", "10.9.9.10"))
		r.observe(failed, failed4625(t0.Add(4*time.Minute), 101, "bob", "10.9.9.10"))
		return r.ms
	}
	for n, want := range map[int]int{2: 0, 3: 1, 4: 1, 5: 0, 9: 0} {
		if ms := run(n); len(ms) != want {
			t.Errorf("%d failures with gt 2, lte 4: %d matches, want %d", n, len(ms), want)
		}
	}
	// The window includes its end: 0, 30 s and exactly 60 s are three.
	r0 := newRun(t, corrSet(t, []*Rule{failed}, doc))
	for i := range 3 {
		r0.observe(failed, failed4625(t0.Add(time.Duration(i)*30*time.Second), int64(i), "bob", "10.9.9.9"))
	}
	if ms := r0.flush(); len(ms) != 1 || ms[0].Value != 3 {
		t.Errorf("three failures over exactly 1m: %v", ms)
	}
	// Windows decided together are reported in time order: 10.0.0.2's
	// (last at 20 s) before 10.0.0.1's (last at 50 s), whatever the order
	// the groups were created in.
	r0 = newRun(t, corrSet(t, []*Rule{failed}, doc))
	for i, o := range []struct {
		ip string
		at time.Duration
	}{{"10.0.0.1", 0}, {"10.0.0.2", 5}, {"10.0.0.2", 10}, {"10.0.0.2", 20}, {"10.0.0.1", 40}, {"10.0.0.1", 50}} {
		r0.observe(failed, failed4625(t0.Add(o.at*time.Second), int64(i), "bob", o.ip))
	}
	if ms := r0.flush(); len(ms) != 2 || ms[0].Group[0].Value != "10.0.0.2" || ms[1].Group[0].Value != "10.0.0.1" {
		t.Errorf("flush order: %v", ms)
	}
	// lt: a lone failure is "fewer than 2"; windows of one group do not
	// overlap, so a pair is one window of 2.
	doc = strings.Replace(bruteForce, "gte: 5", "lt: 2", 1)
	r := newRun(t, corrSet(t, []*Rule{failed}, doc))
	r.observe(failed, failed4625(t0, 1, "bob", "10.9.9.9"))
	r.observe(failed, failed4625(t0.Add(30*time.Second), 2, "bob", "10.9.9.9"))
	r.observe(failed, failed4625(t0.Add(5*time.Minute), 3, "bob", "10.9.9.9"))
	ms := r.flush()
	if len(ms) != 1 || ms[0].Evidence[0].Origin.Line != 3 {
		t.Errorf("lt 2: %v", ms)
	}
}

// generate: false (the default) silences the referenced rules and chained
// correlations; generate: true keeps them.
func TestCorrelationGenerate(t *testing.T) {
	failed, success, other := ruleFailedLogon(), ruleSuccessLogon(), &Rule{ID: "x", Title: "unrelated"}
	rs := corrSet(t, []*Rule{failed, success, other}, bruteForce)
	if rs.RuleOutput(failed) || !failed.Correlated {
		t.Errorf("failed_login: output %v correlated %v; want silenced and correlated", rs.RuleOutput(failed), failed.Correlated)
	}
	if !rs.RuleOutput(other) || other.Correlated || !rs.RuleOutput(success) {
		t.Error("unreferenced rules must report on their own")
	}
	if c := rs.NewCorrelator(); c.RuleOutput(failed) || !c.RuleOutput(other) || !c.RuleOutput(success) {
		t.Error("Correlator.RuleOutput disagrees with Ruleset.RuleOutput")
	}
	rs = corrSet(t, []*Rule{failed, success, other}, bruteForce+"generate: true\n")
	if !rs.RuleOutput(failed) || !failed.Correlated || !rs.NewCorrelator().RuleOutput(failed) {
		t.Errorf("generate: true: output %v correlated %v", rs.RuleOutput(failed), failed.Correlated)
	}
	// Referenced by two correlations, one silencing: silenced.
	rs = corrSet(t, []*Rule{failed, success, other}, bruteForce+"generate: true\n", passwordSpray)
	if rs.RuleOutput(failed) || rs.NewCorrelator().RuleOutput(failed) {
		t.Error("a rule silenced by one correlation must stay silent")
	}

	chain := `title: outer
correlation:
    type: event_count
    rules: [inner]
    group-by: [IpAddress]
    timespan: 1h
    condition: {gte: 1}
GENERATE
---
title: inner
name: inner
correlation:
    type: event_count
    rules: [failed_login]
    group-by: [IpAddress]
    timespan: 1m
    condition: {gte: 2}
`
	for _, gen := range []bool{false, true} {
		doc := strings.Replace(chain, "GENERATE", fmt.Sprintf("generate: %v", gen), 1)
		r := newRun(t, corrSet(t, []*Rule{failed}, doc))
		r.observe(failed, failed4625(t0, 1, "a", "10.0.0.1"))
		r.observe(failed, failed4625(t0.Add(time.Second), 2, "b", "10.0.0.1"))
		ms := r.flush()
		var titles []string
		for _, m := range ms {
			titles = append(titles, m.Correlation.Title)
		}
		want := "outer"
		if gen {
			want = "inner,outer"
		}
		if strings.Join(titles, ",") != want {
			t.Errorf("generate %v: matches %v, want %s", gen, titles, want)
		}
	}
}

// Input a little out of order is taken in; input older than a timespan
// behind the newest is counted as late; nothing panics.
func TestCorrelatorDisorder(t *testing.T) {
	failed := ruleFailedLogon()
	r := newRun(t, corrSet(t, []*Rule{failed}, bruteForce))
	for _, s := range []int{10, 12, 11, 14, 13} {
		r.observe(failed, failed4625(t0.Add(time.Duration(s)*time.Second), int64(s), "u", "10.0.0.1"))
	}
	if len(r.ms) != 1 || !r.ms[0].First.Equal(t0.Add(10*time.Second)) || !r.ms[0].Last.Equal(t0.Add(14*time.Second)) {
		t.Fatalf("shuffled within seconds: %v", r.ms)
	}
	for i, e := range r.ms[0].Evidence {
		if e.Origin.Line != int64(10+i) {
			t.Errorf("evidence %d out of time order: line %d", i, e.Origin.Line)
		}
	}
	r.observe(failed, failed4625(t0.Add(10*time.Minute), 1, "u", "10.0.0.1"))
	r.observe(failed, failed4625(t0.Add(time.Minute), 2, "u", "10.0.0.1"))
	r.observe(failed, winEvent(time.Time{}, 3, "4625", "IpAddress", "10.0.0.1"))
	st := r.c.Stats()[0]
	if st.Late != 1 || st.NoTime != 1 {
		t.Errorf("stats %+v", st)
	}
}

// Limits: groups, evidence and raw bytes are capped and the overflow counted.
func TestCorrelatorLimits(t *testing.T) {
	failed := ruleFailedLogon()
	rs := corrSet(t, []*Rule{failed}, bruteForce)
	c := rs.NewCorrelatorWithLimits(CorrelationLimits{MaxGroups: 2, MaxEvidence: 3, MaxRawBytes: 1500})
	var ms []*CorrelationMatch
	emit := func(m *CorrelationMatch) { ms = append(ms, m) }
	for i := range 3 {
		c.Observe(failed, failed4625(t0, int64(i), "u", fmt.Sprintf("10.0.0.%d", i)), emit)
	}
	for i := range 6 {
		c.Observe(failed, failed4625(t0.Add(time.Duration(i)*time.Second), int64(10+i), "u", "10.0.0.0"), emit)
	}
	if len(ms) != 1 {
		t.Fatalf("%d matches", len(ms))
	}
	m := ms[0]
	if len(m.Evidence) != 3 || m.EvidenceOmitted != 2 || m.Evidence[2].Origin.Line != 13 {
		t.Errorf("evidence %d omitted %d last line %d", len(m.Evidence), m.EvidenceOmitted, m.Evidence[len(m.Evidence)-1].Origin.Line)
	}
	st := c.Stats()[0]
	// 10.0.0.2 was refused; 10.0.0.1 is live, and 10.0.0.0 again (its 5th
	// and 6th observation came after the match consumed the first five).
	if st.GroupsDropped != 1 || st.LiveGroups != 2 || st.RawDropped == 0 || st.Observed != 9 {
		t.Errorf("stats %+v", st)
	}
	raw := 0
	for _, e := range m.Evidence {
		if e.Raw == "" {
			if !strings.Contains(e.Note, "budget") || e.Origin.File == "" {
				t.Errorf("evidence without raw must say why and keep its origin: %+v", e)
			}
		} else {
			raw++
		}
	}
	if raw == 0 || raw == len(m.Evidence) {
		t.Errorf("%d of %d evidence records kept their raw record under a 1500-byte budget", raw, len(m.Evidence))
	}
	c.Flush(emit)
	if c.rawHeld != 0 {
		t.Errorf("raw bytes held after Flush: %d", c.rawHeld)
	}
}

// Groups whose observations all left the window are evicted as time moves,
// so a long run keeps only the recent groups.
func TestCorrelatorEvictsOldGroups(t *testing.T) {
	failed := ruleFailedLogon()
	r := newRun(t, corrSet(t, []*Rule{failed}, bruteForce))
	for i := range 10000 {
		r.observe(failed, failed4625(t0.Add(time.Duration(i)*time.Second), int64(i), "u", fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255)))
	}
	st := r.c.Stats()[0]
	if st.LiveGroups > 130 || st.Matches != 0 {
		t.Errorf("one group a second for 10000s with a 1m window: %d live groups", st.LiveGroups)
	}
	if r.c.rawHeld <= 0 || r.c.rawHeld > int64(st.LiveGroups)*1000 {
		t.Errorf("raw bytes held %d for %d groups", r.c.rawHeld, st.LiveGroups)
	}
	r.flush()
	if st := r.c.Stats()[0]; st.LiveGroups != 0 || r.c.rawHeld != 0 {
		t.Errorf("after Flush: %d groups, %d raw bytes", st.LiveGroups, r.c.rawHeld)
	}
}

// A rule no correlation refers to costs nothing and is not wanted.
func TestCorrelatorUnreferencedRule(t *testing.T) {
	failed, other := ruleFailedLogon(), &Rule{ID: "other"}
	r := newRun(t, corrSet(t, []*Rule{failed, other}, bruteForce))
	if !r.c.Wants(failed) || r.c.Wants(other) {
		t.Error("Wants")
	}
	for i := range 10 {
		r.observe(other, failed4625(t0.Add(time.Duration(i)*time.Second), int64(i), "u", "10.0.0.1"))
	}
	if ms := r.flush(); len(ms) != 0 || r.c.Stats()[0].Observed != 0 {
		t.Errorf("unreferenced rule fed the correlation: %v", ms)
	}
}

// Temporal types under disorder: a late observation neither replaces a newer
// one of the same rule nor counts as following one it precedes in time.
func TestCorrelatorTemporalDisorder(t *testing.T) {
	rules := []*Rule{{ID: "da", Name: "a"}, {ID: "db", Name: "b"}, {ID: "dc", Name: "c"}}
	run := func(typ, seq string, at ...time.Duration) []*CorrelationMatch {
		doc := "title: d\ncorrelation: {type: " + typ + ", rules: [a, b, c], group-by: [Computer], timespan: 5m}\n"
		r := newRun(t, corrSet(t, rules, doc))
		for i, ch := range seq {
			r.observe(rules[ch-'a'], winEvent(t0.Add(at[i]), int64(i+1), "4688"))
		}
		return r.flush()
	}
	s := time.Second
	// b at 60s, then b at 30s arriving late: b at 60s is kept, so a at
	// 5m45s still sees it.
	if ms := run("temporal", "bbca", 60*s, 30*s, 200*s, 345*s); len(ms) != 1 || !ms[0].First.Equal(t0.Add(60*s)) {
		t.Errorf("temporal, late b: %v", ms)
	}
	// a at 60s, then a at 30s arriving late: the sequence keeps starting at
	// 60s, so c at 5m50s is in reach.
	if ms := run("temporal_ordered", "aabc", 60*s, 30*s, 310*s, 350*s); len(ms) != 1 || !ms[0].First.Equal(t0.Add(60*s)) {
		t.Errorf("temporal_ordered, late a: %v", ms)
	}
	// b arrives after a but happened before it: not in order.
	if ms := run("temporal_ordered", "abc", 10*s, 5*s, 20*s); len(ms) != 0 {
		t.Errorf("temporal_ordered, b before a in time: %v", ms)
	}
	// A later start replaces a complete-but-old prefix: a b at 0, 1m; a b
	// again at 4m, 4m30s; c at 6m is within 5m of the second a only.
	if ms := run("temporal_ordered", "ababc", 0, 60*s, 240*s, 270*s, 360*s); len(ms) != 1 || !ms[0].First.Equal(t0.Add(240*s)) {
		t.Errorf("temporal_ordered, second run: %v", ms)
	}
}

// value_sum slides: what left the window no longer counts.
func TestCorrelatorValueSumSlides(t *testing.T) {
	upload := &Rule{Name: "website_access"}
	doc := "title: s\ncorrelation: {type: value_sum, rules: [website_access], group-by: [src_ip], timespan: 1h, condition: {field: bytes_out, gt: 1000000}}\n"
	r := newRun(t, corrSet(t, []*Rule{upload}, doc))
	for i, n := range []string{"600000", "100000", "500000"} {
		ev := &event.Event{Time: t0.Add(time.Duration(i*61/2) * time.Minute), Raw: "upload " + n}
		ev.Set(event.SrcIP, "10.0.0.8")
		ev.Set(event.BytesOut, n)
		r.observe(upload, ev)
	}
	if ms := r.flush(); len(ms) != 0 {
		t.Errorf("600 kB, then 100 kB 30 minutes and 500 kB 61 minutes later: %v", ms)
	}
}

// A full group drops its oldest observation; a group table full of expired
// groups is swept to make room before a new group is refused.
func TestCorrelatorGroupAndEntryLimits(t *testing.T) {
	failed := ruleFailedLogon()
	doc := strings.Replace(bruteForce, "gte: 5", "gte: 4", 1)
	c := corrSet(t, []*Rule{failed}, doc).NewCorrelatorWithLimits(CorrelationLimits{MaxEntries: 3})
	var ms []*CorrelationMatch
	emit := func(m *CorrelationMatch) { ms = append(ms, m) }
	for i := range 6 {
		c.Observe(failed, failed4625(t0.Add(time.Duration(i)*time.Second), int64(i), "u", "10.0.0.1"), emit)
	}
	if st := c.Stats()[0]; len(ms) != 0 || st.EntriesDropped != 3 {
		t.Errorf("4 needed, 3 kept: %d matches, stats %+v", len(ms), st)
	}

	c = corrSet(t, []*Rule{failed}, bruteForce).NewCorrelatorWithLimits(CorrelationLimits{MaxGroups: 2})
	c.Observe(failed, failed4625(t0, 1, "u", "10.0.0.1"), emit)
	c.Observe(failed, failed4625(t0.Add(60*time.Second), 2, "u", "10.0.0.2"), emit) // a sweep runs here
	for i := range 5 {
		// 10.0.0.1 is expired at 100s, but no sweep is due until 120s.
		c.Observe(failed, failed4625(t0.Add(time.Duration(100+i)*time.Second), int64(3+i), "u", "10.0.0.3"), emit)
	}
	if st := c.Stats()[0]; len(ms) != 1 || st.GroupsDropped != 0 {
		t.Errorf("expired group not swept for a new one: %d matches, stats %+v", len(ms), st)
	}
}

// Evidence beyond the cap keeps the oldest and the newest.
func TestCorrelatorEvidenceCap(t *testing.T) {
	rules := []*Rule{{ID: "ea", Name: "a"}, {ID: "eb", Name: "b"}, {ID: "ec", Name: "c"}}
	doc := "title: e\ncorrelation: {type: temporal, rules: [a, b, c], group-by: [Computer], timespan: 5m}\n"
	c := corrSet(t, rules, doc).NewCorrelatorWithLimits(CorrelationLimits{MaxEvidence: 2})
	var ms []*CorrelationMatch
	for i, r := range rules {
		c.Observe(r, winEvent(t0.Add(time.Duration(i)*time.Second), int64(i+1), "4688"), func(m *CorrelationMatch) { ms = append(ms, m) })
	}
	if len(ms) != 1 || len(ms[0].Evidence) != 2 || ms[0].Evidence[0].Origin.Line != 1 || ms[0].Evidence[1].Origin.Line != 3 || ms[0].EvidenceOmitted != 1 {
		t.Fatalf("%v", ms)
	}
}

// corrPercentile is the nearest-rank percentile.
func TestCorrelationPercentile(t *testing.T) {
	var win []corrEntry
	for i := 10; i >= 1; i-- {
		win = append(win, corrEntry{num: float64(i)})
	}
	for p, want := range map[float64]float64{1: 1, 10: 1, 11: 2, 50: 5, 75: 8, 90: 9, 99: 10, 100: 10} {
		if got := corrPercentile(win, p); got != want {
			t.Errorf("p%v of 1..10 = %v, want %v", p, got, want)
		}
	}
	if got := corrPercentile(win[:1], 50); got != 10 {
		t.Errorf("p50 of one value = %v", got)
	}
}
