package jpcert

import (
	"context"
	"net/netip"
	"strings"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// J4: denied inter-segment traffic (JPCERT §4.2.2.2).
//
// An infected PC probes other PCs and internal servers (techniques E, G).
// Where a firewall between internal segments passes only the necessary
// traffic, the denied attempts stand out. The analysis takes firewall
// records with both ends internal and in different segments. The segments
// are the zones the firewall logged (src zone / dst zone, e.g. SHANAI →
// INTRA) when both are present, otherwise the CIDR zones of networks.zones;
// records whose zones are unknown are skipped and counted in a note.
//
//   - denied/rejected/dropped between different zones → high ("denied");
//   - with networks.allowed_flows configured, permitted traffic between
//     different zones whose (from, to, port) is not an allowed flow →
//     medium ("unexpected permitted flow"). Flows are matched by the logged
//     zone names and by the networks.zones names, so allowed_flows may use
//     either.

const (
	j4Denied     = "denied"
	j4Unexpected = "unexpected permitted flow"
)

type j4Key struct {
	src, dst netip.Addr
	port     int32
	permit   bool
}

type j4 struct {
	info *detect.Info
	m    *org.Model
	g    *detect.Group
	idx  map[j4Key]*alert.Alert

	zoned   int64 // internal↔internal records whose zones were known
	noZone  int64 // internal↔internal records without any zone information
	unzoned int64 // records with an internal address outside every networks.zones entry
}

// NewJ4 returns the inter-segment traffic analysis.
func NewJ4(m *org.Model) detect.Detector {
	in := &detect.Info{
		ID:           "J4",
		Title:        "Denied inter-segment traffic",
		TitleJA:      "異なるセグメントに収容された PC 間の不正な通信を手掛かりとしたログ分析",
		Requirements: []string{"J4"},
		Section:      "4.2.2.2",
		Categories:   []string{detect.Firewall},
		Stages:       j16Stages(alert.CommandAndControl),
		Techniques:   []string{"E", "G"},
		Attack:       []string{"T1046", "T1021", "T1210"},
		NextSteps: j16Text([]string{
			"The attack is suspected to have reached the C&C stage: check whether the PC keeps communicating illegitimately with hosts inside and outside the organization.",
			"Check the destination host for signs of compromise and for logons from the source (Windows 4624/4625/4776 on the destination and the domain controllers, J12/J13).",
			"Use the source address as the starting point of the egress analyses (J3, J5–J10) to find its external C&C.",
			"If the flow is legitimate, add it to networks.allowed_flows (or fix the firewall policy so it is not attempted).",
		}, []string{
			"高度サイバー攻撃が「C&C」の段階まで進んでいることが疑われる。当該 PC が、組織内外と継続的に不正な通信をしていないかを確認する必要がある。",
			"送信先の機器に侵害の痕跡がないか、送信元からのログオン（送信先およびドメインコントローラの 4624/4625/4776、J12/J13）がないかを確認する。",
			"送信元アドレスを起点に、組織外への通信の分析（J3、J5〜J10）で C&C サーバとの通信がないかを確認する。",
			"正規の通信であれば networks.allowed_flows に登録する（またはその通信が発生しないよう設定を見直す）。",
		}),
		Caveats: j16Text([]string{
			"Without an exact knowledge of the firewall policy and zone settings you cannot tell which source/destination combinations are legitimate, and this method cannot detect the attack: configure networks.zones and networks.allowed_flows.",
			"Firewalls are rarely placed between internal segments, and even where they are, their logs are often not collected; collecting enough logs may require revisiting the network design.",
			"Broadcast and discovery traffic (NetBIOS, SSDP) denied between segments is noisy; it is still reported because probing looks the same.",
		}, []string{
			"Firewall のポリシーやゾーンの設定を正確に把握していないと、送信元と送信先の組合せが分からないため、このログ調査手法で検知することが出来ない（networks.zones と networks.allowed_flows を設定する）。",
			"組織内のセグメント間に Firewall を設置することは少なく、設置していても、ログを採取していないことが多い。十分なログを採取するためには、自組織のネットワークの設計を見直す必要がある。",
			"セグメント間で拒否されたブロードキャストや探索の通信（NetBIOS、SSDP など）も報告される。探索行為と見分けがつかないためである。",
		}),
	}
	return &j4{info: in, m: m, g: detect.NewGroup(in), idx: map[j4Key]*alert.Alert{}}
}

func (d *j4) Info() *detect.Info { return d.info }

func (d *j4) Observe(ev *event.Event) {
	act := ev.Get(event.Action)
	denied := j16Denied(act)
	if !denied && (!j16Permitted(act) || !d.m.HasFlows()) {
		return
	}
	src := ev.Addr(event.SrcIP)
	if !d.m.IsInternal(src) {
		return
	}
	dst := ev.Addr(event.DstIP)
	if !d.m.IsInternal(dst) {
		return
	}
	sz, dz := ev.Get(event.SrcZone), ev.Get(event.DstZone)
	fromLog := sz != "" && dz != ""
	if !fromLog {
		if !d.m.HasZones() {
			d.noZone++
			return
		}
		sz, dz = d.m.ZoneOf(src), d.m.ZoneOf(dst)
		if sz == "" || dz == "" {
			d.unzoned++
			return
		}
	}
	d.zoned++
	if strings.EqualFold(sz, dz) {
		return
	}
	port := int32(-1)
	if p, ok := ev.Int(event.DstPort); ok {
		port = int32(p)
	}
	if !denied && d.flowAllowed(sz, dz, src, dst, int(port), fromLog) {
		return
	}
	k := j4Key{src, dst, port, !denied}
	if a := d.idx[k]; a != nil {
		a.AddEvidence(alert.EvidenceOf(ev))
		return
	}
	kind := j4Denied
	if !denied {
		kind = j4Unexpected
	}
	srcS, dstS, portS := src.String(), dst.String(), ev.Get(event.DstPort)
	a := d.g.Add(srcS+"|"+dstS+"|"+portS+"|"+kind, srcS, ev, func(a *alert.Alert) {
		a.Severity = alert.High
		if !denied {
			a.Severity = alert.Medium
		}
		f := a.Fields
		f["kind"] = kind
		f["src"] = srcS
		f["dst"] = dstS
		f["dst_ip"] = dstS
		if portS != "" {
			f["dst_port"] = portS
		}
		f["src_zone"] = sz
		f["dst_zone"] = dz
		f["zone_source"] = "config"
		if fromLog {
			f["zone_source"] = "log"
		}
		f["action"] = act
		if v := ev.Get(event.Proto); v != "" {
			f["proto"] = v
		}
		if v := ev.Get(event.Service); v != "" {
			f["service"] = v
		}
		if ev.Host != "" {
			f["device"] = ev.Host
		}
	})
	if a != nil {
		d.idx[k] = a
	}
}

// flowAllowed checks allowed_flows by the zone names in use and, when those
// came from the log, also by the networks.zones names of the addresses.
func (d *j4) flowAllowed(sz, dz string, src, dst netip.Addr, port int, fromLog bool) bool {
	if d.m.FlowAllowed(sz, dz, port) {
		return true
	}
	if fromLog && d.m.HasZones() {
		cs, cd := d.m.ZoneOf(src), d.m.ZoneOf(dst)
		if cs != "" && cd != "" && (strings.EqualFold(cs, cd) || d.m.FlowAllowed(cs, cd, port)) {
			return true
		}
	}
	return false
}

func (d *j4) Flush(_ context.Context, emit func(*alert.Alert)) {
	d.g.Each(func(_ string, a *alert.Alert) {
		f := a.Fields
		to := f["dst"]
		if p := f["dst_port"]; p != "" {
			to += " port " + p
		}
		to += " (zone " + f["dst_zone"] + ")"
		from := f["src"] + " (zone " + f["src_zone"] + ")"
		if f["kind"] == j4Denied {
			a.Summary = from + " was denied " + j16Times(a.Count, "time", "times") + " connecting across segments to " + to
			return
		}
		a.Summary = from + " connected across segments to " + to + " " + j16Times(a.Count, "time", "times") +
			", a flow not listed in networks.allowed_flows"
	})
	d.g.Emit(emit, nil)
}

func (d *j4) Notes() []detect.Note {
	var out []detect.Note
	switch {
	case d.noZone > 0 && d.zoned == 0 && d.unzoned == 0:
		out = append(out, detect.Note{Rule: "J4", Level: detect.Skipped,
			Message: "no zone information: the firewall log has no src/dst zones and networks.zones is not configured, so " +
				j16Times(d.noZone, "internal-to-internal record was", "internal-to-internal records were") + " not checked",
			Enable: "networks.zones"})
	case d.noZone > 0:
		out = append(out, detect.Note{Rule: "J4", Level: detect.Degraded,
			Message: "no zone information for " + j16Times(d.noZone, "internal-to-internal record", "internal-to-internal records") +
				" (no zones in the log, networks.zones not configured): they were not checked",
			Enable: "networks.zones"})
	}
	if d.unzoned > 0 {
		out = append(out, detect.Note{Rule: "J4", Level: detect.Degraded,
			Message: j16Times(d.unzoned, "internal-to-internal record has", "internal-to-internal records have") +
				" an address outside every networks.zones entry: not checked",
			Enable: "networks.zones"})
	}
	if !d.m.HasFlows() {
		out = append(out, detect.Note{Rule: "J4", Level: detect.Degraded,
			Message: "networks.allowed_flows is not configured: only denied inter-segment traffic is reported, permitted traffic between zones is not checked",
			Enable:  "networks.allowed_flows"})
	}
	return append(out, d.g.DroppedNote()...)
}
