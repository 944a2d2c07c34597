package iptables

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

var jst = time.FixedZone("JST", 9*3600)

// RFC 3164 stamps have no year: the reference time pins them to 2024.
func ctx() *parse.Context {
	return parse.NewContext(jst, time.Date(2024, 12, 31, 0, 0, 0, 0, jst))
}

func parseLine(t testing.TB, line string) (*event.Event, error) {
	t.Helper()
	ev := &event.Event{Raw: line, Source: "iptables"}
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

func TestFixtures(t *testing.T) {
	lines := readLines(t, "testdata/netfilter.log")
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
		name  string
		line  string
		sniff bool
		want  map[string]string
	}{
		{"UFW BLOCK", find("86.101.38.88"), true, map[string]string{
			"time": "2024-06-22T23:51:22.000Z", "host": "server1", "prefix": "[UFW BLOCK]", "action": "deny",
			"src_ip": "86.101.38.88", "dst_ip": "xx.xx.xx.xx", "src_port": "41945", "dst_port": "16881",
			"proto": "tcp", "in_iface": "eth1", "out_iface": "", "len": "60", "ttl": "50", "ip_id": "51005",
			"tcp_flags": "SYN", "mac": "00:00:00:00:00:00:00:00:00:00:00:00:00:00",
		}},
		{"UFW AUDIT outbound: no action", find("[UFW AUDIT]"), true, map[string]string{
			"action": "", "prefix": "[UFW AUDIT]", "in_iface": "", "out_iface": "eth0", "tcp_flags": "ACK PSH",
			"dst_port": "5966",
		}},
		{"IPv6: first LEN is the IP length", find("HOPLIMIT=1"), true, map[string]string{
			"src_ip": "fe80:0000:0000:0000:a2b3:ccff:fedf:27f1", "dst_port": "8612", "proto": "udp",
			"len": "64", "hoplimit": "1", "flowlbl": "586783", "mac": "",
		}},
		{"ICMP error: the quoted packet does not override", find("leon-server"), true, map[string]string{
			"src_ip": "70.55.96.32", "dst_ip": "192.168.1.5", "proto": "icmp", "icmp_type": "3", "icmp_code": "3",
			"src_port": "", "dst_port": "", "ip_id": "26439", "len": "157",
		}},
		{"firewalld FINAL_REJECT", find("FINAL_REJECT"), true, map[string]string{
			"action": "reject", "prefix": "FINAL_REJECT:", "src_ip": "192.168.1.201", "dst_port": "80", "host": "localhost",
		}},
		{"firewalld zone drop", find("IN_public_DROP"), true, map[string]string{
			"action": "drop", "prefix": "IN_public_DROP:", "dst_port": "22", "tcp_flags": "ACK RST",
		}},
		{"Shorewall prefix glued to IN=, no kernel tag", find("May 28 17:31:07 server Shorewall"), true, map[string]string{
			"action": "drop", "prefix": "Shorewall:net2fw:DROP:", "in_iface": "eth1", "host": "server", "dst_port": "8080",
		}},
		{"plain prefix, truncated quoted packet", find("Inbound IN="), true, map[string]string{
			"action": "", "prefix": "Inbound", "src_ip": "190.152.23.86", "proto": "icmp",
		}},
		{"prefix with IN inside a word", find("LOIN ICMP"), true, map[string]string{
			"prefix": "LOIN ICMP rate to high", "in_iface": "lo", "src_ip": "127.0.0.1",
		}},
		{"ISO stamp, no host, lower-case accepted", find("zzz accepted"), true, map[string]string{
			"time": "2024-10-06T07:24:12.159Z", "host": "", "action": "allow", "prefix": "zzz accepted",
			"dst_ip": "172.30.3.23",
		}},
		{"kernel message that is no packet log", find("INFO: task"), false, map[string]string{
			"program": "kernel", "message": "INFO: task gnome-terminal:24318 blocked for more than 120 seconds.",
			"src_ip": "", "host": "efgefg",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := New().Sniff([]byte(tc.line)); got != tc.sniff {
				t.Errorf("Sniff = %v, want %v", got, tc.sniff)
			}
			ev, err := parseLine(t, tc.line)
			if err != nil {
				t.Fatal(err)
			}
			check(t, ev, tc.want)
		})
	}
	for i, l := range lines {
		if _, err := parseLine(t, l); err != nil {
			t.Errorf("netfilter.log:%d: %v", i+1, err)
		}
	}
}

func TestFirewalldDataset(t *testing.T) {
	path := testutil.Dataset(t, "firewall/wazuh-ruleset/firewalld.ini")
	samples := testutil.WazuhLines(t, path)
	if len(samples) == 0 {
		t.Fatal("no samples")
	}
	for _, s := range samples {
		where := filepath.Base(s.File) + ":" + itoa(s.No)
		if !New().Sniff([]byte(s.Line)) {
			t.Errorf("%s: Sniff = false", where)
		}
		ev, err := parseLine(t, s.Line)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		if ev.Extra("program") != "firewalld" || ev.Extra("level") != "ERROR" || ev.Extra("message") == "" {
			t.Errorf("%s: program %q level %q message %q", where, ev.Extra("program"), ev.Extra("level"), ev.Extra("message"))
		}
	}
	ev, _ := parseLine(t, samples[0].Line)
	check(t, ev, map[string]string{
		// firewalld's own stamp has the year the syslog header lacks.
		"time": "2014-07-18T01:51:43.000Z", "host": "localhost",
		"message": "'/sbin/iptables -D INPUT_ZONES -t filter -i enp1s0 -g IN_public' failed: iptables: No chain/target/match by that name.",
	})
	t.Logf("%d firewalld lines parsed", len(samples))
}

// TestLinuxDatasets parses every iptables-like line (SRC= and DPT=) found in
// the Linux datasets. (There are none at the time of writing; the test
// says so and keeps guarding any that get added.)
func TestLinuxDatasets(t *testing.T) {
	root := testutil.Dataset(t, "linux")
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, l := range bytes.Split(data, []byte("\n")) {
			if !bytes.Contains(l, []byte("SRC=")) || !bytes.Contains(l, []byte("DPT=")) {
				continue
			}
			n++
			ev := &event.Event{}
			if err := New().Parse(l, ev, ctx()); err != nil {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s:%d: %v", rel, i+1, err)
			} else if !ev.Has(event.SrcIP) || !ev.Has(event.DstPort) {
				t.Errorf("%s:%d: no src/dst port", path, i+1)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d iptables-like lines in %s", n, root)
}

func TestSkipAndErrors(t *testing.T) {
	for _, l := range []string{"", " ", "\r\n"} {
		if _, err := parseLine(t, l); !errors.Is(err, parse.ErrSkip) {
			t.Errorf("%q: err = %v, want ErrSkip", l, err)
		}
	}
	bad := []struct{ line, want string }{
		// dmesg without -T: uptime only (a real line from an Ubuntu forum post).
		{"[   20.586965] [UFW BLOCK] IN=wlan0 OUT= MAC= SRC=fe80:0000:0000:0000:69df:0f31:0cee:feab DST=ff02:0000:0000:0000:0000:0000:0001:0003 LEN=86 TC=0 HOPLIMIT=255 FLOWLBL=67613 PROTO=UDP SPT=5355 DPT=5355 LEN=46", "no wall-clock time"},
		{"some text that is nothing", "neither"},
	}
	for _, b := range bad {
		_, err := parseLine(t, b.line)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%q: err = %v, want one mentioning %q", b.line, err, b.want)
		}
	}
	// dmesg -T gives a wall-clock time.
	ev, err := parseLine(t, "[Tue Jul 18 10:51:43 2014] [UFW BLOCK] IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 PROTO=TCP SPT=1 DPT=22")
	if err != nil {
		t.Fatal(err)
	}
	check(t, ev, map[string]string{"time": "2014-07-18T01:51:43.000Z", "action": "deny", "dst_port": "22"})
}

func TestPrefixAction(t *testing.T) {
	tests := map[string]string{
		"[UFW BLOCK]": "deny", "[UFW LIMIT BLOCK]": "deny", "[UFW ALLOW]": "allow", "[UFW AUDIT]": "",
		"FINAL_REJECT:": "reject", "IN_public_DROP:": "drop", "filter_IN_public_REJECT:": "reject",
		"DROP: ": "drop", "iptables denied:": "deny", "nft accept ssh": "allow", "Inbound": "",
		"INPUT DENY": "deny",
	}
	for in, want := range tests {
		if got := prefixAction(in); got != want {
			t.Errorf("prefixAction(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSniffRejectsOtherFormats(t *testing.T) {
	others := []string{
		`2014-12-16T01:02:01.258399+09:00 192.168.xxx.xxx ns208-master: NetScreen device_id=ns208-master [Root]system-notification-00257(traffic): start_time="2014-12-16 00:11:15" duration=0 policy_id=36 service=http proto=6 src zone=SHANAI dst zone=Untrust action=Deny sent=0 rcvd=0 src=192.168.100.xxx dst=23.23.xxx.xxx src_port=58461 dst port=80 session_id=0`,
		`date=2019-05-10 time=11:37:47 logid="0000000013" type="traffic" subtype="forward" level="notice" srcip=10.1.100.11 srcport=58012 dstip=23.59.154.35 dstport=80 action="close"`,
		`Jan 22 22:41:30 efgefg kernel: [343287.076139] INFO: task gnome-terminal:24318 blocked for more than 120 seconds.`,
		`Feb 16 11:43:32 mail postfix/smtpd[29597]: connect from unknown[192.168.1.1]`,
		`16-Dec-2014 01:03:55 client 192.168.100.1#47197: query: apt.example.com IN A + (192.168.1.1)`,
	}
	for _, l := range others {
		if New().Sniff([]byte(l)) {
			t.Errorf("Sniff(%q) = true", l)
		}
	}
}

func TestNameDescribe(t *testing.T) {
	p := New()
	if p.Name() != "iptables" || p.Describe() == "" {
		t.Errorf("Name %q Describe %q", p.Name(), p.Describe())
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, l := range readLines(f, "testdata/netfilter.log") {
		f.Add(l)
	}
	f.Add(`Jul 18 10:51:43 localhost firewalld: 2014-07-18 10:51:43 ERROR: ZONE_ALREADY_SET`)
	f.Add(`Jul 18 10:51:43 h kernel: [ IN= SRC= [[ ] SYN`)
	f.Add(`[Tue Jul 18 10:51:43 2014] IN=x SRC=y`)
	f.Add(`Jul 18 10:51:43 h k: 2014-07-18 10:51:43 E: `)
	f.Fuzz(func(t *testing.T, line string) {
		ev := &event.Event{}
		New().Sniff([]byte(line))
		if err := New().Parse([]byte(line), ev, ctx()); err != nil {
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
	})
}

func BenchmarkParse(b *testing.B) {
	line := []byte(readLines(b, "testdata/netfilter.log")[0])
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

// The sibling firewall parsers' fixtures are not netfilter lines.
func TestSniffRejectsSiblingFixtures(t *testing.T) {
	for _, path := range []string{"../netscreen/testdata/jpcert.log", "../netscreen/testdata/variants.log", "../kv/testdata/fortigate.log"} {
		for i, l := range readLines(t, path) {
			if New().Sniff([]byte(l)) {
				t.Errorf("%s:%d: Sniff = true", path, i+1)
			}
		}
	}
}
