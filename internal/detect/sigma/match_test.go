package sigma

import (
	"context"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse/evtx"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// TestShortcutsLoseNothing checks the matcher's shortcuts (prefilter
// scanners, value sets, EventID routing of service rules, guards, the
// filters of regular expressions) against the exhaustive evaluation of
// every routed rule, value by value, on real events: every Windows rule of
// SigmaHQ over the regression recordings, part of the mordor recordings
// and every .evtx of the windows dataset (what `kizuki hunt`'s benchmark
// replays). A literal the prefilter wrongly requires shows up here as a
// rule the exhaustive pass fires and Match does not.
func TestShortcutsLoseNothing(t *testing.T) {
	root := testutil.Dataset(t, "sigma")
	var dirs []string
	for _, d := range []string{"rules/windows", "rules-threat-hunting/windows", "rules-emerging-threats"} {
		dirs = append(dirs, filepath.Join(root, d))
	}
	rs, errs := LoadPaths(dirs, Options{})
	if len(errs) > 0 {
		t.Fatalf("%d load errors, first %v", len(errs), errs[0])
	}
	var events []*event.Event
	err := filepath.WalkDir(filepath.Join(root, "regression_data"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		return readWinJSON(p, func(ev *event.Event) { events = append(events, ev) })
	})
	if err != nil {
		t.Fatal(err)
	}
	mordor := testutil.Dataset(t, "windows/mordor/atomic/windows")
	for _, z := range []string{"credential_access/host/psh_lsass_memory_dump_comsvcs.zip", "defense_evasion/host/cmd_mshta_vbscript_execute_psh.zip", "lateral_movement/host/schtask_create.zip"} {
		if err := readMordorZip(filepath.Join(mordor, z), func(ev *event.Event) { events = append(events, ev) }); err != nil {
			t.Fatal(err)
		}
	}
	rd := evtx.NewReader(evtx.Options{Workers: 1})
	err = filepath.WalkDir(testutil.Dataset(t, "windows"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(strings.ToLower(p), ".evtx") {
			return err
		}
		_, err = rd.ReadFile(context.Background(), p, func(ev *event.Event) error {
			events = append(events, ev.Clone())
			return nil
		}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	fast := rs.NewMatcher()
	// The reference: rules indexed by their logsource only, every rule of
	// the bucket evaluated value by value.
	c := buildCompiled(rs, false)
	slow := newMatcher(c)
	slow.exhaustive = true
	firedFast, firedSlow := 0, 0
	for _, ev := range events {
		var a, b []string
		fast.Match(ev, func(r *Rule) { a = append(a, r.ID) })
		slow.Match(ev, func(r *Rule) { b = append(b, r.ID) })
		firedFast += len(a)
		firedSlow += len(b)
		if !slices.Equal(a, b) {
			t.Errorf("%s: Match fired %v, exhaustive evaluation %v", ev.Origin, a, b)
		}
	}
	t.Logf("%d events, %d rules: %d matches (exhaustive %d)", len(events), len(rs.Rules()), firedFast, firedSlow)
	if firedSlow < 5000 {
		t.Errorf("only %d matches: the regression events alone give more than 200, the windows dataset thousands", firedSlow)
	}
}

func TestMatchOrderAndReuse(t *testing.T) {
	rs := mustLoad(t, `title: b
id: b
logsource: {product: windows, category: process_creation}
detection: {sel: {Image|endswith: '\x.exe'}, condition: sel}
---
title: a
id: a
logsource: {product: windows, category: process_creation}
detection: {sel: {CommandLine|contains: 'x'}, condition: sel}
`)
	m := rs.NewMatcher()
	ev1 := sysmonEvent("Image", `C:\x.exe`, "CommandLine", "x")
	ev2 := sysmonEvent("Image", `C:\y.exe`)
	for i := 0; i < 3; i++ {
		var got []string
		m.Match(ev1, func(r *Rule) { got = append(got, r.Title) })
		if strings.Join(got, ",") != "b,a" {
			t.Fatalf("round %d: fired %v, want rule order b,a", i, got)
		}
		// The previous event's fields must not leak into the next one.
		got = nil
		m.Match(ev2, func(r *Rule) { got = append(got, r.Title) })
		if len(got) != 0 {
			t.Fatalf("round %d: second event fired %v", i, got)
		}
	}
}

func TestFieldNamesWithSpaces(t *testing.T) {
	// Sigma strips the spaces of a field name as the log source writes it:
	// Defender's "Source Name" is SourceName.
	rs := mustLoad(t, `title: t
logsource: {product: windows, service: windefend}
detection: {sel: {SourceName: 'Real-Time Protection', ThreatName|endswith: 'EICAR_Test_File'}, condition: sel}
`)
	ev := winEv("Microsoft-Windows-Windows Defender/Operational", "1116", "Source Name", "Real-Time Protection", "Threat Name", "Virus:DOS/EICAR_Test_File")
	if len(fired(rs, ev)) != 1 {
		t.Error("fields with spaces: no match")
	}
}
