package analyze

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
)

// copyFigures copies the document-figure fixtures to a temp folder and sets
// the maillog's modification time inside 2015, so its RFC 3164 stamps get
// the document's year.
func copyFigures(t *testing.T) string {
	t.Helper()
	src := filepath.Join("testdata", "jpcert-figures")
	dst := filepath.Join(t.TempDir(), "logs")
	if err := os.Mkdir(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() == "README.md" || e.Name() == "org.yaml" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, e.Name())
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mtime := time.Date(2015, 2, 17, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(dst, "maillog"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return dst
}

type want struct {
	rule, host string
	sev        alert.Severity
	contains   []string // in the summary or a field value
	origin     string   // an evidence origin "file:line"
}

func findAlert(alerts []*alert.Alert, w want) *alert.Alert {
	for _, a := range alerts {
		if a.Rule != w.rule || a.Host != w.host {
			continue
		}
		text := a.Summary
		for k, v := range a.Fields {
			text += " " + k + "=" + v
		}
		ok := true
		for _, c := range w.contains {
			if !strings.Contains(text, c) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		if w.origin != "" {
			found := false
			for _, e := range a.Evidence {
				if filepath.Base(e.Origin.File)+":"+itoa(e.Origin.Line) == w.origin {
					found = true
				}
			}
			if !found {
				continue
			}
		}
		return a
	}
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestDocumentFigures runs the whole analysis over the document's own
// example lines and expects each analysis the figures illustrate to fire,
// on the right host, citing the right line.
func TestDocumentFigures(t *testing.T) {
	dir := copyFigures(t)
	m, err := LoadModel(filepath.Join("testdata", "jpcert-figures", "org.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	run, err := Run(context.Background(), m, []string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range run.Files {
		if f.Error != "" || f.Malformed != 0 {
			t.Errorf("%s: error %q, %d malformed %v", f.Path, f.Error, f.Malformed, f.Errors)
		}
	}
	const pc = "192.168.100.23"
	wants := []want{
		{"J1", "info@example.co.jp", alert.High, []string{"sample@example.co.jp", "attack@example.com"}, "maillog:1"},
		{"J2", "sample@example.co.jp", alert.High, []string{"【マル秘】顧客情報！.exe"}, "maillog:2"},
		{"J3", pc, alert.High, []string{"23.23.45.67", "apt.example.com"}, "netscreen.log:1"},
		{"J4", pc, alert.High, []string{"192.168.200.10", "8089"}, "netscreen.log:2"},
		{"J5", pc, alert.Critical, []string{"apt.example.com", "example.com"}, ""},
		{"J5", "127.0.0.1", alert.Critical, []string{"apt.example.com"}, "access.log:1"},
		{"J6", pc, alert.Medium, []string{"192.168.200.10", "8089"}, "access.log:2"},
		{"J7", pc, alert.High, []string{"Wget/1.12 (linux-gnu)"}, "access_combined.log:1"},
		{"J8", pc, alert.Medium, []string{"apt.example.com"}, "access.log:3"},
		{"J9", pc, alert.Medium, []string{"apt.example.com"}, "access.log:5"},
		{"J11", pc, alert.High, []string{"23.23.45.67", "apt.example.com"}, "queries.log:1"},
	}
	for _, w := range wants {
		a := findAlert(run.Alerts, w)
		if a == nil {
			t.Errorf("missing %s on %s with %v at %s", w.rule, w.host, w.contains, w.origin)
			continue
		}
		if a.Severity != w.sev {
			t.Errorf("%s on %s: severity %s, want %s (%s)", w.rule, w.host, a.Severity, w.sev, a.Summary)
		}
		if len(a.Stages) == 0 || len(a.NextSteps.EN) == 0 || len(a.NextSteps.JA) == 0 || len(a.Caveats.JA) == 0 {
			t.Errorf("%s: missing stages or guidance: %+v", w.rule, a)
		}
		if a.ID == "" || !strings.HasPrefix(a.ID, w.rule+"-") {
			t.Errorf("%s: id %q", w.rule, a.ID)
		}
	}
	// The mail figures' year comes from the file's modification time.
	if a := findAlert(run.Alerts, wants[0]); a != nil && a.Time.Year() != 2015 {
		t.Errorf("RFC 3164 year: %v", a.Time)
	}
	// J10 has no example in the document ("省略"), and nothing here uploads.
	// J12/J13 need Windows events, which the figures do not include.
	for _, a := range run.Alerts {
		if a.Rule == "J10" || a.Rule == "J12" || a.Rule == "J13" {
			t.Errorf("unexpected %s: %s", a.Rule, a.Summary)
		}
	}
	skipped := map[string]bool{}
	for _, n := range run.Notes {
		if n.Level == "skipped" {
			skipped[n.Rule] = true
		}
	}
	if !skipped["J12"] || !skipped["J13"] {
		t.Errorf("J12/J13 should be reported as skipped (no auth logs): %+v", run.Notes)
	}
}

// Running the same input twice gives the same alert ids, so findings can be
// tracked across runs.
func TestStableIDs(t *testing.T) {
	dir := copyFigures(t)
	m, err := LoadModel(filepath.Join("testdata", "jpcert-figures", "org.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ids := func() string {
		run, err := Run(context.Background(), m, []string{dir}, Options{Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, a := range run.Alerts {
			s = append(s, a.ID)
		}
		return strings.Join(s, ",")
	}
	if a, b := ids(), ids(); a != b || a == "" {
		t.Fatalf("ids differ between runs:\n%s\n%s", a, b)
	}
}
