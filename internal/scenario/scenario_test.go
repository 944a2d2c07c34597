package scenario

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The full-size scenario is generated once for all tests, with seed 1 or
// $KIZUKI_SCENARIO_SEED (to run the oracle over other seeds).
var (
	testDir  string
	testMan  *Manifest
	testSeed uint64 = 1
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kizuki-scenario-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testDir = dir
	if v := os.Getenv("KIZUKI_SCENARIO_SEED"); v != "" {
		if testSeed, err = strconv.ParseUint(v, 10, 64); err != nil {
			fmt.Fprintln(os.Stderr, "KIZUKI_SCENARIO_SEED:", err)
			os.Exit(2)
		}
	}
	testMan, err = Generate(dir, Options{Seed: testSeed})
	if err != nil {
		fmt.Fprintln(os.Stderr, "Generate:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func readLines(t *testing.T, dir, rel string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		t.Fatalf("%s: empty or not newline-terminated", rel)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func hashes(t *testing.T, dir string, names []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(n)))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		out[n] = hex.EncodeToString(sum[:])
	}
	return out
}

func allOutputs() []string {
	return append(append([]string(nil), Files...), "org.yaml", "iocs.txt", "manifest.json")
}

func TestDeterministic(t *testing.T) {
	want := hashes(t, testDir, allOutputs())
	dir := t.TempDir()
	if _, err := Generate(dir, Options{Seed: testSeed}); err != nil {
		t.Fatal(err)
	}
	got := hashes(t, dir, allOutputs())
	for _, n := range allOutputs() {
		if got[n] != want[n] {
			t.Errorf("%s: sha256 differs between two runs with seed %d", n, testSeed)
		}
	}
	for _, f := range testMan.Files {
		if f.SHA256 != want[f.Path] {
			t.Errorf("%s: manifest sha256 %s, file %s", f.Path, f.SHA256, want[f.Path])
		}
	}
	other := t.TempDir()
	if _, err := Generate(other, Options{Seed: testSeed + 1}); err != nil {
		t.Fatal(err)
	}
	diff := hashes(t, other, Files)
	for _, n := range Files {
		if diff[n] == want[n] {
			t.Errorf("%s: seeds %d and %d give the same file", n, testSeed, testSeed+1)
		}
	}
}

func TestFilesAndLineCounts(t *testing.T) {
	ranges := map[string][2]int{
		FileMail:     {8000, 25000},
		FileFirewall: {1500, 8000},
		FileProxy:    {8000, 30000},
		FileDNS:      {3000, 12000},
		FileAD:       {2500, 8000},
	}
	total := 0
	if len(testMan.Files) != len(Files) {
		t.Fatalf("manifest lists %d files, want %d", len(testMan.Files), len(Files))
	}
	for i, f := range testMan.Files {
		if f.Path != Files[i] {
			t.Errorf("manifest file %d is %s, want %s", i, f.Path, Files[i])
		}
		lines := readLines(t, testDir, f.Path)
		if len(lines) != f.Lines {
			t.Errorf("%s: %d lines, manifest says %d", f.Path, len(lines), f.Lines)
		}
		r := ranges[f.Path]
		if f.Lines < r[0] || f.Lines > r[1] {
			t.Errorf("%s: %d lines, want %d..%d", f.Path, f.Lines, r[0], r[1])
		}
		total += f.Lines
		for j, l := range lines {
			if l == "" {
				t.Errorf("%s:%d: empty line", f.Path, j+1)
				break
			}
		}
	}
	if total < 20000 || total > 60000 {
		t.Errorf("total %d lines, want 20000..60000", total)
	}
	for _, n := range []string{"org.yaml", "iocs.txt", "manifest.json"} {
		if _, err := os.Stat(filepath.Join(testDir, n)); err != nil {
			t.Error(err)
		}
	}
	// manifest.json is the returned manifest
	data, err := os.ReadFile(filepath.Join(testDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Findings) != len(testMan.Findings) || len(m.LookAlikes) != len(testMan.LookAlikes) || m.Org != "org.yaml" {
		t.Errorf("manifest.json does not match the returned manifest (org %q)", m.Org)
	}
}

func TestManifestLines(t *testing.T) {
	files := map[string][]string{}
	for _, f := range Files {
		files[f] = readLines(t, testDir, f)
	}
	rules := map[string]bool{}
	ids := map[string]bool{}
	for _, f := range testMan.Findings {
		rules[f.Rule] = true
		if ids[f.ID] {
			t.Errorf("duplicate finding id %s", f.ID)
		}
		ids[f.ID] = true
		lines, ok := files[f.File]
		if !ok {
			t.Errorf("%s: unknown file %s", f.ID, f.File)
			continue
		}
		if f.Key == "" || f.Host == "" || len(f.Lines) == 0 {
			t.Errorf("%s: empty key, host or lines", f.ID)
		}
		key := f.Key
		if f.LineKey != "" {
			key = f.LineKey
		}
		if !sort.IntsAreSorted(f.Lines) {
			t.Errorf("%s: lines not sorted", f.ID)
		}
		for _, n := range f.Lines {
			if n < 1 || n > len(lines) {
				t.Errorf("%s: line %d out of range 1..%d", f.ID, n, len(lines))
				continue
			}
			if !strings.Contains(lines[n-1], key) {
				t.Errorf("%s: %s:%d does not contain %q: %s", f.ID, f.File, n, key, lines[n-1])
			}
		}
	}
	for i := 1; i <= 13; i++ {
		if !rules[fmt.Sprintf("J%d", i)] {
			t.Errorf("no planted finding for J%d", i)
		}
	}
	for _, l := range testMan.LookAlikes {
		if l.Rule == "" || l.Key == "" || l.Reason == "" || l.Host == "" {
			t.Errorf("incomplete look-alike %+v", l)
			continue
		}
		// the look-alike is really in the logs
		lines, ok := files[l.File]
		if !ok {
			t.Errorf("look-alike %s %q: unknown file %q", l.Rule, l.Key, l.File)
			continue
		}
		found := false
		for _, s := range lines {
			if strings.Contains(s, l.Key) || (l.Key == "見積書.pdf" && strings.Contains(s, isoJP("見積書.pdf"))) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("look-alike %s %q is not in %s", l.Rule, l.Key, l.File)
		}
	}
}

func findingByID(t *testing.T, id string) Finding {
	t.Helper()
	for _, f := range testMan.Findings {
		if f.ID == id {
			return f
		}
	}
	t.Fatalf("no finding %s", id)
	return Finding{}
}

func TestShiftJISAttachment(t *testing.T) {
	const word = `=?Shift_JIS?B?gXmDfYOLlOmBeozai3GP7pXxgUkuZXhl?=`
	f := findingByID(t, "J2-executable-attachment")
	if f.LineKey != word {
		t.Errorf("line key %q, want the document's encoded word %q", f.LineKey, word)
	}
	lines := readLines(t, testDir, FileMail)
	ct := lines[f.Lines[0]-1]
	if !strings.Contains(ct, `warning: header Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document;? name="`+word+`" from unknown[203.0.113.25]; from=<attacker@evil.example> to=<tanaka@example.co.jp> proto=ESMTP helo=<[127.0.0.1]>`) {
		t.Errorf("Content-Type line not in the fig 4-3 shape: %s", ct)
	}
	if !strings.Contains(lines[f.Lines[1]-1], `header Content-Disposition: attachment;? filename="`+word+`"`) {
		t.Errorf("Content-Disposition line: %s", lines[f.Lines[1]-1])
	}
	// base64 → Shift_JIS bytes of 【マル秘】顧客情報！.exe
	raw, err := base64.StdEncoding.DecodeString("gXmDfYOLlOmBeozai3GP7pXxgUkuZXhl")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := hex.DecodeString("8179837d838b94e9817a8cda8b718fee95f181492e657865")
	if !bytes.Equal(raw, want) {
		t.Errorf("decoded bytes % x, want % x", raw, want)
	}
	if f.Key != "【マル秘】顧客情報！.exe" {
		t.Errorf("key %q", f.Key)
	}
}

func TestMailModTime(t *testing.T) {
	st, err := os.Stat(filepath.Join(testDir, FileMail))
	if err != nil {
		t.Fatal(err)
	}
	if !st.ModTime().Equal(End) {
		t.Errorf("maillog mtime %v, want %v", st.ModTime(), End)
	}
	if End.Format(time.RFC3339) != "2015-02-16T00:00:00+09:00" {
		t.Errorf("End = %v", End)
	}
}

func TestOrgYAML(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testDir, "org.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	y := string(data)
	for _, want := range []string{
		"\ntimezone: Asia/Tokyo\n", "\nnetworks:\n", "  internal: [192.168.0.0/16]\n", "    SHANAI: [192.168.100.0/24]\n",
		"    INTRA: [192.168.200.0/24]\n", "    DMZ: [192.168.1.0/24]\n", "{from: SHANAI, to: INTRA, ports: [88, 389, 445]}", "{from: SHANAI, to: DMZ, ports: [25, 53, 8080]}",
		"  egress_allowed: [192.168.1.5, 192.168.1.6]", "\nbusiness_hours:\n", "  holidays: [2015-02-11]\n",
		"\nallowlists:\n", `  user_agents: ["Mozilla/5.0 (Windows NT *"]`, `    - "*.google.com"`, `"*.windowsupdate.com"`,
		"\nindicators:\n", "  files: [iocs.txt]\n", "\naccounts:\n", "{name: Administrator, hosts: [192.168.200.5]}",
		"\nthresholds:\n", "  upload_bytes: 100000000\n", "  periodic_min_days: 3\n", "\nmail:\n", "  domains: [example.co.jp]\n",
	} {
		if !strings.Contains(y, want) {
			t.Errorf("org.yaml lacks %q", want)
		}
	}
	// top-level keys are exactly the fixed schema
	var top []string
	for _, l := range strings.Split(y, "\n") {
		if l != "" && l[0] != ' ' && l[0] != '#' {
			top = append(top, strings.SplitN(l, ":", 2)[0])
		}
	}
	if got := strings.Join(top, ","); got != "timezone,networks,business_hours,allowlists,indicators,accounts,thresholds,mail" {
		t.Errorf("top-level keys %s", got)
	}
	iocs := readLines(t, testDir, "iocs.txt")
	var n int
	for _, l := range iocs {
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		if strings.TrimSpace(l) != "" {
			n++
		}
	}
	if n < 3 || !strings.Contains(strings.Join(iocs, "\n"), "evil-cdn.example") || !strings.Contains(strings.Join(iocs, "\n"), iocIP) {
		t.Errorf("iocs.txt: %d indicators", n)
	}
}

func TestOrgDir(t *testing.T) {
	root := t.TempDir()
	m, err := Generate(filepath.Join(root, "logs"), Options{Seed: 7, Scale: 0.05, OrgDir: root})
	if err != nil {
		t.Fatal(err)
	}
	if m.Org != "../org.yaml" {
		t.Errorf("org %q, want ../org.yaml", m.Org)
	}
	for _, p := range []string{"org.yaml", "iocs.txt", "logs/manifest.json", "logs/" + FileMail} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Error(err)
		}
	}
	if len(m.Findings) != len(testMan.Findings) {
		t.Errorf("scale 0.05: %d findings, want %d", len(m.Findings), len(testMan.Findings))
	}
}

// TestExamplesUpToDate checks that the committed sample is what the command
// in its README generates.
func TestExamplesUpToDate(t *testing.T) {
	ex := filepath.Join("..", "..", "examples")
	if _, err := os.Stat(filepath.Join(ex, "manifest.json")); err != nil {
		t.Fatalf("examples not generated: %v", err)
	}
	root := t.TempDir()
	if _, err := Generate(filepath.Join(root, "logs"), Options{Seed: 1, Scale: 0.05, OrgDir: root, ManifestDir: root, MailRFC3339: true}); err != nil {
		t.Fatal(err)
	}
	names := append([]string(nil), Files...)
	for i := range names {
		names[i] = "logs/" + names[i]
	}
	names = append(names, "org.yaml", "iocs.txt", "manifest.json")
	want, got := hashes(t, root, names), hashes(t, ex, names)
	size := 0
	for _, n := range names {
		if want[n] != got[n] {
			t.Errorf("examples/%s is stale: run go run ./internal/scenario/cmd/gen -out examples/logs -seed 1", n)
		}
		st, _ := os.Stat(filepath.Join(ex, n))
		size += int(st.Size())
	}
	if size > 2_100_000 {
		t.Errorf("examples are %d bytes, want under about 2 MB", size)
	}
}

// ---- the oracle ----------------------------------------------------------
//
// The tests below re-derive, from the raw lines and with the simplest
// reading of each analysis, which lines must alert, and check that they are
// exactly the planted ones: the background is quiet and the manifest is
// complete.

func lineSet(t *testing.T, ids ...string) map[string]map[int]bool {
	t.Helper()
	out := map[string]map[int]bool{}
	for _, id := range ids {
		f := findingByID(t, id)
		if out[f.File] == nil {
			out[f.File] = map[int]bool{}
		}
		for _, n := range f.Lines {
			out[f.File][n] = true
		}
	}
	return out
}

// expectOnly checks that the oracle's hits in file are exactly the lines of
// the findings ids.
func expectOnly(t *testing.T, rule, file string, hits map[int]bool, ids ...string) {
	t.Helper()
	want := lineSet(t, ids...)[file]
	for n := range hits {
		if !want[n] {
			t.Errorf("%s: %s:%d would alert but is not planted", rule, file, n)
		}
	}
	for n := range want {
		if !hits[n] {
			t.Errorf("%s: planted %s:%d is not found by the oracle", rule, file, n)
		}
	}
}

var (
	reMail  = regexp.MustCompile(`^Feb [ 1]\d \d\d:\d\d:\d\d mail-server postfix/(smtpd|cleanup|qmgr|local|smtp)\[\d+\]: (.*)$`)
	reFrom  = regexp.MustCompile(`^[0-9A-F]{10}: warning: header From: (.*) from [^ ]+\[[\d.]+\]; from=<[^>]*> to=<[^>]+> proto=ESMTP helo=<[^>]+>$`)
	reMime  = regexp.MustCompile(`^[0-9A-F]{10}: warning: header Content-(Type|Disposition): [^;]+;\??\s*(?:file)?name\*?=("?)([^"]*?)("?) from `)
	reFW    = regexp.MustCompile(`^2015-02-(\d\d)T(\d\d):(\d\d):(\d\d)\.\d{6}\+09:00 192\.168\.1\.1 ns208-master: NetScreen device_id=ns208-master  \[Root\]system-notification-00257\(traffic\): start_time="2015-02-(\d\d) (\d\d):(\d\d):(\d\d)" duration=\d+ policy_id=\d+ service=\S+ proto=\d+ src zone=(\S+) dst zone=(\S+) action=(Permit|Deny) sent=\d+ rcvd=\d+ src=(\S+) dst=(\S+) src_port=\d+ dst_port=(\d+) session_id=\d+$`)
	reProxy = regexp.MustCompile(`^(\S+) - - \[(\d\d)/Feb/2015:(\d\d):(\d\d):(\d\d) \+0900\] "(GET|POST|CONNECT) (\S+) HTTP/1\.1" (\d{3}) (\d+) "([^"]*)" "([^"]*)" ([A-Z_]+:[A-Z_]+)$`)
	reDNS   = regexp.MustCompile(`^(\d\d)-Feb-2015 (\d\d):(\d\d):(\d\d)\.(\d{3}) queries: info: client @0x[0-9a-f]{12} (\S+)#\d+ \((\S+)\): query: (\S+) IN (A|AAAA|SRV|MX|PTR) (\+|\+E\(0\)) \(192\.168\.1\.53\)$`)
)

func isInternal(ip string) bool { return strings.HasPrefix(ip, "192.168.") }

func TestOracleMail(t *testing.T) {
	lines := readLines(t, testDir, FileMail)
	j1, j2 := map[int]bool{}, map[int]bool{}
	reAddr := regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]+`)
	for i, l := range lines {
		m := reMail.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("maillog:%d: not a Postfix line: %s", i+1, l)
		}
		text := m[2]
		if strings.Contains(text, "warning: header From:") {
			f := reFrom.FindStringSubmatch(text)
			if f == nil {
				t.Fatalf("maillog:%d: header From WARN not in the fig 4-2 shape: %s", i+1, l)
			}
			v := f[1]
			lt := strings.LastIndexByte(v, '<')
			if lt < 0 || !strings.HasSuffix(v, ">") {
				t.Fatalf("maillog:%d: From without <address>: %s", i+1, v)
			}
			display, addr := v[:lt], v[lt+1:len(v)-1]
			if d := reAddr.FindString(display); d != "" && !strings.EqualFold(d, addr) {
				j1[i+1] = true
			}
		}
		if strings.Contains(text, "warning: header Content-") {
			f := reMime.FindStringSubmatch(text)
			if f == nil {
				t.Fatalf("maillog:%d: MIME WARN not in the fig 4-3 shape: %s", i+1, l)
			}
			name := strings.ToLower(f[3])
			for _, ext := range []string{".exe", ".scr", ".com", ".bat", ".cmd", ".pif", ".js", ".vbs", ".hta", ".lnk", ".iso", ".zip", ".rar", ".7z"} {
				if strings.HasSuffix(name, ext) {
					j2[i+1] = true
				}
			}
			if strings.Contains(f[3], "Shift_JIS") {
				j2[i+1] = true
			}
		}
	}
	expectOnly(t, "J1", FileMail, j1, "J1-display-name-spoof")
	expectOnly(t, "J2", FileMail, j2, "J2-executable-attachment", "J2-archive-attachment")
}

type fwLine struct {
	n                     int
	stamp, start          time.Time
	srcZone, dstZone, act string
	src, dst              string
	dport                 int
}

func parseFW(t *testing.T) []fwLine {
	var out []fwLine
	var prev time.Time
	for i, l := range readLines(t, testDir, FileFirewall) {
		m := reFW.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("netscreen.log:%d: not in the fig 4-4 shape: %s", i+1, l)
		}
		a := func(k int) int { v, _ := strconv.Atoi(m[k]); return v }
		f := fwLine{n: i + 1, stamp: exact(a(1), a(2), a(3), a(4), 0), start: exact(a(5), a(6), a(7), a(8), 0),
			srcZone: m[9], dstZone: m[10], act: m[11], src: m[12], dst: m[13], dport: a(14)}
		if f.start.After(f.stamp) {
			t.Errorf("netscreen.log:%d: start_time after the log stamp", i+1)
		}
		if f.stamp.Before(prev) {
			t.Errorf("netscreen.log:%d: out of order", i+1)
		}
		prev = f.stamp
		out = append(out, f)
	}
	return out
}

type dnsLine struct {
	n            int
	t            time.Time
	client, name string
}

func parseDNS(t *testing.T) []dnsLine {
	var out []dnsLine
	for i, l := range readLines(t, testDir, FileDNS) {
		m := reDNS.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("queries.log:%d: not a BIND 9.16 query line: %s", i+1, l)
		}
		a := func(k int) int { v, _ := strconv.Atoi(m[k]); return v }
		if m[7] != m[8] {
			t.Errorf("queries.log:%d: name mismatch", i+1)
		}
		out = append(out, dnsLine{n: i + 1, t: exact(a(1), a(2), a(3), a(4), a(5)*1000), client: m[6], name: m[8]})
	}
	return out
}

func TestOracleFirewallAndDNS(t *testing.T) {
	fws := parseFW(t)
	dns := parseDNS(t)
	egress := map[string]bool{proxyIP: true, mailIP: true}
	ioc := map[string]bool{iocIP: true, "198.51.100.199": true, "192.0.2.66": true}
	j3, j4, j5, j11 := map[int]bool{}, map[int]bool{}, map[int]bool{}, map[int]bool{}
	zone := func(ip string) string {
		switch {
		case strings.HasPrefix(ip, "192.168.100."):
			return "SHANAI"
		case strings.HasPrefix(ip, "192.168.200."):
			return "INTRA"
		case strings.HasPrefix(ip, "192.168.1."):
			return "DMZ"
		}
		return "Untrust"
	}
	for _, f := range fws {
		if zone(f.src) != f.srcZone || zone(f.dst) != f.dstZone {
			t.Errorf("netscreen.log:%d: zones %s/%s do not match org.yaml for %s → %s", f.n, f.srcZone, f.dstZone, f.src, f.dst)
		}
		if f.act == "Deny" && isInternal(f.src) && !isInternal(f.dst) && !egress[f.src] {
			j3[f.n] = true
		}
		if f.act == "Deny" && isInternal(f.src) && isInternal(f.dst) && f.srcZone != f.dstZone {
			allowed := f.srcZone == "SHANAI" && f.dstZone == "INTRA" && (f.dport == 88 || f.dport == 389 || f.dport == 445) ||
				f.srcZone == "SHANAI" && f.dstZone == "DMZ" && (f.dport == 25 || f.dport == 53 || f.dport == 8080)
			if !allowed {
				j4[f.n] = true
			}
		}
		if ioc[f.dst] || ioc[f.src] {
			j5[f.n] = true
		}
		// J11: a direct connection to the outside from a host that is not
		// egress-allowed, with a DNS query from the same host within 10
		// minutes before
		if isInternal(f.src) && !isInternal(f.dst) && !egress[f.src] {
			for _, d := range dns {
				if d.client == f.src && !d.t.After(f.start) && f.start.Sub(d.t) <= 10*time.Minute {
					j11[f.n] = true
				}
			}
		}
	}
	expectOnly(t, "J3", FileFirewall, j3, "J3-direct-egress")
	expectOnly(t, "J4", FileFirewall, j4, "J4-denied-inter-zone")
	expectOnly(t, "J5", FileFirewall, j5, "J5-ioc-firewall")
	expectOnly(t, "J11", FileFirewall, j11, "J11-dns-then-direct-firewall")

	j5d, j11d := map[int]bool{}, map[int]bool{}
	for _, d := range dns {
		if d.name == "evil-cdn.example" || strings.HasSuffix(d.name, ".evil-cdn.example") || d.name == "c2-panel.example.net" {
			j5d[d.n] = true
		}
		if d.name == "c2.bad.example" {
			j11d[d.n] = true
		}
	}
	expectOnly(t, "J5", FileDNS, j5d, "J5-ioc-dns")
	expectOnly(t, "J11", FileDNS, j11d, "J11-dns-then-direct-dns")
	// the planted J11 query precedes the connection by less than a minute
	fl := findingByID(t, "J11-dns-then-direct-firewall").Lines[0]
	dl := findingByID(t, "J11-dns-then-direct-dns").Lines[0]
	var conn fwLine
	for _, f := range fws {
		if f.n == fl {
			conn = f
		}
	}
	if gap := conn.start.Sub(dns[dl-1].t); gap <= 0 || gap > time.Minute {
		t.Errorf("J11: DNS query %v before the connection, want within a minute", gap)
	}
	if conn.act != "Permit" || conn.dport != 22 || conn.dst != c2IP {
		t.Errorf("J11: connection %+v", conn)
	}
}

func allowlisted(host string, list []string) bool {
	for _, a := range list {
		if strings.HasPrefix(a, "*.") {
			if strings.HasSuffix(host, a[1:]) {
				return true
			}
		} else if host == a || strings.HasSuffix(host, "."+a) {
			return true
		}
	}
	return false
}

func TestOracleProxy(t *testing.T) {
	lines := readLines(t, testDir, FileProxy)
	type req struct {
		n              int
		t              time.Time
		client, method string
		url, host, ua  string
		port           int
		bytes          int64
	}
	var reqs []req
	uaHosts := map[string]map[string]bool{}
	clients := map[string]bool{}
	var prev time.Time
	for i, l := range lines {
		m := reProxy.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("access_combined.log:%d: not Squid combined: %s", i+1, l)
		}
		a := func(k int) int { v, _ := strconv.Atoi(m[k]); return v }
		r := req{n: i + 1, t: exact(a(2), a(3), a(4), a(5), 0), client: m[1], method: m[6], url: m[7], ua: m[11]}
		r.bytes, _ = strconv.ParseInt(m[9], 10, 64)
		if r.t.Before(prev) {
			t.Errorf("access_combined.log:%d: out of order", i+1)
		}
		prev = r.t
		if r.method == "CONNECT" {
			h, p, ok := strings.Cut(r.url, ":")
			if !ok {
				t.Fatalf("access_combined.log:%d: CONNECT without port", i+1)
			}
			r.host = h
			r.port, _ = strconv.Atoi(p)
		} else {
			if !strings.HasPrefix(r.url, "http://") {
				t.Fatalf("access_combined.log:%d: not an absolute http URL", i+1)
			}
			r.host, r.port = hostOfURL(r.url), 80
		}
		if uaHosts[r.ua] == nil {
			uaHosts[r.ua] = map[string]bool{}
		}
		uaHosts[r.ua][r.client] = true
		clients[r.client] = true
		reqs = append(reqs, r)
	}
	maint := []string{"*.windowsupdate.com", "*.update.microsoft.com", "*.trendmicro.com"}
	j5, j6, j7, j9 := map[int]bool{}, map[int]bool{}, map[int]bool{}, map[int]bool{}
	days := map[string]map[int]bool{}
	type pair struct{ client, host string }
	upload := map[pair]int64{}
	uploadLines := map[pair][]int{}
	for _, r := range reqs {
		if r.host == "evil-cdn.example" || strings.HasSuffix(r.host, ".evil-cdn.example") || r.host == "c2-panel.example.net" {
			j5[r.n] = true
		}
		if r.method == "CONNECT" && r.port != 443 && r.port != 80 {
			j6[r.n] = true
		}
		if !strings.HasPrefix(r.ua, "Mozilla/5.0 (Windows NT ") && float64(len(uaHosts[r.ua])) < 0.2*float64(len(clients)) {
			j7[r.n] = true
		}
		wd := r.t.Weekday()
		off := wd == time.Saturday || wd == time.Sunday || r.t.Day() == 11 || r.t.Hour() < 8 || r.t.Hour() >= 19
		if off && !allowlisted(r.host, maint) {
			j9[r.n] = true
		}
		if !allowlisted(r.host, allowDomains) {
			if days[r.host] == nil {
				days[r.host] = map[int]bool{}
			}
			days[r.host][r.t.Day()] = true
		}
		if r.method == "POST" || r.method == "CONNECT" {
			p := pair{r.client, r.host}
			upload[p] += r.bytes
			uploadLines[p] = append(uploadLines[p], r.n)
		}
	}
	expectOnly(t, "J5", FileProxy, j5, "J5-ioc-proxy")
	expectOnly(t, "J6", FileProxy, j6, "J6-connect-external-8089", "J6-connect-internal-8089")
	expectOnly(t, "J7", FileProxy, j7, "J7-python-requests", "J7-wget")
	expectOnly(t, "J9", FileProxy, j9, "J9-off-hours")
	for h, ds := range days {
		if len(ds) >= 3 && h != "apt.example.com" {
			t.Errorf("J8: non-allowlisted %s visited on %d days", h, len(ds))
		}
	}
	j10 := map[int]bool{}
	for p, sum := range upload {
		if sum > 100_000_000 {
			if p.host != "upload.exfil.example" {
				t.Errorf("J10: %s → %s uploads %d bytes", p.client, p.host, sum)
			}
			for _, n := range uploadLines[p] {
				j10[n] = true
			}
		}
	}
	expectOnly(t, "J10", FileProxy, j10, "J10-large-upload")

	// J8: the beacon is daily at 13:53 ±2 min on ≥ 6 consecutive days
	beacon := findingByID(t, "J8-daily-beacon")
	var bdays []int
	for _, n := range beacon.Lines {
		r := reqs[n-1]
		mins := r.t.Hour()*60 + r.t.Minute()
		if r.method != "POST" || r.url != "http://apt.example.com/blog/" || mins < beaconMinute-2 || mins > beaconMinute+2 {
			t.Errorf("J8: line %d is not the beacon: %s %s at %v", n, r.method, r.url, r.t)
		}
		bdays = append(bdays, r.t.Day())
	}
	for i := 1; i < len(bdays); i++ {
		if bdays[i] != bdays[i-1]+1 {
			t.Errorf("J8: beacon days not consecutive: %v", bdays)
		}
	}
	if len(bdays) < 6 {
		t.Errorf("J8: beacon on %d days", len(bdays))
	}
	if days["www.jalan.net"] == nil || len(days["www.jalan.net"]) != 2 {
		t.Errorf("J8 look-alike www.jalan.net on %d days, want 2", len(days["www.jalan.net"]))
	}
}

// winEvent is what the oracle reads of one wevtutil XML event.
type winEvent struct {
	XMLName xml.Name `xml:"Event"`
	System  struct {
		EventID     int    `xml:"EventID"`
		Computer    string `xml:"Computer"`
		TimeCreated struct {
			SystemTime string `xml:"SystemTime,attr"`
		} `xml:"TimeCreated"`
		RecordID int `xml:"EventRecordID"`
	} `xml:"System"`
	Data []struct {
		Name  string `xml:"Name,attr"`
		Value string `xml:",chardata"`
	} `xml:"EventData>Data"`
	Cleared *struct {
		SubjectUserName string `xml:"SubjectUserName"`
	} `xml:"UserData>LogFileCleared"`
}

func (e *winEvent) get(name string) string {
	for _, d := range e.Data {
		if d.Name == name {
			return d.Value
		}
	}
	return ""
}

func TestOracleAD(t *testing.T) {
	lines := readLines(t, testDir, FileAD)
	critical := map[int]bool{4618: true, 4649: true, 4719: true, 4765: true, 4766: true, 4794: true, 4897: true, 4964: true, 5124: true, 1102: true}
	j12, j13a, j13b := map[int]bool{}, map[int]bool{}, map[int]bool{}
	type hostDay struct {
		ip  string
		day int
	}
	counts := map[hostDay]int{}
	lineOf := map[hostDay][]int{}
	var prev time.Time
	for i, l := range lines {
		var e winEvent
		if err := xml.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("security.xml:%d: %v", i+1, err)
		}
		if e.System.Computer != dcComputer || e.System.RecordID != adFirstRecordID+i {
			t.Errorf("security.xml:%d: computer %q record %d", i+1, e.System.Computer, e.System.RecordID)
		}
		ts, err := time.Parse(time.RFC3339Nano, e.System.TimeCreated.SystemTime)
		if err != nil || !strings.HasSuffix(e.System.TimeCreated.SystemTime, "00Z") || len(e.System.TimeCreated.SystemTime) != 30 {
			t.Fatalf("security.xml:%d: SystemTime %q", i+1, e.System.TimeCreated.SystemTime)
		}
		if ts.Before(prev) {
			t.Errorf("security.xml:%d: out of order", i+1)
		}
		prev = ts
		id := e.System.EventID
		if critical[id] {
			j12[i+1] = true
		}
		if id == 1102 && (e.Cleared == nil || e.Cleared.SubjectUserName != "Administrator") {
			t.Errorf("security.xml:%d: 1102 without LogFileCleared user data", i+1)
		}
		if id == 4672 {
			u := e.get("SubjectUserName")
			if u != "Administrator" && u != "SYSTEM" && !strings.HasSuffix(u, "$") {
				j13b[i+1] = true
			}
		}
		user := e.get("TargetUserName")
		ip := strings.TrimPrefix(e.get("IpAddress"), "::ffff:")
		if strings.HasPrefix(user, "Administrator") {
			switch id {
			case 4624, 4768, 4769:
				if ip != adminIP {
					j13a[i+1] = true
				}
			case 4776:
				if e.get("Workstation") != "ADM01" {
					j13a[i+1] = true
				}
			}
		}
		if (id == 4624 || id == 4768 || id == 4769) && isInternal(ip) {
			k := hostDay{ip, ts.In(JST).Day()}
			counts[k]++
			lineOf[k] = append(lineOf[k], i+1)
		}
	}
	expectOnly(t, "J12", FileAD, j12, "J12-audit-policy-changed", "J12-log-cleared")
	expectOnly(t, "J13", FileAD, j13a, "J13-admin-unexpected-host")
	expectOnly(t, "J13", FileAD, j13b, "J13-privileges-unexpected-account")

	// J13 (c)/(d): a host-day is anomalous when it has at least 50
	// authentications and 5× the host's median over its other active days.
	perHost := map[string][]int{}
	for k, n := range counts {
		perHost[k.ip] = append(perHost[k.ip], n)
	}
	var burst []hostDay
	for k, n := range counts {
		others := append([]int(nil), perHost[k.ip]...)
		sort.Ints(others)
		median := others[len(others)/2]
		if n >= 50 && n >= 5*median {
			burst = append(burst, k)
		}
	}
	if len(burst) != 1 || burst[0] != (hostDay{victimIP, 12}) {
		t.Fatalf("J13 bursts %v, want only %s on 2015-02-12", burst, victimIP)
	}
	want := lineSet(t, "J13-auth-burst")[FileAD]
	for _, n := range lineOf[burst[0]] {
		delete(want, n)
	}
	if len(want) != 0 {
		t.Errorf("J13 burst lines outside the burst day: %v", want)
	}
	// the planted burst is at least 10× the victim's usual day
	var usual []int
	for d := 2; d <= 15; d++ {
		if d != 12 && isBusinessDay(d-2) {
			usual = append(usual, counts[hostDay{victimIP, d}])
		}
	}
	sort.Ints(usual)
	if med := usual[len(usual)/2]; counts[hostDay{victimIP, 12}] < 10*med {
		t.Errorf("burst %d, usual %d: want at least 10×", counts[hostDay{victimIP, 12}], med)
	}
}
