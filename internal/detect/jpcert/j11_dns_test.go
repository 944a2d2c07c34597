package jpcert

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// Figure 4-11's lines with the document's xxx filled in.
const (
	j11FigFW  = `2014-12-16T01:01:55.711749+09:00 192.168.1.1 ns20x-master: NetScreen device_id=ns20x-master [Root]system-notification-00257(traffic): start_time="2014-12-16 00:11:10" duration=0 policy_id=38 service=- proto=17 src zone=SHANAI dst zone=INTRA action=Allow sent=100 rcvd=100 src=192.168.100.5 dst=23.23.1.1 src_port=2562 dst_port=22 session_id=0`
	j11FigDNS = `16-Dec-2014 01:03:55 client 192.168.100.5#47197: query: apt.example.com IN A + (192.168.1.53)`
)

func j11Cfg() *org.Config {
	return &org.Config{Networks: org.NetworksConfig{EgressAllowed: []string{"192.168.1.10", "192.168.1.25"}}}
}

// j11FW builds a NetScreen-like firewall event at JST time s.
func j11FW(t testing.TB, s string, line int64, src, dst, port, action string) *event.Event {
	return hcEv("netscreen", hcJST(t, s), "fw.log", line, "", "src_ip", src, "dst_ip", dst, "dst_port", port,
		"action", action, "proto", "tcp", "src_zone", "SHANAI", "dst_zone", "Untrust", "host", "ns20x-master")
}

// j11Q builds a BIND query event at JST time s.
func j11Q(t testing.TB, s string, line int64, client, name, qtype string) *event.Event {
	raw := "query: " + name + " IN " + qtype
	return hcEv("bind", hcJST(t, s), "queries.log", line, raw, "src_ip", client, "query", name, "domain", name, "qtype", qtype, "dst_ip", "192.168.1.53")
}

func j11Figure(t testing.TB) (fw, dns *event.Event) {
	fw = hcEv("netscreen", hcJST(t, "2014-12-16 01:01:55").Add(711749*time.Microsecond), "fw.log", 1, j11FigFW,
		"src_ip", "192.168.100.5", "dst_ip", "23.23.1.1", "src_port", "2562", "dst_port", "22", "src_zone", "SHANAI",
		"dst_zone", "INTRA", "action", "allow", "proto", "udp", "bytes_out", "100", "bytes_in", "100", "duration_ms", "0", "host", "ns20x-master")
	dns = hcEv("bind", hcJST(t, "2014-12-16 01:03:55"), "queries.log", 1, j11FigDNS,
		"src_ip", "192.168.100.5", "src_port", "47197", "query", "apt.example.com", "domain", "apt.example.com", "qtype", "A", "dst_ip", "192.168.1.53")
	return fw, dns
}

func TestJ11Info(t *testing.T) {
	d := NewJ11(hcModel(t, nil))
	hcInfo(t, d, "J11", "4.3.1", []alert.Stage{alert.Exploitation, alert.CommandAndControl, alert.ActionsOnObjectives}, "C", "D", "G", "H")
	if _, ok := d.(detect.Annotator); !ok {
		t.Fatal("J11 must annotate other findings")
	}
}

// TestJ11Figure411 replays figure 4-11 in both reading orders: the DNS line
// is logged 2 minutes after the firewall line.
func TestJ11Figure411(t *testing.T) {
	for _, order := range []string{"firewall first", "dns first"} {
		t.Run(order, func(t *testing.T) {
			fw, dns := j11Figure(t)
			evs := []*event.Event{fw, dns}
			if order == "dns first" {
				evs = []*event.Event{dns, fw}
			}
			got, notes := hcRun(NewJ11(hcModel(t, j11Cfg())), evs...)
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1", len(got))
			}
			a := got[0]
			hcCheck(t, a, "J11", "192.168.100.5", alert.High, alert.Exploitation, alert.CommandAndControl, alert.ActionsOnObjectives)
			hcSummary(t, a, "192.168.100.5 connected directly to 23.23.1.1:22 (action allow, 1 record) after resolving apt.example.com",
				"temporal match: DNS query 1m59s after the connection")
			hcField(t, a, "resolved_name", "apt.example.com")
			hcField(t, a, "resolved_how", "temporal")
			hcField(t, a, "dst_ip", "23.23.1.1")
			hcField(t, a, "dst_port", "22")
			hcField(t, a, "query_offset", "1m59s") // the firewall line is at 01:01:55.711
			hcEvidence(t, a, "fw.log:1", "queries.log:1")
			if a.Evidence[0].Raw != j11FigFW || a.Evidence[1].Raw != j11FigDNS {
				t.Errorf("evidence raw lines not kept")
			}
			if n := a.Evidence[1].Note; !strings.Contains(n, "DNS query by 192.168.100.5 for apt.example.com") || !strings.Contains(n, "clock skew") {
				t.Errorf("dns evidence note %q", n)
			}
			if a.Count != 1 || a.EvidenceTotal != 2 {
				t.Errorf("count %d total %d", a.Count, a.EvidenceTotal)
			}
			if len(notes) != 0 {
				t.Errorf("unexpected notes %+v", notes)
			}
		})
	}
}

func TestJ11Severity(t *testing.T) {
	cases := []struct {
		name, port, action string
		want               alert.Severity
	}{
		{"working channel on a non-web port", "8443", "allow", alert.High},
		{"session close counts as established", "22", "close", alert.High},
		{"direct web bypassing the proxy", "443", "allow", alert.Medium},
		{"denied: J3 reports it, J11 names it", "80", "deny", alert.Low},
		{"dropped", "25", "drop", alert.Low},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _ := hcRun(NewJ11(hcModel(t, j11Cfg())),
				j11Q(t, "2015-02-10 10:00:00", 1, "192.168.100.7", "c2.example.net", "A"),
				j11FW(t, "2015-02-10 10:00:20", 1, "192.168.100.7", "198.51.100.9", c.port, c.action))
			if len(got) != 1 {
				t.Fatalf("got %d findings", len(got))
			}
			hcCheck(t, got[0], "J11", "192.168.100.7", c.want)
			hcSummary(t, got[0], "198.51.100.9:"+c.port, "action "+c.action, "c2.example.net", "20s before the connection")
		})
	}
}

func TestJ11Candidates(t *testing.T) {
	m := hcModel(t, j11Cfg())
	t.Run("latest before the connection wins, others listed", func(t *testing.T) {
		got, _ := hcRun(NewJ11(m),
			j11Q(t, "2015-02-10 09:52:00", 1, "192.168.100.7", "old.example.org", "A"),
			j11Q(t, "2015-02-10 09:59:30", 2, "192.168.100.7", "evil.example.net", "A"),
			j11Q(t, "2015-02-10 10:01:00", 3, "192.168.100.7", "after.example.com", "A"),
			j11FW(t, "2015-02-10 10:00:00", 1, "192.168.100.7", "203.0.113.5", "8080", "allow"))
		if len(got) != 1 {
			t.Fatalf("got %d", len(got))
		}
		a := got[0]
		hcField(t, a, "resolved_name", "evil.example.net")
		hcField(t, a, "resolved_candidates", "evil.example.net,old.example.org,after.example.com")
		hcSummary(t, a, "other candidates: old.example.org, after.example.com")
		hcEvidence(t, a, "queries.log:2", "fw.log:1")
	})
	t.Run("nearest after when nothing before", func(t *testing.T) {
		got, _ := hcRun(NewJ11(m),
			j11Q(t, "2015-02-10 10:02:50", 1, "192.168.100.7", "late.example.com", "A"),
			j11Q(t, "2015-02-10 10:01:00", 2, "192.168.100.7", "skewed.example.com", "AAAA"),
			j11FW(t, "2015-02-10 10:00:00", 1, "192.168.100.7", "203.0.113.5", "8080", "allow"))
		if len(got) != 1 {
			t.Fatalf("got %d", len(got))
		}
		hcField(t, got[0], "resolved_name", "skewed.example.com")
		hcField(t, got[0], "query_offset", "1m0s")
	})
	t.Run("connection start from the duration", func(t *testing.T) {
		// Logged at session end, 30 minutes after it started.
		fw := j11FW(t, "2015-02-10 10:30:00", 1, "192.168.100.7", "203.0.113.5", "8080", "close")
		fw.Set(event.Duration, strconv.Itoa(30*60*1000))
		got, _ := hcRun(NewJ11(m), j11Q(t, "2015-02-10 09:59:58", 1, "192.168.100.7", "long.example.com", "A"), fw)
		if len(got) != 1 {
			t.Fatalf("got %d", len(got))
		}
		hcField(t, got[0], "query_offset", "-2s")
	})
}

func TestJ11Exact(t *testing.T) {
	m := hcModel(t, j11Cfg())
	t.Run("proxy log maps the address", func(t *testing.T) {
		proxy := hcEv("squid", hcJST(t, "2015-02-09 08:00:00"), "access.log", 7, "... HIER_DIRECT/23.23.1.1 ...",
			"src_ip", "192.168.100.9", "method", "GET", "url", "http://apt.example.com/x", "domain", "apt.example.com", "dst_ip", "23.23.1.1")
		got, _ := hcRun(NewJ11(m), proxy,
			j11Q(t, "2015-02-10 09:59:00", 1, "192.168.100.5", "noise.example.org", "A"),
			j11FW(t, "2015-02-10 10:00:00", 1, "192.168.100.5", "23.23.1.1", "22", "allow"))
		if len(got) != 1 {
			t.Fatalf("got %d", len(got))
		}
		a := got[0]
		hcCheck(t, a, "J11", "192.168.100.5", alert.High)
		hcField(t, a, "resolved_name", "apt.example.com")
		hcField(t, a, "resolved_how", "exact")
		hcSummary(t, a, "exact match: proxy log")
		hcEvidence(t, a, "access.log:7", "fw.log:1")
		if !strings.Contains(a.Evidence[0].Note, "proxy log mapping apt.example.com to 23.23.1.1") {
			t.Errorf("note %q", a.Evidence[0].Note)
		}
	})
	t.Run("dns answers map the address and the client's query is the evidence", func(t *testing.T) {
		q := j11Q(t, "2015-02-10 09:00:00", 3, "192.168.100.5", "apt.example.com", "A")
		q.SetExtra("answers", "23.23.1.2, 23.23.1.1")
		got, _ := hcRun(NewJ11(m), q,
			j11Q(t, "2015-02-10 09:59:00", 4, "192.168.100.5", "noise.example.org", "A"),
			j11FW(t, "2015-02-10 10:00:00", 1, "192.168.100.5", "23.23.1.1", "22", "allow"))
		if len(got) != 1 {
			t.Fatalf("got %d", len(got))
		}
		hcField(t, got[0], "resolved_name", "apt.example.com")
		hcField(t, got[0], "resolved_how", "exact")
		hcSummary(t, got[0], "exact match: DNS answer, queried by the client")
		hcEvidence(t, got[0], "queries.log:3", "fw.log:1")
	})
}

func TestJ11Quiet(t *testing.T) {
	cfg := j11Cfg()
	cfg.Allowlists.MaintenanceDomains = []string{"windowsupdate.com"}
	m := hcModel(t, cfg)
	cases := []struct {
		name string
		evs  func() []*event.Event
	}{
		{"no query near the connection", func() []*event.Event {
			return []*event.Event{j11Q(t, "2015-02-10 09:30:00", 1, "192.168.100.7", "apt.example.com", "A"),
				j11FW(t, "2015-02-10 10:00:00", 1, "192.168.100.7", "23.23.1.1", "22", "allow")}
		}},
		{"query more than 3 minutes after", func() []*event.Event {
			return []*event.Event{j11Q(t, "2015-02-10 10:03:30", 1, "192.168.100.7", "apt.example.com", "A"),
				j11FW(t, "2015-02-10 10:00:00", 1, "192.168.100.7", "23.23.1.1", "22", "allow")}
		}},
		{"another client's query", func() []*event.Event {
			return []*event.Event{j11Q(t, "2015-02-10 09:59:00", 1, "192.168.100.8", "apt.example.com", "A"),
				j11FW(t, "2015-02-10 10:00:00", 1, "192.168.100.7", "23.23.1.1", "22", "allow")}
		}},
		{"internal destination", func() []*event.Event {
			return []*event.Event{j11Q(t, "2015-02-10 09:59:00", 1, "192.168.100.7", "files.corp.example", "A"),
				j11FW(t, "2015-02-10 10:00:00", 1, "192.168.100.7", "10.1.1.1", "445", "allow")}
		}},
		{"host allowed to talk out (proxy)", func() []*event.Event {
			return []*event.Event{j11Q(t, "2015-02-10 09:59:00", 1, "192.168.1.10", "apt.example.com", "A"),
				j11FW(t, "2015-02-10 10:00:00", 1, "192.168.1.10", "23.23.1.1", "443", "allow")}
		}},
		{"reverse lookup and mail exchanger queries", func() []*event.Event {
			return []*event.Event{j11Q(t, "2015-02-10 09:59:00", 1, "192.168.100.7", "1.1.23.23.in-addr.arpa", "PTR"),
				j11Q(t, "2015-02-10 09:59:10", 2, "192.168.100.7", "example.com", "MX"),
				j11FW(t, "2015-02-10 10:00:00", 1, "192.168.100.7", "23.23.1.1", "25", "deny")}
		}},
		{"maintenance site (best candidate allowlisted)", func() []*event.Event {
			return []*event.Event{j11Q(t, "2015-02-10 09:55:00", 1, "192.168.100.7", "other.example.com", "A"),
				j11Q(t, "2015-02-10 09:59:59", 2, "192.168.100.7", "download.windowsupdate.com", "A"),
				j11FW(t, "2015-02-10 10:00:00", 1, "192.168.100.7", "23.23.1.1", "80", "allow")}
		}},
		{"denied query", func() []*event.Event {
			q := j11Q(t, "2015-02-10 09:59:00", 1, "192.168.100.7", "apt.example.com", "A")
			q.Set(event.Action, "deny")
			return []*event.Event{q, j11FW(t, "2015-02-10 10:00:00", 1, "192.168.100.7", "23.23.1.1", "22", "allow")}
		}},
		{"external source", func() []*event.Event {
			return []*event.Event{j11FW(t, "2015-02-10 10:00:00", 1, "198.51.100.1", "23.23.1.1", "22", "deny")}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got, _ := hcRun(NewJ11(m), c.evs()...); len(got) != 0 {
				t.Errorf("got %d findings, first %q", len(got), got[0].Summary)
			}
		})
	}
}

func TestJ11IndicatorName(t *testing.T) {
	cfg := j11Cfg()
	cfg.Indicators.Domains = []string{"example.net"}
	got, _ := hcRun(NewJ11(hcModel(t, cfg)),
		j11Q(t, "2015-02-10 09:59:00", 1, "192.168.100.7", "c2.example.net", "A"),
		j11FW(t, "2015-02-10 10:00:00", 1, "192.168.100.7", "198.51.100.9", "80", "deny"))
	if len(got) != 1 {
		t.Fatalf("got %d", len(got))
	}
	hcCheck(t, got[0], "J11", "192.168.100.7", alert.High)
	hcField(t, got[0], "ioc_domain", "c2.example.net")
	hcSummary(t, got[0], "c2.example.net is on the indicator list")
}

// TestJ11Aggregation: repeated connections make one finding with first and
// latest records as evidence.
func TestJ11Aggregation(t *testing.T) {
	evs := []*event.Event{j11Q(t, "2015-02-10 09:59:00", 1, "192.168.100.7", "c2.example.net", "A")}
	for i := 0; i < 20; i++ {
		evs = append(evs, j11FW(t, "2015-02-10 10:00:00", int64(i+1), "192.168.100.7", "198.51.100.9", "8443", "allow"))
		evs[len(evs)-1].Time = evs[len(evs)-1].Time.Add(time.Duration(i) * time.Hour)
	}
	got, _ := hcRun(NewJ11(hcModel(t, j11Cfg())), evs...)
	if len(got) != 1 {
		t.Fatalf("got %d", len(got))
	}
	a := got[0]
	hcEvidence(t, a, "queries.log:1", "fw.log:1", "fw.log:20")
	hcSummary(t, a, "20 records")
	if a.Count != 20 || a.EvidenceTotal != 21 {
		t.Errorf("count %d total %d", a.Count, a.EvidenceTotal)
	}
}

// TestJ11HistoryBound: the DNS history is bounded per client; queries near
// an already-seen flow are pinned, so the firewall-first order survives a
// flood of later names, while the DNS-first order reports the loss.
func TestJ11HistoryBound(t *testing.T) {
	m := hcModel(t, j11Cfg())
	flood := func() []*event.Event {
		var evs []*event.Event
		for i := 0; i < j11MaxNames+50; i++ {
			evs = append(evs, j11Q(t, "2015-02-10 12:00:00", int64(100+i), "192.168.100.7", "n"+strconv.Itoa(i)+".example.org", "A"))
			evs[len(evs)-1].Time = evs[len(evs)-1].Time.Add(time.Duration(i) * time.Second)
		}
		return evs
	}
	fw := func() *event.Event {
		return j11FW(t, "2015-02-10 10:00:00", 1, "192.168.100.7", "198.51.100.9", "8443", "allow")
	}
	q := func() *event.Event { return j11Q(t, "2015-02-10 09:59:00", 1, "192.168.100.7", "c2.example.net", "A") }

	t.Run("firewall first", func(t *testing.T) {
		d := NewJ11(m)
		got, notes := hcRun(d, append([]*event.Event{fw(), q()}, flood()...)...)
		if len(got) != 1 || got[0].Fields["resolved_name"] != "c2.example.net" {
			t.Fatalf("got %d findings", len(got))
		}
		if n := len(d.(*j11).clients); n != 1 {
			t.Errorf("clients %d", n)
		}
		if c := d.(*j11).clients[netip.MustParseAddr("192.168.100.7")]; len(c.ents) != j11MaxNames {
			t.Errorf("history holds %d names, want %d", len(c.ents), j11MaxNames)
		}
		if len(notes) != 0 {
			t.Errorf("notes %+v", notes)
		}
	})
	t.Run("dns first", func(t *testing.T) {
		got, notes := hcRun(NewJ11(m), append(append([]*event.Event{q()}, flood()...), fw())...)
		if len(got) != 0 {
			t.Fatalf("got %d findings", len(got))
		}
		if hcNote(notes, detect.Degraded, "DNS history") == nil {
			t.Errorf("missing truncation note: %+v", notes)
		}
	})
}

// TestJ11Bulk: a host with many named direct flows (an unlisted proxy) is
// summarized in one finding.
func TestJ11Bulk(t *testing.T) {
	var evs []*event.Event
	for i := 0; i < j11BulkPerClient+10; i++ {
		name := "site" + strconv.Itoa(i) + ".example.com"
		ip := "198.51.100." + strconv.Itoa(i+1)
		tm := hcJST(t, "2015-02-10 10:00:00").Add(time.Duration(i) * time.Hour)
		evs = append(evs, hcEv("bind", tm.Add(-time.Second), "queries.log", int64(i+1), "", "src_ip", "192.168.1.99", "query", name, "qtype", "A"),
			hcEv("netscreen", tm, "fw.log", int64(i+1), "", "src_ip", "192.168.1.99", "dst_ip", ip, "dst_port", "443", "action", "allow"))
	}
	got, notes := hcRun(NewJ11(hcModel(t, nil)), evs...)
	if len(got) != 1 {
		t.Fatalf("got %d findings", len(got))
	}
	hcCheck(t, got[0], "J11", "192.168.1.99", alert.Medium)
	hcSummary(t, got[0], "connected directly to 60 external destinations", "networks.egress_allowed")
	hcField(t, got[0], "destinations", "60")
	if len(got[0].Evidence) != alert.MaxEvidence || got[0].Count != 60 {
		t.Errorf("evidence %d count %d", len(got[0].Evidence), got[0].Count)
	}
	if n := hcNote(notes, detect.Degraded, "egress_allowed"); n == nil || n.Enable != "networks.egress_allowed" {
		t.Errorf("missing egress_allowed note: %+v", notes)
	}
}

func TestJ11Annotate(t *testing.T) {
	fw, dns := j11Figure(t)
	fw.Set(event.Action, "deny")
	d := NewJ11(hcModel(t, j11Cfg()))
	hcRun(d, fw, dns)
	j3 := &alert.Alert{Rule: "J3", Host: "192.168.100.5", Fields: map[string]string{"dst_ip": "23.23.1.1"}}
	j3.AddEvidence(alert.EvidenceOf(fw))
	other := &alert.Alert{Rule: "J7", Host: "192.168.100.5", Fields: map[string]string{"dst_ip": "23.23.1.1"}}
	other.AddEvidence(alert.EvidenceOf(fw))
	miss := &alert.Alert{Rule: "J3", Host: "192.168.100.6", Fields: map[string]string{"dst_ip": "23.23.1.1"}}
	miss.AddEvidence(alert.EvidenceOf(fw))
	d.(detect.Annotator).Annotate([]*alert.Alert{j3, other, miss})
	hcField(t, j3, "resolved_name", "apt.example.com")
	hcField(t, j3, "resolved_how", "temporal")
	hcField(t, j3, "resolved_evidence", "queries.log:1")
	if n := j3.Evidence[0].Note; !strings.Contains(n, "J11: 192.168.100.5 resolved apt.example.com") || !strings.Contains(n, "queries.log:1") {
		t.Errorf("note %q", n)
	}
	if other.Fields["resolved_name"] != "" || other.Evidence[0].Note != "" {
		t.Errorf("J7 finding annotated")
	}
	if miss.Fields["resolved_name"] != "" {
		t.Errorf("other client's finding annotated")
	}
	if j3.EvidenceTotal != 1 || len(j3.Evidence) != 1 {
		t.Errorf("annotation changed the evidence count")
	}
}

func TestJ11Notes(t *testing.T) {
	t.Run("no dns log", func(t *testing.T) {
		_, notes := hcRun(NewJ11(hcModel(t, j11Cfg())), j11FW(t, "2015-02-10 10:00:00", 1, "192.168.100.7", "23.23.1.1", "22", "allow"))
		n := hcNote(notes, detect.Skipped, "no DNS query log")
		if n == nil || !strings.Contains(n.Message, "table 4-26") || !strings.Contains(n.Enable, "category queries") {
			t.Errorf("notes %+v", notes)
		}
	})
	t.Run("no firewall log", func(t *testing.T) {
		_, notes := hcRun(NewJ11(hcModel(t, j11Cfg())), j11Q(t, "2015-02-10 10:00:00", 1, "192.168.100.7", "a.example.com", "A"))
		if hcNote(notes, detect.Degraded, "no firewall logs") == nil {
			t.Errorf("notes %+v", notes)
		}
	})
}

// TestJ11Engine runs J11 through the engine: the annotation reaches a
// finding of another detector.
func TestJ11Engine(t *testing.T) {
	fw, dns := j11Figure(t)
	e := detect.NewEngine(NewJ11(hcModel(t, j11Cfg())))
	e.Observe(fw)
	e.Observe(dns)
	res := e.Finish(context.Background())
	if len(res.Alerts) != 1 || res.Alerts[0].Rule != "J11" {
		t.Fatalf("alerts %d", len(res.Alerts))
	}
}

func BenchmarkJ11Observe(b *testing.B) {
	tm := hcJST(b, "2015-02-10 10:00:00")
	for _, c := range []struct {
		name string
		ev   *event.Event
	}{
		{"internal-flow", hcEv("netscreen", tm, "fw.log", 1, "", "src_ip", "192.168.100.7", "dst_ip", "10.1.1.1", "dst_port", "445", "action", "allow")},
		{"egress-allowed-flow", hcEv("netscreen", tm, "fw.log", 1, "", "src_ip", "192.168.1.10", "dst_ip", "93.184.216.34", "dst_port", "443", "action", "allow")},
		{"direct-flow-repeat", hcEv("netscreen", tm, "fw.log", 2, "", "src_ip", "192.168.100.7", "dst_ip", "23.23.1.1", "dst_port", "22", "action", "allow")},
		{"dns-query-repeat", hcEv("bind", tm, "queries.log", 1, "", "src_ip", "192.168.100.7", "query", "www.example.com", "qtype", "A")},
		{"proxy-mapping-repeat", hcEv("squid", tm, "access.log", 1, "", "src_ip", "192.168.100.7", "domain", "www.example.com", "dst_ip", "93.184.216.34", "method", "GET")},
	} {
		b.Run(c.name, func(b *testing.B) {
			d := NewJ11(hcModel(b, j11Cfg()))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d.Observe(c.ev)
			}
		})
	}
}
