package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/org"
)

const figures = "../../internal/analyze/testdata/jpcert-figures"

func run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRoot(strings.NewReader(stdin), &out, &errb)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func TestInitConfigIsValid(t *testing.T) {
	out, _, err := run(t, "", "init-config")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := org.Parse([]byte(out))
	if err != nil {
		t.Fatalf("init-config output does not load: %v", err)
	}
	if _, err := org.New(cfg, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "egress_allowed") || !strings.Contains(out, "# ") {
		t.Error("example lacks keys or comments")
	}
}

// The JSON alert shape the issue fixes.
func TestAnalyzeJSON(t *testing.T) {
	out, stderr, err := run(t, "", "analyze", "--format", "json", "--config", filepath.Join(figures, "org.yaml"),
		filepath.Join(figures, "access.log"), filepath.Join(figures, "access_combined.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 3 {
		t.Fatalf("few alerts: %q", out)
	}
	required := []string{"id", "rule", "requirements", "title", "severity", "stages", "techniques", "attack",
		"time", "last_time", "host", "summary", "evidence", "evidence_total", "next_steps", "caveats"}
	rules := map[string]bool{}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", l, err)
		}
		for _, k := range required {
			if _, ok := m[k]; !ok {
				t.Errorf("alert lacks %q: %s", k, l)
			}
		}
		ts := m["time"].(string)
		if len(ts) != len("2015-02-12T04:53:00.000Z") || !strings.HasSuffix(ts, "Z") {
			t.Errorf("time %q is not UTC ISO 8601 with ms", ts)
		}
		ev := m["evidence"].([]any)[0].(map[string]any)
		for _, k := range []string{"source", "time", "origin", "raw"} {
			if _, ok := ev[k]; !ok {
				t.Errorf("evidence lacks %q", k)
			}
		}
		ns := m["next_steps"].(map[string]any)
		if len(ns["en"].([]any)) == 0 || len(ns["ja"].([]any)) == 0 {
			t.Errorf("next_steps not bilingual: %v", ns)
		}
		rules[m["rule"].(string)] = true
	}
	for _, r := range []string{"J6", "J7", "J8"} {
		if !rules[r] {
			t.Errorf("no %s alert", r)
		}
	}
	if !strings.Contains(stderr, "findings from") {
		t.Errorf("no run summary on stderr: %q", stderr)
	}
}

func TestAnalyzeTableStdinAndGzip(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(figures, "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, string(data), "analyze", "--config", filepath.Join(figures, "org.yaml"), "-")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"== 192.168.100.23", "kill chain:", "J6 CONNECT", "evidence -:2", "Inputs:", "-: squid"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// The same lines gzip-compressed under a name that does not say so.
	dir := t.TempDir()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	p := filepath.Join(dir, "proxy-log")
	if err := os.WriteFile(p, gz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := run(t, "", "analyze", "--explain", "--lang", "ja", p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "(gzip): squid:") || !strings.Contains(out, "J6") {
		t.Errorf("gzip input: stderr %q\n%s", stderr, out)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "notes.txt")
	os.WriteFile(junk, []byte("dear diary\nnothing here\n"), 0o600)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"analyze", junk}, "none of [winxml winjson netscreen postfix bind iptables squid-combined squid kv]"},
		{[]string{"analyze", filepath.Join(dir, "missing.log")}, "no such file"},
		{[]string{"analyze", "--format", "xml", junk}, "--format must be table or json"},
		{[]string{"analyze", "--type", "nope", junk}, "unknown --type"},
		{[]string{"analyze", "--since", "yesterday", junk}, "--since"},
		{[]string{"analyze", "--config", junk, junk}, "config"},
		{[]string{"analyze"}, "requires at least 1 arg"},
	}
	for _, c := range cases {
		_, _, err := run(t, "", c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.args, err, c.want)
		}
	}
	// Found in a folder, an unknown file is reported and the run goes on.
	os.WriteFile(filepath.Join(dir, "access.log"), []byte("1423528142.737 0 192.168.100.23 TCP_DENIED/403 3641 CONNECT 192.168.200.10:8089 - NONE/- text/html\n"), 0o600)
	out, _, err := run(t, "", "analyze", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "notes.txt: not read: unknown log format") || !strings.Contains(out, "J6") {
		t.Errorf("folder run:\n%s", out)
	}
}

func TestParseJSON(t *testing.T) {
	out, _, err := run(t, "", "parse", "--timezone", "Asia/Tokyo", filepath.Join(figures, "maillog"), filepath.Join(figures, "queries.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 events, got %d", len(lines))
	}
	var dns struct {
		Time   string            `json:"time"`
		Source string            `json:"source"`
		Host   string            `json:"host"`
		Origin string            `json:"origin"`
		Raw    string            `json:"raw"`
		Fields map[string]string `json:"fields"`
	}
	// Files are read oldest first: the 2014 DNS line comes before the mail.
	if err := json.Unmarshal([]byte(lines[0]), &dns); err != nil {
		t.Fatal(err)
	}
	if dns.Source != "bind" || dns.Time != "2014-12-15T16:03:55.000Z" || dns.Fields["query"] != "apt.example.com" ||
		!strings.HasSuffix(dns.Origin, "queries.log:1") || !strings.HasPrefix(dns.Raw, "16-Dec-2014 01:03:55 client") {
		t.Errorf("dns event: %+v", dns)
	}
	var mail map[string]any
	json.Unmarshal([]byte(lines[2]), &mail)
	if f := mail["fields"].(map[string]any); f["attachment"] != "【マル秘】顧客情報！.exe" {
		t.Errorf("attachment = %v", f["attachment"])
	}
	out, _, err = run(t, "", "parse", "--format", "text", "--type", "squid", filepath.Join(figures, "access.log"))
	if err != nil || !strings.Contains(out, "method=CONNECT") {
		t.Errorf("text output: %v\n%s", err, out)
	}
}
