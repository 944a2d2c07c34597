package records

import (
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/formats"
	"github.com/kizuki-dev/kizuki/internal/journal"
)

// The example lines of the JPCERT document's proxy and mail logs, as a
// shipper sends them: over syslog with a PRI, over HTTPS with ?type=, and a
// line of no known format.
func TestParse(t *testing.T) {
	p := NewParser(formats.Registry(), nil)
	received := time.Date(2015, 2, 2, 0, 0, 0, 0, time.UTC)
	f := func(rec journal.Record, parsed bool, source, host, timeWant string, fields map[string]string) {
		t.Helper()
		var ev event.Event
		ev.SetExtra("stale", "from the previous record")
		if got := p.Parse(rec, &ev); got != parsed {
			t.Fatalf("%q: parsed %v, want %v", rec.Raw, got, parsed)
		}
		if ev.Source != source || ev.Host != host || event.FormatTime(ev.Time) != timeWant ||
			ev.Origin.File != rec.Origin || ev.Origin.Record != int64(rec.Seq) || ev.Extra("stale") != "" {
			t.Errorf("%q: source %q host %q time %s origin %v", rec.Raw, ev.Source, ev.Host, event.FormatTime(ev.Time), ev.Origin)
		}
		for k, want := range fields {
			if got := ev.Lookup(k); got != want {
				t.Errorf("%q: %s = %q, want %q", rec.Raw, k, got, want)
			}
		}
	}
	f(journal.Record{Seq: 7, Received: received, Origin: "syslog-tcp 127.0.0.1:5514 <- 10.0.0.25:40000",
		Raw: []byte("<22>2015-02-02T06:39:15.466251+09:00 mail-server postfix/smtpd[16466]: connect from smtp.seminar-info.jp[202.214.86.35]\n")},
		true, "postfix", "mail-server", "2015-02-01T21:39:15.466Z", map[string]string{"src_ip": "202.214.86.35"})
	f(journal.Record{Seq: 8, Received: received, Origin: "https 10.0.0.7:4242 token=shipper", Source: "squid-combined",
		Raw: []byte(`192.168.100.37 - - [02/Feb/2015:03:07:36 +0900] "CONNECT fe2.update.microsoft.com:443 HTTP/1.1" 200 30127 "-" "Windows-Update-Agent/7.6.7601.18631 Client-Protocol/1.21" TCP_TUNNEL:HIER_DIRECT`)},
		true, "squid-combined", "", "2015-02-01T18:07:36.000Z", map[string]string{"src_ip": "192.168.100.37", "domain": "fe2.update.microsoft.com", "status": "200"})
	// Not a log format kizuki knows: kept searchable, with the sender as
	// host and the time it was received.
	f(journal.Record{Seq: 9, Received: received, Origin: "syslog-udp 127.0.0.1:5514 <- 10.0.0.9:514",
		Raw: []byte("<13>hello, this is not a known format")},
		false, "", "10.0.0.9", "2015-02-02T00:00:00.000Z", nil)
	// A syslog line of no known format (Linux loghub's sshd): its header's
	// time, host and program, still not parsed for detection.
	f(journal.Record{Seq: 10, Received: received, Origin: "syslog-udp 127.0.0.1:5514 <- 10.0.0.9:514",
		Raw: []byte("<38>Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4\n")},
		false, "syslog", "combo", "2014-06-14T15:16:01.000Z", map[string]string{"process": "sshd(pam_unix)", "pid": "19939",
			"message": "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4"})
	// RFC 5424's own example, with structured data.
	f(journal.Record{Seq: 11, Received: received, Origin: "syslog-tls 127.0.0.1:6514 <- 10.0.0.9:40000",
		Raw: []byte(`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry...`)},
		false, "syslog", "mymachine.example.com", "2003-10-11T22:14:15.003Z", map[string]string{"process": "evntslog", "msgid": "ID47",
			"severity": "notice", "facility": "local4", "exampleSDID@32473.eventID": "1011", "message": "An application event log entry..."})
}

func TestStripPRI(t *testing.T) {
	for in, want := range map[string]string{
		"<13>hello":               "hello",
		"<165>1 2003-10-11T22:14": "2003-10-11T22:14",
		"<13>1x":                  "1x",
		"no pri\r\n":              "no pri",
		"<1234567>x":              "<1234567>x",
		"<>x":                     "<>x",
	} {
		if got := string(StripPRI([]byte(in))); got != want {
			t.Errorf("StripPRI(%q) = %q, want %q", in, got, want)
		}
	}
}

// A relay forwards several formats from one address: each record gets its
// own, whichever came before it.
func TestRelayOfSeveralFormats(t *testing.T) {
	p := NewParser(formats.Registry(), nil)
	relay := "syslog-tcp 127.0.0.1:5514 <- 10.0.0.2:40000"
	mail := "<22>2015-02-02T06:39:15.466251+09:00 mail-server postfix/smtpd[16466]: connect from smtp.seminar-info.jp[202.214.86.35]"
	fw := `<13>2015-02-02T06:39:18.807251+09:00 192.168.1.1 ns208-master: NetScreen device_id=ns208-master  [Root]system-notification-00257(traffic): start_time="2015-02-02 06:39:15" duration=3 policy_id=5 service=smtp proto=6 src zone=Untrust dst zone=DMZ action=Permit sent=2066 rcvd=1244 src=202.214.86.35 dst=192.168.1.25 src_port=52312 dst_port=25 session_id=1011`
	other := "<13>Feb  2 06:40:00 web01 cron[123]: (root) CMD (run-parts /etc/cron.hourly)"
	for i, c := range []struct{ raw, source string }{{mail, "postfix"}, {fw, "netscreen"}, {other, "syslog"}, {mail, "postfix"}, {fw, "netscreen"}, {mail, "postfix"}} {
		var ev event.Event
		parsed := p.Parse(journal.Record{Seq: journal.Seq(i), Origin: relay, Raw: []byte(c.raw)}, &ev)
		if ev.Source != c.source || parsed != (c.source != "syslog") {
			t.Errorf("record %d: source %q (parsed %v), want %q", i, ev.Source, parsed, c.source)
		}
	}
}
