package jpcert

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// J7 bounds and parameters.
const (
	// j7MaxUAs caps the distinct User-Agents tracked; later new ones are
	// counted and reported in a note.
	j7MaxUAs = 50_000
	// j7BaselineShare and j7BaselineMin define the learned baseline: a
	// User-Agent used by at least max(j7BaselineMin, 20% of all clients)
	// distinct clients is treated as the organization's standard.
	j7BaselineShare = 0.20
	j7BaselineMin   = 3
	// j7KeepFirst evidence records are kept per (client, User-Agent), plus
	// the latest one.
	j7KeepFirst = 4
	// j7Domains distinct destinations are named per finding.
	j7Domains = 3
)

func j7Info() *detect.Info {
	return &detect.Info{
		ID:           "J7",
		Title:        "Non-standard User-Agent",
		TitleJA:      "標準利用以外の User Agent によるアクセスを抽出するログ分析",
		Requirements: []string{"J7"},
		Section:      "4.2.3.3",
		Categories:   []string{detect.Proxy},
		Stages:       []alert.Stage{alert.Installation, alert.CommandAndControl, alert.ActionsOnObjectives},
		Techniques:   []string{"B", "D", "H"},
		Attack:       []string{"T1071.001", "T1105"},
		NextSteps: alert.Text{
			EN: []string{
				"The attack may have reached the Installation, Command & Control or Actions-on-objectives stage: check whether this PC keeps communicating with the same destination, and whether other PCs communicate with it (JPCERT §4.2.3.3 (c)).",
				"Investigate the destination itself, e.g. its WHOIS registration, to learn what kind of site it is.",
				"On the client, find the program that sends this User-Agent at the logged times (EDR, Sysmon event 3, proxy authentication user); a command-line tool (wget, curl, PowerShell, certutil, BITS) run by nobody on the help desk is a strong lead.",
				"Before acting on the PC, do not delete suspicious files, change settings at random or install new security tools: it destroys evidence (JPCERT column \"Do Not\").",
			},
			JA: []string{
				"高度サイバー攻撃の「インストール」、「C&C」、または「目的の実行」の段階にあることが疑われる。当該 PC から問題の送信先に継続して通信していないか、他の PC から問題の送信先に通信していないかなどを確認する必要がある。",
				"送信先についても、WHOIS の登録情報などにより、どのような素性のサイトかを調査しておくのがよい。",
				"当該 PC 上で、記録された時刻にこの User Agent で通信したプログラムを特定する（EDR、Sysmon イベント 3、プロキシ認証のユーザ名など）。業務で使わないコマンドラインツール（wget、curl、PowerShell、certutil、BITS）であれば有力な手掛かりとなる。",
				"不審なファイルを我流で削除する、設定を手当たり次第に変更する、新たなセキュリティ対策製品をインストールするといった行為は、専門家による調査を困難にするため避ける（コラム「Do Not」）。",
			},
		},
		Caveats: alert.Text{
			EN: []string{
				"If PCs can reach the Internet without going through the web proxy, such communication is missed.",
				"You need to know the User-Agents of the applications and tools used in the organization besides browsers, e.g. Java fetching updates; list them in allowlists.user_agents.",
				"Squid's default (native) access.log has no User-Agent: configure logformat combined (JPCERT table 4-19).",
				"Malware that copies the User-Agent of the organization's browser is not found by this analysis; a User-Agent used by at least 20% of the clients is learned as standard, so malware on many PCs can hide in the learned baseline.",
			},
			JA: []string{
				"インターネットへの通信が、Web プロキシサーバを経由せずとも可能な場合には、検知漏れが生ずる可能性がある。",
				"組織内で利用されているブラウザ以外のアプリケーション・プログラムやツールについての UserAgent も把握しておく必要がある。例えば、アップデート情報を取得する Java 等がこれに含まれる。",
				"squid の標準設定では、UserAgent の項目は出力されない。logformat combined の設定が必要である（表 4-19）。",
				"組織内のブラウザと同じ UserAgent を偽装するマルウェアは検知できない。また、クライアントの 20% 以上が使う UserAgent は標準として学習されるため、多数の PC に感染したマルウェアは見逃すおそれがある。",
			},
		},
	}
}

// NewJ7 returns the non-standard User-Agent analysis (JPCERT §4.2.3.3).
//
// A User-Agent is standard when it matches allowlists.user_agents (glob) or
// the learned baseline: it was used towards external destinations by at
// least max(3, 20% of all clients seen with a User-Agent) distinct clients.
// Every other User-Agent yields one finding per (client, User-Agent); the
// baseline is known only at the end, so per-pair counters and capped
// evidence are kept until Flush.
func NewJ7(m *org.Model) detect.Detector {
	return &j7{m: m, info: j7Info(), uas: map[string]*j7UA{}, clients: map[string]struct{}{}}
}

type j7 struct {
	m    *org.Model
	info *detect.Info

	uas     map[string]*j7UA    // User-Agent → its clients
	clients map[string]struct{} // every client seen with a User-Agent
	pairs   int
	src     wpSrcs

	withUA, noUA, internal   int64
	droppedUAs, droppedPairs int64
	learned                  int // User-Agents found standard by the baseline
	threshold                int
}

type j7UA struct {
	allowed bool   // matches allowlists.user_agents
	tool    string // known tool / suspicious family, "" otherwise
	clients map[string]*j7Pair
}

type j7Pair struct {
	first, last time.Time
	domains     [j7Domains]string
	nd          int
	moreDomains bool
	keep        wpKeep
}

func (d *j7) Info() *detect.Info { return d.info }

func (d *j7) Observe(ev *event.Event) {
	ua := ev.Get(event.UserAgent)
	if ua == "" {
		// The combined parser drops a "-" User-Agent. When the line had
		// the columns after it (%Ss:%Sh → extra "hierarchy"), the request
		// carried no User-Agent at all, itself a tool-like trait; a line
		// without them may be Squid's "common" format, which has none.
		if ev.Source != "squid-combined" || ev.Extra("hierarchy") == "" {
			d.noUA++
			return
		}
		ua = "-"
	}
	d.withUA++
	host, ext := wpDest(d.m, ev)
	if !ext {
		d.internal++
		return
	}
	client := ev.Get(event.SrcIP)
	if client == "" {
		return
	}
	if _, ok := d.clients[client]; !ok {
		d.clients[strings.Clone(client)] = struct{}{}
	}
	u := d.uas[ua]
	if u == nil {
		if len(d.uas) >= j7MaxUAs {
			d.droppedUAs++
			return
		}
		u = &j7UA{tool: j7Tool(ua)}
		_, u.allowed = d.m.UserAgents.Match(ua)
		if !u.allowed {
			u.clients = map[string]*j7Pair{}
		}
		d.uas[strings.Clone(ua)] = u
	}
	if u.allowed {
		return
	}
	p := u.clients[client]
	if p == nil {
		if d.pairs >= detect.MaxGroups {
			d.droppedPairs++
			return
		}
		p = &j7Pair{first: ev.Time, last: ev.Time}
		u.clients[strings.Clone(client)] = p
		d.pairs++
	}
	if ev.Time.Before(p.first) {
		p.first = ev.Time
	}
	if ev.Time.After(p.last) {
		p.last = ev.Time
	}
	p.addDomain(host)
	p.keep.add(d.src.rec(ev), j7KeepFirst)
}

func (p *j7Pair) addDomain(host string) {
	for i := 0; i < p.nd; i++ {
		if p.domains[i] == host {
			return
		}
	}
	if p.nd < j7Domains {
		p.domains[p.nd] = strings.Clone(host)
		p.nd++
		return
	}
	p.moreDomains = true
}

// j7Threshold is the learned-baseline bar for n clients.
func j7Threshold(n int) int {
	t := int(float64(n)*j7BaselineShare + 0.999999)
	if t < j7BaselineMin {
		t = j7BaselineMin
	}
	return t
}

func (d *j7) Flush(ctx context.Context, emit func(*alert.Alert)) {
	n := len(d.clients)
	d.threshold = j7Threshold(n)
	for _, ua := range detect.SortedKeys(d.uas) {
		if ctx.Err() != nil {
			return
		}
		u := d.uas[ua]
		if u.allowed {
			continue
		}
		if len(u.clients) >= d.threshold {
			d.learned++
			continue
		}
		for _, client := range detect.SortedKeys(u.clients) {
			emit(d.alert(ua, u, client, u.clients[client], n))
		}
	}
}

func (d *j7) alert(ua string, u *j7UA, client string, p *j7Pair, nClients int) *alert.Alert {
	sev := alert.Medium
	if u.tool != "" {
		sev = alert.High
	}
	shown := ua
	if len(shown) > 200 {
		shown = shown[:200] + "…"
	}
	doms := wpList(p.domains[:p.nd], 0)
	if p.moreDomains {
		doms += " and others"
	}
	var b strings.Builder
	b.WriteString(client)
	b.WriteString(" sent ")
	b.WriteString(wpItoa(p.keep.n))
	if p.keep.n == 1 {
		b.WriteString(" request")
	} else {
		b.WriteString(" requests")
	}
	b.WriteString(" with non-standard User-Agent \"")
	b.WriteString(shown)
	b.WriteString("\"")
	if u.tool != "" {
		b.WriteString(" (")
		b.WriteString(u.tool)
		b.WriteString(")")
	}
	b.WriteString(" to ")
	b.WriteString(doms)
	b.WriteString("; used by ")
	b.WriteString(strconv.Itoa(len(u.clients)))
	b.WriteString(" of ")
	b.WriteString(strconv.Itoa(nClients))
	b.WriteString(" clients")
	a := d.info.NewAlert(client, sev, b.String())
	p.keep.addTo(a)
	a.Count, a.EvidenceTotal = p.keep.n, p.keep.n
	a.Time, a.LastTime = p.first, p.last
	a.Fields["user_agent"] = ua
	a.Fields["domain"] = p.domains[0]
	a.Fields["domains"] = doms
	a.Fields["requests"] = wpItoa(p.keep.n)
	a.Fields["ua_clients"] = strconv.Itoa(len(u.clients))
	a.Fields["clients_total"] = strconv.Itoa(nClients)
	a.Fields["baseline_clients"] = strconv.Itoa(d.threshold)
	if u.tool != "" {
		a.Fields["tool"] = u.tool
	}
	a.FinalizeID(client + "\x00" + ua)
	return a
}

func (d *j7) Notes() []detect.Note {
	const combined = "Squid: logformat combined (JPCERT table 4-19)"
	if d.withUA == 0 {
		if d.noUA == 0 {
			return nil // no proxy events: the engine says so
		}
		return []detect.Note{{Rule: "J7", Level: detect.Skipped,
			Message: "no proxy record carried a User-Agent: Squid native access.log has no User-Agent; configure logformat combined (JPCERT table 4-19)",
			Enable:  combined}}
	}
	var out []detect.Note
	if d.noUA > 0 {
		out = append(out, detect.Note{Rule: "J7", Level: detect.Degraded,
			Message: wpItoa(d.noUA) + " proxy records had no User-Agent (Squid native access.log) and were not analysed; configure logformat combined (JPCERT table 4-19)",
			Enable:  combined})
	}
	if d.m.UserAgents.Len() == 0 {
		out = append(out, detect.Note{Rule: "J7", Level: detect.Degraded,
			Message: "allowlists.user_agents is empty: learned baseline only (" + strconv.Itoa(d.learned) +
				" User-Agents used by at least " + strconv.Itoa(d.threshold) + " of " + strconv.Itoa(len(d.clients)) +
				" clients were treated as standard); list your browsers and tools in allowlists.user_agents",
			Enable: "allowlists.user_agents"})
	}
	if d.droppedUAs > 0 {
		out = append(out, detect.Note{Rule: "J7", Level: detect.Degraded,
			Message: wpItoa(d.droppedUAs) + " records with User-Agents beyond the first " + strconv.Itoa(j7MaxUAs) + " distinct ones were not analysed"})
	}
	if d.droppedPairs > 0 {
		out = append(out, detect.Note{Rule: "J7", Level: detect.Degraded,
			Message: wpItoa(d.droppedPairs) + " records beyond the first " + strconv.Itoa(detect.MaxGroups) + " (client, User-Agent) pairs were not analysed"})
	}
	return out
}

// j7ToolPrefixes are User-Agents of command-line tools, scripting
// libraries and Windows components that malware and attackers use to fetch
// payloads or talk to C&C (JPCERT's example is Wget). Matched
// case-insensitively at the start of the User-Agent.
var j7ToolPrefixes = [...]struct{ prefix, label string }{
	{"wget", "known tool: Wget"},
	{"curl", "known tool: curl"},
	{"python-requests", "known tool: python-requests"},
	{"python-urllib", "known tool: Python-urllib"},
	{"python-httpx", "known tool: python-httpx"},
	{"python/", "known tool: Python"},
	{"aiohttp", "known tool: aiohttp"},
	{"go-http-client", "known tool: Go-http-client"},
	{"libwww-perl", "known tool: libwww-perl"},
	{"lwp::simple", "known tool: libwww-perl"},
	{"java/", "known tool: Java (also used by legitimate Java updaters)"},
	{"powershell", "known tool: PowerShell"},
	{"microsoft-cryptoapi", "known tool: Microsoft-CryptoAPI (certutil downloads)"},
	{"certutil", "known tool: certutil"},
	{"microsoft bits", "known tool: BITS"},
	{"winhttp", "known tool: WinHTTP"},
	{"mozilla/4.0 (compatible; msie 6.", "ancient browser string (MSIE 6)"},
	{"mozilla/4.0 (compatible; msie 5.", "ancient browser string (MSIE 5)"},
	{"mozilla/4.0 (compatible; msie 4.", "ancient browser string (MSIE 4)"},
	{"mozilla/4.0 (compatible; msie 3.", "ancient browser string (MSIE 3)"},
}

// j7ToolContains are matched anywhere in the User-Agent, case-insensitively.
var j7ToolContains = [...]struct{ sub, label string }{
	{"windowspowershell", "known tool: PowerShell"},
	{"winhttp.winhttprequest", "known tool: WinHttpRequest (script downloader)"},
}

// j7Tool classifies a User-Agent; "" means an ordinary (unknown) one.
// Called once per distinct User-Agent.
func j7Tool(ua string) string {
	t := strings.TrimSpace(ua)
	switch t {
	case "", "-", `""`:
		return "empty User-Agent"
	case "Mozilla/4.0", "Mozilla/5.0", "Mozilla":
		return "bare Mozilla token"
	}
	for _, p := range j7ToolPrefixes {
		if len(t) >= len(p.prefix) && strings.EqualFold(t[:len(p.prefix)], p.prefix) {
			return p.label
		}
	}
	low := strings.ToLower(t)
	for _, c := range j7ToolContains {
		if strings.Contains(low, c.sub) {
			return c.label
		}
	}
	return ""
}

// learnedUAs returns the User-Agents found standard by the learned
// baseline (valid after Flush; used by tests).
func (d *j7) learnedUAs() []string {
	var out []string
	for ua, u := range d.uas {
		if !u.allowed && len(u.clients) >= d.threshold {
			out = append(out, ua)
		}
	}
	sort.Strings(out)
	return out
}
