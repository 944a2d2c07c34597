package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// The SigmaHQ regression case of proc_creation_win_bitsadmin_download: its
// rule over its .evtx, through the whole command.
func bitsadmin(t *testing.T) (rule, evtx string) {
	root := testutil.Dataset(t, "sigma")
	rule = filepath.Join(root, "rules/windows/process_creation/proc_creation_win_bitsadmin_download.yml")
	evtx = filepath.Join(root, "regression_data/rules/windows/process_creation/proc_creation_win_bitsadmin_download/d059842b-6b9d-4ed1-b5c3-5b89143c6ede.evtx")
	return rule, evtx
}

// hunt --format json: one object per match with the fields the issue
// names, the rule's author among them (DRL 1.1).
func TestHuntJSON(t *testing.T) {
	rule, evtx := bitsadmin(t)
	out, stderr, err := run(t, "", "hunt", "--format", "json", "--rules", rule, evtx)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d matches, want 1:\n%s", len(lines), out)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"rule_id", "rule_title", "level", "author", "tags", "time", "computer", "channel", "event_id", "record_id", "origin", "fields"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, lines[0])
		}
	}
	if m["rule_id"] != "d059842b-6b9d-4ed1-b5c3-5b89143c6ede" || m["author"] == "" || m["channel"] != "Microsoft-Windows-Sysmon/Operational" || m["event_id"] != float64(1) {
		t.Errorf("match %s", lines[0])
	}
	if o, _ := m["origin"].(string); !strings.HasPrefix(o, evtx+"#") {
		t.Errorf("origin %q, want %s#RECORD", o, evtx)
	}
	f, _ := m["fields"].(map[string]any)
	if img, _ := f["Image"].(string); !strings.HasSuffix(strings.ToLower(img), `\bitsadmin.exe`) {
		t.Errorf("fields.Image %q", img)
	}
}

// hunt --format csv and the table: the same match, readable.
func TestHuntCSVAndTable(t *testing.T) {
	rule, evtx := bitsadmin(t)
	out, _, err := run(t, "", "hunt", "--format", "csv", "--rules", rule, evtx)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0][0] != "time" || recs[1][3] != "d059842b-6b9d-4ed1-b5c3-5b89143c6ede" || !strings.Contains(recs[1][11], "CommandLine: ") {
		t.Errorf("csv %q", recs)
	}
	out, _, err = run(t, "", "hunt", "--rules", rule, evtx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Sysmon 1", "(author: ", "CommandLine: ", "Summary: 1 matches", "Rules that fired", evtx + ": evtx, "} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// --stats: throughput, rules, and the slowest rules, on stderr.
	_, stderr, err := run(t, "", "hunt", "--stats", "--format", "json", "--rules", rule, evtx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"events/s", "stats: rules loaded 1 (1 run), not loaded 0", "stats: prefilter", "stats: slowest  1:"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("--stats lacks %q:\n%s", want, stderr)
		}
	}
	// --min-level above the rule's level hides it.
	out, _, err = run(t, "", "hunt", "--min-level", "critical", "--format", "json", "--rules", rule, evtx)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("--min-level critical: %v %q", err, out)
	}
}

// rules check names each rule that does not load and why, and exits 1.
func TestRulesCheck(t *testing.T) {
	dir := t.TempDir()
	good := "title: Good\nid: 0d7b3c5e-6a0b-4f0e-9d7e-2b1f7c0e9a11\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image|endswith: '\\\\x.exe'}\n  condition: sel\nlevel: low\n"
	bad := "title: Broken modifier\nid: 7f6a1a55-3f5c-4a4e-8c1b-3a7c2d9e0b22\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image|nosuchmodifier: x}\n  condition: sel\nlevel: low\n"
	worse := "title: Bad condition\nid: 1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7a8b\nlogsource: {product: windows}\ndetection:\n  sel: {EventID: 1}\n  condition: sel and (\n"
	for name, body := range map[string]string{"good.yml": good, "bad.yml": bad, "worse.yml": worse} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, _, err := run(t, "", "rules", "check", dir)
	if !errors.Is(err, errRulesFailed) {
		t.Errorf("err %v, want errRulesFailed", err)
	}
	for _, want := range []string{"bad.yml", "nosuchmodifier", "worse.yml", "1 rules loaded, 2 did not load"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
