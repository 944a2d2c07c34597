package ioc

import (
	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/event"
)

// Rule is the rule id of indicator alerts.
const Rule = "IOC"

// placement is where a hit sits on the kill chain and in the JPCERT
// technique table, by direction and source; it follows J5 (§4.2.3.1 (c)):
// an outbound connection to or lookup of a known-bad destination is stages
// 3–7, a known-bad sender or inbound address is delivery (stage 3).
type placement struct {
	stages     []alert.Stage
	techniques []string
	attack     []string
}

func placementOf(h Hit) placement {
	switch h.Direction {
	case Outbound:
		p := placement{stages: []alert.Stage{alert.Delivery, alert.Installation, alert.CommandAndControl, alert.ActionsOnObjectives}}
		switch h.Via {
		case ViaProxy:
			p.techniques, p.attack = []string{"B", "D", "H"}, []string{"T1071.001", "T1189", "T1105"}
		case ViaDNS:
			p.techniques, p.attack = []string{"C", "D"}, []string{"T1071.004", "T1071.001"}
		case ViaFirewall:
			p.techniques, p.attack = []string{"C", "G"}, []string{"T1071", "T1041"}
		default:
			p.techniques, p.attack = []string{"C", "D"}, []string{"T1071"}
		}
		return p
	case Inbound:
		return placement{stages: []alert.Stage{alert.Delivery}, techniques: []string{}, attack: []string{"T1190", "T1133"}}
	case Mail:
		return placement{stages: []alert.Stage{alert.Delivery}, techniques: []string{"A", "B"}, attack: []string{"T1566.001", "T1566.002"}}
	}
	return placement{stages: []alert.Stage{alert.Installation}, techniques: []string{"A"}, attack: []string{"T1204.002", "T1105"}}
}

// severityOf mirrors J5: an allowed connection to a known-bad destination or
// a known-bad file is critical; a refused one, a lookup, a mail or an
// inbound connection is high (a refused inbound one medium).
func severityOf(h Hit) alert.Severity {
	switch h.Direction {
	case Outbound:
		if h.Denied || h.Via == ViaDNS {
			return alert.High
		}
		return alert.Critical
	case Inbound:
		if h.Denied {
			return alert.Medium
		}
		return alert.High
	case Mail:
		return alert.High
	}
	return alert.Critical
}

// Alert turns a hit on ev into a finding carrying the indicator, its lists,
// where it was seen, the kill-chain placement and the guidance. Retro marks
// a hit of a retro-hunt over stored history.
func (h Hit) Alert(ev *event.Event, retro bool) *alert.Alert {
	in := &h.Entry.Indicator
	p := placementOf(h)
	a := &alert.Alert{
		Rule:         Rule,
		Requirements: []string{"R2", "J5"},
		Title:        "Known-bad " + in.Kind.String() + " from an indicator list",
		Severity:     severityOf(h),
		Stages:       p.stages,
		Techniques:   p.techniques,
		Attack:       p.attack,
		Host:         h.Host,
		Summary:      summaryOf(h, retro),
		NextSteps:    nextSteps(h),
		Caveats:      caveats(),
		Fields: map[string]string{
			"indicator": in.Value,
			"kind":      in.Kind.String(),
			"list":      h.Entry.List(),
			"matched":   h.Matched,
			"field":     h.Field,
			"via":       h.Via,
			"direction": h.Direction.String(),
		},
	}
	set := func(k, v string) {
		if v != "" {
			a.Fields[k] = v
		}
	}
	set("algo", in.Algo)
	set("description", in.Description)
	set("source", in.Source)
	set("ref", in.Ref)
	if h.Denied {
		a.Fields["action"] = ev.Get(event.Action)
	}
	if retro {
		a.Fields["retro"] = "true"
	}
	a.AddEvidence(alert.EvidenceOf(ev))
	a.FinalizeID(DedupKey(h, retro))
	return a
}

// DedupKey identifies the finding a hit belongs to: the same indicator seen
// again for the same host the same way is the same finding. Retro-hunt
// hits are findings of their own, so that a live hit does not hide that
// the host met the indicator long before.
func DedupKey(h Hit, retro bool) string {
	r := "live"
	if retro {
		r = "retro"
	}
	return Rule + "\x00" + r + "\x00" + h.Entry.Indicator.Key() + "\x00" + h.Host + "\x00" + h.Via + "\x00" + h.Direction.String()
}

func summaryOf(h Hit, retro bool) string {
	in := &h.Entry.Indicator
	what := "known-bad " + in.Kind.String() + " " + h.Matched
	if h.Matched != in.Value {
		what += " (indicator " + in.Value + ")"
	}
	what += " from list " + h.Entry.List()
	var s string
	switch h.Direction {
	case Outbound:
		verb := " contacted "
		if h.Via == ViaDNS {
			verb = " looked up "
		} else if h.Denied {
			verb = " tried to contact (refused) "
		}
		s = h.Host + verb + what + " in the " + h.Via + " logs"
	case Inbound:
		s = h.Host + " was contacted from " + what + " in the " + h.Via + " logs"
	case Mail:
		s = "Mail to " + h.Host + " came from " + what
	default:
		s = h.Host + " holds the " + what + " (field " + h.Field + ")"
	}
	if retro {
		s += " — found by a retro-hunt over stored logs"
	}
	return s
}

// nextSteps is the guidance of JPCERT §4.2.3.1 (c) and §4.1.2 for the way
// the indicator was met.
func nextSteps(h Hit) alert.Text {
	common := alert.Text{
		EN: []string{
			"Search all logs for other internal hosts that contacted the same indicator, and for what this host did before and after (JPCERT §4.1.2).",
			"Check the indicator's date and context in its list before concluding: addresses of shared hosting and CDNs are reused.",
		},
		JA: []string{
			"同じ指標と通信した他の組織内ホストがないか、当該ホストの前後の動きを全ログで調べる（4.1.2）。",
			"判断の前に、リストにある指標の日付と文脈を確認する。共用ホスティングや CDN のアドレスは再利用される。",
		},
	}
	var t alert.Text
	switch h.Direction {
	case Outbound:
		t = alert.Text{
			EN: []string{
				"The attack is suspected to be at the Delivery, Installation, C&C or Actions-on-objectives stage: investigate whether the host is infected with malware and whether it regularly communicates with other destinations (JPCERT §4.2.3.1 (c)).",
				"Look for suspicious access from this host to the outside or to unauthorised internal segments, User-Agents not used in the organization or CONNECT to unusual ports, and authentication failures or unusual accounts (J3, J4, J6, J7, J13).",
			},
			JA: []string{
				"高度サイバー攻撃の「デリバリ」、「インストール」、「C&C」、または「目的の実行」の段階にあることが疑われる。当該ホストがマルウェアに感染していないか、定常的に通信している他の送信先がないかを調査する（4.2.3.1 (c)）。",
				"当該ホストから組織外や許可されていないセグメントへの不審なアクセス、組織内で利用しない UserAgent や通常と異なるポートへの CONNECT、認証の失敗や普段と異なるアカウントの利用がないかを調べる（J3、J4、J6、J7、J13）。",
			},
		}
		if h.Via == ViaDNS {
			t.EN = append(t.EN, "A DNS query log records the lookup, not a connection: confirm in the proxy and firewall logs whether the host then connected.")
			t.JA = append(t.JA, "DNS のクエリログは名前解決を記録するだけで、通信の成立は示さない。プロキシと Firewall のログで実際に通信したかを確認する。")
		}
	case Inbound:
		t = alert.Text{
			EN: []string{"A known-bad address reached this host: check what it was allowed to do (logons, services answered) and whether the host then connected out."},
			JA: []string{"既知の不審なアドレスが当該ホストに接続した。何が許可されたか（ログオン、応答したサービス）と、その後当該ホストから外部へ通信していないかを確認する。"},
		}
	case Mail:
		t = alert.Text{
			EN: []string{"Find the recipients and delivery times in the mail log and ask whether the attachment was opened or the link clicked; then search the proxy and DNS logs for the recipients' hosts (JPCERT §4.2.1)."},
			JA: []string{"メールサーバのログで配送先と配送時間を特定し、添付ファイルを開いたりリンクをクリックしたりしていないかを受信者に確認する。その後、受信者の PC についてプロキシと DNS のログを調べる（4.2.1）。"},
		}
	default:
		t = alert.Text{
			EN: []string{"A known-bad file is on this host: find the process that wrote or ran it and its network connections; do not delete the file, keep it for analysis."},
			JA: []string{"既知の不審なファイルが当該ホストにある。書き込んだプロセス・実行したプロセスと、その通信を調べる。ファイルは削除せず、解析のために保全する。"},
		}
	}
	t.EN = append(t.EN, common.EN...)
	t.JA = append(t.JA, common.JA...)
	return t
}

// caveats are the same for every indicator alert (a fresh copy each, so
// that no two alerts share slices).
func caveats() alert.Text {
	return alert.Text{
		EN: []string{
			"Indicators age: shared hosting, CDN and sinkholed addresses cause false positives.",
			"If hosts reach the Internet without the web proxy, proxy logs alone miss traffic: feed the firewall and DNS logs as well.",
		},
		JA: []string{
			"指標は古くなる。共用ホスティング、CDN、シンクホールのアドレスは誤検知の原因となる。",
			"Web プロキシを経由せずにインターネットへ通信できる場合、プロキシのログだけでは検知漏れが生ずる。Firewall と DNS のログも併せて分析する。",
		},
	}
}
