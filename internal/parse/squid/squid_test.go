package squid

import (
	"bufio"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

var jst = time.FixedZone("JST", 9*3600)

func ctx() *parse.Context {
	return parse.NewContext(jst, time.Date(2015, 12, 31, 0, 0, 0, 0, time.UTC))
}

type fields map[string]string

func parseLine(t *testing.T, p parse.Parser, line string) (*event.Event, error) {
	t.Helper()
	ev := &event.Event{Raw: line, Source: p.Name()}
	err := p.Parse([]byte(line), ev, ctx())
	return ev, err
}

func allFields(ev *event.Event) fields {
	m := fields{}
	ev.Fields(func(k, v string) { m[k] = v })
	return m
}

// check asserts the time and the exact set of fields.
func check(t *testing.T, p parse.Parser, line, wantTime string, want fields) {
	t.Helper()
	ev, err := parseLine(t, p, line)
	if err != nil {
		t.Fatalf("%s: Parse(%q): %v", p.Name(), line, err)
	}
	if got := event.FormatTime(ev.Time); got != wantTime {
		t.Errorf("time = %s, want %s", got, wantTime)
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

func readLines(t *testing.T, path string) []string {
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

func TestNames(t *testing.T) {
	if New().Name() != "squid" || NewNative().Name() != "squid" || NewCombined().Name() != "squid-combined" {
		t.Fatal("format names changed")
	}
	for _, p := range []parse.Parser{NewNative(), NewCombined()} {
		if p.Describe() == "" {
			t.Errorf("%s: empty Describe", p.Name())
		}
	}
}

// TestJPCERTNative checks figures 4-6, 4-7, 4-9 and 4-10 as printed
// (testdata/jpcert-native.log, anonymized addresses kept).
func TestJPCERTNative(t *testing.T) {
	lines := readLines(t, filepath.Join("testdata", "jpcert-native.log"))
	if len(lines) != 6 {
		t.Fatalf("%d fixture lines, want 6", len(lines))
	}
	p := NewNative()
	for _, l := range lines {
		if !p.Sniff([]byte(l)) {
			t.Errorf("Sniff rejects %q", l)
		}
		if NewCombined().Sniff([]byte(l)) {
			t.Errorf("squid-combined Sniff claims %q", l)
		}
	}
	// 図 4-6
	check(t, p, lines[0], "2015-02-18T01:01:39.090Z", fields{
		"src_ip": "127.0.0.1", "dst_port": "80", "action": "allow", "domain": "apt.example.com",
		"url": "http://apt.example.com/xxx/xxx/apt.zip", "method": "GET", "status": "200",
		"bytes_in": "74769", "content_type": "application/zip-compressed", "duration_ms": "452",
		"result_code": "TCP_MISS", "hierarchy": "DEFAULT_PARENT", "peer": "113.xxx.xxx.xxx",
	})
	// 図 4-7: CONNECT to a port other than 80/443, denied.
	check(t, p, lines[1], "2015-02-10T00:29:02.737Z", fields{
		"src_ip": "192.168.xxx.xxx", "dst_port": "8089", "action": "deny", "domain": "192.168.xxx.xxx",
		"url": "192.168.xxx.xxx:8089", "method": "CONNECT", "status": "403", "bytes_in": "3641",
		"content_type": "text/html", "duration_ms": "0", "result_code": "TCP_DENIED", "hierarchy": "NONE",
	})
	// 図 4-9: the same URL on three days.
	for i, day := range []string{"2015-02-18T02:49:35.972Z", "2015-02-19T02:49:35.972Z", "2015-02-21T02:49:35.972Z"} {
		check(t, p, lines[2+i], day, fields{
			"src_ip": "192.168.xxx.xxx", "dst_port": "80", "action": "allow", "domain": "apt.example.com",
			"url": "http://apt.example.com/blog/", "method": "POST", "status": "200", "bytes_in": "553",
			"content_type": "text/html", "duration_ms": "21", "result_code": "TCP_MISS",
			"hierarchy": "HIER_DIRECT", "peer": "apt.example.com",
		})
	}
	// 図 4-10: 01:01:39 UTC (10:01:39 JST).
	check(t, p, lines[5], "2015-02-18T01:01:39.090Z", fields{
		"src_ip": "192.168.xxx.xxx", "dst_port": "80", "action": "allow", "domain": "apt.example.com",
		"url": "http://apt.example.com/blog/", "method": "POST", "status": "200", "bytes_in": "553",
		"content_type": "text/html", "duration_ms": "21", "result_code": "TCP_MISS",
		"hierarchy": "HIER_DIRECT", "peer": "aaa.bbb.xxx.xxx",
	})
}

func TestJPCERTCombined(t *testing.T) {
	lines := readLines(t, filepath.Join("testdata", "jpcert-combined.log"))
	if len(lines) != 1 {
		t.Fatalf("%d fixture lines, want 1", len(lines))
	}
	p := NewCombined()
	if !p.Sniff([]byte(lines[0])) {
		t.Errorf("Sniff rejects %q", lines[0])
	}
	if NewNative().Sniff([]byte(lines[0])) {
		t.Errorf("squid Sniff claims %q", lines[0])
	}
	// 図 4-8: 13:53:00 +0900 is 04:53:00 UTC.
	check(t, p, lines[0], "2015-02-12T04:53:00.000Z", fields{
		"src_ip": "192.168.xxx.xxx", "dst_port": "80", "action": "allow", "domain": "apt.example.com",
		"url": "http://apt.example.com/control/apt.zip", "method": "POST", "status": "200",
		"bytes_in": "851", "user_agent": "Wget/1.12 (linux-gnu)", "protocol": "HTTP/1.1",
		"result_code": "TCP_MISS", "hierarchy": "DIRECT",
	})
}

func TestNative(t *testing.T) {
	p := NewNative()
	tests := []struct {
		name, line, time string
		want             fields
	}{
		{
			"fig4-6 with real addresses and squid's padding",
			"1424221299.090    452 127.0.0.1 TCP_MISS/200 74769 GET http://apt.example.com/xxx/xxx/apt.zip - DEFAULT_PARENT/113.1.1.1 application/zip-compressed",
			"2015-02-18T01:01:39.090Z",
			fields{
				"src_ip": "127.0.0.1", "dst_ip": "113.1.1.1", "dst_port": "80", "action": "allow",
				"domain": "apt.example.com", "url": "http://apt.example.com/xxx/xxx/apt.zip", "method": "GET",
				"status": "200", "bytes_in": "74769", "content_type": "application/zip-compressed",
				"duration_ms": "452", "result_code": "TCP_MISS", "hierarchy": "DEFAULT_PARENT", "peer": "113.1.1.1",
			},
		},
		{
			"fig4-7 with real addresses",
			"1423528142.737      0 192.168.1.5 TCP_DENIED/403 3641 CONNECT 192.168.20.8:8089 - NONE/- text/html",
			"2015-02-10T00:29:02.737Z",
			fields{
				"src_ip": "192.168.1.5", "dst_port": "8089", "action": "deny", "domain": "192.168.20.8",
				"url": "192.168.20.8:8089", "method": "CONNECT", "status": "403", "bytes_in": "3641",
				"content_type": "text/html", "duration_ms": "0", "result_code": "TCP_DENIED", "hierarchy": "NONE",
			},
		},
		{
			"https with explicit port, upper-case host, user, IPv6 peer",
			"1424221299.001     12 10.0.0.7 TCP_TUNNEL/200 5120 CONNECT WWW.Example.COM.:443 alice HIER_DIRECT/2001:db8::1 -",
			"2015-02-18T01:01:39.001Z",
			fields{
				"src_ip": "10.0.0.7", "dst_ip": "2001:db8::1", "dst_port": "443", "action": "allow",
				"domain": "www.example.com", "url": "WWW.Example.COM.:443", "method": "CONNECT",
				"user": "alice", "status": "200", "bytes_in": "5120", "duration_ms": "12",
				"result_code": "TCP_TUNNEL", "hierarchy": "HIER_DIRECT", "peer": "2001:db8::1",
			},
		},
		{
			"https URL with port and userinfo",
			"1424221299.500 3 10.0.0.7 TCP_MISS/302 0 GET https://bob:pw@intra.example.jp:8443/a?b=c - HIER_DIRECT/10.1.1.1 text/plain",
			"2015-02-18T01:01:39.500Z",
			fields{
				"src_ip": "10.0.0.7", "dst_ip": "10.1.1.1", "dst_port": "8443", "action": "allow",
				"domain": "intra.example.jp", "url": "https://bob:pw@intra.example.jp:8443/a?b=c", "method": "GET",
				"status": "302", "bytes_in": "0", "content_type": "text/plain", "duration_ms": "3",
				"result_code": "TCP_MISS", "hierarchy": "HIER_DIRECT", "peer": "10.1.1.1",
			},
		},
		{
			"11th column numeric: request size (%>st)",
			"1424221299.090 452 10.0.0.1 TCP_MISS/200 1000 POST https://up.example.net/u - HIER_DIRECT/198.51.100.7 text/html 734003",
			"2015-02-18T01:01:39.090Z",
			fields{
				"src_ip": "10.0.0.1", "dst_ip": "198.51.100.7", "dst_port": "443", "action": "allow",
				"domain": "up.example.net", "url": "https://up.example.net/u", "method": "POST", "status": "200",
				"bytes_in": "1000", "bytes_out": "734003", "content_type": "text/html", "duration_ms": "452",
				"result_code": "TCP_MISS", "hierarchy": "HIER_DIRECT", "peer": "198.51.100.7",
			},
		},
		{
			"11th column quoted: User-Agent with an escaped quote",
			`1424221299.090 452 10.0.0.1 TCP_MISS/200 1000 GET http://a.example/ - HIER_DIRECT/198.51.100.7 text/html "Mozilla/5.0 (\"x\")"`,
			"2015-02-18T01:01:39.090Z",
			fields{
				"src_ip": "10.0.0.1", "dst_ip": "198.51.100.7", "dst_port": "80", "action": "allow",
				"domain": "a.example", "url": "http://a.example/", "method": "GET", "status": "200",
				"bytes_in": "1000", "user_agent": `Mozilla/5.0 ("x")`, "content_type": "text/html",
				"duration_ms": "452", "result_code": "TCP_MISS", "hierarchy": "HIER_DIRECT", "peer": "198.51.100.7",
			},
		},
		{
			"request size, Referer and User-Agent appended",
			`1424221299.090 452 10.0.0.1 TCP_MISS/200 1000 GET http://a.example/ - HIER_DIRECT/198.51.100.7 text/html 321 "http://ref.example/" "curl/8.0" extra`,
			"2015-02-18T01:01:39.090Z",
			fields{
				"src_ip": "10.0.0.1", "dst_ip": "198.51.100.7", "dst_port": "80", "action": "allow",
				"domain": "a.example", "url": "http://a.example/", "method": "GET", "status": "200",
				"bytes_in": "1000", "bytes_out": "321", "user_agent": "curl/8.0", "content_type": "text/html",
				"duration_ms": "452", "result_code": "TCP_MISS", "hierarchy": "HIER_DIRECT", "peer": "198.51.100.7",
				"referer": "http://ref.example/", "trailer": "extra",
			},
		},
		{
			"aborted transaction with status 000 and no URL host",
			"1700000000.000      0 10.0.0.9 NONE_NONE/000 0 - error:transaction-end-before-headers - HIER_NONE/- -",
			"2023-11-14T22:13:20.000Z",
			fields{
				"src_ip": "10.0.0.9", "action": "allow", "url": "error:transaction-end-before-headers",
				"status": "000", "bytes_in": "0", "duration_ms": "0", "result_code": "NONE_NONE", "hierarchy": "HIER_NONE",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !p.Sniff([]byte(tc.line)) {
				t.Errorf("Sniff rejects it")
			}
			check(t, p, tc.line, tc.time, tc.want)
		})
	}
}

func TestCombined(t *testing.T) {
	p := NewCombined()
	tests := []struct {
		name, line, time string
		want             fields
		sniff            bool
	}{
		{
			"fig4-8 with real address",
			`192.168.1.1 - - [12/Feb/2015:13:53:00 +0900] "POST http://apt.example.com/control/apt.zip HTTP/1.1" 200 851 - "Wget/1.12 (linux-gnu)" TCP_MISS:DIRECT`,
			"2015-02-12T04:53:00.000Z",
			fields{
				"src_ip": "192.168.1.1", "dst_port": "80", "action": "allow", "domain": "apt.example.com",
				"url": "http://apt.example.com/control/apt.zip", "method": "POST", "status": "200",
				"bytes_in": "851", "user_agent": "Wget/1.12 (linux-gnu)", "protocol": "HTTP/1.1",
				"result_code": "TCP_MISS", "hierarchy": "DIRECT",
			},
			true,
		},
		{
			"CONNECT, quoted referer, ident and user, escaped quote in UA, denied",
			`10.0.0.5 ident1 bob [01/Mar/2016:23:59:59 -0500] "CONNECT evil.example.org:8443 HTTP/1.1" 403 3641 "-" "Mozilla \"X\"" TCP_DENIED:HIER_NONE`,
			"2016-03-02T04:59:59.000Z",
			fields{
				"src_ip": "10.0.0.5", "dst_port": "8443", "action": "deny", "user": "bob",
				"domain": "evil.example.org", "url": "evil.example.org:8443", "method": "CONNECT",
				"status": "403", "bytes_in": "3641", "user_agent": `Mozilla "X"`, "protocol": "HTTP/1.1",
				"ident": "ident1", "result_code": "TCP_DENIED", "hierarchy": "HIER_NONE",
			},
			true,
		},
		{
			"request is -, no offset (pc.Location), no UA",
			`10.0.0.5 - - [01/Mar/2016:09:00:00] "-" 400 0 "-" "-" NONE:HIER_NONE`,
			"2016-03-01T00:00:00.000Z",
			fields{
				"src_ip": "10.0.0.5", "action": "allow", "status": "400", "bytes_in": "0",
				"result_code": "NONE", "hierarchy": "HIER_NONE",
			},
			true,
		},
		{
			"garbage request kept whole",
			`10.0.0.5 - - [01/Mar/2016:09:00:00 +0000] "\x16\x03\x01\x02" 400 0 "-" "-" TAG_NONE:HIER_NONE`,
			"2016-03-01T09:00:00.000Z",
			fields{
				"src_ip": "10.0.0.5", "action": "allow", "status": "400", "bytes_in": "0",
				"request": `\x16\x03\x01\x02`, "result_code": "TAG_NONE", "hierarchy": "HIER_NONE",
			},
			true,
		},
		{
			"Apache combined (relative URL, no %Ss:%Sh): parses, but is not sniffed",
			`203.0.113.9 - - [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"`,
			"2000-10-10T20:55:36.000Z",
			fields{
				"src_ip": "203.0.113.9", "url": "/apache_pb.gif", "method": "GET", "status": "200",
				"bytes_in": "2326", "user_agent": "Mozilla/4.08 [en] (Win98; I ;Nav)", "protocol": "HTTP/1.0",
				"referer": "http://www.example.com/start.html",
			},
			false,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Sniff([]byte(tc.line)); got != tc.sniff {
				t.Errorf("Sniff = %v, want %v", got, tc.sniff)
			}
			if NewNative().Sniff([]byte(tc.line)) {
				t.Errorf("squid (native) Sniff claims it")
			}
			check(t, p, tc.line, tc.time, tc.want)
		})
	}
}

func TestSkipAndErrors(t *testing.T) {
	for _, p := range []parse.Parser{NewNative(), NewCombined()} {
		for _, l := range []string{"", "   ", "\r\n", "# comment"} {
			if _, err := parseLine(t, p, l); !errors.Is(err, parse.ErrSkip) {
				t.Errorf("%s: Parse(%q) = %v, want ErrSkip", p.Name(), l, err)
			}
		}
	}
	bad := map[parse.Parser][]string{
		NewNative(): {
			"1424221299.090 452 127.0.0.1 TCP_MISS/200",
			"14242x1299.090 452 127.0.0.1 TCP_MISS/200 74769 GET http://a/ - NONE/- -",
			"1424221299.090 4x2 127.0.0.1 TCP_MISS/200 74769 GET http://a/ - NONE/- -",
			"1424221299.090 452 127.0.0.1 TCP_MISS 74769 GET http://a/ - NONE/- -",
			"1424221299.090 452 127.0.0.1 TCP_MISS/200 7k GET http://a/ - NONE/- -",
			`1424221299.090 452 127.0.0.1 TCP_MISS/200 1 GET http://a/ - NONE/- - "unterminated`,
			"1424221299.090 452 10.0.0.1 TCP_MISS/200 74769 GET http://exa mple/ - HIER_DIRECT/10.0.0.2 text/html",
		},
		NewCombined(): {
			`192.168.1.1 - - 12/Feb/2015:13:53:00 "GET http://a/ HTTP/1.1" 200 1`,
			`192.168.1.1 - - [12/Feb/2015:13:53:00 +0900 "GET http://a/ HTTP/1.1" 200 1`,
			`192.168.1.1 - - [12/Foo/2015:13:53:00 +0900] "GET http://a/ HTTP/1.1" 200 1`,
			`192.168.1.1 - - [12/Feb/2015:13:53:00 +0900] "GET http://a/ HTTP/1.1`,
			`192.168.1.1 - - [12/Feb/2015:13:53:00 +0900] "GET http://a/ HTTP/1.1" OK 1`,
			`192.168.1.1 - - [12/Feb/2015:13:53:00 +0900] "GET http://a/ HTTP/1.1" 200 1 "-" "Wget`,
		},
	}
	for p, lines := range bad {
		for _, l := range lines {
			_, err := parseLine(t, p, l)
			if err == nil || errors.Is(err, parse.ErrSkip) {
				t.Errorf("%s: Parse(%q) = %v, want an error", p.Name(), l, err)
			} else if !strings.HasPrefix(err.Error(), p.Name()+": ") {
				t.Errorf("%s: error %q does not name the format", p.Name(), err)
			}
		}
	}
}

// TestSniffOthers makes sure neither parser claims other formats' lines.
func TestSniffOthers(t *testing.T) {
	others := []string{
		"Feb 16 11:43:32 mail-server postfix/cleanup[29597]: 3E5D2A1A2: message-id=<x@example.com>",
		"2014-12-16T01:01:55.711749+09:00 192.168.1.1 ns20x-master: NetScreen device_id=ns20x-master [Root]system-notification-00257(traffic): start_time=\"2014-12-16 00:11:10\" duration=0 policy_id=38 service=- proto=17 src zone=SHANAI dst zone=INTRA action=Deny sent=0 rcvd=0 src=192.168.100.1 dst=192.168.200.1 src_port=2562 dst port=8089 session_id=0",
		"16-Dec-2014 01:03:55 client 192.168.100.1#47197: query: apt.example.com IN A + (192.168.1.1)",
		`127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326`,
		"#Fields: ts uid id.orig_h",
		"1386543323.000",
	}
	for _, l := range others {
		for _, p := range []parse.Parser{NewNative(), NewCombined()} {
			if p.Sniff([]byte(l)) {
				t.Errorf("%s Sniff claims %q", p.Name(), l)
			}
		}
	}
}

// TestDatasets parses every Squid line of the wazuh-ruleset and fail2ban
// test files; none may fail.
func TestDatasets(t *testing.T) {
	var samples []testutil.Sample
	samples = append(samples, testutil.WazuhLines(t, testutil.Dataset(t, "squid/wazuh-ruleset/squid_rules.ini"))...)
	samples = append(samples, testutil.Fail2banLines(t, testutil.Dataset(t, "squid/fail2ban/squid"))...)
	if len(samples) < 6 {
		t.Fatalf("only %d sample lines found", len(samples))
	}
	p := NewNative()
	for _, s := range samples {
		if !p.Sniff([]byte(s.Line)) {
			t.Errorf("%s:%d: Sniff rejects %q", s.File, s.No, s.Line)
		}
		ev, err := parseLine(t, p, s.Line)
		if err != nil {
			t.Errorf("%s:%d: %v", s.File, s.No, err)
			continue
		}
		if ev.Time.IsZero() || !ev.Has(event.SrcIP) || !ev.Has(event.Status) || !ev.Has(event.URL) {
			t.Errorf("%s:%d: incomplete event %v", s.File, s.No, allFields(ev))
		}
	}
	t.Logf("%d dataset lines parsed", len(samples))

	// Spot checks of the odd ones.
	check(t, p, "1140701044.525   1231 192.168.1.201 TCP_DENIED/400 1536 GET ahmet - NONE/- text/html",
		"2006-02-23T13:24:04.525Z", fields{
			"src_ip": "192.168.1.201", "action": "deny", "url": "ahmet", "method": "GET", "status": "400",
			"bytes_in": "1536", "content_type": "text/html", "duration_ms": "1231",
			"result_code": "TCP_DENIED", "hierarchy": "NONE",
		})
	check(t, p, "1386543500.000      5 175.44.0.184 NONE/405 3364 CONNECT error:method-not-allowed - HIER_NONE/- text/html",
		"2013-12-08T22:58:20.000Z", fields{
			"src_ip": "175.44.0.184", "action": "allow", "url": "error:method-not-allowed", "method": "CONNECT",
			"status": "405", "bytes_in": "3364", "content_type": "text/html", "duration_ms": "5",
			"result_code": "NONE", "hierarchy": "HIER_NONE",
		})
	check(t, p, "1140701230.827    781 192.168.1.210 TCP_DENIED/407 1785 GET http://www.ossec.net oahmet NONE/- text/html",
		"2006-02-23T13:27:10.827Z", fields{
			"src_ip": "192.168.1.210", "action": "deny", "url": "http://www.ossec.net", "domain": "www.ossec.net",
			"dst_port": "80", "user": "oahmet", "method": "GET", "status": "407", "bytes_in": "1785",
			"content_type": "text/html", "duration_ms": "781", "result_code": "TCP_DENIED", "hierarchy": "NONE",
		})
}

func fuzzSeeds(f *testing.F, files ...string) {
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		for _, l := range strings.Split(string(data), "\n") {
			f.Add([]byte(l))
		}
	}
}

func fuzzOne(t *testing.T, p parse.Parser, rec []byte) {
	p.Sniff(rec)
	ev := &event.Event{Raw: string(rec), Source: p.Name()}
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
}

func FuzzParse(f *testing.F) {
	fuzzSeeds(f, "jpcert-native.log", "jpcert-combined.log")
	f.Add([]byte(`1424221299.090 452 10.0.0.1 TCP_MISS/200 1000 GET http://[::1]:80/ - HIER_DIRECT/198.51.100.7 text/html 321 "a" "b\" extra`))
	f.Add([]byte("1424221299.090 0 a B/1 - - ://x:/ - / -"))
	f.Fuzz(func(t *testing.T, rec []byte) { fuzzOne(t, NewNative(), rec) })
}

func FuzzParseCombined(f *testing.F) {
	fuzzSeeds(f, "jpcert-combined.log", "jpcert-native.log")
	f.Add([]byte(`a b c [12/Feb/2015:13:53:00 +0900] "CONNECT [::1]:443 HTTP/1.1" - - "\\" "\" X:Y`))
	f.Add([]byte(`a b c [12/Feb/2015:13:53:00.5-0900] "`))
	f.Fuzz(func(t *testing.T, rec []byte) { fuzzOne(t, NewCombined(), rec) })
}

const (
	benchNative   = "1424221299.090    452 127.0.0.1 TCP_MISS/200 74769 GET http://apt.example.com/xxx/xxx/apt.zip - DEFAULT_PARENT/113.1.1.1 application/zip-compressed"
	benchCombined = `192.168.1.1 - - [12/Feb/2015:13:53:00 +0900] "POST http://apt.example.com/control/apt.zip HTTP/1.1" 200 851 - "Wget/1.12 (linux-gnu)" TCP_MISS:DIRECT`
)

func bench(b *testing.B, p parse.Parser, line string) {
	rec := []byte(line)
	pc := ctx()
	var ev event.Event
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		ev.Reset()
		if err := p.Parse(rec, &ev, pc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B)         { bench(b, NewNative(), benchNative) }
func BenchmarkParseCombined(b *testing.B) { bench(b, NewCombined(), benchCombined) }

func BenchmarkSniff(b *testing.B) {
	rec := []byte(benchNative)
	p, c := NewNative(), NewCombined()
	b.ReportAllocs()
	for b.Loop() {
		p.Sniff(rec)
		c.Sniff(rec)
	}
}
