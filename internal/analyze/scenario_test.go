package analyze

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/scenario"
)

// alertText is what a planted key may appear in: host, summary and fields.
func alertText(a *alert.Alert) string {
	var b strings.Builder
	b.WriteString(a.Host + " " + a.Summary)
	for k, v := range a.Fields {
		fmt.Fprintf(&b, " %s=%s", k, v)
	}
	return b.String()
}

// overlaps reports whether an evidence record of a is one of the planted
// lines of f.
func overlaps(a *alert.Alert, dir string, f scenario.Finding) bool {
	want := map[string]bool{}
	for _, l := range f.Lines {
		want[fmt.Sprintf("%s:%d", filepath.Join(dir, filepath.FromSlash(f.File)), l)] = true
	}
	for _, e := range a.Evidence {
		if want[e.Origin.String()] {
			return true
		}
	}
	return false
}

// TestScenarioEndToEnd runs the whole analysis over two weeks of mail,
// firewall, proxy, DNS and AD logs of a 40-host organization (the scenario
// generator's ground truth) and checks that
//   - every planted attack trace is found, by its analysis, citing the
//     planted lines,
//   - no benign look-alike raises that analysis,
//   - and no alert is raised that the ground truth does not explain.
func TestScenarioEndToEnd(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "logs")
	// Scale 1: ~43,000 lines; the mail log uses RFC 3164 time stamps, so
	// its year comes from the file's modification time, which the
	// generator sets.
	man, err := scenario.Generate(dir, scenario.Options{Seed: 1, Scale: 1, OrgDir: root, ManifestDir: root})
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(filepath.Join(root, "org.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	run, err := Run(context.Background(), m, []string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var events int64
	for _, f := range run.Files {
		events += f.Events
		if f.Error != "" || f.Malformed != 0 {
			t.Errorf("%s: error %q, %d malformed: %v", f.Path, f.Error, f.Malformed, f.Errors)
		}
	}
	if events < 40000 {
		t.Fatalf("only %d events", events)
	}

	// Every planted trace is found.
	explained := map[*alert.Alert]bool{}
	rulesFound := map[string]bool{}
	for _, f := range man.Findings {
		var hit *alert.Alert
		for _, a := range run.Alerts {
			if a.Rule == f.Rule && strings.Contains(alertText(a), f.Key) && overlaps(a, dir, f) {
				hit = a
				explained[a] = true
			}
		}
		if hit == nil {
			t.Errorf("planted %s (%s, key %q, %s lines %v) not found", f.ID, f.Host, f.Key, f.File, f.Lines)
			continue
		}
		rulesFound[f.Rule] = true
		if hit.Time.Year() != 2015 {
			t.Errorf("%s: time %v, want 2015", f.ID, hit.Time)
		}
	}
	for i := 1; i <= 13; i++ {
		if r := fmt.Sprintf("J%d", i); !rulesFound[r] {
			t.Errorf("no planted trace found for %s", r)
		}
	}

	// No look-alike raises its analysis.
	for _, l := range man.LookAlikes {
		for _, a := range run.Alerts {
			if a.Rule != l.Rule || !strings.Contains(alertText(a), l.Key) {
				continue
			}
			if l.Host != "*" && a.Host != l.Host && !strings.Contains(alertText(a), l.Host) {
				continue
			}
			t.Errorf("look-alike %s %q (%s) raised: %s", l.Rule, l.Key, l.Reason, a.Summary)
		}
	}

	// Nothing unexplained: every alert is a planted trace.
	for _, a := range run.Alerts {
		if !explained[a] {
			t.Errorf("unexpected alert %s on %s: %s", a.Rule, a.Host, a.Summary)
		}
	}

	// The victim's storyline reaches stage 7 with delivery first.
	var victim []*alert.Alert
	for _, a := range run.Alerts {
		if a.Host == "192.168.100.23" {
			victim = append(victim, a)
		}
	}
	stages := map[alert.Stage]bool{}
	for _, a := range victim {
		for _, s := range a.Stages {
			stages[s] = true
		}
	}
	for _, s := range []alert.Stage{alert.Installation, alert.CommandAndControl, alert.ActionsOnObjectives} {
		if !stages[s] {
			t.Errorf("victim storyline lacks stage %d", s)
		}
	}
	t.Logf("%d events, %d alerts, %d planted findings, %d look-alikes", events, len(run.Alerts), len(man.Findings), len(man.LookAlikes))
}

// TestLanesDoNotChangeFindings: spreading detectors over goroutines must
// give exactly the findings of a single lane (same ids, summaries, evidence).
func TestLanesDoNotChangeFindings(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "logs")
	if _, err := scenario.Generate(dir, scenario.Options{Seed: 3, Scale: 0.3, OrgDir: root, ManifestDir: root}); err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(filepath.Join(root, "org.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	render := func(lanes int) string {
		run, err := Run(context.Background(), m, []string{dir}, Options{Lanes: lanes, Workers: 3})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, a := range run.Alerts {
			fmt.Fprintf(&b, "%s %s %s %d\n", a.ID, a.Host, a.Summary, a.EvidenceTotal)
			for _, e := range a.Evidence {
				fmt.Fprintf(&b, "  %s %s\n", e.Origin, e.Note)
			}
		}
		for _, n := range run.Notes {
			fmt.Fprintf(&b, "note %s %s %s\n", n.Rule, n.Level, n.Message)
		}
		return b.String()
	}
	one, three := render(1), render(3)
	if one != three {
		t.Fatalf("findings differ between 1 and 3 lanes:\n--- 1 lane\n%s\n--- 3 lanes\n%s", one, three)
	}
	if strings.Count(one, "\n") < 20 {
		t.Fatalf("too few findings to compare:\n%s", one)
	}
}
