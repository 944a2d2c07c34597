package jpcert

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// J9 parameters.
const (
	// j9HighCount off-hours accesses to one destination on at least
	// j9HighDays distinct local dates make a finding high: repeated contact
	// while nobody should be working, as malware retrying its C&C does.
	j9HighCount = 10
	j9HighDays  = 2
	// j9MaxDays distinct dates are remembered per pair.
	j9MaxDays   = 32
	j9MaxDomain = 1_000_000
	// j9Keep evidence records are kept per pair, plus the latest one.
	j9Keep = 4
)

func j9Info() *detect.Info {
	return &detect.Info{
		ID:           "J9",
		Title:        "Off-hours communication",
		TitleJA:      "業務時間外に発生する HTTP 通信を抽出するログ分析",
		Requirements: []string{"J9"},
		Section:      "4.2.3.5",
		Categories:   []string{detect.Proxy},
		// §(c) names Delivery, Installation, C&C and Actions on objectives;
		// the proxy traces B, D, H sit at stages 3, 4, 6, 7 of table 2-2
		// (Installation has no logged technique), as in J6.
		Stages:     []alert.Stage{alert.Delivery, alert.Installation, alert.CommandAndControl, alert.ActionsOnObjectives}, // §4.2.3.5 (c)
		Techniques: []string{"B", "D", "H"},
		Attack:     []string{"T1071.001", "T1029"},
		NextSteps: alert.Text{
			EN: []string{
				"The attack may have progressed to the Delivery, Installation, Command & Control or Actions-on-objectives stage: check whether this PC keeps communicating with the destination and whether other PCs communicate with it (JPCERT §4.2.3.5 (c)).",
				"Investigate the destination, e.g. its WHOIS registration, to learn what kind of site it is; a destination that cannot be explained is a trace of an attack (step ③).",
				"Before concluding, rule out the user: ask the PC's user (or check the badge/VPN/logon records) whether someone was working at the logged times.",
				"Consider deliberately creating periods in which employees must not operate their PCs (e.g. a maintenance window) and reviewing the accesses that occur in them.",
			},
			JA: []string{
				"高度サイバー攻撃が「デリバリ」、「インストール」、「C&C」または「目的の実行」の段階まで進んでいることが疑われる。当該 PC から問題の送信先アドレスに継続して通信していないか、他の PC から問題の送信先へ通信をしていないかなどを確認する必要がある。",
				"送信先についても、WHOIS の登録情報などにより、どのような素性のサイトかを調査しておくのがよい。通信先 URL として説明のつかないものがあった場合には攻撃の痕跡と判定する（手順③）。",
				"マルウェアでなく利用者による通信の可能性を排除するため、攻撃の痕跡と断定する前に、ユーザへのヒアリング等の調査が必要である。",
				"メンテナンスなどの名目で従業員に PC 操作をさせない時間帯を意図的に作り出し、その時間帯に発生したアクセスを抽出して調査するアプローチも考えられる。",
			},
		},
		Caveats: alert.Text{
			EN: []string{
				"If PCs can reach the Internet without going through the web proxy, such communication is missed.",
				"To rule out communication by the user rather than malware, interview the user before concluding that the traffic is a trace of an attack.",
				"Some malware reads the PC's time zone and talks to its C&C server only in the daytime to avoid this detection.",
				"Sites used for system maintenance (e.g. Windows Update) must be listed in allowlists.maintenance_domains; without business_hours the default Mon–Fri 08:00–19:00 applies.",
			},
			JA: []string{
				"インターネットへの通信が、Web プロキシサーバを経由せずとも可能な場合には、検知漏れが生ずる可能性がある。",
				"マルウェアでなく利用者による通信の可能性を排除するため、抽出された通信を攻撃の痕跡と断定する前に、ユーザへのヒアリング等の調査が必要である。",
				"検知されることを避けるため、PC のタイムゾーンを取得して、C&C サーバとの通信を昼間時間帯にだけ行うマルウェアが存在する。",
				"システムメンテナンス等で利用されているサイト（例えば、Windows アップデート等）は allowlists.maintenance_domains で除外する。business_hours が未設定の場合は月〜金 08:00–19:00 とみなす。",
			},
		},
	}
}

// NewJ9 returns the off-hours communication analysis (JPCERT §4.2.3.5).
//
// Proxy records to external destinations at times m.OffHours reports
// (non-working days, holidays, outside start–end in the organization's time
// zone) are grouped per (client, destination host), excluding
// allowlists.maintenance_domains (step ②). allowlists.domains is NOT
// excluded: the document excludes maintenance sites only.
func NewJ9(m *org.Model) detect.Detector {
	return &j9{m: m, info: j9Info(), doms: map[string]*j9Dom{}}
}

type j9 struct {
	m    *org.Model
	info *detect.Info
	hc   wpHoursCache
	dc   wpDayCache
	src  wpSrcs

	doms  map[string]*j9Dom
	pairs int

	offHours, maintSkipped, droppedDomains, droppedPairs int64
}

type j9Dom struct {
	maint   bool
	clients map[string]*j9Pair
}

// j9Pair is one (client, domain) with off-hours traffic: compact counters
// and capped evidence; the alert is built at Flush.
type j9Pair struct {
	holiday     int64
	first, last time.Time
	days        []int32 // distinct local dates, at most j9MaxDays
	more        bool
	keep        wpKeep
}

func (d *j9) Info() *detect.Info { return d.info }

func (d *j9) Observe(ev *event.Event) {
	off, holiday := d.hc.lookup(d.m, ev.Time)
	if !off {
		return
	}
	host, ext := wpDest(d.m, ev)
	if !ext {
		return
	}
	client := ev.Get(event.SrcIP)
	if client == "" {
		return
	}
	d.offHours++
	dm := d.doms[host]
	if dm == nil {
		if len(d.doms) >= j9MaxDomain {
			d.droppedDomains++
			return
		}
		_, maint := d.m.MaintenanceDomains.Match(host)
		dm = &j9Dom{maint: maint}
		if !maint {
			dm.clients = map[string]*j9Pair{}
		}
		d.doms[strings.Clone(host)] = dm
	}
	if dm.maint {
		d.maintSkipped++
		return
	}
	p := dm.clients[client]
	if p == nil {
		if d.pairs >= detect.MaxGroups {
			d.droppedPairs++
			return
		}
		p = &j9Pair{first: ev.Time, last: ev.Time}
		dm.clients[strings.Clone(client)] = p
		d.pairs++
	}
	if ev.Time.Before(p.first) {
		p.first = ev.Time
	}
	if ev.Time.After(p.last) {
		p.last = ev.Time
	}
	if holiday {
		p.holiday++
	}
	p.keep.add(d.src.rec(ev), j9Keep)
	p.addDay(d.dc.of(ev.Time, d.m.Location))
}

func (p *j9Pair) addDay(day int32) {
	for i := len(p.days) - 1; i >= 0; i-- {
		if p.days[i] == day {
			return
		}
	}
	if len(p.days) >= j9MaxDays {
		p.more = true
		return
	}
	p.days = append(p.days, day)
}

func (d *j9) Flush(ctx context.Context, emit func(*alert.Alert)) {
	for _, host := range detect.SortedKeys(d.doms) {
		if ctx.Err() != nil {
			return
		}
		dm := d.doms[host]
		for _, client := range detect.SortedKeys(dm.clients) {
			emit(d.alert(client, host, dm.clients[client]))
		}
	}
}

func (d *j9) alert(client, host string, p *j9Pair) *alert.Alert {
	loc := d.m.Location
	n := p.keep.n
	days := strconv.Itoa(len(p.days))
	if p.more {
		days += "+"
	}
	sev := alert.Medium
	if n >= j9HighCount && len(p.days) >= j9HighDays {
		sev = alert.High
	}
	var b strings.Builder
	b.WriteString(client)
	b.WriteString(" accessed ")
	b.WriteString(host)
	b.WriteString(" ")
	b.WriteString(wpItoa(n))
	if n == 1 {
		b.WriteString(" time outside business hours on ")
	} else {
		b.WriteString(" times outside business hours on ")
	}
	b.WriteString(days)
	if len(p.days) == 1 && !p.more {
		b.WriteString(" day (")
	} else {
		b.WriteString(" days (")
	}
	b.WriteString(wpLocalTime(p.first, loc))
	if !p.last.Equal(p.first) {
		b.WriteString(" – ")
		b.WriteString(wpLocalTime(p.last, loc))
	}
	b.WriteString(")")
	if p.holiday > 0 {
		b.WriteString(", ")
		b.WriteString(wpItoa(p.holiday))
		b.WriteString(" on holidays")
	}
	a := d.info.NewAlert(client, sev, b.String())
	p.keep.addTo(a)
	a.Count, a.EvidenceTotal = n, n
	a.Time, a.LastTime = p.first, p.last
	a.Fields["domain"] = host
	a.Fields["requests"] = wpItoa(n)
	a.Fields["days"] = days
	a.Fields["holiday_requests"] = wpItoa(p.holiday)
	a.Fields["first_local"] = wpLocalTime(p.first, loc)
	a.Fields["last_local"] = wpLocalTime(p.last, loc)
	a.FinalizeID(client + "\x00" + host)
	return a
}

func (d *j9) Notes() []detect.Note {
	var out []detect.Note
	if !d.m.HasBusinessHours() {
		out = append(out, detect.Note{Rule: "J9", Level: detect.Degraded,
			Message: "business_hours is not configured: default Mon–Fri 08:00–19:00 used, with no holidays; configure business_hours (days, start, end, holidays)",
			Enable:  "business_hours"})
	}
	if cfg := d.m.Config(); cfg == nil || cfg.Timezone == "" {
		out = append(out, detect.Note{Rule: "J9", Level: detect.Degraded,
			Message: "timezone is not configured: business hours were evaluated in this machine's time zone (" + d.m.Location.String() + ")",
			Enable:  "timezone"})
	}
	if d.m.MaintenanceDomains.Len() == 0 {
		out = append(out, detect.Note{Rule: "J9", Level: detect.Degraded,
			Message: "allowlists.maintenance_domains is empty: off-hours accesses to system maintenance sites (e.g. *.windowsupdate.com; JPCERT step ②) are reported too",
			Enable:  "allowlists.maintenance_domains"})
	}
	if d.droppedDomains > 0 {
		out = append(out, detect.Note{Rule: "J9", Level: detect.Degraded,
			Message: wpItoa(d.droppedDomains) + " off-hours records to domains beyond the first " + strconv.Itoa(j9MaxDomain) + " were not analysed"})
	}
	if d.droppedPairs > 0 {
		out = append(out, detect.Note{Rule: "J9", Level: detect.Degraded,
			Message: wpItoa(d.droppedPairs) + " off-hours records beyond the first " + strconv.Itoa(detect.MaxGroups) + " (client, domain) pairs were not analysed"})
	}
	return out
}
