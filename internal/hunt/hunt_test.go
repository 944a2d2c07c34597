package hunt

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// sprayRules: explicit-credential logons (4648) as a building block, and
// two correlations over them: many accounts tried by one account against
// one server within 10 minutes (password spraying, requirement A8), and
// an impossible threshold that must stay quiet.
const sprayRules = `title: Logon with explicit credentials
id: 6f1e6a1b-1c0e-4a55-9d0b-7c9d1f7f0a01
name: explicit_credential_logon
status: test
author: kizuki tests
logsource: {product: windows, service: security}
detection:
    selection: {EventID: 4648}
    condition: selection
level: informational
---
title: Password spraying with explicit credentials
id: 6f1e6a1b-1c0e-4a55-9d0b-7c9d1f7f0a02
status: test
author: kizuki tests
correlation:
    type: value_count
    rules: [explicit_credential_logon]
    group-by: [SubjectUserName, IpAddress]
    timespan: 10m
    condition: {field: TargetUserName, gte: 10}
level: high
---
title: Thousand accounts
id: 6f1e6a1b-1c0e-4a55-9d0b-7c9d1f7f0a03
status: test
author: kizuki tests
correlation:
    type: value_count
    rules: [explicit_credential_logon]
    group-by: [SubjectUserName]
    timespan: 10m
    condition: {field: TargetUserName, gte: 1000}
level: critical
`

// DeepBlueCLI's password-spray.evtx: 294 logons with explicit credentials
// by jwrig against 172.16.144.128, 41 accounts in five minutes. The hunt
// reads the .evtx, the base rule feeds the correlation, the correlation
// fires once with its group and evidence, the base rule's own matches stay
// out of the timeline (generate: false), and the log clearing of the same
// file is matched by the built-in pack in a second run.
func TestHuntCorrelationOnEVTX(t *testing.T) {
	evtx := testutil.Dataset(t, "windows/DeepBlueCLI/password-spray.evtx")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "spray.yml"), []byte(sprayRules), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), []string{evtx}, Options{RulePaths: []string{dir}, Profile: true})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	// Every 10 new accounts complete a window (a match uses up its
	// events): a 41-account spray fires several times, never more often
	// than once per 10 of its 294 attempts.
	if res.Events != 295 || res.Matches < 1 || res.Matches > 29 || res.Suppressed != 294 {
		t.Fatalf("events %d matches %d suppressed %d", res.Events, res.Matches, res.Suppressed)
	}
	// Profiling: the base rule's condition ran on each of the 294 events
	// its log source routes to it (4648), not on the log clearing (1102).
	if len(res.Costs) != 1 || res.Costs[0].Rule.Name != "explicit_credential_logon" || res.Costs[0].Evals != 294 || res.Costs[0].Time <= 0 {
		t.Errorf("costs %+v", res.Costs)
	}
	var got []*Match
	if err := res.Each(func(m *Match) error { c := *m; got = append(got, &c); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, m := range got {
		if m.Correlation == nil || m.Rule.Title != "Password spraying with explicit credentials" || m.Rule.Author != "kizuki tests" {
			t.Fatalf("match %+v", m)
		}
		c := m.Correlation
		if c.Value < 10 || len(c.Group) != 2 || c.Group[0].Value != "jwrig" || c.Group[1].Value != "172.16.144.128" {
			t.Errorf("correlation value %v group %+v", c.Value, c.Group)
		}
		if ev := c.AllEvidence(); len(ev) < 10 || !strings.HasPrefix(ev[0].Origin.String(), evtx+"#") {
			t.Errorf("evidence %+v", ev)
		}
	}
	// The first window starts at the first attempt.
	if first := got[0].Correlation.First; first.Format("15:04:05.000") != "19:27:02.847" {
		t.Errorf("first window starts %v", first)
	}
	var b strings.Builder
	if err := WriteTable(&b, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[correlation] Password spraying with explicit credentials", "value_count 10 (>= 10) within 10m for SubjectUserName=jwrig, IpAddress=172.16.144.128",
		"294 matches of rules used only by correlations not shown"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}

	res2, err := Run(context.Background(), []string{evtx}, Options{MinLevel: "high"})
	if err != nil {
		t.Fatal(err)
	}
	defer res2.Close()
	var titles []string
	res2.Each(func(m *Match) error { titles = append(titles, m.Rule.Title); return nil })
	if strings.Join(titles, "|") != "Security Event Log Cleared" {
		t.Errorf("built-in pack, high and above: %q", titles)
	}
}

// OTRF's recordings ship zipped: the hunt reads the JSON lines inside the
// archive, and the built-in pack finds the comsvcs.dll MiniDump of LSASS
// it records (in Security 4688 and in Sysmon 1), with the member as origin.
func TestHuntZippedRecording(t *testing.T) {
	zipped := testutil.Dataset(t, "windows/mordor/atomic/windows/credential_access/host/psh_lsass_memory_dump_comsvcs.zip")
	res, err := Run(context.Background(), []string{zipped}, Options{MinLevel: "high"})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	if len(res.Files) != 1 || res.Files[0].Format != "winjson" || res.Files[0].Compression != "zip" || res.Events < 100 {
		t.Fatalf("files %+v, %d events", res.Files[0], res.Events)
	}
	var channels []string
	res.Each(func(m *Match) error {
		if m.Rule.Title == "LSASS Memory Dump Through Comsvcs.dll" {
			channels = append(channels, m.Event.Get(event.Channel))
			if !strings.HasPrefix(m.Event.Origin.String(), zipped+"!") {
				t.Errorf("origin %s", m.Event.Origin)
			}
		}
		return nil
	})
	if strings.Join(channels, "|") != "Security|Microsoft-Windows-Sysmon/Operational" {
		t.Errorf("comsvcs matches in %q", channels)
	}
}

// Rendering each match when it is found (Options.Format) writes the same
// bytes as rendering the stored events at the end, in every format, with
// correlation matches among them; a Result rendered as one format refuses
// the others and Each.
func TestRenderWhenFound(t *testing.T) {
	windows := testutil.Dataset(t, "windows")
	rulesDir := testutil.Dataset(t, "sigma/rules/windows")
	corr := t.TempDir()
	if err := os.WriteFile(filepath.Join(corr, "spray.yml"), []byte(sprayRules), 0o644); err != nil {
		t.Fatal(err)
	}
	writers := map[string]func(io.Writer, *Result) error{"table": WriteTable, "json": WriteJSON, "csv": WriteCSV}
	// A small memory budget: most matches are read back from the spill
	// files.
	opt := Options{RulePaths: []string{rulesDir, corr}, spillAt: 256 << 10}
	late, err := Run(context.Background(), []string{windows}, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	if late.Matches < 5000 || len(late.corr) == 0 {
		t.Fatalf("%d matches, %d correlation matches: too few to compare", late.Matches, len(late.corr))
	}
	for format, write := range writers {
		var want, got bytes.Buffer
		if err := write(&want, late); err != nil {
			t.Fatal(err)
		}
		opt.Format = format
		early, err := Run(context.Background(), []string{windows}, opt)
		if err != nil {
			t.Fatal(err)
		}
		if err := write(&got, early); err != nil {
			t.Fatal(err)
		}
		// The table's summary says how long the run took: cut it off.
		w, g := want.Bytes(), got.Bytes()
		if format == "table" {
			w, g = w[:bytes.Index(w, []byte("\nInputs: "))], g[:bytes.Index(g, []byte("\nInputs: "))]
		}
		if format == "json" {
			// The fields of a match are in the order the parser set them
			// when rendered at once; decoded from the store, a Windows
			// field that has a common field's name ("process" of OpenSSH
			// events) comes first. The same objects.
			w, g = canonicalJSONLines(t, w), canonicalJSONLines(t, g)
		}
		if !bytes.Equal(w, g) {
			t.Errorf("%s: rendered when found differs from rendered at the end (%d and %d bytes)", format, len(g), len(w))

		}
		for other, wr := range writers {
			if other != format && wr(io.Discard, early) == nil {
				t.Errorf("a result rendered as %s was written as %s", format, other)
			}
		}
		if early.Each(func(*Match) error { return nil }) == nil {
			t.Errorf("%s: Each read a result rendered when found", format)
		}
		early.Close()
	}
}

// canonicalJSONLines re-encodes each line's object with sorted keys.
func canonicalJSONLines(t *testing.T, b []byte) []byte {
	t.Helper()
	var out []byte
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var v any
		if err := json.Unmarshal(l, &v); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		c, _ := json.Marshal(v)
		out = append(append(out, c...), '\n')
	}
	return out
}
