package jpcert

import (
	"context"
	"strings"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// J12 — critical Active Directory event ids (JPCERT §4.3.2 (1), table 4-27,
// an excerpt of Microsoft's "Best Practices for Securing Active Directory").
// These ids mean Active Directory received a special operation request that
// normal authentication never produces; the document asks for a detailed
// investigation of every one. One finding per (computer, event id).

// j12Row is one line of table 4-27.
type j12Row struct {
	id       string
	en, ja   string
	attack   []string
	clearing bool // log clearing: also stage 7 (hiding the traces)
}

// j12Table returns table 4-27 plus event 104 (another event log, e.g.
// System, cleared), which the document's "イベントログ消去" also covers.
func j12Table() []j12Row {
	return []j12Row{
		{"4618", "A monitored security event pattern has occurred", "監視対象のセキュリティイベントパターン", []string{"T1078"}, false},
		{"4649", "A replay attack was detected", "リプレイ攻撃が検出されました。", []string{"T1558", "T1550.003"}, false},
		{"4719", "System audit policy was changed", "システム監査ポリシーが変更されました。", []string{"T1562.002"}, false},
		{"4765", "SID History was added to an account", "SID の履歴をアカウントに追加されました。", []string{"T1134.005"}, false},
		{"4766", "An attempt to add SID History to an account failed", "SID の履歴をアカウントに追加できませんでした。", []string{"T1134.005"}, false},
		{"4794", "An attempt was made to set the Directory Services Restore Mode administrator password", "ディレクトリ サービス復元モードを設定しようとしました。", []string{"T1098"}, false},
		{"4897", "Role separation enabled (Certificate Services)", "役割の分離が有効になっています。", []string{"T1649"}, false},
		{"4964", "Special groups have been assigned to a new logon", "特殊グループは、新しいログオンに割り当てられています。", []string{"T1078"}, false},
		{"5124", "A security setting was updated on the OCSP Responder Service", "OCSP レスポンダー サービスのセキュリティ設定が更新されました。", []string{"T1649"}, false},
		{"1102", "The audit (Security) log was cleared", "イベントログ消去（セキュリティ ログ）", []string{"T1070.001"}, true},
		{"104", "An event log (System or another channel) was cleared", "イベントログ消去（システム ログ等）", []string{"T1070.001"}, true},
	}
}

// j12Index maps an event id to its row without allocating.
func j12Index(id string) int {
	switch id {
	case "4618":
		return 0
	case "4649":
		return 1
	case "4719":
		return 2
	case "4765":
		return 3
	case "4766":
		return 4
	case "4794":
		return 5
	case "4897":
		return 6
	case "4964":
		return 7
	case "5124":
		return 8
	case "1102":
		return 9
	case "104":
		return 10
	}
	return -1
}

type j12Stat struct {
	row      int
	computer string
	accounts []string // distinct subject accounts, at most j12MaxAccounts
	more     int
	cleared  []string // logs named by 104 events
}

const j12MaxAccounts = 5

type j12 struct {
	info  *detect.Info
	table []j12Row
	g     *detect.Group
	stats map[string]*j12Stat
	seen  int64
}

// NewJ12 returns the critical Active Directory event analysis.
func NewJ12(m *org.Model) detect.Detector {
	in := j12Info()
	return &j12{info: in, table: j12Table(), g: detect.NewGroup(in), stats: map[string]*j12Stat{}}
}

func j12Info() *detect.Info {
	return &detect.Info{
		ID:           "J12",
		Title:        "Critical Active Directory event",
		TitleJA:      "認証サーバのログの分析（通常の認証要求では発生しないような認証イベントの調査）",
		Requirements: []string{"J12"},
		Section:      "4.3.2",
		Categories:   []string{detect.Auth},
		Stages:       []alert.Stage{alert.CommandAndControl, alert.ActionsOnObjectives},
		Techniques:   []string{"F"},
		Attack:       []string{"T1562.002", "T1134.005", "T1070.001", "T1558", "T1550.003", "T1098", "T1649", "T1078"},
		NextSteps: alert.Text{
			EN: []string{
				"If these events are present, the attack may have reached the C&C stage of the cyber kill chain, so a detailed investigation is needed; consulting a security vendor is recommended.",
				"Find who did it: the subject account and its logon session (4624 with the same SubjectLogonId on that computer) and the address it logged on from; check whether the change was planned (change records, the administrators' own account).",
				"Per event: 4719 — run auditpol /get /category:* and restore the audit policy; 4765/4766 — inspect the target account's sIDHistory attribute; 4794 — verify who reset the DSRM password; 4897/5124 — review the certificate authority and OCSP responder settings; 1102/104 — recover the lost period from forwarded or backed-up logs and look at what happened just before the clearing.",
			},
			JA: []string{
				"この調査の結果、これらのイベントがあれば、サイバーキルチェーンモデルの C&C の段階の可能性が懸念されるため、詳細な調査が必要と考えられる。セキュリティベンダーなどに相談することを推奨する。",
				"操作したアカウント（サブジェクト）とそのログオンセッション（同じコンピュータ上の同じ SubjectLogonId の 4624）、ログオン元アドレスを確認し、計画された変更（変更管理記録、管理者本人の操作）かどうかを確認する。",
				"イベント別: 4719 は auditpol /get /category:* で監査ポリシーを確認・復旧、4765/4766 は対象アカウントの sIDHistory 属性を確認、4794 は DSRM パスワードを設定した者を確認、4897/5124 は認証局・OCSP レスポンダーの設定を確認、1102/104 は転送・バックアップしたログで消去された期間と消去直前の操作を確認する。",
			},
		},
		Caveats: alert.Text{
			EN: []string{
				"The event ids of table 4-27 show that Active Directory received a special operation request different from normal authentication requests; legitimate administration (planned audit-policy changes, domain migrations using SID history, DSRM password maintenance, log clearing by an operator) produces them too.",
				"The authentication server records a huge volume of logs, so other findings should narrow the investigation; the audit policy (account logon: credential validation, Kerberos authentication service; logon/logoff: logon, other logon/logoff events, special logon) must be enabled for the events to exist.",
				"4618 appears only when an event pattern is configured for monitoring, and 4964 only when special groups are configured; 1102 is rated Medium to High in the table and reported high here because clearing hides traces.",
			},
			JA: []string{
				"表 4-27 に記載されたイベント ID は、通常の認証要求とは異なる特殊な操作要求などを Active Directory が受け取ったことを示している。計画された監査ポリシー変更、SID 履歴を使うドメイン移行、DSRM パスワードの保守、運用者によるログ消去などの正規の作業でも記録される。",
				"認証サーバのログには、膨大な量のログが記録されるため、他の方法で得た情報を用いて、調査対象を絞り込む必要がある。監査ポリシー（アカウントログオン: 資格認証の確認・Kerberos 認証サービス、ログオン／ログオフ: ログオン・その他ログオン／ログオフイベント・特殊なログオン）を有効にしておく必要がある。",
				"4618 は監視するイベントパターンを設定した場合、4964 は特殊グループを設定した場合にのみ記録される。1102 は表では Medium to High だが、痕跡を消す操作であるため high として報告する。",
			},
		},
	}
}

func (d *j12) Info() *detect.Info { return d.info }

// j12Account returns the subject account as DOMAIN\user when known; readers
// that keep only the rendered message (NXLog) have it as "Account Name:".
func j12Account(ev *event.Event) string {
	u := ev.Get(event.User)
	if u == "" {
		u = ev.Extra("SubjectUserName")
	}
	dom := ev.Extra("SubjectDomainName")
	if u == "" {
		msg := ev.Extra("Message")
		u = j12MessageField(msg, "Account Name:")
		if dom == "" {
			dom = j12MessageField(msg, "Domain Name:")
		}
	}
	if u == "" || u == "-" {
		return ""
	}
	if dom != "" && dom != "-" && strings.IndexByte(u, '\\') < 0 && strings.IndexByte(u, '@') < 0 {
		return dom + `\` + u
	}
	return u
}

// j12MessageField returns the value after label in a rendered event
// message ("\tAccount Name:\twardog\r\n").
func j12MessageField(msg, label string) string {
	i := strings.Index(msg, label)
	if i < 0 {
		return ""
	}
	v := msg[i+len(label):]
	if j := strings.IndexAny(v, "\r\n"); j >= 0 {
		v = v[:j]
	}
	return strings.TrimSpace(v)
}

// j12ClearedLog names the log an event 104 cleared: from the rendered
// message ("The System log file was cleared."), else the UserData Channel
// field when it is not merely the event's own channel.
func j12ClearedLog(ev *event.Event) string {
	msg := ev.Extra("Message")
	if strings.HasPrefix(msg, "The ") {
		if j := strings.Index(msg, " log file was cleared"); j > 4 {
			return msg[4:j]
		}
	}
	if c := ev.Extra("Channel"); c != "" && !strings.EqualFold(c, ev.Get(event.Channel)) {
		return c
	}
	if c := ev.Extra("Channel"); c != "" && !strings.EqualFold(c, "System") {
		return c
	}
	return ""
}

// j12LogCleared104 reports whether an event 104 is the Eventlog provider's
// "log file cleared". The provider decides when it is known; otherwise the
// System channel (where 104 is written) or the BackupPath field must be
// there. (The cleared log's name is a UserData field also called Channel, so
// a reader may report it as the channel.)
func j12LogCleared104(ev *event.Event) bool {
	for _, k := range [...]string{"Provider_Name", "Provider", "ProviderName", "SourceName"} {
		if p := ev.Extra(k); p != "" {
			return strings.Contains(strings.ToLower(p), "eventlog")
		}
	}
	return strings.EqualFold(ev.Get(event.Channel), "System") || ev.Extra("BackupPath") != ""
}

// Observe keeps the table's event ids.
func (d *j12) Observe(ev *event.Event) {
	i := j12Index(ev.Get(event.EventID))
	if i < 0 {
		return
	}
	ch := ev.Get(event.Channel)
	if i == 10 {
		if !j12LogCleared104(ev) {
			return
		}
	} else if ch != "" && !strings.EqualFold(ch, "Security") {
		return
	}
	d.seen++
	computer := ev.Host
	if computer == "" {
		computer = "(unknown computer)"
	}
	row := &d.table[i]
	key := computer + "\x00" + row.id
	d.g.Add(key, computer, ev, nil)
	st := d.stats[key]
	if st == nil {
		st = &j12Stat{row: i, computer: computer}
		d.stats[key] = st
	}
	if acct := j12Account(ev); acct != "" {
		known := false
		for _, a := range st.accounts {
			if strings.EqualFold(a, acct) {
				known = true
				break
			}
		}
		switch {
		case known:
		case len(st.accounts) < j12MaxAccounts:
			st.accounts = append(st.accounts, strings.Clone(acct))
		default:
			st.more++
		}
	}
	if i == 10 {
		if lg := j12ClearedLog(ev); lg != "" && len(st.cleared) < j12MaxAccounts {
			dup := false
			for _, c := range st.cleared {
				dup = dup || c == lg
			}
			if !dup {
				st.cleared = append(st.cleared, strings.Clone(lg))
			}
		}
	}
}

// Flush completes each finding's summary and fields.
func (d *j12) Flush(ctx context.Context, emit func(*alert.Alert)) {
	d.g.Each(func(key string, a *alert.Alert) {
		st := d.stats[key]
		row := &d.table[st.row]
		a.Severity = alert.High
		a.Attack = row.attack
		if row.clearing {
			a.Stages = []alert.Stage{alert.CommandAndControl, alert.ActionsOnObjectives}
		} else {
			a.Stages = []alert.Stage{alert.CommandAndControl}
		}
		a.Title = d.info.Title + ": " + row.id + " " + row.en
		s := st.computer + " logged event " + row.id + " (" + row.en + " / " + row.ja + ")"
		if a.Count > 1 {
			s += " " + j13Commas(a.Count) + " times"
		}
		if len(st.cleared) > 0 {
			s += "; cleared log: " + strings.Join(st.cleared, ", ")
			a.Fields["cleared_log"] = strings.Join(st.cleared, ",")
		}
		if len(st.accounts) > 0 {
			acc := strings.Join(st.accounts, ", ")
			if st.more > 0 {
				acc += " and " + j13Commas(int64(st.more)) + " more"
			}
			s += "; by " + acc
			a.Fields["subject_user"] = st.accounts[0]
			a.Fields["accounts"] = strings.Join(st.accounts, ",")
		}
		a.Summary = s
		a.Fields["computer"] = st.computer
		a.Fields["event_id"] = row.id
		a.Fields["event_summary"] = row.en
		a.Fields["event_summary_ja"] = row.ja
	})
	if ctx.Err() != nil {
		return
	}
	d.g.Emit(emit, nil)
}

// Notes reports capped grouping.
func (d *j12) Notes() []detect.Note { return d.g.DroppedNote() }
