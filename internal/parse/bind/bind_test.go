package bind

import (
	"bufio"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// The JPCERT/CC example is from a server in Japan: its zone-less BIND times
// are read as JST. Syslog times without a year get the year of RefTime.
var jst = time.FixedZone("JST", 9*3600)

func ctx() *parse.Context {
	return parse.NewContext(jst, time.Date(2015, 12, 31, 0, 0, 0, 0, time.UTC))
}

type fields map[string]string

func allFields(ev *event.Event) fields {
	m := fields{}
	ev.Fields(func(k, v string) { m[k] = v })
	return m
}

func parseLine(line string) (*event.Event, error) {
	ev := &event.Event{Raw: line, Source: "bind"}
	err := New().Parse([]byte(line), ev, ctx())
	return ev, err
}

func check(t *testing.T, line, wantTime, wantHost string, want fields) {
	t.Helper()
	ev, err := parseLine(line)
	if err != nil {
		t.Fatalf("Parse(%q): %v", line, err)
	}
	if got := event.FormatTime(ev.Time); got != wantTime {
		t.Errorf("time = %s, want %s", got, wantTime)
	}
	if ev.Host != wantHost {
		t.Errorf("host = %q, want %q", ev.Host, wantHost)
	}
	got := allFields(ev)
	if !maps.Equal(got, want) {
		for _, k := range slices.Sorted(maps.Keys(got)) {
			if want[k] != got[k] {
				t.Errorf("%s = %q, want %q", k, got[k], want[k])
			}
		}
		for _, k := range slices.Sorted(maps.Keys(want)) {
			if _, ok := got[k]; !ok {
				t.Errorf("%s missing, want %q", k, want[k])
			}
		}
	}
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

func TestName(t *testing.T) {
	if New().Name() != "bind" || New().Describe() == "" {
		t.Fatal("name or description changed")
	}
}

// TestJPCERT checks 図 4-11 as printed.
func TestJPCERT(t *testing.T) {
	lines := readLines(t, filepath.Join("testdata", "jpcert.log"))
	if len(lines) != 1 {
		t.Fatalf("%d fixture lines, want 1", len(lines))
	}
	if !New().Sniff([]byte(lines[0])) {
		t.Errorf("Sniff rejects %q", lines[0])
	}
	// 01:03:55 JST, 24 minutes after the firewall's deny of 図 4-11.
	check(t, lines[0], "2014-12-15T16:03:55.000Z", "", fields{
		"src_ip": "192.168.100.xxx", "src_port": "47197", "dst_ip": "192.168.1.xxx",
		"domain": "apt.example.com", "query": "apt.example.com", "qtype": "A", "qclass": "IN", "flags": "+",
	})
}

func TestVariants(t *testing.T) {
	lines := readLines(t, filepath.Join("testdata", "variants.log"))
	want := []struct {
		time, host string
		f          fields
	}{
		{"2014-12-15T16:03:55.000Z", "", fields{
			"src_ip": "192.168.100.1", "src_port": "47197", "dst_ip": "192.168.1.1",
			"domain": "apt.example.com", "query": "apt.example.com", "qtype": "A", "qclass": "IN", "flags": "+",
		}},
		{"2013-08-23T01:32:56.621Z", "", fields{
			"src_ip": "82.207.95.42", "src_port": "40278", "dst_ip": "10.0.0.1",
			"domain": "redginseng.com.ua", "query": "redginseng.com.ua", "qtype": "A", "qclass": "IN", "flags": "+",
		}},
		{"2023-07-18T00:12:01.123Z", "", fields{
			"src_ip": "192.0.2.1", "src_port": "60683", "dst_ip": "192.0.2.53",
			"domain": "example.com", "query": "example.com", "qtype": "A", "qclass": "IN", "flags": "+E(0)K",
		}},
		{"2023-07-18T00:12:01.123Z", "", fields{
			"src_ip": "192.0.2.1", "src_port": "60683", "dst_ip": "2001:db8::53",
			"domain": "example.com", "query": "example.com", "qtype": "AAAA", "qclass": "IN", "flags": "-E(0)DC",
			"category": "queries", "severity": "info",
		}},
		{"2023-07-18T00:12:02.000Z", "", fields{
			"src_ip": "192.0.2.1", "src_port": "60683", "dst_ip": "192.0.2.53",
			"domain": "www.example.com", "query": "www.example.com", "qtype": "A", "qclass": "IN", "flags": "+E(0)K",
			"category": "queries", "severity": "info", "view": "internal",
		}},
		{"2015-08-29T06:33:13.000Z", "ns3", fields{
			"src_ip": "192.0.2.1", "src_port": "60683", "dst_ip": "192.0.2.53", "process": "named", "pid": "464",
			"domain": "example.com", "query": "example.com", "qtype": "A", "qclass": "IN", "flags": "+E(0)K",
		}},
		{"2015-08-29T06:33:13.000Z", "ns3", fields{
			"src_ip": "2001:db8::5", "src_port": "5353", "dst_ip": "2001:db8::53", "process": "named", "pid": "464",
			"domain": "example.org", "query": "example.org", "qtype": "TXT", "qclass": "IN", "flags": "+ET",
			"category": "queries", "severity": "info", "view": "external", "ecs": "192.0.2.0/24/0",
		}},
		{"2023-07-18T00:12:01.123Z", "", fields{
			"src_ip": "192.0.2.1", "src_port": "60683", "dst_ip": "192.0.2.53",
			"domain": "example.com", "query": "example.com", "qtype": "A", "qclass": "IN", "flags": "+E(0)K",
		}},
		{"2023-07-18T00:12:01.123Z", "", fields{
			"src_ip": "192.0.2.9", "src_port": "53000", "dst_ip": "192.0.2.53", "tsig_key": "xfer-key", "view": "internal",
			"domain": "example.com", "query": "example.com", "qtype": "SOA", "qclass": "IN", "flags": "-SE(0)",
		}},
		{"2023-07-18T00:12:01.123Z", "", fields{
			"category": "lame-servers", "severity": "info", "domain": "www.example.net",
			"message": "lame server resolving 'www.example.net' (in 'example.net'?): 198.51.100.1#53",
		}},
		{"2023-07-18T00:12:01.123Z", "", fields{
			"category": "query-errors", "severity": "debug 1", "src_ip": "192.0.2.1", "src_port": "53001",
			"domain": "bad.example", "query": "bad.example", "qtype": "A", "qclass": "IN",
			"message": "query failed (SERVFAIL) for bad.example/IN/A at ../../../lib/ns/query.c:7375",
		}},
		{"2023-07-18T00:12:00.000Z", "", fields{"category": "general", "severity": "notice", "message": "running"}},
		{"2023-07-18T00:12:01.123Z", "ns1", fields{
			"src_ip": "192.0.2.1", "src_port": "1", "dst_ip": "192.0.2.53", "process": "named", "pid": "464",
			"domain": "x.example", "query": "x.example", "qtype": "A", "qclass": "IN", "flags": "+",
		}},
		{"2023-07-18T00:12:03.000Z", "", fields{
			"category": "security", "severity": "info", "src_ip": "192.0.2.8", "src_port": "53", "action": "deny",
			"domain": "example.io", "query": "example.io", "qtype": "A", "qclass": "IN",
			"message": "query (cache) 'example.io/A/IN' denied (allow-query-cache did not match)",
		}},
		{"2023-07-18T00:12:04.000Z", "", fields{
			"category": "xfer-out", "severity": "info", "src_ip": "192.0.2.9", "src_port": "41234",
			"domain": "1/24.2.0.192.in-addr.arpa", "query": "1/24.2.0.192.in-addr.arpa", "qclass": "IN",
			"message": "transfer of '1/24.2.0.192.in-addr.arpa/IN': AXFR started (serial 2023071801)",
		}},
		{"2023-07-18T00:12:05.000Z", "", fields{
			"src_ip": "192.0.2.1", "src_port": "60683", "dst_ip": "192.0.2.53",
			"domain": "example.com", "query": "example.com", "qtype": "A", "qclass": "IN", "flags": "+E(0)K",
			"category": "queries", "severity": "info",
		}},
		{"2023-07-18T00:12:06.000Z", "", fields{
			"category": "client", "severity": "debug 3",
			"message": "client @0x7f4e446fd6e8 (no-peer): shutdown",
		}},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d fixture lines, %d expectations", len(lines), len(want))
	}
	for i, l := range lines {
		t.Run("line"+strconv.Itoa(i+1), func(t *testing.T) {
			if !New().Sniff([]byte(l)) {
				t.Errorf("Sniff rejects %q", l)
			}
			check(t, l, want[i].time, want[i].host, want[i].f)
		})
	}
}

// TestOtherMessages: named lines that are not about a client are events too.
func TestOtherMessages(t *testing.T) {
	check(t, "Aug 29 15:33:13 ns3 named[464]: received control channel command 'reload'",
		"2015-08-29T06:33:13.000Z", "ns3", fields{
			"process": "named", "pid": "464", "message": "received control channel command 'reload'",
		})
	check(t, "Aug 29 15:33:13 ns3 named[464]: starting BIND 9.16.1-Ubuntu (Stable Release) <id:d497c32>",
		"2015-08-29T06:33:13.000Z", "ns3", fields{
			"process": "named", "pid": "464", "message": "starting BIND 9.16.1-Ubuntu (Stable Release) <id:d497c32>",
		})
	check(t, "Aug 29 15:33:13 ns3 named[464]: ", "2015-08-29T06:33:13.000Z", "ns3", fields{"process": "named", "pid": "464"})
	check(t, "2014-12-16T01:02:01.258399+09:00 192.168.1.1 named[12]: queries: info: client 10.0.0.1#1234: query: WWW.Example.com. IN A + (10.0.0.53)\r\n",
		"2014-12-15T16:02:01.258Z", "192.168.1.1", fields{
			"process": "named", "pid": "12", "category": "queries", "severity": "info",
			"src_ip": "10.0.0.1", "src_port": "1234", "query": "www.example.com", "domain": "www.example.com",
			"qtype": "A", "qclass": "IN", "flags": "+", "dst_ip": "10.0.0.53",
		})
}

// expectedErrors are dataset lines that are not events, with the reason.
var expectedErrors = map[string]string{
	// fail2ban's systemd-journal sample: "atom named[1806]: client ...". The
	// journal keeps the time out of the text; a line without any time
	// cannot be placed on a timeline, so it is reported, not guessed.
	"atom named[1806]: client @0x7fb13400eec0 192.0.2.1#61977 (.): query (cache) './ANY/IN' denied": "systemd journal export without time",
}

// TestDatasets parses every named line of wazuh-ruleset's named.ini and
// fail2ban's named-refused.
func TestDatasets(t *testing.T) {
	var samples []testutil.Sample
	samples = append(samples, testutil.WazuhLines(t, testutil.Dataset(t, "bind/wazuh-ruleset/named.ini"))...)
	samples = append(samples, testutil.Fail2banLines(t, testutil.Dataset(t, "bind/fail2ban/named-refused"))...)
	if len(samples) < 20 {
		t.Fatalf("only %d sample lines", len(samples))
	}
	p := New()
	parsed := 0
	for _, s := range samples {
		ev, err := parseLine(s.Line)
		if reason, ok := expectedErrors[s.Line]; ok {
			if err == nil || !strings.Contains(err.Error(), reason) {
				t.Errorf("%s:%d: want error containing %q, got %v", s.File, s.No, reason, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s:%d: %v", s.File, s.No, err)
			continue
		}
		parsed++
		if ev.Time.IsZero() || !ev.Has(event.SrcIP) || !ev.Has(event.SrcPort) {
			t.Errorf("%s:%d: incomplete event %v", s.File, s.No, allFields(ev))
		}
		// wazuh's "name[464]" line is its negative case for program_name
		// ^named: parsed (BIND's client shape), but not sniffed.
		wantSniff := !strings.Contains(s.Line, " name[464]: ")
		if got := p.Sniff([]byte(s.Line)); got != wantSniff {
			t.Errorf("%s:%d: Sniff = %v, want %v", s.File, s.No, got, wantSniff)
		}
	}
	t.Logf("%d of %d dataset lines parsed, %d expected non-events", parsed, len(samples), len(expectedErrors))

	check(t, "Aug 29 15:33:13 ns3 named[464]: client 217.148.39.3#1036: query (cache) denied",
		"2015-08-29T06:33:13.000Z", "ns3", fields{
			"src_ip": "217.148.39.3", "src_port": "1036", "process": "named", "pid": "464", "action": "deny",
			"message": "query (cache) denied",
		})
	check(t, "Aug 29 15:33:13 ns3 name[464]: client 217.148.39.4#32769: query (cache) denied ",
		"2015-08-29T06:33:13.000Z", "ns3", fields{
			"src_ip": "217.148.39.4", "src_port": "32769", "process": "name", "pid": "464", "action": "deny",
			"message": "query (cache) denied",
		})
	check(t, "Jul 24 14:23:36 raid5 named[3935]: client 62.109.4.89#9334: view external: query (cache) './NS/IN' denied",
		"2015-07-24T05:23:36.000Z", "raid5", fields{
			"src_ip": "62.109.4.89", "src_port": "9334", "process": "named", "pid": "3935", "action": "deny",
			"view": "external", "query": ".", "domain": ".", "qtype": "NS", "qclass": "IN",
			"message": "query (cache) './NS/IN' denied",
		})
	check(t, "11-Aug-2013 03:36:11.372 error: client 1.2.3.4#52115: zone transfer 'domain.com/AXFR/IN' denied",
		"2013-08-10T18:36:11.372Z", "", fields{
			"severity": "error", "src_ip": "1.2.3.4", "src_port": "52115", "action": "deny",
			"query": "domain.com", "domain": "domain.com", "qtype": "AXFR", "qclass": "IN",
			"message": "zone transfer 'domain.com/AXFR/IN' denied",
		})
	check(t, "Aug 27 16:58:31 vhost1-ua named[29206]: client 176.9.92.38#42592 (simmarket.com.ua): bad zone transfer request: 'simmarket.com.ua/IN': non-authoritative zone (NOTAUTH)",
		"2015-08-27T07:58:31.000Z", "vhost1-ua", fields{
			"src_ip": "176.9.92.38", "src_port": "42592", "process": "named", "pid": "29206",
			"query": "simmarket.com.ua", "domain": "simmarket.com.ua", "qclass": "IN",
			"message": "bad zone transfer request: 'simmarket.com.ua/IN': non-authoritative zone (NOTAUTH)",
		})
	check(t, "Oct 23 03:35:40 update-security: error: client @0x7f4e45c07a48 192.0.2.237#55956 (example.ca): zone transfer 'example.ca/AXFR/IN' denied",
		"2015-10-22T18:35:40.000Z", "", fields{
			"category": "update-security", "severity": "error", "src_ip": "192.0.2.237", "src_port": "55956",
			"action": "deny", "query": "example.ca", "domain": "example.ca", "qtype": "AXFR", "qclass": "IN",
			"message": "zone transfer 'example.ca/AXFR/IN' denied",
		})
}

// wazuhCommented reads the "log N pass = LINE" entries of a wazuh .ini whose
// tests are commented out with ';' (unbound.ini).
func wazuhCommented(t *testing.T, path string) []string {
	var out []string
	for _, l := range readLines(t, path) {
		l = strings.TrimPrefix(l, ";")
		if strings.HasPrefix(l, "log ") {
			if i := strings.Index(l, " = "); i > 0 {
				out = append(out, l[i+3:])
			}
		}
	}
	return out
}

// TestSniffOthers: Sniff must not claim other DNS servers' logs (unbound,
// nsd), Postfix, NetScreen, sshd or Squid lines.
func TestSniffOthers(t *testing.T) {
	var lines []string
	add := func(ss []testutil.Sample) {
		for _, s := range ss {
			lines = append(lines, s.Line)
		}
	}
	unbound := wazuhCommented(t, testutil.Dataset(t, "bind/wazuh-ruleset/unbound.ini"))
	if len(unbound) == 0 {
		t.Fatal("no unbound lines found")
	}
	lines = append(lines, unbound...)
	add(testutil.Fail2banLines(t, testutil.Dataset(t, "bind/fail2ban/nsd")))
	add(testutil.WazuhLines(t, testutil.Dataset(t, "postfix/wazuh-ruleset/postfix.ini")))
	add(testutil.Fail2banLines(t, testutil.Dataset(t, "postfix/fail2ban/postfix")))
	add(testutil.WazuhLines(t, testutil.Dataset(t, "firewall/wazuh-ruleset/netscreen.ini")))
	add(testutil.WazuhLines(t, testutil.Dataset(t, "linux/wazuh-ruleset/sshd.ini")))
	add(testutil.Fail2banLines(t, testutil.Dataset(t, "squid/fail2ban/squid")))
	lines = append(lines,
		"2014-12-16T01:01:55.711749+09:00 192.168.1.1 ns20x-master: NetScreen device_id=ns20x-master [Root]system-notification-00257(traffic): start_time=\"2014-12-16 00:11:10\" duration=0 policy_id=38 service=- proto=17 src zone=SHANAI dst zone=INTRA action=Deny sent=0 rcvd=0 src=192.168.100.1 dst=192.168.200.1 src_port=2562 dst port=8089 session_id=0",
		"16-Dec-2014 01:03:55.123 INFO [main] org.apache.catalina.startup.Catalina.start Server startup in 1234 ms",
		`192.168.1.1 - - [12/Feb/2015:13:53:00 +0900] "POST http://apt.example.com/control/apt.zip HTTP/1.1" 200 851 - "Wget/1.12 (linux-gnu)" TCP_MISS:DIRECT`,
	)
	p := New()
	for _, l := range lines {
		if p.Sniff([]byte(l)) {
			t.Errorf("Sniff claims %q", l)
		}
	}
	t.Logf("%d foreign lines rejected", len(lines))
	// Parse must refuse them too, without panicking, except where the
	// message really has BIND's shape.
	for _, l := range unbound {
		if _, err := parseLine(l); err == nil {
			t.Errorf("Parse accepts unbound line %q", l)
		}
	}
}

func TestSkipAndErrors(t *testing.T) {
	for _, l := range []string{"", "  ", "\r\n"} {
		if _, err := parseLine(l); !errors.Is(err, parse.ErrSkip) {
			t.Errorf("Parse(%q) = %v, want ErrSkip", l, err)
		}
	}
	bad := map[string]string{
		"client @0x7f 192.0.2.1#1 (x): query: x IN A + (192.0.2.53)": "print-time yes",
		"query: x IN A +":      "no recognizable time stamp",
		"16-Dec-2014 01:03:55": "nothing after the time stamp",
		"Aug 29 15:33:13 ns3 postfix/smtpd[1]: connect from x[192.0.2.1]": `program "postfix/smtpd", not named`,
		"Aug 29 15:33:13 ns3 nonsense here":                               "no program tag",
		"<999>garbage":                                                    "bind: syslog",
	}
	for l, want := range bad {
		_, err := parseLine(l)
		if err == nil || errors.Is(err, parse.ErrSkip) || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", l, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"jpcert.log", "variants.log"} {
		for _, l := range readLines(f, filepath.Join("testdata", name)) {
			f.Add([]byte(l))
		}
	}
	f.Add([]byte("Oct 23 02:06:39 security: info: client @0x7f4e446fd6e8 192.0.2.8#53 (example.io): query (cache) 'example.io/A/IN' denied"))
	f.Add([]byte("atom named[1806]: client @0x7fb13400eec0 192.0.2.1#61977 (.): query (cache) './ANY/IN' denied"))
	f.Add([]byte("1-Jan-2000 00:00:00 client @ #1/key  (: view : query: ' '/"))
	f.Fuzz(func(t *testing.T, rec []byte) {
		p := New()
		p.Sniff(rec)
		ev := &event.Event{Raw: string(rec), Source: "bind"}
		if err := p.Parse(rec, ev, ctx()); err != nil {
			return
		}
		if ev.Time.Location() != time.UTC {
			t.Errorf("time %v is not UTC", ev.Time)
		}
		ev.Fields(func(k, v string) {
			if v == "" {
				t.Errorf("field %s set to empty", k)
			}
		})
	})
}

func BenchmarkParse(b *testing.B) {
	for _, tc := range []struct{ name, line string }{
		{"jpcert", "16-Dec-2014 01:03:55 client 192.168.100.1#47197: query: apt.example.com IN A + (192.168.1.1)"},
		{"9.18", "18-Jul-2023 09:12:01.123 queries: info: client @0x7f4e446fd6e8 192.0.2.1#60683 (example.com): query: example.com IN A +E(0)K (192.0.2.53)"},
		{"syslog", "Aug 29 15:33:13 ns3 named[464]: client @0x7f4e446fd6e8 192.0.2.1#60683 (example.com): query: example.com IN A +E(0)K (192.0.2.53)"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rec := []byte(tc.line)
			pc := ctx()
			p := New()
			var ev event.Event
			b.SetBytes(int64(len(rec)))
			b.ReportAllocs()
			for b.Loop() {
				ev.Reset()
				if err := p.Parse(rec, &ev, pc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSniff(b *testing.B) {
	recs := [][]byte{
		[]byte("Aug 29 15:33:13 ns3 named[464]: client @0x7f4e446fd6e8 192.0.2.1#60683 (example.com): query: example.com IN A +E(0)K (192.0.2.53)"),
		[]byte("May  8 08:26:55 mail postfix/postscreen[22055]: NOQUEUE: reject: RCPT from [157.122.148.242]:47407: 550 5.7.1 Service unavailable"),
	}
	p := New()
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range recs {
			p.Sniff(r)
		}
	}
}
