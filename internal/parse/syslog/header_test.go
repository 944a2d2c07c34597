package syslog

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Tokyo without relying on the host's zoneinfo

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

func tokyo(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// tableCtx reads zone-less stamps in Tokyo with the file's modification time
// at 2024-03-01 00:00:00 JST (a leap year, so Feb 29 exists).
func tableCtx(t testing.TB) *parse.Context {
	loc := tokyo(t)
	return parse.NewContext(loc, time.Date(2024, 3, 1, 0, 0, 0, 0, loc))
}

// render shows a header as "time|host|program|pid|msg".
func render(h Header) string {
	return strings.Join([]string{event.FormatTime(h.Time), h.Host, h.Program, h.PID, string(h.Msg)}, "|")
}

// headerCases are lines and their headers under tableCtx, rendered by render;
// "error" means Parse must refuse the line. FuzzParse uses them as seeds.
var headerCases = []struct{ in, want string }{
	// RFC 3164, year inferred against RefTime 2024-03-01 00:00 JST.
	{"Feb 16 11:43:32 mail-server postfix/cleanup[29597]: 2F1C71A0B: message-id=<x@y>", "2024-02-16T02:43:32.000Z|mail-server|postfix/cleanup|29597|2F1C71A0B: message-id=<x@y>"},
	{"Feb  2 03:04:05 host prog: padded day", "2024-02-01T18:04:05.000Z|host|prog||padded day"},
	{"Feb 2 03:04:05 host prog: unpadded day", "2024-02-01T18:04:05.000Z|host|prog||unpadded day"},
	{"Feb 02 03:04:05 host prog: zero-padded day", "2024-02-01T18:04:05.000Z|host|prog||zero-padded day"},
	{"Feb 29 12:00:00 host prog: leap day", "2024-02-29T03:00:00.000Z|host|prog||leap day"},
	{"Mar  1 00:00:00 host prog: exactly the reference time", "2024-02-29T15:00:00.000Z|host|prog||exactly the reference time"},
	{"Mar  1 00:00:01 host prog: one second after it", "2023-02-28T15:00:01.000Z|host|prog||one second after it"},
	{"Dec 31 23:59:59 host prog: last year", "2023-12-31T14:59:59.000Z|host|prog||last year"},
	{"Jan  1 00:00:00 host prog: new year in Tokyo", "2023-12-31T15:00:00.000Z|host|prog||new year in Tokyo"},
	// RFC 3164 with a year: never shifted, even after RefTime.
	{"Feb 16 2015 11:43:32 host prog: msg", "2015-02-16T02:43:32.000Z|host|prog||msg"},
	{"Dec 31 2030 23:00:00 host prog: explicit future year", "2030-12-31T14:00:00.000Z|host|prog||explicit future year"},
	// Fractions (output keeps milliseconds, truncated).
	{"Feb 16 11:43:32.123456 host prog: micro", "2024-02-16T02:43:32.123Z|host|prog||micro"},
	{"Feb 16 2015 11:43:32.999 host prog: milli", "2015-02-16T02:43:32.999Z|host|prog||milli"},
	{"Feb 16 11:43:32,5 host prog: comma", "2024-02-16T02:43:32.500Z|host|prog||comma"},
	// ISO 8601 / RFC 3339.
	{"2014-12-16T01:02:01.258399+09:00 192.168.1.1 ns208-master: msg", "2014-12-15T16:02:01.258Z|192.168.1.1|ns208-master||msg"},
	{"2003-10-11T22:14:15.003Z host app: zulu", "2003-10-11T22:14:15.003Z|host|app||zulu"},
	{"2015-02-16T11:43:32+0900 host app: compact offset", "2015-02-16T02:43:32.000Z|host|app||compact offset"},
	{"2015-02-16T11:43:32-05:30 host app: negative offset", "2015-02-16T17:13:32.000Z|host|app||negative offset"},
	{"2015-02-16T11:43:32.5-0800 host app: fraction and compact offset", "2015-02-16T19:43:32.500Z|host|app||fraction and compact offset"},
	{"2015-02-16T11:43:32 host app: no zone is Tokyo", "2015-02-16T02:43:32.000Z|host|app||no zone is Tokyo"},
	{"2015-02-16 11:43:32 host app: space for T", "2015-02-16T02:43:32.000Z|host|app||space for T"},
	{"2006-02-13 15:52:30,388 fail2ban.actions[123]: NOTICE Ban", "2006-02-13T06:52:30.388Z||fail2ban.actions|123|NOTICE Ban"},
	// <PRI> prefixes (RFC 3164 section 5.4 examples among them).
	{"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", "2023-10-11T13:14:15.000Z|mymachine|su||'su root' failed for lonvick on /dev/pts/8"},
	{"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!", "2024-02-05T08:32:18.000Z|10.0.0.99|||Use the BFG!"},
	{"<0>Feb 16 11:43:32 host kernel: x", "2024-02-16T02:43:32.000Z|host|kernel||x"},
	{"<191>2015-02-16T11:43:32Z host app[7]: y", "2015-02-16T11:43:32.000Z|host|app|7|y"},
	// Missing host: the first token is the tag.
	{"Oct 23 02:06:39 security: info: client @0x7f4e446fd6e8 192.0.2.8#53 (example.io): query (cache) 'example.io/A/IN' denied", "2023-10-22T17:06:39.000Z||security||info: client @0x7f4e446fd6e8 192.0.2.8#53 (example.io): query (cache) 'example.io/A/IN' denied"},
	{"Feb 11 15:23:17 dropbear[1252]: login attempt", "2024-02-11T06:23:17.000Z||dropbear|1252|login attempt"},
	// Tags.
	{"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure;", "2023-06-14T06:16:01.000Z|combo|sshd(pam_unix)|19939|authentication failure;"},
	{"Mar 11 23:27:54 server postfix-smo/submission/smtpd[22427]: 44JCRG5tYPzCqt2: reject", "2023-03-11T14:27:54.000Z|server|postfix-smo/submission/smtpd|22427|44JCRG5tYPzCqt2: reject"},
	{"Jun 19 04:09:11 combo syslogd 1.4.1: restart.", "2023-06-18T19:09:11.000Z|combo|||syslogd 1.4.1: restart."},
	{"Feb 16 11:43:32  host  prog: extra spaces between fields", "2024-02-16T02:43:32.000Z|host|prog||extra spaces between fields"},
	{"Feb 16 11:43:32 host prog:  only one space is the separator", "2024-02-16T02:43:32.000Z|host|prog|| only one space is the separator"},
	{"Feb 16 11:43:32 host prog:", "2024-02-16T02:43:32.000Z|host|prog||"},
	{"Feb 16 11:43:32 host", "2024-02-16T02:43:32.000Z|host|||"},
	// RFC 5424 (section 6.5 examples among them).
	{"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xef\xbb\xbf'su root' failed for lonvick on /dev/pts/8", "2003-10-11T22:14:15.003Z|mymachine.example.com|su||'su root' failed for lonvick on /dev/pts/8"},
	{"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.", "2003-08-24T12:14:15.000Z|192.0.2.1|myproc|8710|%% It's time to make the do-nuts."},
	{`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] ` + "\xef\xbb\xbfAn application event log entry...", "2003-10-11T22:14:15.003Z|mymachine.example.com|evntslog||An application event log entry..."},
	{`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]`, "2003-10-11T22:14:15.003Z|mymachine.example.com|evntslog||"},
	{`<165>1 2003-10-11T22:14:15.003Z host app 1 ID1 [x@1 a="b\]c" d="e\\"] after escapes`, "2003-10-11T22:14:15.003Z|host|app|1|after escapes"},
	// fail2ban's sshd sample: an unescaped ']' inside a quoted value.
	{`<38>1 2019-07-08T17:40:17.954167-04:00 hostname.example.com sshd 55555 - [timeQuality tzKnown="1" isSynced="0"][xxx@123 test="[brackets]"] Failed unknown`, "2019-07-08T21:40:17.954Z|hostname.example.com|sshd|55555|Failed unknown"},
	{"<14>1 - - - - - - no time: the reference time", "2024-02-29T15:00:00.000Z||||no time: the reference time"},
	// Malformed.
	{"", "error"},
	{"Feb", "error"},
	{"Feb 16 11:43:32", "error"},
	{"Feb 16 11:43:32   ", "error"},
	{"2015-02-16T11:43:32Z", "error"},
	{"Foo 16 11:43:32 host prog: bad month", "error"},
	{"Feb16 11:43:32 host prog: no space after month", "error"},
	{"Feb 32 11:43:32 host prog: bad day", "error"},
	{"Feb 00 11:43:32 host prog: day zero", "error"},
	{"Feb 30 2015 11:43:32 host prog: no such day", "error"},
	{"Feb 16 24:00:00 host prog: bad hour", "error"},
	{"Feb 16 11:60:00 host prog: bad minute", "error"},
	{"Feb 16 11:43 host prog: no seconds", "error"},
	{"Feb 16 1:43:32 host prog: one-digit hour", "error"},
	{"<34Feb 16 11:43:32 host prog: unterminated PRI", "error"},
	{"<>Feb 16 11:43:32 host prog: empty PRI", "error"},
	{"<1234>Feb 16 11:43:32 host prog: long PRI", "error"},
	{"<ab>Feb 16 11:43:32 host prog: PRI not a number", "error"},
	{"<192>Feb 16 11:43:32 host prog: PRI above 191", "error"},
	{"2015-13-16T11:43:32 host prog: bad month", "error"},
	{"2015-02-00T11:43:32 host prog: day zero", "error"},
	{"2015-02-30T11:43:32 host prog: no such day", "error"},
	{"2015-02-16T25:43:32 host prog: bad hour", "error"},
	{"2015-02-16X11:43:32 host prog: bad separator", "error"},
	{"11-Aug-2013 03:36:11.372 error: client 1.2.3.4#52115: zone transfer 'domain.com/AXFR/IN' denied", "error"},
	{"atom named[1806]: client @0x7fb13400eec0 192.0.2.1#61977 (.): query (cache) './ANY/IN' denied", "error"},
	{"<34>1 yesterday host app - - - bad time", "error"},
	{"<34>1 2003-10-11T22:14:15.003Z", "error"},
	{"<34>1 2003-10-11T22:14:15.003Z host app", "error"},
	{`<38>1 2019-07-08T17:40:17Z host sshd 1 - [x@1 a="b"`, "error"},
	{`<38>1 2019-07-08T17:40:17Z host sshd 1 - [x@1 a="quote never closed] msg`, "error"},
}

func TestParse(t *testing.T) {
	pc := tableCtx(t)
	f := func(in, want string) {
		t.Helper()
		h, err := Parse([]byte(in), pc)
		got := render(h)
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("Parse(%q)\n got %s (err %v)\nwant %s", in, got, err, want)
		}
	}
	for _, c := range headerCases {
		f(c.in, c.want)
	}
}

// TestParseLocation: zone-less stamps, and the year of an RFC 3164 stamp, are
// taken in pc.Location, not in the zone RefTime happens to carry.
func TestParseLocation(t *testing.T) {
	// 2023-12-31 15:30 UTC is already 2024-01-01 00:30 in Tokyo.
	ref := time.Date(2023, 12, 31, 15, 30, 0, 0, time.UTC)
	f := func(loc *time.Location, in, want string) {
		t.Helper()
		h, err := Parse([]byte(in), parse.NewContext(loc, ref))
		if err != nil {
			t.Errorf("Parse(%q) in %s: %v", in, loc, err)
			return
		}
		if got := event.FormatTime(h.Time); got != want {
			t.Errorf("Parse(%q) in %s: time %s, want %s", in, loc, got, want)
		}
	}
	f(tokyo(t), "Jan  1 00:10:00 h p: m", "2023-12-31T15:10:00.000Z")
	f(time.UTC, "Jan  1 00:10:00 h p: m", "2023-01-01T00:10:00.000Z")
	f(tokyo(t), "Dec 31 23:00:00 h p: m", "2023-12-31T14:00:00.000Z")
	f(time.UTC, "Dec 31 15:30:00 h p: m", "2023-12-31T15:30:00.000Z")
	f(time.UTC, "Dec 31 15:30:01 h p: m", "2022-12-31T15:30:01.000Z")
	f(tokyo(t), "2015-02-16T11:43:32 h p: m", "2015-02-16T02:43:32.000Z")
	f(time.UTC, "2015-02-16T11:43:32 h p: m", "2015-02-16T11:43:32.000Z")
	f(time.FixedZone("EST", -5*3600), "2015-02-16 11:43:32 h p: m", "2015-02-16T16:43:32.000Z")
	// An explicit zone wins over the location.
	f(time.UTC, "2015-02-16T11:43:32+09:00 h p: m", "2015-02-16T02:43:32.000Z")
}

// TestLeapDayYear: "Feb 29" without a year belongs to the latest leap year
// that puts it at or before RefTime, not to Mar 1 of a common year.
func TestLeapDayYear(t *testing.T) {
	loc := tokyo(t)
	f := func(ref time.Time, in, want string) {
		t.Helper()
		h, err := Parse([]byte(in), parse.NewContext(loc, ref))
		if err != nil {
			t.Errorf("Parse(%q) ref %s: %v", in, ref, err)
			return
		}
		if got := event.FormatTime(h.Time); got != want {
			t.Errorf("Parse(%q) ref %s: time %s, want %s", in, ref, got, want)
		}
	}
	f(time.Date(2025, 3, 10, 0, 0, 0, 0, loc), "Feb 29 10:00:00 h p: m", "2024-02-29T01:00:00.000Z")
	f(time.Date(2025, 2, 20, 0, 0, 0, 0, loc), "Feb 29 10:00:00 h p: m", "2024-02-29T01:00:00.000Z")
	f(time.Date(2024, 2, 29, 9, 0, 0, 0, loc), "Feb 29 10:00:00 h p: m", "2020-02-29T01:00:00.000Z")
	f(time.Date(2024, 2, 29, 11, 0, 0, 0, loc), "Feb 29 10:00:00 h p: m", "2024-02-29T01:00:00.000Z")
	f(time.Date(2101, 6, 1, 0, 0, 0, 0, loc), "Feb 29 10:00:00 h p: m", "2096-02-29T01:00:00.000Z") // 2100 is a common year
	f(time.Date(2025, 3, 10, 0, 0, 0, 0, loc), "Feb 28 10:00:00 h p: m", "2025-02-28T01:00:00.000Z")
}

func TestParseTime(t *testing.T) {
	pc := tableCtx(t)
	// want is "time|rest", or "fail".
	f := func(in, want string) {
		t.Helper()
		tm, rest, ok := ParseTime([]byte(in), pc)
		got := "fail"
		if ok {
			got = event.FormatTime(tm) + "|" + string(rest)
		}
		if got != want {
			t.Errorf("ParseTime(%q) = %q, want %q", in, got, want)
		}
	}
	f("Feb 16 11:43:32 rest", "2024-02-16T02:43:32.000Z| rest")
	f("Feb  2 03:04:05", "2024-02-01T18:04:05.000Z|")
	f("Feb 16 2015 11:43:32.25 x", "2015-02-16T02:43:32.250Z| x")
	f("2014-12-16T01:02:01.258399+09:00 192.168.1.1", "2014-12-15T16:02:01.258Z| 192.168.1.1")
	f("2015-02-16T11:43:32+0900", "2015-02-16T02:43:32.000Z|")
	f("2015-02-16T11:43:32z!", "2015-02-16T11:43:32.000Z|!")
	f("2015-02-16 11:43:32", "2015-02-16T02:43:32.000Z|")
	f("2015-02-16T11:43:32+09", "2015-02-16T02:43:32.000Z|+09") // not an offset: left in rest, zone-less
	f("16-Dec-2014 01:03:55.123", "fail")
	f("2015-02-16T11:43", "fail")
	f("Feb 16 11:43:3", "fail")
	f("", "fail")

	// Fraction digits beyond milliseconds are kept in the time value.
	nanos := func(in string, want int) {
		t.Helper()
		tm, _, ok := ParseTime([]byte(in), pc)
		if !ok || tm.Nanosecond() != want {
			t.Errorf("ParseTime(%q) nanoseconds = %d (ok %v), want %d", in, tm.Nanosecond(), ok, want)
		}
	}
	nanos("2015-02-16T11:43:32.123456789Z", 123456789)
	nanos("2015-02-16T11:43:32.1234567891Z", 123456789)
	nanos("2015-02-16T11:43:32.5Z", 500000000)
	nanos("Feb 16 11:43:32.000001", 1000)
	nanos("Feb 16 11:43:32", 0)
}

func TestMonth(t *testing.T) {
	f := func(in string, want int) {
		t.Helper()
		if got := Month([]byte(in)); got != want {
			t.Errorf("Month(%q) = %d, want %d", in, got, want)
		}
	}
	for i, m := range []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"} {
		f(m, i+1)
		f(strings.ToLower(m), i+1)
		f(strings.ToUpper(m), i+1)
	}
	f("Sept", 9) // only the first three letters count
	f("Jun 14", 6)
	f("Ja", 0)
	f("", 0)
	f("Foo", 0)
	f("J@n", 0)
	f("16-", 0)
}

// Real lines from other projects' test files.

var (
	// "Mmm dd hh:mm:ss" (the day padded with a space, a zero or nothing).
	re3164 = regexp.MustCompile(`^(?:<\d{1,3}>)?([A-Z][a-z]{2} [ 0-9]?[0-9] \d\d:\d\d:\d\d)( |$)`)
	// ISO 8601 with optional fraction and zone.
	reISO = regexp.MustCompile(`^(?:<\d{1,3}>)?(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:[.,](\d+))?(Z|[+-]\d\d:?\d\d)?( |$)`)
	// RFC 5424: "<PRI>1 TIME HOST APP PROCID MSGID".
	re5424 = regexp.MustCompile(`^<\d{1,3}>1 (\S+) (\S+) (\S+) (\S+) \S+ `)
)

// oracleTime computes the expected time of a dataset line with the standard
// library, independently of the code under test.
func oracleTime(t *testing.T, line string, pc *parse.Context) (time.Time, bool) {
	t.Helper()
	if m := re5424.FindStringSubmatch(line); m != nil {
		tm, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			t.Fatalf("oracle: %q: %v", line, err)
		}
		return tm.UTC(), true
	}
	if m := re3164.FindStringSubmatch(line); m != nil {
		stamp, err := time.ParseInLocation("Jan _2 15:04:05", m[1], pc.Location)
		if err != nil {
			return time.Time{}, false // e.g. a redacted "May 00"
		}
		ref := pc.RefTime.In(pc.Location)
		for y := ref.Year(); ; y-- {
			c := time.Date(y, stamp.Month(), stamp.Day(), stamp.Hour(), stamp.Minute(), stamp.Second(), 0, pc.Location)
			if c.Month() == stamp.Month() && !c.After(ref) {
				return c.UTC(), true
			}
		}
	}
	if m := reISO.FindStringSubmatch(line); m != nil {
		s := m[1] + "T" + m[2]
		if m[3] != "" {
			s += "." + m[3]
		}
		zone := m[4]
		if len(zone) == 5 { // +hhmm
			zone = zone[:3] + ":" + zone[3:]
		}
		var tm time.Time
		var err error
		if zone == "" {
			tm, err = time.ParseInLocation("2006-01-02T15:04:05.999999999", s, pc.Location)
		} else {
			tm, err = time.Parse(time.RFC3339Nano, s+zone)
		}
		if err != nil {
			t.Fatalf("oracle: %q: %v", line, err)
		}
		return tm.UTC(), true
	}
	return time.Time{}, false
}

// datasetLines returns the lines of the shared samples that carry a syslog
// header.
func datasetLines(t *testing.T) []testutil.Sample {
	wazuh := []string{
		"firewall/wazuh-ruleset/netscreen.ini",
		"firewall/wazuh-ruleset/junos.ini",
		"firewall/wazuh-ruleset/firewalld.ini",
		"firewall/wazuh-ruleset/SonicWall.ini",
		"firewall/wazuh-ruleset/paloalto.ini",
		"postfix/wazuh-ruleset/postfix.ini",
		"bind/wazuh-ruleset/named.ini",
		"linux/wazuh-ruleset/sshd.ini",
	}
	plain := []string{
		"postfix/fail2ban/postfix",
		"bind/fail2ban/named-refused",
		"linux/fail2ban/sshd",
		"linux/fail2ban/dropbear",
		"linux/fail2ban/pam-generic",
		"linux/fail2ban/recidive",
		"linux/loghub/Linux/Linux_2k.log",
		"linux/loghub/OpenSSH/OpenSSH_2k.log",
	}
	var all []testutil.Sample
	for _, p := range wazuh {
		all = append(all, testutil.WazuhLines(t, testutil.Dataset(t, p))...)
	}
	for _, p := range plain {
		all = append(all, testutil.Fail2banLines(t, testutil.Dataset(t, p))...)
	}
	var out []testutil.Sample
	for _, s := range all {
		if re3164.MatchString(s.Line) || reISO.MatchString(s.Line) || re5424.MatchString(s.Line) {
			out = append(out, s)
		}
	}
	return out
}

func datasetCtx(t testing.TB) *parse.Context {
	loc := tokyo(t)
	return parse.NewContext(loc, time.Date(2020, 6, 30, 12, 0, 0, 0, loc))
}

// TestDatasets: every real line with a recognizable header parses, to the
// time the standard library computes, with the message a suffix of the line
// and the header tokens (host, program[pid]:) exactly what precedes it.
func TestDatasets(t *testing.T) {
	pc := datasetCtx(t)
	lines := datasetLines(t)
	if len(lines) < 4000 {
		t.Fatalf("only %d dataset lines with a syslog header; the samples were not read", len(lines))
	}
	rejected := 0
	for _, s := range lines {
		where := fmt.Sprintf("%s:%d", filepath.Base(s.File), s.No)
		want, ok := oracleTime(t, s.Line, pc)
		h, err := Parse([]byte(s.Line), pc)
		if !ok {
			// Only palo alto's redacted "May 00 00:00:00" has a header-shaped
			// stamp that is no date; it must be refused, not moved to Apr 30.
			if err == nil {
				t.Errorf("%s: %q parsed to %s, want an error", where, s.Line, event.FormatTime(h.Time))
			}
			rejected++
			continue
		}
		if err != nil {
			t.Errorf("%s: %q: %v", where, s.Line, err)
			continue
		}
		if !h.Time.Equal(want) {
			t.Errorf("%s: %q: time %s, want %s", where, s.Line, event.FormatTime(h.Time), event.FormatTime(want))
		}
		if !strings.HasSuffix(s.Line, string(h.Msg)) {
			t.Errorf("%s: message %q is not the end of the line", where, h.Msg)
			continue
		}
		if re5424.MatchString(s.Line) {
			continue
		}
		// What precedes the message, after the time stamp, is exactly
		// "[host] [program[\[pid\]]:]".
		head := s.Line[:len(s.Line)-len(h.Msg)]
		m := re3164.FindStringSubmatchIndex(head)
		if m == nil {
			m = reISO.FindStringSubmatchIndex(head)
		}
		if m == nil {
			t.Errorf("%s: the header %q lost its time stamp", where, head)
			continue
		}
		var tokens []string
		if h.Host != "" {
			tokens = append(tokens, h.Host)
		}
		if h.Program != "" {
			tag := h.Program
			if h.PID != "" {
				tag += "[" + h.PID + "]"
			}
			tokens = append(tokens, tag+":")
		}
		if got := strings.Fields(head[m[1]:]); strings.Join(got, " ") != strings.Join(tokens, " ") {
			t.Errorf("%s: %q: header tokens %q, parsed as host %q program %q pid %q", where, s.Line, got, h.Host, h.Program, h.PID)
		}
	}
	if rejected != 4 {
		t.Errorf("%d lines rejected, want the 4 redacted paloalto lines", rejected)
	}
}

// TestDatasetValues pins exact values of a few real lines.
func TestDatasetValues(t *testing.T) {
	pc := datasetCtx(t)
	var lines []string
	for _, s := range datasetLines(t) {
		lines = append(lines, s.Line)
	}
	// in is the start of a dataset line; want is "time|host|program|pid|"
	// followed by the start of the message.
	f := func(in, want string) {
		t.Helper()
		var line string
		for _, l := range lines {
			if strings.HasPrefix(l, in) {
				line = l
				break
			}
		}
		if line == "" {
			t.Errorf("no dataset line starts with %q", in)
			return
		}
		h, err := Parse([]byte(line), pc)
		if err != nil {
			t.Errorf("Parse(%q): %v", line, err)
			return
		}
		w := strings.SplitN(want, "|", 5)
		got := render(h)
		g := strings.SplitN(got, "|", 5)
		if strings.Join(g[:4], "|") != strings.Join(w[:4], "|") || !strings.HasPrefix(g[4], w[4]) {
			t.Errorf("Parse(%q)\n got %s\nwant %s…", line, got, want)
		}
	}
	f("2014-05-23T10:25:58.681222-04:00 10.10.10.1 ssg5-serial:", "2014-05-23T14:25:58.681Z|10.10.10.1|ssg5-serial||NetScreen device_id=0275112227993284  [Root]system-information-00767: System configuration saved")
	f("Jul  7 05:02:34 ssg5.17.168.192.in-addr.arpa ssg5:", "2019-07-06T20:02:34.000Z|ssg5.17.168.192.in-addr.arpa|ssg5||NetScreen device_id=ssg5  [Root]system-emergency-00005: SYN flood!")
	f("May  8 08:26:55 mail postfix/postscreen[22055]:", "2020-05-07T23:26:55.000Z|mail|postfix/postscreen|22055|NOQUEUE: reject: RCPT from [157.122.148.242]:47407: ")
	f("Mar 11 23:27:54 server postfix-smo/submission/smtpd[22427]:", "2020-03-11T14:27:54.000Z|server|postfix-smo/submission/smtpd|22427|44JCRG5tYPzCqt2: reject: BDAT from signing-milter.example.com[192.0.2.109]")
	f("Mar 7 02:09:33 server postfix/smtpd[27246]:", "2020-03-06T17:09:33.000Z|server|postfix/smtpd|27246|1D8CC1CA0A7F: milter-reject: DATA from")
	f("Oct 23 02:06:39 security: info:", "2019-10-22T17:06:39.000Z||security||info: client @0x7f4e446fd6e8 192.0.2.8#53 (example.io)")
	f("Jul 24 14:16:55 raid5 named[3935]:", "2019-07-24T05:16:55.000Z|raid5|named|3935|client 194.145.196.18#4795: query 'ricreig.com/NS/IN' denied")
	f("Jun 14 15:16:01 combo sshd(pam_unix)[19939]:", "2020-06-14T06:16:01.000Z|combo|sshd(pam_unix)|19939|authentication failure; logname= uid=0")
	f("Jul  7 08:06:15 combo  --", "2019-07-06T23:06:15.000Z|combo|||-- root[2421]: ROOT LOGIN ON tty2")
	f("Jun 19 04:09:11 combo syslogd 1.4.1:", "2020-06-18T19:09:11.000Z|combo|||syslogd 1.4.1: restart.")
	f("Dec 10 06:55:46 LabSZ sshd[24200]: reverse", "2019-12-09T21:55:46.000Z|LabSZ|sshd|24200|reverse mapping checking getaddrinfo for ns.marryaldkfaczcz.com [173.234.31.186] failed")
	f("<38>1 2019-07-08T17:40:16.954167-04:00", "2019-07-08T21:40:16.954Z|hostname.example.com|sshd|57915|Failed unknown for invalid user redmond from 192.0.2.1 port 59197 ssh2")
	f("<38>1 2019-07-08T17:40:17.954167-04:00", "2019-07-08T21:40:17.954Z|hostname.example.com|sshd|55555|Failed unknown for invalid user redmond from 192.0.2.2 port 55555 ssh2")
	f("2015-04-16T18:02:50.321974+00:00 host sshd[2716]:", "2015-04-16T18:02:50.321Z|host|sshd|2716|pam_unix(sshd:auth): authentication failure;")
	f("Feb 11 15:23:17 dropbear[1252]:", "2020-02-11T06:23:17.000Z||dropbear|1252|login attempt for nonexistent user from ::ffff:198.51.100.215:60495")
	f("2006-02-13 15:52:30,388 fail2ban.actions[123]:", "2006-02-13T06:52:30.388Z||fail2ban.actions|123|NOTICE [sendmail] Ban 1.2.3.4")
	f("Mar 05 08:41:28 test.org fail2ban-server[11524]:", "2020-03-04T23:41:28.000Z|test.org|fail2ban-server|11524|fail2ban.actions        [11524]: NOTICE  [postfix-auth] Ban 192.0.2.2")
	f("Aug 24 04:58:58 192.168.1.1 junos-ids:", "2019-08-23T19:58:58.000Z|192.168.1.1|junos-ids||2017-08-24T04:58:58.724Z sis-srx-EUH-03 RT_IDS - RT_SCREEN_IP [junos@")
	f("Jul 18 11:04:51 localhost firewalld:", "2019-07-18T02:04:51.000Z|localhost|firewalld||2014-07-18 11:04:51 ERROR: ZONE_ALREADY_SET")
	f("Jan  3 13:45:36 192.168.5.1 id=firewall", "2020-01-03T04:45:36.000Z|192.168.5.1|||id=firewall sn=000SERIAL time=\"2007-01-03 14:48:06\"")
}

func FuzzParse(f *testing.F) {
	for _, c := range headerCases {
		f.Add([]byte(c.in))
	}
	f.Add([]byte("<38>1 2019-07-08T17:40:17Z h a 1 - [a b=\"\\\\\"][c d=\"]\"] m"))
	pc := tableCtx(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		in := bytes.Clone(line)
		h, err := Parse(line, pc)
		if !bytes.Equal(in, line) {
			t.Fatalf("Parse modified its input")
		}
		if err == nil {
			if h.Time.Location() != time.UTC {
				t.Errorf("Parse(%q): time in %s, want UTC", line, h.Time.Location())
			}
			if len(h.Msg) > len(line) || (len(h.Msg) > 0 && &h.Msg[0] != &line[len(line)-len(h.Msg)]) {
				t.Errorf("Parse(%q): message %q is not a sub-slice at the end of the line", line, h.Msg)
			}
		}
		tm, rest, ok := ParseTime(line, pc)
		if ok {
			if tm.Location() != time.UTC {
				t.Errorf("ParseTime(%q): time in %s, want UTC", line, tm.Location())
			}
			if len(rest) > len(line) || (len(rest) > 0 && &rest[0] != &line[len(line)-len(rest)]) {
				t.Errorf("ParseTime(%q): rest %q is not a sub-slice at the end of the input", line, rest)
			}
		}
	})
}
