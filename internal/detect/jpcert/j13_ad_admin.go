package jpcert

import (
	"context"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// J13 — admin-account anomalies (JPCERT §4.3.2 (2)). The document asks to
// extract, from the Active Directory log:
//
//	(a) admin-account authentication requests issued from an unexpected PC
//	    (IP address);
//	(b) privilege assignment (4672) requested by an unexpected account;
//	(c) a sudden change in the number of authentication requests from one PC;
//	(d) abnormally many authentication requests from one PC.
//
// (a) and (b) compare with the inventory of admin accounts the document
// asks for beforehand (accounts.admins); (c) and (d) are simple count
// statistics over the input: J13 learns nothing across runs yet.

const (
	j13MaxHosts      = 200_000 // source hosts counted
	j13MaxDays       = 400     // days counted per host
	j13MaxCache      = 100_000 // account names cached
	j13MinDays       = 3       // days of data a host needs for (c)
	j13MinHosts      = 3       // hosts needed for (d)
	j13MADFactor     = 10.0
	j13MaxPairs      = 200_000
	j13MaxEventKinds = 8
)

// j13Commas renders n with thousands separators ("4,812").
func j13Commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return sign + s
}

// j13Num renders a count-like float without needless decimals.
func j13Num(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return j13Commas(int64(f))
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}

// j13Admin is a cached account decision.
type j13Admin struct {
	key   string // normalized account name (lower case, no domain)
	admin bool
}

// j13Day counts one host's authentication requests of one local day.
type j13Day struct {
	day          int32
	count, fails int64
	// Evidence only once the day is large enough to matter: the request
	// that reached AuthMinCount and the latest one.
	evMin, evLast alert.Evidence
	lastT         int64
}

type j13Host struct {
	name          string
	days          []j13Day // sorted by day
	total, fails  int64
	evFirst       alert.Evidence
	evLast        alert.Evidence
	evFail        alert.Evidence // latest failure
	firstT, lastT int64
	failT         int64
	daysDropped   bool
}

// j13Pair keys (b) findings without building strings per event.
type j13Pair struct{ user, computer string }

// j13Kinds counts event ids of an (a) finding.
type j13Kinds struct {
	ids    []string
	counts []int64
	allow  string // the admin's allowed hosts, as configured
	acct   string
	src    string
	dcs    []string
}

type j13 struct {
	m    *org.Model
	info *detect.Info

	ga, gb *detect.Group
	kinds  map[string]*j13Kinds
	bKeys  map[j13Pair]string
	bInfo  map[string][]string // group key → account, computer, privileges

	cache        map[string]j13Admin
	hosts        map[string]*j13Host
	hostsDropped int64
	pairsDropped int64

	// Local-day cache: the UTC offset valid in [zStart, zEnd).
	zStart, zEnd int64
	zOff         int64

	minDay, maxDay int32
	authEvents     int64
	adminUnchecked int64 // admin 4776 with only a workstation name
	noSource       int64
}

// NewJ13 returns the admin-account anomaly analysis.
func NewJ13(m *org.Model) detect.Detector {
	in := j13Info()
	return &j13{
		m: m, info: in,
		ga: detect.NewGroup(in), gb: detect.NewGroup(in),
		kinds: map[string]*j13Kinds{}, bKeys: map[j13Pair]string{}, bInfo: map[string][]string{},
		cache: map[string]j13Admin{}, hosts: map[string]*j13Host{},
		minDay: math.MaxInt32, maxDay: math.MinInt32,
	}
}

func j13Info() *detect.Info {
	return &detect.Info{
		ID:           "J13",
		Title:        "Admin-account and authentication-count anomaly",
		TitleJA:      "認証サーバのログの分析（管理者アカウントに関連したイベントの調査）",
		Requirements: []string{"J13"},
		Section:      "4.3.2",
		Categories:   []string{detect.Auth},
		Stages:       []alert.Stage{alert.CommandAndControl},
		Techniques:   []string{"F"},
		Attack:       []string{"T1078.002", "T1021", "T1110", "T1558.003"},
		NextSteps: alert.Text{
			EN: []string{
				"If the event is not intended, the attack may have reached the C&C stage of the cyber kill chain, so a detailed investigation is needed; consulting a security vendor is recommended.",
				"Ask the account's owner whether they used it from that PC at that time; examine the source PC (who was logged on, new services or scheduled tasks, remote-access tools) and list every computer the account reached from there (4624/4769 by the same account).",
				"For an unexpected 4672 account, check its group memberships and recent changes to privileged groups (4728/4732/4756), and whether it is a service account missing from the inventory.",
				"For a burst of requests, look at the failure codes (4625/4771/4776 Status) and the target accounts: many accounts from one PC suggests password spraying, many service tickets (4769) suggests Kerberoasting.",
			},
			JA: []string{
				"この調査の結果、イベントが意図しないものであれば、サイバーキルチェーンモデルの C&C の段階の可能性が懸念されるため、詳細な調査が必要と考えられる。セキュリティベンダーなどに相談することを推奨する。",
				"アカウントの利用者に当該 PC・時刻での利用有無を確認し、認証元 PC（ログオン中の利用者、新しいサービスやタスク、リモート操作ツール）と、同じアカウントがそこからアクセスしたコンピュータ（同アカウントの 4624/4769）を調査する。",
				"想定外のアカウントに 4672 が記録された場合は、所属グループと特権グループの変更（4728/4732/4756）、棚卸し漏れのサービスアカウントでないかを確認する。",
				"認証要求が急増した場合は、失敗コード（4625/4771/4776 の Status）と対象アカウントを確認する。1 台から多数のアカウントならパスワードスプレー、多数のサービスチケット（4769）なら Kerberoasting を疑う。",
			},
		},
		Caveats: alert.Text{
			EN: []string{
				"Before analysing the authentication server's log, the domain admin accounts used in operation must be inventoried and how each is used must be known (accounts.admins with the hosts each may use).",
				"The authentication server records a huge volume of logs, so other findings should narrow the investigation; the audit policy (account logon: credential validation, Kerberos authentication service; logon/logoff: logon, other logon/logoff events, special logon) must be enabled.",
				"J13 learns nothing across runs yet: it uses the config's admins and simple per-host count statistics over the input. Servers (file, mail, Exchange, VPN concentrators, the domain controllers themselves) normally authenticate far more than PCs and show up in (d); NAT and terminal servers merge many users behind one address.",
				"NTLM validations (4776) name the workstation, not its address, so they cannot be checked against the admin's allowed addresses; logons without an address (local, service) are not checked.",
			},
			JA: []string{
				"認証サーバのログ分析に先立って、運用で利用するドメインの管理者アカウントの棚卸ができており、各アカウントの運用実態が把握・整理されていることが重要である（accounts.admins と各アカウントの利用端末）。",
				"認証サーバのログには、膨大な量のログが記録されるため、他の方法で得た情報を用いて、調査対象を絞り込む必要がある。監査ポリシー（アカウントログオン: 資格認証の確認・Kerberos 認証サービス、ログオン／ログオフ: ログオン・その他ログオン／ログオフイベント・特殊なログオン）を有効にしておく必要がある。",
				"J13 は実行をまたいだ学習をまだ行わない。設定の管理者アカウントと、入力内でのホスト別の単純な件数統計だけを用いる。ファイルサーバ、メールサーバ、VPN 装置、ドメインコントローラ自身などは PC より認証件数が多く (d) に現れやすい。NAT やターミナルサーバでは複数の利用者が 1 つのアドレスにまとまる。",
				"NTLM の資格情報の確認（4776）はアドレスでなくワークステーション名を記録するため、管理者の利用端末アドレスとは照合できない。アドレスのないログオン（ローカル、サービス）は照合しない。",
			},
		},
	}
}

func (d *j13) Info() *detect.Info { return d.info }

// j13Auth reports whether an event id is an authentication request counted
// for (c)/(d).
func j13Auth(id string) bool {
	switch id {
	case "4624", "4625", "4768", "4769", "4771", "4776", "4648":
		return true
	}
	return false
}

// j13AdminCheck reports whether an event id is checked for (a).
func j13AdminCheck(id string) bool {
	switch id {
	case "4624", "4625", "4768", "4769", "4776", "4648":
		return true
	}
	return false
}

func j13ZeroStatus(s string) bool {
	switch s {
	case "", "0", "0x0", "0X0", "0x00000000", "0x00", "-":
		return true
	}
	return false
}

// j13Failure reports whether an authentication request failed.
func j13Failure(id string, ev *event.Event) bool {
	switch id {
	case "4625", "4771":
		return true
	case "4776", "4768", "4769":
		st := ev.Extra("Status")
		if st == "" {
			st = ev.Get(event.Status)
		}
		return !j13ZeroStatus(st)
	}
	return false
}

func j13Loopback(s string) bool {
	return s == "::1" || strings.HasPrefix(s, "127.") || strings.HasPrefix(s, "::ffff:127.")
}

// j13Workstation returns the logged workstation name without the leading
// backslashes 4776 sometimes carries.
func j13Workstation(ev *event.Event) string {
	ws := ev.Extra("WorkstationName")
	if ws == "" {
		ws = ev.Extra("Workstation")
	}
	ws = strings.TrimLeft(ws, `\`)
	if ws == "-" {
		return ""
	}
	return ws
}

// j13Source returns the requesting host: the address, else the workstation.
func j13Source(ev *event.Event) string {
	if ip := ev.Get(event.SrcIP); ip != "" && ip != "-" && !j13Loopback(ip) {
		// Kerberos events log IPv4 clients as ::ffff:a.b.c.d; count them
		// with the same host's 4624/4776 requests.
		if len(ip) > 7 && strings.EqualFold(ip[:7], "::ffff:") && strings.IndexByte(ip[7:], '.') > 0 {
			return ip[7:]
		}
		return ip
	}
	return j13Workstation(ev)
}

// admin returns the cached decision for an account name.
func (d *j13) admin(name string) j13Admin {
	if a, ok := d.cache[name]; ok {
		return a
	}
	key := strings.ToLower(strings.TrimSpace(name))
	if i := strings.LastIndexByte(key, '\\'); i >= 0 {
		key = key[i+1:]
	}
	if i := strings.IndexByte(key, '@'); i >= 0 {
		key = key[:i]
	}
	a := j13Admin{key: strings.Clone(key), admin: d.m.IsAdmin(key)}
	if len(d.cache) < j13MaxCache {
		d.cache[strings.Clone(name)] = a
	}
	return a
}

// j13Builtin reports accounts that always receive special privileges.
func j13Builtin(user, sid string) bool {
	switch sid {
	case "S-1-5-18", "S-1-5-19", "S-1-5-20", "S-1-5-7":
		return true
	}
	if strings.HasPrefix(sid, "S-1-5-90-") || strings.HasPrefix(sid, "S-1-5-96-") {
		return true
	}
	if strings.HasSuffix(user, "$") {
		return true
	}
	for _, b := range [...]string{"SYSTEM", "LOCAL SERVICE", "NETWORK SERVICE", "ANONYMOUS LOGON", "LOCALSERVICE", "NETWORKSERVICE"} {
		if strings.EqualFold(user, b) {
			return true
		}
	}
	return len(user) > 4 && (strings.EqualFold(user[:4], "DWM-") || (len(user) > 5 && strings.EqualFold(user[:5], "UMFD-")))
}

// localDay returns the day number (days since 1970-01-01) of t in the
// organization's time zone, caching the zone offset.
func (d *j13) localDay(t time.Time) int32 {
	u := t.Unix()
	if u < d.zStart || u >= d.zEnd || (d.zStart == 0 && d.zEnd == 0) {
		lt := t.In(d.m.Location)
		_, off := lt.Zone()
		s, e := lt.ZoneBounds()
		d.zOff = int64(off)
		d.zStart, d.zEnd = math.MinInt64, math.MaxInt64
		if !s.IsZero() {
			d.zStart = s.Unix()
		}
		if !e.IsZero() {
			d.zEnd = e.Unix()
		}
	}
	return int32(j11FloorDiv(u+d.zOff, 86400))
}

func j13DayString(day int32) string {
	return time.Unix(int64(day)*86400, 0).UTC().Format("2006-01-02")
}

// Observe runs the four checks' per-event work.
func (d *j13) Observe(ev *event.Event) {
	id := ev.Get(event.EventID)
	if id == "4672" {
		d.observePrivileges(ev)
		return
	}
	if !j13Auth(id) {
		return
	}
	d.authEvents++
	if d.m.HasAdmins() && j13AdminCheck(id) {
		d.observeAdmin(id, ev)
	}
	d.count(id, ev)
}

// observeAdmin is check (a).
func (d *j13) observeAdmin(id string, ev *event.Event) {
	user := ev.Get(event.User)
	if user == "" {
		user = ev.Extra("TargetUserName")
	}
	if user == "" || user == "-" {
		return
	}
	ad := d.admin(user)
	if !ad.admin {
		return
	}
	src := ev.Addr(event.SrcIP)
	if !src.IsValid() {
		ws := j13Workstation(ev)
		if ws == "" {
			return
		}
		a, err := netip.ParseAddr(ws)
		if err != nil {
			if id == "4776" && len(d.m.AdminHosts(ad.key)) > 0 {
				d.adminUnchecked++
			}
			return
		}
		src = a.Unmap()
	}
	if src.IsLoopback() || src.IsUnspecified() {
		return
	}
	if d.m.AdminHostAllowed(ad.key, src) {
		return
	}
	srcS := src.String()
	key := ad.key + "\x00" + srcS
	acct := user
	a := d.ga.Add(key, srcS, ev, func(a *alert.Alert) {
		a.Severity = alert.High
	})
	if a == nil {
		return
	}
	k := d.kinds[key]
	if k == nil {
		var allow []string
		for _, p := range d.m.AdminHosts(ad.key) {
			allow = append(allow, j13Prefix(p))
		}
		k = &j13Kinds{allow: strings.Join(allow, ", "), acct: strings.Clone(acct), src: srcS}
		d.kinds[key] = k
	}
	found := false
	for i, x := range k.ids {
		if x == id {
			k.counts[i]++
			found = true
			break
		}
	}
	if !found && len(k.ids) < j13MaxEventKinds {
		k.ids = append(k.ids, strings.Clone(id))
		k.counts = append(k.counts, 1)
	}
	if dc := ev.Host; dc != "" && len(k.dcs) < 5 {
		dup := false
		for _, x := range k.dcs {
			dup = dup || x == dc
		}
		if !dup {
			k.dcs = append(k.dcs, strings.Clone(dc))
		}
	}
}

func j13Prefix(p netip.Prefix) string {
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String()
	}
	return p.String()
}

// observePrivileges is check (b): 4672 for an account not in the inventory.
func (d *j13) observePrivileges(ev *event.Event) {
	if !d.m.HasAdmins() {
		return
	}
	user := ev.Get(event.User)
	if user == "" {
		user = ev.Extra("SubjectUserName")
	}
	if user == "" || user == "-" || j13Builtin(user, ev.Extra("SubjectUserSid")) {
		return
	}
	if d.admin(user).admin {
		return
	}
	computer := ev.Host
	pk := j13Pair{user, computer}
	key, ok := d.bKeys[pk]
	if !ok {
		if len(d.bKeys) >= j13MaxPairs {
			d.pairsDropped++
			return
		}
		key = d.admin(user).key + "\x00" + strings.ToLower(computer)
		d.bKeys[j13Pair{strings.Clone(user), strings.Clone(computer)}] = key
	}
	a := d.gb.Add(key, user, ev, func(a *alert.Alert) { a.Severity = alert.High })
	if a == nil {
		return
	}
	if _, ok := d.bInfo[key]; !ok {
		acct := user
		if dom := ev.Extra("SubjectDomainName"); dom != "" && dom != "-" && strings.IndexByte(user, '\\') < 0 {
			acct = dom + `\` + user
		}
		privs := strings.Join(strings.Fields(ev.Extra("PrivilegeList")), " ")
		d.bInfo[key] = []string{strings.Clone(user), strings.Clone(acct), strings.Clone(computer), privs}
	}
}

// count is the per-event work of checks (c) and (d).
func (d *j13) count(id string, ev *event.Event) {
	src := j13Source(ev)
	if src == "" {
		d.noSource++
		return
	}
	h := d.hosts[src]
	if h == nil {
		if len(d.hosts) >= j13MaxHosts {
			d.hostsDropped++
			return
		}
		h = &j13Host{name: strings.Clone(src)}
		d.hosts[h.name] = h
	}
	fail := j13Failure(id, ev)
	t := j11Nanos(ev.Time)
	h.total++
	if fail {
		h.fails++
		if t >= h.failT {
			h.failT = t
			h.evFail = alert.EvidenceOf(ev)
		}
	}
	if h.total == 1 || t < h.firstT {
		h.firstT = t
		h.evFirst = alert.EvidenceOf(ev)
	}
	if h.total == 1 || t >= h.lastT {
		h.lastT = t
		h.evLast = alert.EvidenceOf(ev)
	}
	if t == 0 {
		return
	}
	day := d.localDay(ev.Time)
	if day < d.minDay {
		d.minDay = day
	}
	if day > d.maxDay {
		d.maxDay = day
	}
	dy := h.day(day)
	if dy == nil {
		return
	}
	dy.count++
	if fail {
		dy.fails++
	}
	min := int64(d.m.AuthMinCount)
	switch {
	case dy.count == min:
		dy.evMin = alert.EvidenceOf(ev)
		dy.evLast, dy.lastT = dy.evMin, t
	case dy.count > min && t >= dy.lastT:
		dy.evLast, dy.lastT = alert.EvidenceOf(ev), t
	}
}

// day returns the host's counter of a day, creating it in order.
func (h *j13Host) day(day int32) *j13Day {
	n := len(h.days)
	if n > 0 && h.days[n-1].day == day {
		return &h.days[n-1]
	}
	i := sort.Search(n, func(i int) bool { return h.days[i].day >= day })
	if i < n && h.days[i].day == day {
		return &h.days[i]
	}
	if n >= j13MaxDays {
		h.daysDropped = true
		return nil
	}
	h.days = append(h.days, j13Day{})
	copy(h.days[i+1:], h.days[i:])
	h.days[i] = j13Day{day: day}
	return &h.days[i]
}

// j13MedianExcluding returns the median of sorted s without its element k.
func j13MedianExcluding(s []int64, k int) float64 {
	l := len(s) - 1
	get := func(j int) int64 {
		if j < k {
			return s[j]
		}
		return s[j+1]
	}
	if l <= 0 {
		return 0
	}
	if l%2 == 1 {
		return float64(get(l / 2))
	}
	return float64(get(l/2-1)+get(l/2)) / 2
}

func j13Median(s []float64) float64 {
	if len(s) == 0 {
		return 0
	}
	c := append([]float64(nil), s...)
	sort.Float64s(c)
	n := len(c)
	if n%2 == 1 {
		return c[n/2]
	}
	return (c[n/2-1] + c[n/2]) / 2
}

// Flush builds the findings of the four checks.
func (d *j13) Flush(ctx context.Context, emit func(*alert.Alert)) {
	d.flushAdmin(emit)
	d.flushPrivileges(emit)
	if ctx.Err() != nil {
		return
	}
	names := detect.SortedKeys(d.hosts)
	d.flushBursts(ctx, names, emit)
	d.flushVolume(names, emit)
}

func (d *j13) flushAdmin(emit func(*alert.Alert)) {
	d.ga.Each(func(key string, a *alert.Alert) {
		k := d.kinds[key]
		a.Title = "Admin account authenticated from an unexpected host"
		a.Attack = []string{"T1078.002", "T1021"}
		var parts []string
		for i, id := range k.ids {
			parts = append(parts, id+"×"+j13Commas(k.counts[i]))
		}
		s := "admin account " + k.acct + " authenticated from " + k.src + ", which is not among its allowed hosts (" + k.allow + "): " +
			j11Plural(a.Count, "event", "events") + " (" + strings.Join(parts, ", ") + ")"
		if len(k.dcs) > 0 {
			s += " on " + strings.Join(k.dcs, ", ")
		}
		a.Summary = s
		a.Fields["check"] = "admin_host"
		a.Fields["account"] = k.acct
		a.Fields["src"] = k.src
		a.Fields["allowed_hosts"] = k.allow
		a.Fields["event_ids"] = strings.Join(k.ids, ",")
		if len(k.dcs) > 0 {
			a.Fields["computer"] = strings.Join(k.dcs, ",")
		}
	})
	d.ga.Emit(emit, nil)
}

func (d *j13) flushPrivileges(emit func(*alert.Alert)) {
	d.gb.Each(func(key string, a *alert.Alert) {
		inf := d.bInfo[key]
		a.Title = "Special privileges assigned to an account outside the admin inventory"
		a.Attack = []string{"T1078.002"}
		s := "special privileges (4672) were assigned to " + inf[1] + " on " + inf[2] + ", an account not in accounts.admins"
		if a.Count > 1 {
			s += " (" + j13Commas(a.Count) + " logons)"
		}
		if inf[3] != "" {
			s += ": " + inf[3]
			a.Fields["privileges"] = inf[3]
		}
		a.Summary = s
		a.Fields["check"] = "privileges"
		a.Fields["account"] = inf[1]
		a.Fields["computer"] = inf[2]
	})
	d.gb.Emit(emit, nil)
}

// flushBursts is check (c): a host-day far above the host's usual day.
func (d *j13) flushBursts(ctx context.Context, names []string, emit func(*alert.Alert)) {
	factor := d.m.AuthBurstFactor
	min := int64(d.m.AuthMinCount)
	for n, name := range names {
		if n%1024 == 0 && ctx.Err() != nil {
			return
		}
		h := d.hosts[name]
		if len(h.days) < j13MinDays {
			continue
		}
		sorted := make([]int64, len(h.days))
		for i, dy := range h.days {
			sorted[i] = dy.count
		}
		sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
		for i := range h.days {
			dy := &h.days[i]
			if dy.count < min {
				continue
			}
			k := sort.Search(len(sorted), func(j int) bool { return sorted[j] >= dy.count })
			med := j13MedianExcluding(sorted, k)
			if med < 1 {
				med = 1
			}
			if float64(dy.count) < factor*med {
				continue
			}
			sev := alert.Medium
			if dy.fails*2 > dy.count {
				sev = alert.High
			}
			day := j13DayString(dy.day)
			s := name + " made " + j13Commas(dy.count) + " authentication requests on " + day +
				" vs. a median of " + j13Num(med) + "/day on its other " + strconv.Itoa(len(h.days)-1) + " days"
			if dy.fails > 0 {
				s += " (" + j13Commas(dy.fails) + " failed)"
			}
			a := d.info.NewAlert(name, sev, s)
			a.Title = "Sudden change in a host's authentication requests"
			a.Attack = []string{"T1110", "T1558.003"}
			a.Fields["check"] = "auth_burst"
			a.Fields["src"] = name
			a.Fields["day"] = day
			a.Fields["count"] = strconv.FormatInt(dy.count, 10)
			a.Fields["failures"] = strconv.FormatInt(dy.fails, 10)
			a.Fields["baseline_median"] = j13Num(med)
			a.Fields["baseline_days"] = strconv.Itoa(len(h.days) - 1)
			a.AddEvidence(dy.evMin)
			if dy.evLast.Origin != dy.evMin.Origin {
				a.AddEvidence(dy.evLast)
			}
			a.Count, a.EvidenceTotal = dy.count, dy.count
			a.FinalizeID("burst\x00" + day)
			emit(a)
		}
	}
}

// flushVolume is check (d): a host far above all hosts' totals.
func (d *j13) flushVolume(names []string, emit func(*alert.Alert)) {
	if len(names) < j13MinHosts {
		return
	}
	totals := make([]float64, len(names))
	for i, name := range names {
		totals[i] = float64(d.hosts[name].total)
	}
	med := j13Median(totals)
	dev := make([]float64, len(totals))
	for i, x := range totals {
		dev[i] = math.Abs(x - med)
	}
	mad := j13Median(dev)
	if mad < 1 {
		mad = 1
	}
	threshold := med + j13MADFactor*mad
	min := float64(d.m.AuthMinCount)
	for _, name := range names {
		h := d.hosts[name]
		x := float64(h.total)
		if x <= threshold || x < min {
			continue
		}
		sev := alert.Medium
		brute := h.fails*2 > h.total
		if brute {
			sev = alert.High
		}
		s := name + " made " + j13Commas(h.total) + " authentication requests"
		if h.fails > 0 {
			s += " (" + j13Commas(h.fails) + " failed)"
		}
		s += " vs. a median of " + j13Num(med) + " per host across " + j13Commas(int64(len(names))) +
			" hosts (threshold " + j13Num(math.Ceil(threshold)) + ")"
		if brute {
			s += "; failures dominate: brute force or password spraying"
		}
		a := d.info.NewAlert(name, sev, s)
		a.Title = "Abnormally many authentication requests from one host"
		a.Attack = []string{"T1110"}
		if !brute {
			a.Attack = []string{"T1110", "T1558.003"}
		}
		a.Fields["check"] = "auth_volume"
		a.Fields["src"] = name
		a.Fields["count"] = strconv.FormatInt(h.total, 10)
		a.Fields["failures"] = strconv.FormatInt(h.fails, 10)
		a.Fields["hosts"] = strconv.Itoa(len(names))
		a.Fields["median"] = j13Num(med)
		a.Fields["mad"] = j13Num(mad)
		a.Fields["threshold"] = j13Num(math.Ceil(threshold))
		a.AddEvidence(h.evFirst)
		// The busiest day's sample, then the latest failure and request.
		var busiest *j13Day
		for i := range h.days {
			if busiest == nil || h.days[i].count > busiest.count {
				busiest = &h.days[i]
			}
		}
		if busiest != nil && busiest.evMin.Raw != "" {
			a.AddEvidence(busiest.evMin)
		}
		if h.fails > 0 && h.evFail.Origin != h.evFirst.Origin {
			a.AddEvidence(h.evFail)
		}
		if h.evLast.Origin != h.evFirst.Origin && h.evLast.Origin != h.evFail.Origin {
			a.AddEvidence(h.evLast)
		}
		a.Count, a.EvidenceTotal = h.total, h.total
		a.FinalizeID("volume")
		emit(a)
	}
}

// Notes reports missing configuration and input.
func (d *j13) Notes() []detect.Note {
	var out []detect.Note
	add := func(level detect.NoteLevel, msg, enable string) {
		out = append(out, detect.Note{Rule: "J13", Level: level, Message: msg, Enable: enable})
	}
	if !d.m.HasAdmins() {
		add(detect.Skipped, "checks (a) admin account from an unexpected host and (b) special privileges (4672) for an account outside the inventory need the list of admin accounts",
			"accounts.admins")
	} else if !d.adminHostsConfigured() {
		add(detect.Degraded, "check (a) admin account from an unexpected host needs the hosts each admin account may use; no admin lists any",
			"accounts.admins[].hosts")
	}
	if d.adminUnchecked > 0 {
		add(detect.Degraded, j13Commas(d.adminUnchecked)+" NTLM validations (4776) of admin accounts name only the workstation, not its address, and were not checked against the allowed hosts", "")
	}
	if d.authEvents > 0 && d.maxDay >= d.minDay {
		if span := int64(d.maxDay) - int64(d.minDay) + 1; span < j13MinDays {
			add(detect.Degraded, "check (c) sudden change in a host's authentication requests needs at least 3 days of logs; the input covers "+
				j11Plural(span, "day", "days"), "input: at least 3 days of Active Directory security logs")
		}
	}
	if d.hostsDropped > 0 {
		add(detect.Degraded, j13Commas(d.hostsDropped)+" authentication requests from hosts beyond the first "+j13Commas(j13MaxHosts)+" were not counted", "")
	}
	if d.pairsDropped > 0 {
		add(detect.Degraded, j13Commas(d.pairsDropped)+" 4672 events beyond "+j13Commas(j13MaxPairs)+" account/computer pairs were not checked", "")
	}
	out = append(out, d.ga.DroppedNote()...)
	out = append(out, d.gb.DroppedNote()...)
	return out
}

func (d *j13) adminHostsConfigured() bool {
	cfg := d.m.Config()
	if cfg == nil {
		return true
	}
	for _, a := range cfg.Accounts.Admins {
		if len(a.Hosts) > 0 {
			return true
		}
	}
	return false
}
