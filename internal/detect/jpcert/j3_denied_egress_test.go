package jpcert

import (
	"testing"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/org"
)

func j3Model(t testing.TB) *org.Model {
	return aModel(t, &org.Config{Networks: org.NetworksConfig{
		Internal:      []string{"192.168.0.0/16", "10.0.0.0/8"},
		EgressAllowed: []string{"192.168.1.10", "192.168.2.0/28"}, // proxy, mail relays
	}})
}

// j3Fw is a NetScreen traffic record as the parser normalizes it.
func j3Fw(action, src, dst, port string) []string {
	return []string{"action", action, "src_ip", src, "dst_ip", dst, "src_port", "58461", "dst_port", port,
		"src_zone", "SHANAI", "dst_zone", "Untrust", "proto", "6", "service", "http", "policy_id", "36"}
}

// The document's figure 4-4: Deny from 192.168.100.x to 23.23.x.x:80, dst
// zone Untrust.
func TestJ3DocumentExample(t *testing.T) {
	d := NewJ3(j3Model(t))
	aInfo(t, d, "J3", "4.2.2.1", []alert.Stage{alert.Exploitation, alert.Installation, alert.CommandAndControl}, "C")
	ev := aEv("netscreen", 1, j3Fw("deny", "192.168.100.23", "23.23.45.67", "80")...)
	ev.Host = "ns208-master"
	got := aRun(d, ev)
	a := aOne(t, got, "J3", "192.168.100.23", alert.High)
	aStages(t, a, alert.Exploitation, alert.Installation, alert.CommandAndControl)
	aSummary(t, a, "192.168.100.23", "23.23.45.67 port 80", "zone Untrust", "bypassing the web proxy", "1 time")
	aEvidence(t, a, 1)
	aField(t, a, "dst", "23.23.45.67")
	aField(t, a, "dst_ip", "23.23.45.67")
	aField(t, a, "dst_port", "80")
	aField(t, a, "zone", "Untrust")
	aField(t, a, "device", "ns208-master")
	if len(d.Notes()) != 0 {
		t.Errorf("unexpected notes %+v", d.Notes())
	}
}

func TestJ3PortsAndGrouping(t *testing.T) {
	d := NewJ3(j3Model(t))
	got := aRun(d,
		aEv("netscreen", 1, j3Fw("deny", "192.168.100.23", "203.0.113.5", "4444")...),
		aEv("kv", 2, j3Fw("reject", "192.168.100.23", "203.0.113.5", "4444")...),
		aEv("iptables", 3, "action", "drop", "src_ip", "10.1.2.3", "dst_ip", "198.51.100.7", "dst_port", "25", "proto", "tcp"),
		aEv("netscreen", 4, j3Fw("deny", "192.168.100.23", "203.0.113.5", "443")...),
		aEv("netscreen", 5, j3Fw("deny", "192.168.100.23", "203.0.113.5", "8080")...),
		aEv("netscreen", 6, j3Fw("deny", "192.168.100.23", "203.0.113.5", "4444")...),
		aEv("iptables", 7, "action", "drop", "src_ip", "10.1.2.3", "dst_ip", "198.51.100.7", "proto", "icmp"),
	)
	if len(got) != 5 {
		t.Fatalf("want 5 alerts, got %d", len(got))
	}
	aCheck(t, got[0], "J3", "192.168.100.23", alert.Medium)
	aEvidence(t, got[0], 1, 2, 6)
	aSummary(t, got[0], "203.0.113.5 port 4444", "3 times")
	aCheck(t, got[1], "J3", "10.1.2.3", alert.High)
	aField(t, got[1], "dst_port", "25")
	aCheck(t, got[2], "J3", "192.168.100.23", alert.High)
	aCheck(t, got[3], "J3", "192.168.100.23", alert.High)
	aCheck(t, got[4], "J3", "10.1.2.3", alert.Medium)
	if _, ok := got[4].Fields["dst_port"]; ok {
		t.Errorf("icmp finding has a port")
	}
}

func TestJ3QuietCases(t *testing.T) {
	d := NewJ3(j3Model(t))
	got := aRun(d,
		aEv("netscreen", 1, j3Fw("allow", "192.168.100.23", "23.23.45.67", "80")...),    // permitted
		aEv("netscreen", 2, j3Fw("close", "192.168.100.23", "23.23.45.67", "80")...),    // permitted, ended
		aEv("netscreen", 3, j3Fw("deny", "192.168.1.10", "23.23.45.67", "80")...),       // the proxy
		aEv("netscreen", 4, j3Fw("deny", "192.168.2.5", "198.51.100.7", "25")...),       // mail relay (CIDR)
		aEv("netscreen", 5, j3Fw("deny", "192.168.100.23", "192.168.200.8", "8089")...), // internal: J4
		aEv("netscreen", 6, j3Fw("deny", "23.23.45.67", "192.168.100.23", "445")...),    // inbound
		aEv("netscreen", 7, j3Fw("deny", "192.168.100.23", "239.255.255.250", "1900")...),
		aEv("netscreen", 8, j3Fw("deny", "192.168.100.23", "255.255.255.255", "67")...),
		aEv("netscreen", 9, j3Fw("deny", "192.168.100.23", "169.254.1.1", "80")...),
		aEv("netscreen", 10, j3Fw("deny", "172.16.5.5", "23.23.45.67", "80")...), // not in networks.internal
		aEv("netscreen", 11, "action", "deny", "src_ip", "192.168.100.23"),       // no destination
	)
	for _, a := range got {
		t.Errorf("unexpected %q", a.Summary)
	}
}

func TestJ3Notes(t *testing.T) {
	d := NewJ3(aModel(t, &org.Config{}))
	// Without networks.internal the private ranges are internal; without
	// egress_allowed the proxy is reported too.
	got := aRun(d, aEv("netscreen", 1, j3Fw("deny", "172.16.5.5", "23.23.45.67", "80")...))
	aOne(t, got, "J3", "172.16.5.5", alert.High)
	n := d.Notes()
	if x := aNote(n, detect.Degraded, "networks.egress_allowed"); x == nil || x.Enable != "networks.egress_allowed" {
		t.Errorf("no egress_allowed note: %+v", n)
	}
	if x := aNote(n, detect.Degraded, "RFC 1918"); x == nil || x.Enable != "networks.internal" {
		t.Errorf("no networks.internal note: %+v", n)
	}
}

func BenchmarkJ3Observe(b *testing.B) {
	d := NewJ3(j3Model(b))
	allow := aEv("netscreen", 1, j3Fw("allow", "192.168.100.23", "23.23.45.67", "80")...)
	proxy := aEv("netscreen", 2, j3Fw("deny", "192.168.1.10", "23.23.45.67", "80")...)
	hit := aEv("netscreen", 3, j3Fw("deny", "192.168.100.23", "23.23.45.67", "80")...)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Observe(allow)
		d.Observe(proxy)
		d.Observe(hit) // repeated finding: grouped without allocation
	}
}
