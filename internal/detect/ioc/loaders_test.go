package ioc

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// values returns "kind:value" of every indicator.
func values(l *List) map[string]*Indicator {
	out := map[string]*Indicator{}
	for i := range l.Indicators {
		out[l.Indicators[i].Key()] = &l.Indicators[i]
	}
	return out
}

// problemRefs returns the refs of the report's problems.
func problemRefs(rep Report) map[string]string {
	out := map[string]string{}
	for _, p := range rep.Problems {
		out[p.Ref] = p.Reason
	}
	return out
}

func TestParseText(t *testing.T) {
	l, rep, err := Parse("feed.txt", strings.NewReader(string(readTestdata(t, "feed.txt"))), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Format != FormatText || rep.Format != FormatText {
		t.Errorf("format %q", l.Format)
	}
	got := values(l)
	want := map[string]string{ // key → description
		"domain:evil-cdn.example":                    "malware distribution site (and its subdomains)",
		"ip:203.0.113.80":                            "dl.evil-cdn.example",
		"ip:198.51.100.0/24":                         "hosting range used by the campaign",
		"ip:2001:db8:bad::/48":                       "IPv6 range",
		"url:http://malware.example.org/payload.bin": "defanged URL",
		"hash:f8810179ab033a9b79cd7006c1a74fbcde6ed0451c92fbb8c7ce15b52499353a": "sample dropper",
		"email:attacker@evil.example":                                           "",
		"domain:ads.tracker.example":                                            "",
		"domain:*.sub-only.example":                                             "",
		"domain:pkfsp.ru":                                                       "php proxy checker",
	}
	for k, desc := range want {
		in := got[k]
		if in == nil {
			t.Errorf("missing %s (have %v)", k, keys(got))
			continue
		}
		if in.Description != desc {
			t.Errorf("%s: description %q, want %q", k, in.Description, desc)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d indicators %v, want %d", len(got), keys(got), len(want))
	}
	if h := got["hash:f8810179ab033a9b79cd7006c1a74fbcde6ed0451c92fbb8c7ce15b52499353a"]; h != nil && (h.Algo != "sha256" || h.Ref != "line 7") {
		t.Errorf("hash: algo %q ref %q", h.Algo, h.Ref)
	}
	// The two bad lines are reported with their line numbers, not dropped.
	probs := problemRefs(rep)
	if len(probs) != 2 || probs["line 12"] == "" || probs["line 13"] == "" {
		t.Errorf("problems %+v", rep.Problems)
	}
	if rep.Indicators != len(want) || rep.ByKind["domain"] != 4 || rep.ByKind["ip"] != 3 {
		t.Errorf("report %+v", rep)
	}
}

func keys(m map[string]*Indicator) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The repository's example list (what examples/org.yaml's indicators.files
// names) loads whole.
func TestParseTextExample(t *testing.T) {
	f, err := os.Open("../../../examples/iocs.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, rep, err := ParseText("iocs.txt", f, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ProblemCount != 0 || len(l.Indicators) != 5 {
		t.Fatalf("%s", rep)
	}
	got := values(l)
	for _, k := range []string{"domain:evil-cdn.example", "ip:203.0.113.80", "domain:c2-panel.example.net", "ip:198.51.100.199", "url:http://malware.example.org/payload.bin"} {
		if got[k] == nil {
			t.Errorf("missing %s", k)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct{ in, key string }{
		{"Evil.Example.", "domain:evil.example"},
		{"evil[.]example", "domain:evil.example"},
		{"evil.example:8443", "domain:evil.example"},
		{"203.0.113.7:443", "ip:203.0.113.7"},
		{"::ffff:203.0.113.7", "ip:203.0.113.7"},
		{"203.0.113.77/24", "ip:203.0.113.0/24"},
		{"2001:DB8::1", "ip:2001:db8::1"},
		{"hxxps://Evil.Example:443/a/", "url:https://evil.example/a"},
		{"evil.example/path/x.php", "url:http://evil.example/path/x.php"},
		{"http://evil.example/x#frag", "url:http://evil.example/x"},
		{"D41D8CD98F00B204E9800998ECF8427E", "hash:d41d8cd98f00b204e9800998ecf8427e"},
		{"da39a3ee5e6b4b0d3255bfef95601890afd80709", "hash:da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{"User[@]Evil.example", "email:user@evil.example"},
	} {
		in, err := Classify(c.in)
		if err != nil {
			t.Errorf("Classify(%q): %v", c.in, err)
			continue
		}
		if in.Key() != c.key {
			t.Errorf("Classify(%q) = %s, want %s", c.in, in.Key(), c.key)
		}
	}
	for _, bad := range []string{"", "localhost", "0.0.0.0/0", "10.0.0.0/4", "::/0", "10.0.0.300", "ftp", "héllo.example", "a..b", "javascript:alert(1)", "d41d8cd98f00b204e9800998ecf8427"} {
		if in, err := Classify(bad); err == nil {
			t.Errorf("Classify(%q) = %s, want an error", bad, in.Key())
		}
	}
	if _, err := Classify("0.0.0.0/0"); err == nil || !strings.Contains(err.Error(), "too broad") {
		t.Errorf("a /0 prefix: %v", err)
	}
}

func TestParseCSV(t *testing.T) {
	data := readTestdata(t, "feed.csv")
	if f := DetectFormat("upload", data); f != FormatCSV {
		t.Fatalf("detected %s", f)
	}
	l, rep, err := Parse("feed.csv", strings.NewReader(string(data)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := values(l)
	for k, want := range map[string][2]string{ // description, source
		"domain:c2-panel.example.net":           {"panel, login page", "J-CSIP"},
		"ip:192.0.2.66":                         {"", "J-CSIP"},
		"ip:198.51.100.199":                     {"unrelated campaign", "JPCERT/CC"},
		"url:http://apt.example.com/blog":       {"beacon path", ""},
		"hash:88df27b6e794e3fd5f93f28b1ca1d3d0": {"GRB_NET.exe", ""},
		"domain:www.proxy-listen.de":            {"type inferred", ""},
		"email:info@evil.example":               {"phishing sender", ""},
	} {
		in := got[k]
		if in == nil {
			t.Errorf("missing %s (have %v)", k, keys(got))
			continue
		}
		if in.Description != want[0] || in.Source != want[1] {
			t.Errorf("%s: %q / %q, want %q", k, in.Description, in.Source, want)
		}
	}
	if len(got) != 7 {
		t.Errorf("%d indicators: %v", len(got), keys(got))
	}
	// The SHA-1 row holding an MD5 and the mutex are reported by line.
	probs := problemRefs(rep)
	if len(probs) != 2 || !strings.Contains(probs["line 7"], "sha1") || !strings.Contains(probs["line 8"], "mutex") {
		t.Errorf("problems %+v", rep.Problems)
	}
}

func TestParseCSVErrors(t *testing.T) {
	_, _, err := ParseCSV("x.csv", strings.NewReader("name,address\na,b\n"), Limits{})
	if err == nil || !strings.Contains(err.Error(), "no column named indicator") {
		t.Errorf("header without an indicator column: %v", err)
	}
	long := "indicator\n" + strings.Repeat("a", 100) + ".example\n"
	if _, _, err := ParseCSV("x.csv", strings.NewReader(long), Limits{MaxLine: 50}); !errors.Is(err, ErrLineTooLong) {
		t.Errorf("long line: %v", err)
	}
}

func TestParseSTIX(t *testing.T) {
	data := readTestdata(t, "bundle.json")
	l, rep, err := Parse("upload", strings.NewReader(string(data)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Format != FormatSTIX {
		t.Errorf("format %s", l.Format)
	}
	got := values(l)
	for k, ref := range map[string]string{
		"domain:bad.example":  "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
		"ip:203.0.113.0/24":   "indicator--a932fcc6-e032-476c-826f-cb970a5a1ade",
		"ip:2001:db8:c2::/48": "indicator--a932fcc6-e032-476c-826f-cb970a5a1ade",
		"hash:f8810179ab033a9b79cd7006c1a74fbcde6ed0451c92fbb8c7ce15b52499353a": "indicator--1ed8caa7-a708-4706-b651-f1186ede6ca1",
		"hash:88df27b6e794e3fd5f93f28b1ca1d3d0":                                 "indicator--1ed8caa7-a708-4706-b651-f1186ede6ca1",
		"url:http://apt.example.com/xxx/xxx/apt.zip":                            "indicator--d81f86b9-975b-4c0b-875e-810c5ad45a4f",
		"domain:c2.bad.example":                                                 "indicator--7c0b3b3c-2c1a-4c7a-9a47-6a1c4a2f7e10",
	} {
		in := got[k]
		if in == nil {
			t.Errorf("missing %s (have %v)", k, keys(got))
			continue
		}
		if in.Ref != ref {
			t.Errorf("%s: ref %s, want %s", k, in.Ref, ref)
		}
	}
	if len(got) != 7 {
		t.Errorf("%d indicators %v", len(got), keys(got))
	}
	c2 := got["domain:bad.example"]
	if c2 != nil && (c2.Source != "Example ISAC" || c2.Description != "C2 domain: Command and control of the campaign") {
		t.Errorf("source %q description %q", c2.Source, c2.Description)
	}
	// Every unsupported pattern is reported with its id and why.
	probs := problemRefs(rep)
	for id, reason := range map[string]string{
		"indicator--c410e480-e42b-47d1-9476-85307c12bcbf": "AND",
		"indicator--7c0b3b3c-2c1a-4c7a-9a47-6a1c4a2f7e10": "mutex:name",
		"indicator--0b4cbf4d-2b0b-4b2c-9d0b-1b6c1d1c2a3e": "pattern_type sigma",
		"indicator--4f1c6a8e-0d8e-4a5b-8d1e-2c3b4a5d6e7f": "REPEATS",
		"indicator--9d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d": "revoked",
	} {
		if !strings.Contains(probs[id], reason) {
			t.Errorf("%s: problem %q, want it to say %q", id, probs[id], reason)
		}
	}
	if rep.ProblemCount != 5 {
		t.Errorf("%d problems: %+v", rep.ProblemCount, rep.Problems)
	}
}

func TestParseSTIXShapes(t *testing.T) {
	one := `{"type":"indicator","spec_version":"2.1","id":"indicator--1","pattern":"[ipv4-addr:value = '192.0.2.1']","pattern_type":"stix"}`
	l, _, err := ParseSTIX("one.json", strings.NewReader(one), Limits{})
	if err != nil || len(l.Indicators) != 1 || l.Indicators[0].Key() != "ip:192.0.2.1" {
		t.Errorf("single indicator: %v %+v", err, l)
	}
	arr := `[` + one + `,{"type":"indicator","id":"indicator--2","pattern":"([url:value = 'http://x.example/a'] OR [email-addr:value = 'a@x.example'])"}]`
	l, _, err = ParseSTIX("arr.json", strings.NewReader(arr), Limits{})
	if err != nil || len(l.Indicators) != 3 {
		t.Errorf("array: %v %+v", err, l)
	}
	for _, bad := range []string{`{"type":"bundle","objects":[{"type":"indicator"`, `{"type":"report"}`, `"x"`, `{"type":"bundle","objects":{}}`} {
		if _, _, err := ParseSTIX("bad.json", strings.NewReader(bad), Limits{}); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	// A malformed pattern is a problem of its indicator, not a failure of the list.
	l, rep, err := ParseSTIX("p.json", strings.NewReader(`[{"type":"indicator","id":"indicator--3","pattern":"[domain-name:value = 'x.example'"}]`), Limits{})
	if err != nil || len(l.Indicators) != 0 || rep.ProblemCount != 1 || !strings.Contains(rep.Problems[0].Reason, "malformed") {
		t.Errorf("malformed pattern: %v %+v", err, rep)
	}
}

func TestLimits(t *testing.T) {
	big := strings.Repeat("a.example\n", 100)
	if _, _, err := Parse("big.txt", strings.NewReader(big), Limits{MaxBytes: 500}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("size limit: %v", err)
	}
	var many strings.Builder
	for i := range 20 {
		many.WriteString("h" + string(rune('a'+i)) + ".example\n")
	}
	if _, _, err := Parse("many.txt", strings.NewReader(many.String()), Limits{MaxIndicators: 10}); !errors.Is(err, ErrTooMany) {
		t.Errorf("count limit: %v", err)
	}
	if _, _, err := Parse("long.txt", strings.NewReader(strings.Repeat("x", 200)+".example\n"), Limits{MaxLine: 100}); !errors.Is(err, ErrLineTooLong) {
		t.Errorf("line limit: %v", err)
	}
	a, _, _ := Parse("a.txt", strings.NewReader("a.example\n192.0.2.1\n"), Limits{})
	b, _, _ := Parse("b.txt", strings.NewReader("b.example\n192.0.2.1\n"), Limits{})
	if _, err := Compile([]*List{a, b}, 2); !errors.Is(err, ErrTooMany) {
		t.Errorf("total limit: %v", err)
	}
	m, err := Compile([]*List{a, b}, 3)
	if err != nil || m.Len() != 3 {
		t.Errorf("three distinct indicators: %v %d", err, m.Len())
	}
}
