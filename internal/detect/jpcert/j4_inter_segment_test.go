package jpcert

import (
	"testing"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/org"
)

func j4Fw(action, src, dst, port, sz, dz string) []string {
	kv := []string{"action", action, "src_ip", src, "dst_ip", dst, "src_port", "2562", "dst_port", port, "proto", "17"}
	if sz != "" {
		kv = append(kv, "src_zone", sz)
	}
	if dz != "" {
		kv = append(kv, "dst_zone", dz)
	}
	return kv
}

func j4Zoned(t testing.TB, flows ...org.FlowConfig) *org.Model {
	return aModel(t, &org.Config{Networks: org.NetworksConfig{
		Zones: map[string][]string{
			"office":  {"192.168.100.0/24"},
			"servers": {"192.168.200.0/24"},
			"dc":      {"192.168.200.10/32"},
		},
		AllowedFlows: flows,
	}})
}

// The document's figure 4-5: Deny from SHANAI 192.168.100.x to INTRA
// 192.168.200.x port 8089, with zones taken from the log alone.
func TestJ4DocumentExample(t *testing.T) {
	d := NewJ4(aModel(t, &org.Config{}))
	aInfo(t, d, "J4", "4.2.2.2", []alert.Stage{alert.CommandAndControl}, "E", "G")
	got := aRun(d,
		aEv("netscreen", 1, j4Fw("deny", "192.168.100.23", "192.168.200.45", "8089", "SHANAI", "INTRA")...),
		aEv("netscreen", 2, j4Fw("deny", "192.168.100.23", "192.168.200.45", "8089", "SHANAI", "INTRA")...),
	)
	a := aOne(t, got, "J4", "192.168.100.23", alert.High)
	aStages(t, a, alert.CommandAndControl)
	aSummary(t, a, "192.168.100.23 (zone SHANAI)", "denied 2 times", "192.168.200.45 port 8089 (zone INTRA)")
	aEvidence(t, a, 1, 2)
	aField(t, a, "kind", "denied")
	aField(t, a, "zone_source", "log")
	aField(t, a, "dst_port", "8089")
	aField(t, a, "dst_ip", "192.168.200.45")
	if aNote(d.Notes(), detect.Degraded, "networks.allowed_flows") == nil {
		t.Errorf("no allowed_flows note: %+v", d.Notes())
	}
}

func TestJ4ConfigZones(t *testing.T) {
	d := NewJ4(j4Zoned(t))
	got := aRun(d,
		aEv("iptables", 1, j4Fw("drop", "192.168.100.23", "192.168.200.10", "445", "", "")...),   // office → dc (most specific)
		aEv("iptables", 2, j4Fw("reject", "192.168.100.23", "192.168.100.24", "445", "", "")...), // same zone
		aEv("iptables", 3, j4Fw("drop", "192.168.200.11", "192.168.200.10", "445", "", "")...),   // servers → dc
		aEv("iptables", 4, j4Fw("allow", "192.168.100.23", "192.168.200.11", "3389", "", "")...), // permitted, no flows configured
		aEv("iptables", 5, j4Fw("drop", "192.168.100.23", "8.8.8.8", "53", "", "")...),           // external: J3
	)
	if len(got) != 2 {
		t.Fatalf("want 2 alerts, got %d", len(got))
	}
	aCheck(t, got[0], "J4", "192.168.100.23", alert.High)
	aField(t, got[0], "dst_zone", "dc")
	aField(t, got[0], "zone_source", "config")
	aCheck(t, got[1], "J4", "192.168.200.11", alert.High)
	aSummary(t, got[1], "zone servers", "zone dc")
}

func TestJ4AllowedFlows(t *testing.T) {
	d := NewJ4(j4Zoned(t,
		org.FlowConfig{From: "office", To: "servers", Ports: []int{445, 80}},
		org.FlowConfig{From: "SHANAI", To: "INTRA", Ports: []int{8089}},
		org.FlowConfig{From: "office", To: "dc"},
	))
	got := aRun(d,
		aEv("iptables", 1, j4Fw("allow", "192.168.100.23", "192.168.200.11", "445", "", "")...),              // allowed flow
		aEv("iptables", 2, j4Fw("allow", "192.168.100.23", "192.168.200.11", "3389", "", "")...),             // unexpected
		aEv("iptables", 3, j4Fw("allow", "192.168.100.23", "192.168.100.40", "3389", "", "")...),             // same zone
		aEv("netscreen", 4, j4Fw("close", "192.168.100.23", "192.168.200.45", "8089", "SHANAI", "INTRA")...), // flow by log zone names
		aEv("netscreen", 5, j4Fw("allow", "192.168.100.23", "192.168.200.45", "80", "Trust", "DMZ")...),      // flow by config zone names
		aEv("iptables", 6, j4Fw("allow", "192.168.100.23", "192.168.200.10", "88", "", "")...),               // flow without ports
		aEv("iptables", 7, j4Fw("drop", "192.168.100.23", "192.168.200.11", "445", "", "")...),               // denied even if allowed
		aEv("iptables", 8, j4Fw("drop", "192.168.100.23", "192.168.200.11", "3389", "", "")...),              // denied: own key
		aEv("iptables", 9, j4Fw("allow", "192.168.100.23", "192.168.200.11", "3389", "", "")...),
	)
	if len(got) != 3 {
		for _, a := range got {
			t.Log(a.Summary)
		}
		t.Fatalf("want 3 alerts, got %d", len(got))
	}
	aCheck(t, got[0], "J4", "192.168.100.23", alert.Medium)
	aField(t, got[0], "kind", "unexpected permitted flow")
	aSummary(t, got[0], "connected across segments to 192.168.200.11 port 3389 (zone servers) 2 times", "allowed_flows")
	aEvidence(t, got[0], 2, 9)
	aCheck(t, got[1], "J4", "192.168.100.23", alert.High)
	aField(t, got[1], "dst_port", "445")
	aCheck(t, got[2], "J4", "192.168.100.23", alert.High)
	aField(t, got[2], "dst_port", "3389")
	if aNote(d.Notes(), detect.Degraded, "networks.allowed_flows") != nil {
		t.Errorf("allowed_flows note with flows configured")
	}
}

func TestJ4ZoneNotes(t *testing.T) {
	// No zones anywhere: skipped.
	d := NewJ4(aModel(t, &org.Config{}))
	got := aRun(d, aEv("iptables", 1, j4Fw("drop", "192.168.100.23", "192.168.200.45", "445", "", "")...))
	if len(got) != 0 {
		t.Fatalf("alert without zones")
	}
	n := aNote(d.Notes(), detect.Skipped, "no zone information")
	if n == nil || n.Enable != "networks.zones" {
		t.Errorf("no skipped note: %+v", d.Notes())
	}
	// Some records zoned by the log, some not: degraded.
	d = NewJ4(aModel(t, &org.Config{}))
	got = aRun(d,
		aEv("iptables", 1, j4Fw("drop", "192.168.100.23", "192.168.200.45", "445", "", "")...),
		aEv("netscreen", 2, j4Fw("deny", "192.168.100.23", "192.168.200.45", "445", "SHANAI", "INTRA")...),
	)
	aOne(t, got, "J4", "192.168.100.23", alert.High)
	if aNote(d.Notes(), detect.Degraded, "no zone information") == nil {
		t.Errorf("no degraded note: %+v", d.Notes())
	}
	// An internal address outside every configured zone.
	d = NewJ4(j4Zoned(t))
	got = aRun(d, aEv("iptables", 1, j4Fw("drop", "10.9.9.9", "192.168.200.45", "445", "", "")...))
	if len(got) != 0 {
		t.Fatalf("alert for unzoned address")
	}
	if aNote(d.Notes(), detect.Degraded, "outside every networks.zones") == nil {
		t.Errorf("no unzoned note: %+v", d.Notes())
	}
}

func BenchmarkJ4Observe(b *testing.B) {
	d := NewJ4(j4Zoned(b, org.FlowConfig{From: "office", To: "servers", Ports: []int{445}}))
	allowed := aEv("iptables", 1, j4Fw("allow", "192.168.100.23", "192.168.200.11", "445", "", "")...)
	same := aEv("netscreen", 2, j4Fw("deny", "192.168.100.23", "192.168.100.24", "445", "SHANAI", "SHANAI")...)
	out := aEv("netscreen", 3, j4Fw("deny", "192.168.100.23", "23.23.45.67", "80", "SHANAI", "Untrust")...)
	hit := aEv("netscreen", 4, j4Fw("deny", "192.168.100.23", "192.168.200.45", "8089", "SHANAI", "INTRA")...)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Observe(allowed)
		d.Observe(same)
		d.Observe(out)
		d.Observe(hit)
	}
}
