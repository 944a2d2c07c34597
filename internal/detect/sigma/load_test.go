package sigma

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// knownLoadFailures lists the kinds of SigmaHQ rules that may fail to load,
// by a phrase of their error, with why. A failure of any other kind fails
// TestLoadSigmaHQ. (Today every rule loads: the list documents what would
// be acceptable.)
var knownLoadFailures = map[string]string{
	"regular expression": "Go's RE2 has no look-around, back-references or possessive quantifiers; such a rule is reported, not half-run",
}

// TestLoadSigmaHQ loads the whole SigmaHQ rule set. The bar is 99% of the
// rules loading, with every failure listed and of a known kind.
func TestLoadSigmaHQ(t *testing.T) {
	root := testutil.Dataset(t, "sigma")
	var dirs []string
	files := 0
	for _, d := range []string{"rules", "rules-threat-hunting", "rules-emerging-threats"} {
		dir := filepath.Join(root, d)
		dirs = append(dirs, dir)
		_ = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() && isRuleFile(p) {
				files++
			}
			return nil
		})
	}
	rs, errs := LoadPaths(dirs, Options{})
	for _, e := range errs {
		known := ""
		for phrase, why := range knownLoadFailures {
			if strings.Contains(e.Error(), phrase) {
				known = why
			}
		}
		if known == "" {
			t.Errorf("new kind of load failure: %v", e)
		} else {
			t.Logf("does not load (%s): %v", known, e)
		}
	}
	loaded := len(rs.Rules())
	rate := float64(loaded) / float64(files)
	t.Logf("%d of %d rule files loaded (%.2f%%), %d failures; %s", loaded, files, 100*rate, len(errs), rs.Stats())
	if files < 3700 {
		t.Errorf("found %d rule files, want the 3,754 of SigmaHQ", files)
	}
	if rate < 0.99 {
		t.Errorf("%.2f%% of the rules loaded, want at least 99%%", 100*rate)
	}
	// A few main rules use |expand placeholders too: degraded, and saying
	// which.
	for _, r := range rs.Rules() {
		if r.Degraded != "" {
			if !strings.Contains(r.Degraded, "placeholder %") {
				t.Errorf("%s: degraded for another reason: %s", r.Path, r.Degraded)
			}
			t.Logf("degraded: %s: %s", filepath.Base(r.Path), r.Degraded)
		}
	}
	// Every Windows rule but the ETW-only categories routes somewhere.
	for _, r := range rs.Rules() {
		if r.Logsource.Product == "windows" && r.NoSource != "" &&
			r.Logsource.Category != "file_access" && r.Logsource.Category != "file_rename" {
			t.Errorf("%s: windows rule without source: %s", r.Path, r.NoSource)
		}
	}
	// Custom attributes are kept.
	withRegression := 0
	for _, r := range rs.Rules() {
		if _, ok := r.Custom["regression_tests_path"].(string); ok {
			withRegression++
		}
	}
	if withRegression < 200 {
		t.Errorf("%d rules kept regression_tests_path, want 202", withRegression)
	}
}

func TestRuleMetadata(t *testing.T) {
	rs := mustLoad(t, `title: Whoami Execution
id: 929a690e-bef0-4204-a928-ef5e620d6fcc
name: whoami_exec
related:
    - id: 08fbc97d-0a2f-491c-ae21-8ffcfd3174e9
      type: derived
taxonomy: sigma
status: test
description: Detects a whoami.exe execution
license: DRL-1.1
references:
    - https://example.org/a
author: Florian Roth
date: 2019-10-23
modified: 2023-01-02
logsource:
    category: process_creation
    product: Windows
    definition: Sysmon or 4688 with command line
    custom_key: x
detection:
    selection:
        Image: 'C:\Windows\System32\whoami.exe'
    condition: selection
fields:
    - CommandLine
falsepositives: Admins
level: high
tags:
    - attack.discovery
scope:
    - server
simulation:
    - type: atomic-red-team
      name: whoami
`)
	r := rs.Rules()[0]
	want := Rule{ID: "929a690e-bef0-4204-a928-ef5e620d6fcc", Name: "whoami_exec", Title: "Whoami Execution",
		Status: "test", Description: "Detects a whoami.exe execution", License: "DRL-1.1", Author: "Florian Roth",
		Level: "high", Date: "2019-10-23", Modified: "2023-01-02", Taxonomy: "sigma"}
	if r.ID != want.ID || r.Name != want.Name || r.Title != want.Title || r.Status != want.Status ||
		r.Description != want.Description || r.License != want.License || r.Author != want.Author ||
		r.Level != want.Level || r.Date != want.Date || r.Modified != want.Modified || r.Taxonomy != want.Taxonomy {
		t.Errorf("metadata: %+v", r)
	}
	if len(r.Related) != 1 || r.Related[0].Type != "derived" || r.Tags[0] != "attack.discovery" ||
		r.References[0] != "https://example.org/a" || r.FalsePositives[0] != "Admins" || r.Fields[0] != "CommandLine" || r.Scope[0] != "server" {
		t.Errorf("lists: %+v", r)
	}
	if r.Logsource.Product != "windows" || r.Logsource.Category != "process_creation" ||
		r.Logsource.Definition == "" || r.Logsource.Custom["custom_key"] != "x" {
		t.Errorf("logsource: %+v", r.Logsource)
	}
	if _, ok := r.Custom["simulation"].([]any); !ok {
		t.Errorf("custom: %+v", r.Custom)
	}
	if rs.Lookup("whoami_exec") != r || rs.Lookup(r.ID) != r {
		t.Error("Lookup by id and name")
	}
}

func TestLoadErrors(t *testing.T) {
	good := procRule("sel:\n    Image: a\ncondition: sel")
	for _, c := range []struct {
		name, doc string
		line      int
		msg       string
	}{
		{"unknown modifier", procRule("sel:\n    Image|contain: a\ncondition: sel"), 7, `unknown modifier "contain"`},
		{"bad condition", procRule("sel:\n    Image: a\ncondition: sel and (filter"), 8, "condition column 10: unknown search identifier"},
		{"bad regex", procRule("sel:\n    Image|re: '(?!x)'\ncondition: sel"), 7, "regular expression"},
		{"no detection", "title: t\nlogsource: {product: windows}\n", 0, "missing detection"},
		{"no title", "logsource: {product: windows}\ndetection: {sel: {a: b}, condition: sel}\n", 0, "no title"},
		{"no condition", procRule("sel:\n    Image: a"), 6, "no condition"},
		{"map value", procRule("sel:\n    Image: {a: b}\ncondition: sel"), 7, "cannot be a map"},
		{"empty list", procRule("sel:\n    Image: []\ncondition: sel"), 7, "empty list"},
		{"bad YAML", "title: [unclosed\n", 0, "invalid YAML"},
		{"alias", "title: &t x\nlogsource: {product: windows}\ndetection: {sel: {a: *t}, condition: sel}\n", 3, "aliases"},
		{"duplicate key", procRule("sel:\n    Image: a\n    Image: b\ncondition: sel"), 8, "already defined"},
		{"not a map", "- a\n- b\n", 1, "must be a map"},
		{"unknown action", "action: frobnicate\n", 1, "unknown action"},
	} {
		rs, errs := LoadBytes("bad.yml", []byte(good+"---\n"+c.doc), Options{})
		if len(rs.Rules()) != 1 {
			t.Errorf("%s: the good rule did not load", c.name)
		}
		if len(errs) != 1 {
			t.Errorf("%s: %d errors, want 1", c.name, len(errs))
			continue
		}
		e := errs[0]
		lineInFile := 0
		if c.line > 0 {
			lineInFile = c.line + strings.Count(good, "\n") + 1
		}
		if !strings.Contains(e.Error(), c.msg) || (lineInFile > 0 && e.Line != lineInFile) || e.Path != "bad.yml" || e.Doc != 1 {
			t.Errorf("%s: %v (line %d doc %d), want %q at line %d", c.name, e, e.Line, e.Doc, c.msg, lineInFile)
		}
	}
	// The rule's id and title are named in the error.
	e := loadErr(t, "title: Broken\nid: 1234\nlogsource: {product: windows}\ndetection: {sel: {a|x: b}, condition: sel}\n")
	var le *LoadError
	if !errors.As(e, &le) || le.ID != "1234" || le.Title != "Broken" || !strings.Contains(e.Error(), `rule "Broken" (1234)`) {
		t.Errorf("LoadError: %#v", e)
	}
}

func TestLoadLimits(t *testing.T) {
	big := make([]byte, MaxFileSize+1)
	if _, errs := LoadBytes("big.yml", big, Options{}); len(errs) != 1 || !strings.Contains(errs[0].Error(), "larger than") {
		t.Errorf("oversized file: %v", errs)
	}
	deep := "title: t\nlogsource: {product: windows}\ndetection:\n  sel: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n  condition: sel\n"
	if _, errs := LoadBytes("deep.yml", []byte(deep), Options{}); len(errs) != 1 || !strings.Contains(errs[0].Error(), "deeper") {
		t.Errorf("deep nesting: %v", errs)
	}
	// Deep nesting is refused before the YAML parser sees it (goccy/go-yaml
	// needs more than linear time in the depth).
	for _, doc := range []string{strings.Repeat("[", 500_000), strings.Repeat("{a: ", 200_000), strings.Repeat("- ", 400_000) + "x"} {
		_, errs := LoadBytes("deep.yml", []byte(doc), Options{})
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), "deeper") {
			t.Errorf("deep document %q...: %v", doc[:8], errs)
		}
	}
	// Brackets in plain or quoted scalars are text, not nesting.
	text := strings.Replace(procRule("sel:\n    Image: a\ncondition: sel"), "title: t", "title: x "+strings.Repeat("[", 100)+" '"+strings.Repeat("{", 100)+"'", 1)
	if rs, errs := LoadBytes("text.yml", []byte(text), Options{}); len(errs) > 0 || !strings.HasPrefix(rs.Rules()[0].Title, "x [[[") {
		t.Errorf("brackets in scalars: %v", errs)
	}
	// windash multiplies: 5^8 variants of one value is too many.
	many := itemRule("CommandLine|windash", `'-a -b -c -d -e -f -g -h'`)
	if _, errs := LoadBytes("many.yml", []byte(many), Options{}); len(errs) != 1 || !strings.Contains(errs[0].Error(), "too many") {
		t.Errorf("windash explosion: %v", errs)
	}
}

func TestCollections(t *testing.T) {
	// Sigma 1.x collections: action: global is merged into the following
	// documents, reset drops it, repeat reuses the previous document.
	rs := mustLoad(t, `action: global
title: Shared
logsource:
    product: windows
    category: process_creation
detection:
    condition: sel
---
id: a
detection:
    sel:
        Image|endswith: '\a.exe'
---
action: repeat
id: b
title: Repeated
detection:
    sel:
        Image|endswith: '\b.exe'
---
action: reset
---
title: Alone
id: c
logsource: {product: windows, category: process_creation}
detection:
    sel:
        Image|endswith: '\c.exe'
    condition: sel
`)
	if len(rs.Rules()) != 3 {
		t.Fatalf("%d rules", len(rs.Rules()))
	}
	titles := map[string]string{}
	for _, r := range rs.Rules() {
		titles[r.ID] = r.Title
	}
	if titles["a"] != "Shared" || titles["b"] != "Repeated" || titles["c"] != "Alone" {
		t.Errorf("titles: %v", titles)
	}
	for exe, want := range map[string]string{"a": "Shared", "b": "Repeated", "c": "Alone"} {
		if got := fired(rs, sysmonEvent("Image", `C:\`+exe+".exe")); len(got) != 1 || got[0] != want {
			t.Errorf("%s.exe: fired %v, want %s", exe, got, want)
		}
	}
}

func TestLoadFSAndMerge(t *testing.T) {
	rule := func(id, exe string) string {
		return "title: r" + id + "\nid: " + id + "\nlogsource: {product: windows, category: process_creation}\ndetection:\n    sel:\n        Image|endswith: '\\" + exe + "'\n    condition: sel\n"
	}
	fsys := fstest.MapFS{
		"pack/a.yml":        {Data: []byte(rule("1", "a.exe"))},
		"pack/sub/b.yaml":   {Data: []byte(rule("2", "b.exe"))},
		"pack/README.md":    {Data: []byte("# not a rule")},
		"pack/sub/c.yml.gz": {Data: []byte("not read")},
	}
	rs, errs := LoadFS(fsys, Options{})
	if len(errs) > 0 || len(rs.Rules()) != 2 || rs.Rules()[0].Path != "pack/a.yml" {
		t.Fatalf("LoadFS: %d rules, errors %v", len(rs.Rules()), errs)
	}
	other := mustLoad(t, rule("3", "c.exe"))
	if err := rs.Merge(other); err != nil {
		t.Fatal(err)
	}
	if got := fired(rs, sysmonEvent("Image", `C:\c.exe`)); len(got) != 1 {
		t.Errorf("merged rule: fired %v", got)
	}
	dup := mustLoad(t, rule("1", "d.exe"))
	if err := rs.Merge(dup); !errors.Is(err, ErrDuplicateID) {
		t.Errorf("duplicate id: %v", err)
	}
	if len(rs.Rules()) != 3 {
		t.Errorf("a failed merge changed the set: %d rules", len(rs.Rules()))
	}
	// A duplicate within one load is a LoadError; the first rule stays.
	_, errs = LoadBytes("d.yml", []byte(rule("9", "a.exe")+"---\n"+rule("9", "b.exe")), Options{})
	if len(errs) != 1 || !errors.Is(errs[0], ErrDuplicateID) {
		t.Errorf("duplicate in one file: %v", errs)
	}
}

func TestLoadPathsErrors(t *testing.T) {
	_, errs := LoadPaths([]string{"/nonexistent/rules"}, Options{})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "/nonexistent/rules") {
		t.Errorf("missing path: %v", errs)
	}
}

// FuzzLoad feeds rule files to the loader: it must never panic, and what
// loads must compile and match.
func FuzzLoad(f *testing.F) {
	root := testutil.Dataset(f, "sigma/rules/windows/process_creation")
	entries, err := os.ReadDir(root)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries[:min(len(entries), 60)] {
		b, err := os.ReadFile(filepath.Join(root, e.Name()))
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(filterTargets))
	f.Add([]byte("action: global\ntitle: x\n---\ndetection: {a: [1, null, '', '*'], condition: a}\nlogsource: {product: windows}\n"))
	f.Add([]byte("title: x\nlogsource: {category: proxy}\ndetection:\n  k: ['a\\\\*', {c-uri|re|i: '^x'}]\n  condition: all of them\n"))
	ev := sysmonEvent("Image", `C:\Windows\System32\cmd.exe`, "CommandLine", `cmd.exe /c whoami -all`, "User", "")
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, _ := LoadBytes("fuzz.yml", data, Options{})
		m := rs.NewMatcher()
		m.Match(ev, func(*Rule) {})
		_ = rs.Stats()
	})
}
