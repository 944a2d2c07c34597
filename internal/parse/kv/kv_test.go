package kv

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

var jst = time.FixedZone("JST", 9*3600)

func ctx() *parse.Context {
	return parse.NewContext(jst, time.Date(2024, 12, 31, 0, 0, 0, 0, jst))
}

func parseLine(t testing.TB, line string) (*event.Event, error) {
	t.Helper()
	ev := &event.Event{Raw: line, Source: "kv"}
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
	sc.Buffer(make([]byte, 1<<16), 1<<20)
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

func TestFortiGateDocExamples(t *testing.T) {
	lines := readLines(t, "testdata/fortigate.log")
	if len(lines) != 8 {
		t.Fatalf("fortigate.log has %d lines, want 8", len(lines))
	}
	tests := []struct {
		name  string
		line  string
		sniff bool
		want  map[string]string
	}{
		{"deny, eventtime ns + tz", lines[0], true, map[string]string{
			// eventtime wins: 1645730197.145603994 s.
			"time": "2022-02-24T19:16:37.145Z", "host": "",
			"src_ip": "10.1.100.12", "src_port": "40402", "dst_ip": "172.16.200.55", "dst_port": "21",
			"proto": "tcp", "action": "deny", "action_raw": "", "service": "FTP", "event_id": "0000000013",
			"bytes_out": "0", "bytes_in": "0", "duration_ms": "10000", "src_zone": "", "dst_zone": "",
			"srcintf": "port2", "policyname": "Default", "policyid": "0", "sessionid": "6811", "tz": "-0800",
		}},
		{"service tcp/port", lines[1], true, map[string]string{
			"time": "2022-02-24T19:19:20.685Z", "dst_port": "2121", "service": "tcp/2121", "bytes_out": "60",
		}},
		{"server-rst is an allowed session closing", lines[2], true, map[string]string{
			"time": "2019-06-17T23:35:53.778Z", "action": "close", "action_raw": "server-rst", "user": "Jack",
			"bytes_out": "276", "bytes_in": "745", "duration_ms": "6000", "app": "Facebook", "group": "QA",
		}},
		{"webfilter", lines[3], true, map[string]string{
			"time": "2019-06-17T23:42:41.418Z", "domain": "mail.google.com", "url": "/", "action": "allow",
			"action_raw": "passthrough", "user": "Jack", "event_id": "0317013312", "subtype": "webfilter",
			"catdesc": "Web-based Email", "msg": "URL belongs to an allowed category in policy",
			"method": "", // FortiGate's method= is the rating method, not HTTP
		}},
		{"app-ctrl block", lines[4], true, map[string]string{
			"action": "deny", "action_raw": "block", "dst_port": "8443", "url": "/app_data/story.mp3",
			"domain": "172.16.200.216", "msg": "Video/Audio: HTTP.Audio,",
		}},
		{"unquoted 5.6 disk format, no zone: pc.Location", lines[5], true, map[string]string{
			"time": "2016-02-12T02:11:29.000Z", "action": "close", "action_raw": "", "event_id": "0000000013",
			"domain": "", "dstname": "192.168.70.184", "bytes_in": "1605", "utmaction": "block",
		}},
		{"event log: no addresses, still an event", lines[6], false, map[string]string{
			"time": "2016-02-12T01:48:12.000Z", "host": "", "user": "admin", "action": "login",
			"status": "success", "logdesc": "Admin login successful", "src_ip": "",
		}},
		{"odd collector header, devname", lines[7], true, map[string]string{
			"time": "2016-08-28T14:36:34.000Z", "host": "gotham-fortigate", "devid": "FGT60D4614044725",
			"action": "allow", "action_raw": "start", "proto": "udp", "dst_ip": "8.8.4.4", "service": "DNS",
			"syslog_host": "",
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
}

// TestWazuhFirewallDatasets decides line by line which of the wazuh firewall
// samples are key=value logs: SonicWall and Junos structured syslog are;
// PaloAlto (CSV), Cisco ASA, NetScreen (own parser) and firewalld are not.
func TestWazuhFirewallDatasets(t *testing.T) {
	dir := testutil.Dataset(t, "firewall/wazuh-ruleset")
	type pair struct{ src, dst string }
	want := map[string][]pair{
		"SonicWall.ini": {
			{"10.12.14.9", "217.56.236.4"},
			{"fe80::9851:b780:9d9d:a29e", "ff02::1:3"},
			{"67.101.200.27", "67.32.44.2"},
			{"2.2.2.2", "1.1.1.1"},
			{"37.186.204.2", "172.29.168.2"},
			{"2.2.2.2", "1.1.1.1"},
			{"192.168.0.62", "151.101.242.49"},
			{"192.168.0.46", "34.194.213.204"},
		},
		"junos.ini": {
			{"1.1.1.1", "1.1.1.1"},
			{"192.168.1.1", "192.168.1.2"},
			{"192.168.1.1", "192.168.1.2"},
		},
	}
	notKV := []string{"paloalto.ini", "cisco_asa.ini", "netscreen.ini", "firewalld.ini"}

	for file, pairs := range want {
		samples := testutil.WazuhLines(t, filepath.Join(dir, file))
		if len(samples) != len(pairs) {
			t.Fatalf("%s: %d samples, the test knows %d", file, len(samples), len(pairs))
		}
		for i, s := range samples {
			where := file + ":" + itoa(s.No)
			if !New().Sniff([]byte(s.Line)) {
				t.Errorf("%s: Sniff = false", where)
			}
			ev, err := parseLine(t, s.Line)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			if ev.Get(event.SrcIP) != pairs[i].src || ev.Get(event.DstIP) != pairs[i].dst {
				t.Errorf("%s: src %q dst %q, want %q %q", where, ev.Get(event.SrcIP), ev.Get(event.DstIP), pairs[i].src, pairs[i].dst)
			}
			if ev.Time.IsZero() || ev.Host == "" || ev.Get(event.EventID) == "" {
				t.Errorf("%s: time %v host %q event id %q", where, ev.Time, ev.Host, ev.Get(event.EventID))
			}
		}
	}
	for _, file := range notKV {
		samples := testutil.WazuhLines(t, filepath.Join(dir, file))
		for _, s := range samples {
			if New().Sniff([]byte(s.Line)) {
				t.Errorf("%s:%d: Sniff = true for a line that is not key=value: %s", file, s.No, s.Line)
			}
		}
	}
}

func TestSonicWallAndJunosFields(t *testing.T) {
	dir := testutil.Dataset(t, "firewall/wazuh-ruleset")
	sw := testutil.WazuhLines(t, filepath.Join(dir, "SonicWall.ini"))
	jn := testutil.WazuhLines(t, filepath.Join(dir, "junos.ini"))
	if len(sw) != 8 || len(jn) != 3 {
		t.Fatalf("unexpected sample counts %d %d", len(sw), len(jn))
	}
	tests := []struct {
		name string
		line string
		want map[string]string
	}{
		{"SonicWall, empty port, interface, UTC", sw[0].Line, map[string]string{
			"time": "2019-02-27T12:55:40.000Z", "host": "2.228.169.242", "event_id": "1197",
			"src_port": "", "srcintf": "X0-V500", "dstintf": "X3", "proto": "icmp", "action": "",
			"src": "10.12.14.9::X0-V500", "rule": "17 (LAN->WAN)", "msg": "NAT Mapping",
		}},
		{"SonicWall IPv6: srcV6 + :port:intf", sw[1].Line, map[string]string{
			"src_port": "49702", "dst_port": "5355", "proto": "udp", "service": "5355", "action": "drop",
			"srcintf": "X0-V514",
		}},
		{"SonicWall, local time, zones as interfaces", sw[2].Line, map[string]string{
			"time": "2004-04-01T01:39:35.000Z", "src_port": "4507", "dst_port": "445",
			"srcintf": "WAN", "dstintf": "LAN", "action": "drop", "event_id": "36",
		}},
		{"SonicWall behind syslog: device time wins", sw[3].Line, map[string]string{
			"time": "2007-01-03T05:48:06.000Z", "host": "192.168.5.1", "syslog_host": "",
			"action": "allow", "proto": "tcp", "service": "50000",
		}},
		{"SonicWall web site denied, host names", sw[6].Line, map[string]string{
			"action": "deny", "proto": "tcp", "service": "https", "domain": "example.com",
			"srcname": "pc048.example.com", "dstintf": "X1", "Category": "Freeware/Software Downloads",
		}},
		{"Junos RT_SCREEN relayed", jn[0].Line, map[string]string{
			"time": "2017-08-24T04:58:58.724Z", "host": "sis-srx-EUH-03", "syslog_host": "192.168.1.1",
			"event_id": "RT_SCREEN_IP", "app": "RT_IDS", "action": "drop", "proto": "udp",
			"src_zone": "mpls-untrust", "attack-name": "IP spoofing!",
		}},
		{"Junos session deny", jn[1].Line, map[string]string{
			"event_id": "RT_FLOW_SESSION_DENY", "action": "deny", "src_port": "1080", "dst_port": "8010",
			"src_zone": "trust", "dst_zone": "untrust", "service": "junos-dns-udp", "user": "",
			"reason": "policy deny", "policy-name": "Local-Default-Deny",
		}},
		{"Junos other message", jn[2].Line, map[string]string{
			"event_id": "FLOW_MCAST_RPF_FAIL", "action": "", "proto": "udp",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := parseLine(t, tc.line)
			if err != nil {
				t.Fatal(err)
			}
			check(t, ev, tc.want)
		})
	}
}

// Lines derived from the samples above, to cover header and time variants.
func TestHeadersAndTimes(t *testing.T) {
	tests := []struct {
		name string
		line string
		want map[string]string
	}{
		{"RFC 5424 Junos (the wazuh line without its relay header)",
			`<14>1 2017-09-23T13:54:54.803Z sis-srx-mic-01 RT_FLOW - RT_FLOW_SESSION_DENY [junos@2636.1.1.1.2.39 source-address="192.168.1.1" source-port="1080" destination-address="192.168.1.2" destination-port="8010" protocol-id="17" reason="policy deny"] session denied`,
			map[string]string{"time": "2017-09-23T13:54:54.803Z", "host": "sis-srx-mic-01", "event_id": "RT_FLOW_SESSION_DENY",
				"action": "deny", "src_ip": "192.168.1.1", "dst_port": "8010", "reason": "policy deny"}},
		{"PRI before FortiGate pairs, tz +0900, no eventtime",
			`<189>date=2014-12-16 time=01:02:01 devname="FG" devid="FGT60D0000000000" logid="0000000013" type="traffic" tz="+0900" srcip=192.168.100.1 srcport=58461 dstip=23.23.1.1 dstport=80 action="deny"`,
			map[string]string{"time": "2014-12-15T16:02:01.000Z", "host": "FG", "action": "deny", "dst_port": "80"}},
		{"tz UTC+2:00 and epoch seconds",
			`logver=60 timestamp=1591368557 tz="UTC+2:00" devname="fw" srcip=10.0.0.1 dstip=10.0.0.2 action="accept"`,
			map[string]string{"time": "2020-06-05T14:49:17.000Z", "action": "allow", "action_raw": "accept"}},
		{"only the syslog header has a time",
			`Dec 16 01:02:01 fw01 src=192.168.100.1 spt=58461 dst=23.23.1.1 dpt=80 proto=6 act=DROP`,
			map[string]string{"time": "2014-12-15T16:02:01.000Z", "host": "fw01", "src_port": "58461",
				"dst_port": "80", "action": "drop", "action_raw": "DROP", "proto": "tcp"}},
		{"upper-case aliases, bracketed IPv6 with port, escaped quote",
			`date=2020-01-02 time=03:04:05 SRC=[2001:db8::1]:5353 DST=2001:db8::2 DPT=53 msg="say \"hi\"" user=N/A`,
			map[string]string{"time": "2020-01-01T18:04:05.000Z", "src_ip": "2001:db8::1", "src_port": "5353",
				"dst_port": "53", "msg": `say \"hi\"`, "user": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The 3164 header has no year: pin the reference to the example's.
			pc := parse.NewContext(jst, time.Date(2014, 12, 31, 0, 0, 0, 0, jst))
			ev := &event.Event{}
			if err := New().Parse([]byte(tc.line), ev, pc); err != nil {
				t.Fatal(err)
			}
			check(t, ev, tc.want)
		})
	}
}

func TestTZOffset(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"+0900", 9 * 3600, true}, {"-0700", -7 * 3600, true}, {"+09:00", 9 * 3600, true},
		{"UTC+2:00", 2 * 3600, true}, {"GMT-7", -7 * 3600, true}, {"UTC", 0, true}, {"Z", 0, true},
		{"+0530", 5*3600 + 30*60, true}, {"JST", 0, false}, {"", 0, false}, {"+", 0, false},
		{"+99", 0, false}, {"+09:", 0, false}, {"+0a00", 0, false},
	}
	for _, tc := range tests {
		got, ok := tzOffset(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("tzOffset(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestEpochUnits(t *testing.T) {
	for _, v := range []string{"1557513467", "1557513467369", "1557513467369913", "1557513467369913239"} {
		got, ok := epoch(v)
		if !ok || event.FormatTime(got)[:19] != "2019-05-10T18:37:47" {
			t.Errorf("epoch(%s) = %v, %v", v, got, ok)
		}
	}
	for _, v := range []string{"", "12", "abc", "99999999999999999999"} {
		if _, ok := epoch(v); ok {
			t.Errorf("epoch(%q) accepted", v)
		}
	}
}

func TestSkipAndErrors(t *testing.T) {
	for _, l := range []string{"", "  ", "\r\n"} {
		if _, err := parseLine(t, l); !errors.Is(err, parse.ErrSkip) {
			t.Errorf("%q: err = %v, want ErrSkip", l, err)
		}
	}
	bad := []struct{ line, want string }{
		{"just some words without pairs", "no key=value pairs"},
		{"srcip=1.2.3.4 dstip=5.6.7.8 action=deny", "no time stamp"},
		{"date=2019-13-45 time=99:00:00 srcip=1.2.3.4", "no time stamp"},
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
		// NetScreen (JPCERT figure 4-4)
		`2014-12-16T01:02:01.258399+09:00 192.168.xxx.xxx ns208-master: NetScreen device_id=ns208-master [Root]system-notification-00257(traffic): start_time="2014-12-16 00:11:15" duration=0 policy_id=36 service=http proto=6 src zone=SHANAI dst zone=Untrust action=Deny sent=0 rcvd=0 src=192.168.100.xxx dst=23.23.xxx.xxx src_port=58461 dst port=80 session_id=0`,
		// netfilter
		`Jun 23 08:51:22 server1 kernel: [486938.916177] [UFW BLOCK] IN=eth1 OUT= MAC=00:00:00:00:00:00:00:00:00:00:00:00:00:00 SRC=86.101.38.88 DST=10.0.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=50 ID=51005 DF PROTO=TCP SPT=41945 DPT=16881 WINDOW=7300 RES=0x00 SYN URGP=0`,
		// CEF (FortiOS 5.6 log reference)
		`Feb 12 11:11:30 syslog-800c CEF:0|Fortinet|Fortigate|v5.6.0|00013|traffic:forward close|3|FTNTFGTlogid=0000000013 cat=traffic:forward src=192.168.1.183 spt=45719 dst=192.168.70.184 dpt=80 proto=6 act=close`,
		// auditd
		`type=USER_LOGIN msg=audit(1364481363.243:24287): pid=1 uid=0 auid=0 ses=1 msg='op=login acct="root" exe="/usr/sbin/sshd" hostname=? addr=192.168.1.1 terminal=ssh res=failed' src=1.2.3.4 dst=5.6.7.8`,
		`16-Dec-2014 01:03:55 client 192.168.100.1#47197: query: apt.example.com IN A + (192.168.1.1)`,
		`Feb 16 11:43:32 mail postfix/smtpd[29597]: connect from unknown[192.168.1.1]`,
		`Dec 16 01:02:03 host sudo: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls`,
	}
	for _, l := range others {
		if New().Sniff([]byte(l)) {
			t.Errorf("Sniff(%q) = true", l)
		}
	}
}

func TestNameDescribe(t *testing.T) {
	p := New()
	if p.Name() != "kv" || p.Describe() == "" {
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
	for _, l := range readLines(f, "testdata/fortigate.log") {
		f.Add(l)
	}
	f.Add(`id=firewall sn=00301E0526B1 time="2004-04-01 10:39:35" fw=67.32.44.2 pri=5 c=64 m=36 msg="TCP connection dropped" n=2686 src=67.101.200.27:4507:WAN dst=67.32.44.2:445:LAN rule=0`)
	f.Add(`Sep 23 13:54:55 192.168.1.1 junos-flow: 2017-09-23T13:54:54.803Z sis-srx-mic-01 RT_FLOW - RT_FLOW_SESSION_DENY [junos@2636.1.1.1.2.39 source-address="192.168.1.1" reason="policy deny"]`)
	f.Add(`<14>1 - - - - - [x a="`)
	f.Add(`a= b=" c='x\`)
	f.Add(`src=[ dst=: src=:: date=2019/05/10 time=1:2:3 tz=+ eventtime=0`)
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
	line := []byte(readLines(b, "testdata/fortigate.log")[0])
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

func BenchmarkSniff(b *testing.B) {
	line := []byte(readLines(b, "testdata/fortigate.log")[0])
	p := New()
	b.ReportAllocs()
	for b.Loop() {
		if !p.Sniff(line) {
			b.Fatal("not sniffed")
		}
	}
}

// The sibling firewall parsers' fixtures are not key=value logs.
func TestSniffRejectsSiblingFixtures(t *testing.T) {
	for _, path := range []string{"../netscreen/testdata/jpcert.log", "../netscreen/testdata/variants.log", "../iptables/testdata/netfilter.log"} {
		for i, l := range readLines(t, path) {
			if New().Sniff([]byte(l)) {
				t.Errorf("%s:%d: Sniff = true", path, i+1)
			}
		}
	}
}
