package org

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The issue's fixed keys, exactly as written there.
const issueConfig = `
timezone: Asia/Tokyo
networks:
  internal: [192.168.0.0/16]          # CIDRs
  zones: {SHANAI: [192.168.100.0/24], INTRA: [192.168.200.0/24]}
  allowed_flows: [{from: SHANAI, to: INTRA, ports: [88, 389, 445]}]
  egress_allowed: [192.168.1.5, 192.168.1.6]   # proxy, mail relay (J3 exclusions)
business_hours: {days: [mon, tue, wed, thu, fri], start: "08:00", end: "19:00", holidays: [2015-02-11]}
allowlists:
  user_agents: ["Mozilla/5.0 (Windows NT *"]   # glob patterns
  domains: ["*.google.com"]                    # regular destinations (J8)
  maintenance_domains: ["*.windowsupdate.com"] # allowed off-hours (J9)
indicators: {domains: [bad.example], ips: [], urls: [], files: [iocs.txt]}
accounts: {admins: [{name: Administrator, hosts: [192.168.200.5]}]}
thresholds: {upload_bytes: 100000000, periodic_min_days: 3}
`

func loadIssueModel(t *testing.T) *Model {
	t.Helper()
	dir := t.TempDir()
	iocs := "# test list\nevil.example\n203.0.113.0/24\nhxxp://dl.bad[.]example/a.zip\n"
	if err := os.WriteFile(filepath.Join(dir, "iocs.txt"), []byte(iocs), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse([]byte(issueConfig))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestIssueConfig(t *testing.T) {
	m := loadIssueModel(t)
	addr := netip.MustParseAddr
	if !m.IsInternal(addr("192.168.100.7")) || m.IsInternal(addr("23.23.1.1")) {
		t.Error("internal ranges wrong")
	}
	if z := m.ZoneOf(addr("192.168.100.7")); z != "SHANAI" {
		t.Errorf("zone = %q", z)
	}
	if z := m.ZoneOf(addr("192.168.5.1")); z != "" {
		t.Errorf("zone of unzoned = %q", z)
	}
	if !m.FlowAllowed("SHANAI", "INTRA", 445) || m.FlowAllowed("SHANAI", "INTRA", 8089) || m.FlowAllowed("INTRA", "SHANAI", 445) {
		t.Error("allowed_flows wrong")
	}
	if !m.EgressAllowed(addr("192.168.1.5")) || m.EgressAllowed(addr("192.168.1.7")) {
		t.Error("egress_allowed wrong")
	}
	jst := time.FixedZone("JST", 9*3600)
	cases := []struct {
		t   time.Time
		off bool
	}{
		{time.Date(2015, 2, 12, 13, 53, 0, 0, jst), false},    // Thursday afternoon
		{time.Date(2015, 2, 12, 7, 59, 0, 0, jst), true},      // before 08:00
		{time.Date(2015, 2, 12, 19, 0, 0, 0, jst), true},      // end is exclusive
		{time.Date(2015, 2, 14, 11, 0, 0, 0, jst), true},      // Saturday
		{time.Date(2015, 2, 11, 11, 0, 0, 0, jst), true},      // holiday
		{time.Date(2015, 2, 12, 1, 0, 0, 0, time.UTC), false}, // 10:00 JST
	}
	for _, c := range cases {
		if got := m.OffHours(c.t); got != c.off {
			t.Errorf("OffHours(%v) = %v, want %v", c.t, got, c.off)
		}
	}
	if e, ok := m.IOCDomains.Match("apt.BAD.example."); !ok || e != "bad.example" {
		t.Errorf("IOC subdomain match = %q %v", e, ok)
	}
	if _, ok := m.IOCDomains.Match("notbad.example"); ok {
		t.Error("suffix without a dot boundary must not match")
	}
	if _, ok := m.IOCDomains.Match("x.evil.example"); !ok {
		t.Error("indicator from file not loaded")
	}
	if _, ok := m.IOCIP(addr("203.0.113.50")); !ok {
		t.Error("CIDR indicator from file not loaded")
	}
	if !m.IOCURL("http://DL.bad.example/a.zip/") {
		t.Error("defanged URL indicator not normalized")
	}
	if _, ok := m.AllowDomains.Match("www.google.com"); !ok {
		t.Error("*.google.com should match www.google.com")
	}
	if _, ok := m.AllowDomains.Match("google.com"); ok {
		t.Error("*.google.com should not match the apex")
	}
	if _, ok := m.UserAgents.Match("Mozilla/5.0 (Windows NT 6.1; WOW64; rv:35.0) Gecko/20100101 Firefox/35.0"); !ok {
		t.Error("UA glob across slashes failed")
	}
	if _, ok := m.UserAgents.Match("Wget/1.12 (linux-gnu)"); ok {
		t.Error("Wget matched the browser glob")
	}
	if !m.IsAdmin(`EXAMPLE\administrator`) || !m.IsAdmin("administrator@example.co.jp") || m.IsAdmin("taro") {
		t.Error("admin lookup wrong")
	}
	// A configured name with a domain prefix matches the logged bare name.
	cfg, _ := Parse([]byte(`accounts: {admins: [{name: 'CORP\da-tanaka'}]}`))
	m2, err := New(cfg, "")
	if err != nil || !m2.IsAdmin("da-tanaka") {
		t.Errorf("domain-qualified admin name not normalized: %v", err)
	}
	if m.AdminHostAllowed("Administrator", addr("192.168.100.23")) || !m.AdminHostAllowed("Administrator", addr("192.168.200.5")) {
		t.Error("admin hosts wrong")
	}
	if m.UploadBytes != 100000000 || m.PeriodicMinDays != 3 || m.DNSWindow != DefaultDNSWindow {
		t.Error("thresholds wrong")
	}
}

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := Parse([]byte(Example))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if cfg.Networks.Zones["SHANAI"][0] != "192.168.100.0/24" {
		t.Errorf("zones = %v", cfg.Networks.Zones)
	}
}

func TestConfigErrors(t *testing.T) {
	bad := map[string]string{
		"unknown key":     "networks: {intrenal: [10.0.0.0/8]}",
		"bad cidr":        "networks: {internal: [10.0.0.0/33]}",
		"bad zone":        "timezone: Mars/Olympus",
		"bad day":         "business_hours: {days: [funday]}",
		"bad clock":       `business_hours: {start: "8"}`,
		"bad holiday":     "business_hours: {holidays: [2015-13-01]}",
		"flow without to": "networks: {allowed_flows: [{from: A}]}",
		"missing file":    "indicators: {files: [nope.txt]}",
	}
	for name, y := range bad {
		cfg, err := Parse([]byte(y))
		if err == nil {
			_, err = New(cfg, t.TempDir())
		}
		if err == nil {
			t.Errorf("%s: accepted %q", name, y)
		} else if strings.TrimSpace(err.Error()) == "" {
			t.Errorf("%s: empty error", name)
		}
	}
}

func TestDefaultsWithoutConfig(t *testing.T) {
	m, err := New(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if !m.IsInternal(netip.MustParseAddr("10.1.2.3")) || m.IsInternal(netip.MustParseAddr("8.8.8.8")) {
		t.Error("default internal ranges wrong")
	}
	if m.HasIndicators() || m.HasAdmins() || m.HasZones() || m.HasBusinessHours() {
		t.Error("empty config claims settings")
	}
	if !m.ExecExtensions["exe"] || !m.ArchiveExtensions["zip"] {
		t.Error("default extensions missing")
	}
}

// FuzzConfig: any YAML either loads into a model or is refused with an
// error; it never panics.
func FuzzConfig(f *testing.F) {
	f.Add([]byte(issueConfig))
	f.Add([]byte(Example))
	f.Add([]byte("networks: {zones: {A: [10.0.0.0/8]}, allowed_flows: [{from: A, to: A}]}"))
	f.Add([]byte("business_hours: {days: [sat], start: '00:00', end: '24:00'}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err != nil {
			return
		}
		cfg.Indicators.Files = nil // no file system access from fuzzed input
		m, err := New(cfg, "")
		if err != nil {
			return
		}
		m.OffHours(time.Date(2015, 2, 11, 12, 0, 0, 0, time.UTC))
		m.IOCDomains.Match("a.b.example")
	})
}
