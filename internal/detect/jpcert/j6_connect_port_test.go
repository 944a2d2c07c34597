package jpcert

import (
	"testing"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// The document's figure 4-7: TCP_DENIED/403 CONNECT 192.168.x.x:8089.
func TestJ6DocumentExample(t *testing.T) {
	d := NewJ6(aModel(t, &org.Config{}))
	aInfo(t, d, "J6", "4.2.3.2", []alert.Stage{alert.Delivery, alert.Installation, alert.CommandAndControl, alert.ActionsOnObjectives}, "B", "D", "H")
	got := aRun(d, aEv("squid", 1, "src_ip", "192.168.10.5", "result_code", "TCP_DENIED", "action", "deny", "status", "403",
		"bytes_in", "3641", "method", "CONNECT", "url", "192.168.20.7:8089", "domain", "192.168.20.7", "dst_port", "8089", "content_type", "text/html"))
	a := aOne(t, got, "J6", "192.168.10.5", alert.Medium)
	aStages(t, a, alert.Delivery, alert.Installation, alert.CommandAndControl, alert.ActionsOnObjectives)
	aSummary(t, a, "192.168.10.5 used CONNECT", "192.168.20.7 port 8089", "1 denied")
	aEvidence(t, a, 1)
	aField(t, a, "dst_port", "8089")
	aField(t, a, "dst_ip", "192.168.20.7")
	aField(t, a, "result_code", "TCP_DENIED")
	aField(t, a, "denied", "1")
}

func TestJ6AllowedAndPorts(t *testing.T) {
	d := NewJ6(aModel(t, &org.Config{}))
	got := aRun(d,
		aEv("squid", 1, "src_ip", "192.168.10.5", "method", "CONNECT", "url", "c2.example.net:8443", "domain", "c2.example.net", "dst_port", "8443", "status", "200", "action", "allow"),
		aEv("squid", 2, "src_ip", "192.168.10.6", "method", "CONNECT", "url", "mail.example.net:25", "status", "407"),         // port from the URL
		aEv("squid", 3, "src_ip", "192.168.10.6", "method", "CONNECT", "url", "mail.example.net:25", "status", "200"),         // then allowed
		aEv("squid-combined", 4, "src_ip", "192.168.10.7", "method", "CONNECT", "url", "[2001:db8::1]:8089", "status", "200"), // IPv6
		aEv("squid", 5, "src_ip", "192.168.10.5", "method", "CONNECT", "url", "c2.example.net:8443", "domain", "c2.example.net", "dst_port", "8443", "status", "200", "action", "allow"),
	)
	if len(got) != 3 {
		t.Fatalf("want 3 alerts, got %d", len(got))
	}
	aCheck(t, got[0], "J6", "192.168.10.5", alert.High)
	aEvidence(t, got[0], 1, 5)
	aSummary(t, got[0], "c2.example.net port 8443", "2 allowed")
	aField(t, got[0], "domain", "c2.example.net")
	aCheck(t, got[1], "J6", "192.168.10.6", alert.High)
	aSummary(t, got[1], "mail.example.net port 25", "1 allowed, 1 denied")
	aCheck(t, got[2], "J6", "192.168.10.7", alert.High)
	aField(t, got[2], "dst", "2001:db8::1")
	aField(t, got[2], "dst_port", "8089")
}

func TestJ6LookAlikesQuiet(t *testing.T) {
	d := NewJ6(aModel(t, &org.Config{}))
	got := aRun(d,
		aEv("squid", 1, "src_ip", "192.168.10.5", "method", "CONNECT", "url", "www.example.com:443", "domain", "www.example.com", "dst_port", "443", "status", "200"),
		aEv("squid", 2, "src_ip", "192.168.10.5", "method", "CONNECT", "url", "www.example.com:443", "status", "200"),
		aEv("squid", 3, "src_ip", "192.168.10.5", "method", "CONNECT", "url", "www.example.com:80", "status", "200"),
		aEv("squid", 4, "src_ip", "192.168.10.5", "method", "GET", "url", "http://www.example.com:8080/app", "domain", "www.example.com", "dst_port", "8080", "status", "200"),
		aEv("squid", 5, "src_ip", "192.168.10.5", "method", "POST", "url", "http://192.168.20.7:8089/x", "dst_port", "8089", "status", "200"),
	)
	for _, a := range got {
		t.Errorf("unexpected %q", a.Summary)
	}
	if len(d.Notes()) != 0 {
		t.Errorf("unexpected notes %+v", d.Notes())
	}
}

func TestJ6NoPortNote(t *testing.T) {
	d := NewJ6(aModel(t, &org.Config{}))
	got := aRun(d, aEv("squid", 1, "src_ip", "192.168.10.5", "method", "CONNECT", "url", "www.example.com", "status", "200"))
	if len(got) != 0 {
		t.Fatal("alert without a port")
	}
	if aNote(d.Notes(), detect.Degraded, "no destination port") == nil {
		t.Errorf("notes %+v", d.Notes())
	}
}

func BenchmarkJ6Observe(b *testing.B) {
	d := NewJ6(aModel(b, &org.Config{}))
	get := aEv("squid", 1, "src_ip", "192.168.10.5", "method", "GET", "url", "http://www.example.com:8080/app", "domain", "www.example.com", "dst_port", "8080", "status", "200")
	tls := aEv("squid", 2, "src_ip", "192.168.10.5", "method", "CONNECT", "url", "www.example.com:443", "domain", "www.example.com", "dst_port", "443", "status", "200")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Observe(get)
		d.Observe(tls)
	}
}
