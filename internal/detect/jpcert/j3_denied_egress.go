package jpcert

import (
	"context"
	"net/netip"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// J3: denied egress bypassing the web proxy (JPCERT §4.2.2.1).
//
// Where Internet access is only allowed through the web proxy, a PC that
// tries to reach the Internet directly and is denied by the firewall is a
// sign of malware calling back (technique C). The analysis takes firewall
// records whose source is internal (networks.internal), whose destination is
// outside, whose source is not a host allowed to talk out
// (networks.egress_allowed: proxy, mail relays) and whose action is
// deny/reject/drop. The document's focus ports 25/80/443/8080 are rated
// high. Multicast, broadcast, loopback and link-local destinations are not
// "outside" and are ignored.

// j3Key identifies a finding without allocating: source, destination and
// destination port (-1 when absent).
type j3Key struct {
	src, dst netip.Addr
	port     int32
}

type j3 struct {
	info *detect.Info
	m    *org.Model
	g    *detect.Group
	idx  map[j3Key]*alert.Alert
}

// NewJ3 returns the denied-egress analysis.
func NewJ3(m *org.Model) detect.Detector {
	in := &detect.Info{
		ID:           "J3",
		Title:        "Denied egress bypassing the web proxy",
		TitleJA:      "組織内から組織外への拒否通信を手掛かりとしたログ分析",
		Requirements: []string{"J3"},
		Section:      "4.2.2.1",
		Categories:   []string{detect.Firewall},
		Stages:       j16Stages(alert.Exploitation, alert.Installation, alert.CommandAndControl),
		Techniques:   []string{"C"},
		Attack:       []string{"T1071.001", "T1071.003", "T1571", "T1095"},
		NextSteps: j16Text([]string{
			"The attack is suspected to have reached at least the Installation stage: investigate whether the PC is infected with malware and whether it regularly communicates with other destinations.",
			"Check whether the source keeps trying to reach the same destination, and use the source address as the starting point of the other analyses (proxy J5–J10, DNS names J11) to look for further suspicious communication.",
			"Look up the destination (WHOIS, reputation, passive DNS) and search the firewall and proxy logs for other internal hosts that contacted it.",
			"If the source is a server that legitimately talks out directly (proxy, mail relay, DNS forwarder), add it to networks.egress_allowed.",
		}, []string{
			"少なくとも高度サイバー攻撃における「インストール」の段階まで進んでいることが疑われる。当該 PC がマルウェアに感染していないか、該当 PC が定常的に通信している他の送信先がないかなどを調査する必要がある。",
			"送信元アドレスから同一の送信先アドレスに継続して通信していないか、送信元アドレスを起点に他のログの分析方法（J5〜J10、DNS の J11）で不審な通信をしていないかなどを確認する。",
			"送信先について WHOIS や評判情報を調べ、他の組織内 PC が同じ送信先と通信していないかを Firewall・Web プロキシのログで確認する。",
			"送信元が業務で直接外部と通信する機器（Web プロキシ、メールサーバ、DNS フォワーダ）であれば networks.egress_allowed に登録する。",
		}),
		Caveats: j16Text([]string{
			"The method works only if the firewall policy and zones are set to pass the minimum necessary traffic and Internet access is restricted to go through the web proxy.",
			"In a network built without a web proxy this method cannot detect the attack, nor can it detect malware that is proxy-aware.",
			"Malware often uses destination ports 25 (SMTP), 80 (HTTP), 443 (HTTPS) and 8080 (proxy), so focus the investigation on these ports (rated high here).",
			"Hosts that must talk out directly (web proxy, mail server) have to be excluded via networks.egress_allowed, otherwise their denied traffic is reported as well.",
		}, []string{
			"ここで述べた方法が機能するためには、Firewall のポリシーやゾーンの定義が、必要最小限の通信を通過させるよう正しく設定されていること、インターネットへの通信が Web プロキシサーバ経由に制限されていることが前提である。",
			"Web プロキシサーバ無しで構築されている組織内ネットワークでは、この手法では攻撃を検知できないし、Web プロキシサーバに対応したマルウェアに感染していた場合にも検知ができない。",
			"マルウェアは、通信先ポートとして 25 (SMTP)、80 (HTTP)、443 (HTTPS)、8080 (Proxy) を使用することが多いため、これらのポートを中心に調査するとよい（これらは重要度 high で報告する）。",
			"業務で通信が必要となる機器（Web プロキシサーバやメールサーバ）などから組織外への通信は networks.egress_allowed で除外する必要がある。",
		}),
	}
	return &j3{info: in, m: m, g: detect.NewGroup(in), idx: map[j3Key]*alert.Alert{}}
}

func (d *j3) Info() *detect.Info { return d.info }

func (d *j3) Observe(ev *event.Event) {
	if !j16Denied(ev.Get(event.Action)) {
		return
	}
	src := ev.Addr(event.SrcIP)
	if !d.m.IsInternal(src) {
		return
	}
	dst := ev.Addr(event.DstIP)
	if !dst.IsValid() || d.m.IsInternal(dst) || j16NotRoutable(dst) {
		return
	}
	if d.m.EgressAllowed(src) {
		return
	}
	port := int32(-1)
	if p, ok := ev.Int(event.DstPort); ok {
		port = int32(p)
	}
	k := j3Key{src, dst, port}
	if a := d.idx[k]; a != nil {
		a.AddEvidence(alert.EvidenceOf(ev))
		return
	}
	srcS, dstS, portS := src.String(), dst.String(), ev.Get(event.DstPort)
	a := d.g.Add(srcS+"|"+dstS+"|"+portS, srcS, ev, func(a *alert.Alert) {
		a.Severity = alert.Medium
		switch portS {
		case "25", "80", "443", "8080":
			a.Severity = alert.High
		}
		f := a.Fields
		f["src"] = srcS
		f["dst"] = dstS
		f["dst_ip"] = dstS // J11 annotates by this field
		if portS != "" {
			f["dst_port"] = portS
		}
		if z := ev.Get(event.DstZone); z != "" {
			f["zone"] = z
		}
		if z := ev.Get(event.SrcZone); z != "" {
			f["src_zone"] = z
		}
		f["action"] = ev.Get(event.Action)
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

func (d *j3) Flush(_ context.Context, emit func(*alert.Alert)) {
	d.g.Each(func(_ string, a *alert.Alert) {
		f := a.Fields
		s := f["src"] + " tried to reach " + f["dst"]
		if p := f["dst_port"]; p != "" {
			s += " port " + p
		}
		if z := f["zone"]; z != "" {
			s += " (zone " + z + ")"
		}
		s += " directly, bypassing the web proxy; the firewall denied it " + j16Times(a.Count, "time", "times")
		a.Summary = s
	})
	d.g.Emit(emit, nil)
}

func (d *j3) Notes() []detect.Note {
	var out []detect.Note
	if !d.m.HasEgressAllowed() {
		out = append(out, detect.Note{Rule: "J3", Level: detect.Degraded,
			Message: "networks.egress_allowed is not configured: the web proxy, mail relays and other hosts that legitimately talk out directly are not excluded and will appear as findings",
			Enable:  "networks.egress_allowed"})
	}
	if !d.m.InternalConfigured() {
		out = append(out, detect.Note{Rule: "J3", Level: detect.Degraded,
			Message: "networks.internal is not configured: the RFC 1918, RFC 6598 and IPv6 ULA ranges are assumed to be internal",
			Enable:  "networks.internal"})
	}
	return append(out, d.g.DroppedNote()...)
}
