package netscreen

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// JST is the zone of the JPCERT examples; RFC 3164 and device-local times in
// the tests are read in it.
var jst = time.FixedZone("JST", 9*3600)

func ctx() *parse.Context {
	return parse.NewContext(jst, time.Date(2016, 12, 31, 0, 0, 0, 0, jst))
}

func parseLine(t testing.TB, line string) (*event.Event, error) {
	t.Helper()
	ev := &event.Event{Raw: line, Source: "netscreen"}
	err := New().Parse([]byte(line), ev, ctx())
	return ev, err
}

func readLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// check compares the listed fields (common or extra JSON names, plus "time"
// and "host") and reports every difference.
func check(t *testing.T, ev *event.Event, want map[string]string) {
	t.Helper()
	for k, w := range want {
		var got string
		switch k {
		case "time":
			got = event.FormatTime(ev.Time)
		case "host":
			got = ev.Host
		default:
			got = ev.Lookup(k)
		}
		if got != w {
			t.Errorf("%s = %q, want %q", k, got, w)
		}
	}
}

func TestJPCERTFigures(t *testing.T) {
	lines := readLines(t, "testdata/jpcert.log")
	if len(lines) != 3 {
		t.Fatalf("jpcert.log has %d lines, want 3", len(lines))
	}
	tests := []struct {
		name string
		line string
		want map[string]string
	}{
		{"figure 4-4", lines[0], map[string]string{
			"time": "2014-12-15T16:02:01.258Z", "host": "ns208-master", "syslog_host": "192.168.xxx.xxx",
			"src_ip": "192.168.100.xxx", "dst_ip": "23.23.xxx.xxx", "src_port": "58461", "dst_port": "80",
			"src_zone": "SHANAI", "dst_zone": "Untrust", "action": "deny", "action_raw": "Deny",
			"proto": "tcp", "service": "http", "bytes_out": "0", "bytes_in": "0", "duration_ms": "0",
			"event_id": "00257", "message_id": "00257", "msg_type": "traffic", "level": "notification",
			"policy_id": "36", "session_id": "0", "start_time": "2014-12-16 00:11:15", "vsys": "Root",
		}},
		{"figure 4-5", lines[1], map[string]string{
			"time": "2014-12-15T16:01:55.711Z", "host": "ns20x-master",
			"src_ip": "192.168.100.xxx", "dst_ip": "192.168.200.xxx", "src_port": "2562", "dst_port": "8089",
			"src_zone": "SHANAI", "dst_zone": "INTRA", "action": "deny", "proto": "udp",
			"service": "", "policy_id": "38", "start_time": "2014-12-16 00:11:10",
		}},
		{"figure 4-11", lines[2], map[string]string{
			"time": "2014-12-15T16:01:55.711Z", "host": "ns20x-master",
			"src_ip": "192.168.100.xxx", "dst_ip": "23.23.xxx.xxx", "dst_port": "22",
			"dst_zone": "INTRA", "action": "allow", "action_raw": "Allow", "bytes_out": "100", "bytes_in": "100",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !New().Sniff([]byte(tc.line)) {
				t.Error("Sniff = false")
			}
			ev, err := parseLine(t, tc.line)
			if err != nil {
				t.Fatal(err)
			}
			check(t, ev, tc.want)
		})
	}
}

func TestVariants(t *testing.T) {
	lines := readLines(t, "testdata/variants.log")
	find := func(sub string) string {
		for _, l := range lines {
			if strings.Contains(l, sub) {
				return l
			}
		}
		t.Fatalf("no fixture line contains %q", sub)
		return ""
	}
	tests := []struct {
		name string
		line string
		want map[string]string
	}{
		{"screening alarm", find("Large ICMP"), map[string]string{
			"time": "2016-06-02T02:24:16.000Z", "host": "sav00", "syslog_host": "fire00",
			"event_id": "00436", "level": "action", "src_ip": "210.232.20.7", "dst_ip": "148.100.114.126",
			"proto": "icmp", "src_zone": "Untrust", "interface": "ethernet1/2", "count": "1",
			"device_time": "2006-06-02 11:24:16", "msg_type": "",
			"message": "Large ICMP packet! From 210.232.20.7 to 148.100.114.126, proto 1 (zone Untrust, int ethernet1/2). Occurred 1 times. (2006-06-02 11:24:16)",
		}},
		{"erase, leading and trailing space", find("Erase sequence"), map[string]string{
			"host": "ns204", "event_id": "00027", "level": "critical",
			"message": "- Configuration Erase sequence accepted",
		}},
		{"port scan", find("Port scan"), map[string]string{
			"src_ip": "1.2.3.4", "src_port": "54886", "dst_ip": "2.3.4.5", "dst_port": "406",
			"proto": "tcp", "src_zone": "Untrust", "level": "alert", "event_id": "00016",
		}},
		{"admin login", find(`Admin user "baby"`), map[string]string{
			"user": "baby", "src_ip": "1.2.3.4", "src_port": "2150", "event_id": "00002",
		}},
		{"escaped quotes, no-name vsys", find(`start_time=\"2005`), map[string]string{
			"start_time": "2005-03-16 16:33:22", "vsys": "No Name", "src_ip": "192.168.2.1", "dst_port": "12",
			"dst_zone": "self", "bytes_in": "60",
		}},
		{"old ScreenOS: tunnel, parenthesised ports, xlated", find("Tunnel(VPN_3 03)"), map[string]string{
			"host": "-0029012002000170", "event_id": "0025", "level": "notification", "msg_type": "traffic",
			"action": "allow", "action_raw": "Tunnel(VPN_3 03)", "src_port": "1254", "dst_port": "80",
			"policy_id": "2", "icmp_type": "8", "src_xlated_ip": "192.168.10.10", "src_xlated_port": "1991",
			"dst_xlated_ip": "1.1.1.1", "dst_xlated_port": "200", "duration_ms": "88000", "proto": "icmp",
		}},
		{"no syslog time: start_time used", find("192.168.1.3 Netscreen-FW1"), map[string]string{
			"time": "2008-11-05T14:56:32.000Z", "host": "Netscreen-FW1", "syslog_host": "192.168.1.3",
			"src_ip": "172.26.1.75", "dst_ip": "166.2.3.50", "dst_port": "514",
		}},
		{"no header, NUL marker", find("fw: NetScreen device_id=fw  [Root]system-notification-00257(traffic): start_time=\"2007-01-11 10:04:55\""), map[string]string{
			"time": "2007-01-11T01:04:55.000Z", "host": "fw", "syslog_host": "", "action": "allow",
			"action_raw": "Permit", "src_xlated_ip": "203.170.175.6", "src_xlated_port": "33530",
			"dst_xlated_port": "4661",
		}},
		{"Kiwi syslog header", find("Local0.Notice"), map[string]string{
			"time": "2007-01-11T01:06:15.000Z", "syslog_host": "10.10.27.1", "service": "Network Time",
			"dst_zone": "Private", "dst_xlated_port": "123",
		}},
		{"unquoted value with spaces", find("msrpc Endpoint Mapper"), map[string]string{
			"service": "msrpc Endpoint Mapper(tcp)", "proto": "tcp", "src_ip": "21.10.90.125",
			"dst_ip": "23.16.1.1", "bytes_in": "16384", "host": "netscreen2",
		}},
		{"unnamed protocol number", find("service=gre"), map[string]string{
			"proto": "47", "service": "gre", "src_ip": "172.17.0.1",
		}},
		{"lower-case Netscreen, no vsys, cut line", find("Netscreen device_id=00351653456"), map[string]string{
			"host": "00351653456", "bytes_in": "40", "src_ip": "", "vsys": "", "event_id": "00257",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !New().Sniff([]byte(tc.line)) {
				t.Error("Sniff = false")
			}
			ev, err := parseLine(t, tc.line)
			if err != nil {
				t.Fatal(err)
			}
			check(t, ev, tc.want)
		})
	}
	// Every fixture line parses.
	for i, l := range lines {
		if _, err := parseLine(t, l); err != nil {
			t.Errorf("variants.log:%d: %v", i+1, err)
		}
	}
}

func TestWazuhDataset(t *testing.T) {
	path := testutil.Dataset(t, "firewall/wazuh-ruleset/netscreen.ini")
	samples := testutil.WazuhLines(t, path)
	if len(samples) == 0 {
		t.Fatal("no samples")
	}
	for _, s := range samples {
		if !New().Sniff([]byte(s.Line)) {
			t.Errorf("%s:%d: Sniff = false", filepath.Base(s.File), s.No)
		}
		ev, err := parseLine(t, s.Line)
		if err != nil {
			t.Errorf("%s:%d: %v", filepath.Base(s.File), s.No, err)
			continue
		}
		if ev.Host == "" || ev.Get(event.EventID) == "" || ev.Extra("message") == "" {
			t.Errorf("%s:%d: host %q, event id %q, message %q", filepath.Base(s.File), s.No, ev.Host, ev.Get(event.EventID), ev.Extra("message"))
		}
	}
	t.Logf("%d wazuh NetScreen lines parsed", len(samples))

	// Spot checks on what the wazuh rules key on.
	byID := map[string]*event.Event{}
	for _, s := range samples {
		ev, _ := parseLine(t, s.Line)
		byID[ev.Get(event.EventID)] = ev
	}
	check(t, byID["00767"], map[string]string{
		"time": "2014-05-23T14:25:58.681Z", "host": "0275112227993284", "syslog_host": "10.10.10.1",
		"level": "information", "user": "netscreen", "via": "web", "src_ip": "10.10.10.101",
		"dst_ip": "10.10.10.1", "dst_port": "443", "device_time": "2014-05-23 10:58:17",
	})
	check(t, byID["00018"], map[string]string{"user": "netscreen", "src_ip": "10.10.10.101"})
	check(t, byID["00515"], map[string]string{
		"level": "warning", "user": "netscreen", "via": "SSH", "src_ip": "10.10.10.100", "src_port": "0",
	})
	check(t, byID["00005"], map[string]string{
		"level": "emergency", "host": "ssg5", "syslog_host": "ssg5.17.168.192.in-addr.arpa",
		"src_ip": "192.168.18.53", "src_port": "41437", "dst_ip": "192.168.17.251", "dst_port": "9612",
		"proto": "tcp", "src_zone": "Untrust", "interface": "ethernet0/0", "count": "1",
	})
}

func TestSkipAndErrors(t *testing.T) {
	for _, l := range []string{"", "   ", "\r"} {
		if _, err := parseLine(t, l); !errors.Is(err, parse.ErrSkip) {
			t.Errorf("%q: err = %v, want ErrSkip", l, err)
		}
	}
	bad := []struct{ line, want string }{
		{"Dec 16 01:02:01 host sshd[1]: Accepted password for root", "NetScreen device_id"},
		{"device_id=x [Root]system-notification-00257(traffic): src=1.2.3.4", "NetScreen device_id"},
		{"NetScreen device_id=fw [Root]system-notification-00257(traffic): src=1.2.3.4", "no time stamp"},
	}
	for _, b := range bad {
		_, err := parseLine(t, b.line)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%q: err = %v, want one mentioning %q", b.line, err, b.want)
		}
	}
}

func TestSniffRejectsOtherFormats(t *testing.T) {
	others := []string{
		`Jun 23 08:51:22 server1 kernel: [486938.916177] [UFW BLOCK] IN=eth1 OUT= MAC=00:00 SRC=86.101.38.88 DST=10.0.0.1 LEN=60 PROTO=TCP SPT=41945 DPT=16881`,
		`date=2019-05-10 time=11:37:47 logid="0000000013" type="traffic" subtype="forward" level="notice" srcip=10.1.100.11 srcport=58012 dstip=23.59.154.35 dstport=80 action="close"`,
		`16-Dec-2014 01:03:55 client 192.168.100.1#47197: query: apt.example.com IN A + (192.168.1.1)`,
		`1418659323.123    45 192.168.100.1 TCP_MISS/200 1234 GET http://example.com/ - DIRECT/93.184.216.34 text/html`,
		`Feb 16 11:43:32 mail postfix/smtpd[29597]: connect from unknown[192.168.1.1]`,
		`id=firewall sn=00301E0526B1 time="2004-04-01 10:39:35" fw=67.32.44.2 pri=5 c=64 m=36 msg="TCP connection dropped" src=67.101.200.27:4507:WAN dst=67.32.44.2:445:LAN`,
	}
	for _, l := range others {
		if New().Sniff([]byte(l)) {
			t.Errorf("Sniff(%q) = true", l)
		}
	}
}

func TestNameDescribe(t *testing.T) {
	p := New()
	if p.Name() != "netscreen" || p.Describe() == "" {
		t.Errorf("Name %q Describe %q", p.Name(), p.Describe())
	}
}

func FuzzParse(f *testing.F) {
	for _, path := range []string{"testdata/jpcert.log", "testdata/variants.log"} {
		for _, l := range readLines(f, path) {
			f.Add(l)
		}
	}
	f.Add(`NetScreen device_id=`)
	f.Add(`NetScreen device_id=x [`)
	f.Add(`NetScreen device_id=x a-1: k="`)
	f.Add(`NetScreen device_id=x a-1: k=\"v`)
	f.Add(`NetScreen device_id=x a-1(traffic): src zone= dst port==1 From 1.2.3.4:5 to (zone `)
	f.Fuzz(func(t *testing.T, line string) {
		ev := &event.Event{}
		err := New().Parse([]byte(line), ev, ctx())
		if err != nil {
			return
		}
		if ev.Time.Location() != time.UTC {
			t.Errorf("time %v not UTC", ev.Time)
		}
		ev.Fields(func(k, v string) {
			if v == "" {
				t.Errorf("field %s set to empty", k)
			}
		})
		New().Sniff([]byte(line))
	})
}

func BenchmarkParse(b *testing.B) {
	line := []byte(readLines(b, "testdata/jpcert.log")[0])
	pc := ctx()
	p := New()
	ev := &event.Event{}
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		ev.Reset()
		if err := p.Parse(line, ev, pc); err != nil {
			b.Fatal(err)
		}
	}
}

// The sibling firewall parsers' fixtures are not NetScreen lines.
func TestSniffRejectsSiblingFixtures(t *testing.T) {
	for _, path := range []string{"../kv/testdata/fortigate.log", "../iptables/testdata/netfilter.log"} {
		for i, l := range readLines(t, path) {
			if New().Sniff([]byte(l)) {
				t.Errorf("%s:%d: Sniff = true", path, i+1)
			}
		}
	}
}
