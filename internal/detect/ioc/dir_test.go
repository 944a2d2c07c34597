package ioc

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/org"
)

func TestDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "indicators")
	d, err := OpenDir(path, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(path, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("feed.txt", string(readTestdata(t, "feed.txt")))
	write("bundle.json", string(readTestdata(t, "bundle.json")))
	write(".hidden", "hidden.example\n")
	write("half.txt.tmp", "partial.example\n")
	changed, problems, err := d.Scan()
	if err != nil || !changed || len(problems) != 0 {
		t.Fatalf("first scan: %v %v %v", changed, problems, err)
	}
	if ls := d.Lists(); len(ls) != 2 || ls[0].Name != "bundle.json" || ls[1].Name != "feed.txt" {
		t.Fatalf("lists %+v", ls)
	}
	if changed, _, _ := d.Scan(); changed {
		t.Error("nothing changed, Scan says changed")
	}

	// A broken edit keeps the last good version, with the error shown.
	write("bundle.json", `{"type":"bundle","objects":[`)
	bump(t, filepath.Join(path, "bundle.json"))
	changed, problems, _ = d.Scan()
	if changed || len(problems) != 1 {
		t.Errorf("broken edit: changed %v problems %v", changed, problems)
	}
	if ls := d.Lists(); len(ls) != 2 || len(ls[0].Indicators) != 7 {
		t.Errorf("the good version was dropped: %+v", ls)
	}
	info := d.Info()
	if info[0].Error == "" || info[0].Report.Indicators != 7 {
		t.Errorf("info %+v", info[0])
	}
	// Removing a file removes its list.
	os.Remove(filepath.Join(path, "bundle.json"))
	if changed, _, _ := d.Scan(); !changed || len(d.Lists()) != 1 {
		t.Errorf("removal: %v %d", changed, len(d.Lists()))
	}

	// Add: parsed first, stored atomically, extension from the content.
	l, rep, err := d.Add("partner", readTestdata(t, "feed.csv"), nil)
	if err != nil || l.Name != "partner.csv" || rep.Indicators != 7 {
		t.Fatalf("Add: %v %+v", err, rep)
	}
	if _, err := os.Stat(filepath.Join(path, "partner.csv")); err != nil {
		t.Fatal(err)
	}
	// The same name again, as text, replaces it.
	if l, _, err = d.Add("partner", []byte("replaced.example\n"), nil); err != nil || l.Name != "partner.txt" {
		t.Fatalf("replace: %v %+v", err, l)
	}
	if _, err := os.Stat(filepath.Join(path, "partner.csv")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the CSV version is still there: %v", err)
	}
	if changed, _, _ := d.Scan(); changed {
		t.Error("a list added by Add was seen as a change by the next scan")
	}
	for _, bad := range []string{"../escape", "", ".hidden", "a/b", "x.tmp", strings.Repeat("n", 200)} {
		if _, _, err := d.Add(bad, []byte("x.example\n"), nil); !errors.Is(err, ErrBadName) {
			t.Errorf("Add(%q): %v", bad, err)
		}
	}
	if _, _, err := d.Add("empty", []byte("# nothing\nnot-a-thing\n"), nil); !errors.Is(err, ErrNoIndicators) {
		t.Errorf("a list without indicators: %v", err)
	}
	if _, err := os.Stat(filepath.Join(path, "empty.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a refused list was written")
	}
	// A check that refuses (the total limit) leaves the folder as it was.
	var seen []string
	_, _, err = d.Add("more", []byte("more.example\n"), func(next []*List) error {
		for _, l := range next {
			seen = append(seen, l.Name)
		}
		return ErrTooMany
	})
	if !errors.Is(err, ErrTooMany) || strings.Join(seen, " ") != "more.txt feed.txt partner.txt" {
		t.Errorf("refused add: %v, check saw %v", err, seen)
	}
	if _, err := os.Stat(filepath.Join(path, "more.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a list the check refused was written")
	}
	if err := d.Remove("partner.txt"); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove("partner.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("second remove: %v", err)
	}
}

// bump moves a file's modification time, so that a rewrite within the
// file system's time granularity is seen.
func bump(t testing.TB, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	mt := fi.ModTime().Add(time.Second)
	if err := os.Chtimes(path, mt, mt); err != nil {
		t.Fatal(err)
	}
}

// The configuration's indicators (examples/org.yaml: inline and the
// iocs.txt file) make one list.
func TestFromConfig(t *testing.T) {
	cfg, err := org.Load("../../../examples/org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l, rep, err := FromConfig(cfg.Indicators, "../../../examples", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := values(l)
	for _, k := range []string{"domain:c2-panel.example.net", "ip:192.0.2.66", "domain:evil-cdn.example", "ip:203.0.113.80", "ip:198.51.100.199", "url:http://malware.example.org/payload.bin"} {
		if got[k] == nil {
			t.Errorf("missing %s", k)
		}
	}
	// c2-panel.example.net is both inline and in the file: once.
	if len(got) != 6 || rep.Duplicates != 1 || l.Name != ConfigList {
		t.Errorf("%d indicators, %s", len(got), rep)
	}
	if _, _, err := FromConfig(org.IndicatorConfig{Files: []string{"missing.txt"}}, t.TempDir(), Limits{}); err == nil {
		t.Error("a missing file is not an error")
	}
}
