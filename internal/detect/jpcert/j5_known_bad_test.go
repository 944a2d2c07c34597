package jpcert

import (
	"strconv"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

func j5Model(t testing.TB) *org.Model {
	return aModel(t, &org.Config{Indicators: org.IndicatorConfig{
		Domains: []string{"example.com", "bad.example"},
		IPs:     []string{"203.0.113.9", "198.51.100.0/24", "2001:db8:bad::/48"},
		URLs:    []string{"http://EVIL.example.net:80/gate.php/"},
	}})
}

var j5All = []alert.Stage{alert.Delivery, alert.Installation, alert.CommandAndControl, alert.ActionsOnObjectives}

// The document's figure 4-6: a proxy download from apt.example.com when
// example.com is the reported domain.
func TestJ5DocumentExample(t *testing.T) {
	d := NewJ5(j5Model(t))
	aInfo(t, d, "J5", "4.2.3.1", j5All, "B", "D", "H")
	got := aRun(d, aEv("squid", 1, "src_ip", "127.0.0.1", "action", "allow", "status", "200", "bytes_in", "74769",
		"method", "GET", "url", "http://apt.example.com/xxx/xxx/apt.zip", "domain", "apt.example.com",
		"dst_ip", "113.10.20.30", "content_type", "application/zip-compressed", "result_code", "TCP_MISS"))
	a := aOne(t, got, "J5", "127.0.0.1", alert.Critical)
	aStages(t, a, j5All...)
	aSummary(t, a, "127.0.0.1 contacted known-bad domain apt.example.com (indicator example.com)", "proxy", "1 allowed connection")
	aEvidence(t, a, 1)
	aField(t, a, "indicator", "example.com")
	aField(t, a, "matched", "apt.example.com")
	aField(t, a, "kind", "domain")
	aField(t, a, "via", "proxy")
}

// One finding per (host, indicator) across sources; the severity is the
// highest seen.
func TestJ5DNSThenProxy(t *testing.T) {
	d := NewJ5(j5Model(t))
	got := aRun(d,
		aEv("bind", 1, "src_ip", "192.168.1.5", "query", "apt.example.com", "domain", "apt.example.com", "qtype", "A"),
		aEv("squid", 2, "src_ip", "192.168.1.5", "action", "deny", "status", "403", "method", "GET", "url", "http://apt.example.com/a", "domain", "apt.example.com"),
		aEv("bind", 3, "src_ip", "192.168.1.6", "query", "EXAMPLE.COM.", "qtype", "A"),
	)
	if len(got) != 2 {
		t.Fatalf("want 2 alerts, got %d", len(got))
	}
	aCheck(t, got[0], "J5", "192.168.1.5", alert.High) // lookup + denied
	aEvidence(t, got[0], 1, 2)
	aField(t, got[0], "via", "dns,proxy")
	aSummary(t, got[0], "1 denied connection", "1 DNS lookup")
	aCheck(t, got[1], "J5", "192.168.1.6", alert.High)
	aField(t, got[1], "matched", "EXAMPLE.COM")

	d = NewJ5(j5Model(t))
	got = aRun(d,
		aEv("bind", 1, "src_ip", "192.168.1.5", "query", "apt.example.com", "domain", "apt.example.com"),
		aEv("squid", 2, "src_ip", "192.168.1.5", "action", "allow", "status", "200", "method", "GET", "url", "http://apt.example.com/a", "domain", "apt.example.com"),
	)
	a := aOne(t, got, "J5", "192.168.1.5", alert.Critical)
	aStages(t, a, j5All...)
}

func TestJ5URLAndIP(t *testing.T) {
	d := NewJ5(j5Model(t))
	got := aRun(d,
		aEv("squid", 1, "src_ip", "192.168.1.5", "method", "POST", "url", "http://evil.example.net/gate.php", "domain", "evil.example.net", "status", "200"),
		aEv("squid", 2, "src_ip", "192.168.1.5", "method", "GET", "url", "http://evil.example.net/index.html", "domain", "evil.example.net", "status", "200"),
		aEv("squid", 3, "src_ip", "192.168.1.7", "method", "CONNECT", "url", "203.0.113.9:8443", "domain", "203.0.113.9", "dst_port", "8443", "status", "200"),
		aEv("squid", 4, "src_ip", "192.168.1.8", "method", "GET", "url", "http://cdn.good.example/x", "domain", "cdn.good.example", "dst_ip", "198.51.100.77", "status", "200"),
		aEv("squid", 5, "src_ip", "192.168.1.9", "method", "GET", "url", "http://[2001:db8:bad::1]/x", "domain", "2001:db8:bad::1", "status", "200"),
	)
	if len(got) != 4 {
		t.Fatalf("want 4 alerts, got %d", len(got))
	}
	aCheck(t, got[0], "J5", "192.168.1.5", alert.Critical)
	aField(t, got[0], "kind", "url")
	aField(t, got[0], "indicator", "http://evil.example.net/gate.php")
	aEvidence(t, got[0], 1)
	aCheck(t, got[1], "J5", "192.168.1.7", alert.Critical)
	aField(t, got[1], "kind", "ip")
	aField(t, got[1], "indicator", "203.0.113.9")
	aCheck(t, got[2], "J5", "192.168.1.8", alert.Critical)
	aField(t, got[2], "indicator", "198.51.100.0/24")
	aField(t, got[2], "matched", "198.51.100.77")
	aField(t, got[2], "dst_ip", "198.51.100.77")
	aCheck(t, got[3], "J5", "192.168.1.9", alert.Critical)
	aField(t, got[3], "indicator", "2001:db8:bad::/48")
}

func TestJ5FirewallAndDNSAnswers(t *testing.T) {
	d := NewJ5(j5Model(t))
	got := aRun(d,
		aEv("netscreen", 1, "action", "allow", "src_ip", "192.168.100.23", "dst_ip", "198.51.100.7", "dst_port", "443"),
		aEv("netscreen", 2, "action", "deny", "src_ip", "192.168.100.24", "dst_ip", "203.0.113.9", "dst_port", "80"),
		aEv("netscreen", 3, "action", "deny", "src_ip", "203.0.113.9", "dst_ip", "192.168.100.25", "dst_port", "445"),
		aEv("bind", 4, "src_ip", "192.168.100.26", "query", "cdn.good.example", "domain", "cdn.good.example", "answers", "10.0.0.1, 203.0.113.9"),
		aEv("bind", 5, "src_ip", "192.168.100.26", "query", "www.good.example", "domain", "www.good.example", "answers", "10.0.0.1,10.0.0.2"),
	)
	if len(got) != 4 {
		t.Fatalf("want 4 alerts, got %d", len(got))
	}
	aCheck(t, got[0], "J5", "192.168.100.23", alert.Critical)
	aField(t, got[0], "via", "firewall")
	aSummary(t, got[0], "1 allowed connection")
	aCheck(t, got[1], "J5", "192.168.100.24", alert.High)
	aSummary(t, got[1], "1 denied connection")
	aCheck(t, got[2], "J5", "192.168.100.25", alert.High)
	aStages(t, got[2], alert.Delivery)
	aSummary(t, got[2], "192.168.100.25 was contacted from known-bad ip 203.0.113.9")
	aCheck(t, got[3], "J5", "192.168.100.26", alert.High)
	aField(t, got[3], "matched", "cdn.good.example → 203.0.113.9")
	aField(t, got[3], "dst_ip", "203.0.113.9")
	aField(t, got[3], "domain", "cdn.good.example")
}

func TestJ5Mail(t *testing.T) {
	d := NewJ5(j5Model(t))
	got := aRun(d,
		aEv("postfix", 1, "queue_id", "Q1", "mail_from", "attacker@mx.bad.example", "mail_to", "u@example.co.jp", "src_ip", "192.0.2.1"),
		aEv("postfix", 2, "queue_id", "Q2", "mail_from", "news@good.example", "mail_to", "v@example.co.jp", "src_ip", "203.0.113.9"),
		aEv("postfix", 3, "queue_id", "Q3", "header_from", `"x" <y@bad.example>`, "from_address", "y@bad.example", "mail_to", "w@example.co.jp"),
		aEv("postfix", 4, "queue_id", "Q4", "mail_from", "<>", "mail_to", "w@example.co.jp"),
	)
	if len(got) != 3 {
		t.Fatalf("want 3 alerts, got %d", len(got))
	}
	aCheck(t, got[0], "J5", "u@example.co.jp", alert.High)
	aStages(t, got[0], alert.Delivery)
	aSummary(t, got[0], "Mail to u@example.co.jp came from known-bad domain attacker@mx.bad.example (indicator bad.example)")
	aCheck(t, got[1], "J5", "v@example.co.jp", alert.High)
	aField(t, got[1], "kind", "ip")
	aCheck(t, got[2], "J5", "w@example.co.jp", alert.High)
	aField(t, got[0], "mail_from", "attacker@mx.bad.example")
	aField(t, got[0], "mail_to", "u@example.co.jp")
}

func TestJ5LookAlikesQuiet(t *testing.T) {
	d := NewJ5(j5Model(t))
	got := aRun(d,
		aEv("squid", 1, "src_ip", "192.168.1.5", "method", "GET", "url", "http://notexample.com/", "domain", "notexample.com"),
		aEv("squid", 2, "src_ip", "192.168.1.5", "method", "GET", "url", "http://example.com.attacker.net/", "domain", "example.com.attacker.net"),
		aEv("squid", 3, "src_ip", "192.168.1.5", "method", "GET", "url", "http://www.example.org/example.com", "domain", "www.example.org"),
		aEv("squid", 4, "src_ip", "192.168.1.5", "method", "CONNECT", "url", "203.0.113.10:443", "domain", "203.0.113.10"),
		aEv("bind", 5, "src_ip", "192.168.1.5", "query", "example.co", "domain", "example.co"),
		aEv("netscreen", 6, "action", "allow", "src_ip", "192.168.1.5", "dst_ip", "198.51.101.1"),
		aEv("postfix", 7, "mail_from", "a@example.com.jp", "mail_to", "b@example.co.jp"),
	)
	for _, a := range got {
		t.Errorf("unexpected %q", a.Summary)
	}
}

func TestJ5NoIndicators(t *testing.T) {
	d := NewJ5(aModel(t, &org.Config{}))
	got := aRun(d, aEv("squid", 1, "src_ip", "127.0.0.1", "url", "http://apt.example.com/", "domain", "apt.example.com"))
	if len(got) != 0 {
		t.Fatal("alert without indicators")
	}
	n := aNote(d.Notes(), detect.Skipped, "indicators")
	if n == nil || n.Enable != "indicators.domains / indicators.ips / indicators.urls / indicators.files" {
		t.Errorf("notes %+v", d.Notes())
	}
	if len(j5Model(t).IOCURLs) == 0 || len(NewJ5(j5Model(t)).Notes()) != 0 {
		t.Errorf("notes with indicators")
	}
}

func BenchmarkJ5Observe(b *testing.B) {
	cfg := &org.Config{Indicators: org.IndicatorConfig{Domains: []string{"example.com"}, URLs: []string{"http://evil.example.net/gate.php"}}}
	for i := 0; i < 1000; i++ {
		cfg.Indicators.Domains = append(cfg.Indicators.Domains, "bad"+strconv.Itoa(i)+".example")
		cfg.Indicators.IPs = append(cfg.Indicators.IPs, "203.0."+strconv.Itoa(i/250)+"."+strconv.Itoa(i%250))
		cfg.Indicators.URLs = append(cfg.Indicators.URLs, "http://u"+strconv.Itoa(i)+".example/x")
	}
	cfg.Indicators.IPs = append(cfg.Indicators.IPs, "198.51.100.0/24")
	d := NewJ5(aModel(b, cfg))
	evs := []*event.Event{
		aEv("squid", 1, "src_ip", "192.168.1.5", "method", "GET", "url", "http://www.good.example/index.html", "domain", "www.good.example", "dst_ip", "192.0.2.80", "status", "200"),
		aEv("bind", 2, "src_ip", "192.168.1.5", "query", "www.good.example", "domain", "www.good.example"),
		aEv("netscreen", 3, "action", "allow", "src_ip", "192.168.1.5", "dst_ip", "192.0.2.80", "dst_port", "443"),
		aEv("postfix", 4, "mail_from", "a@good.example", "mail_to", "b@example.co.jp", "src_ip", "192.0.2.25"),
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, ev := range evs {
			d.Observe(ev)
		}
	}
}
