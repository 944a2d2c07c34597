package jpcert

import (
	"context"
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

// J11 — DNS correlation (JPCERT §4.3.1, figure 4-11).
//
// The DNS server's query log alone is too large to search; the document
// narrows it with the firewall: a PC that talked to 23.23.x.x directly is
// looked up in the DNS log to find the host name it resolved just before.
// Input files are not read in time order (the DNS log may come after the
// firewall log), so J11 records both sides during Observe and correlates at
// Flush:
//
//   - per internal DNS client, a bounded history of the names it queried
//     (first and latest query per name, the last j11MaxNames distinct names
//     by time), plus "pins": queries that fell near a direct flow already
//     seen, kept even when the history rolls over;
//   - exact IP→name mappings from DNS events that carry answers (extra
//     "answers") and from proxy events that carry both Domain and DstIP;
//   - direct flows from internal clients to external addresses, aggregated
//     per (client, destination IP, destination port).
//
// At Flush each flow is named (exact mapping, else the client's queries in
// [flow − DNSWindow, flow + 3 min]) and reported; Annotate adds the same
// lookup's result to J3/J5/J6 findings.

const (
	j11Skew          = 3 * time.Minute // DNS clock ahead of the firewall's (figure 4-11: 2 minutes)
	j11MaxNames      = 256             // distinct names kept per client
	j11MaxEntries    = 1 << 18         // names kept over all clients
	j11MaxClients    = 1 << 18         // distinct clients tracked
	j11MaxPins       = 256             // pinned queries per client
	j11MaxPinsTotal  = 1 << 17         // pinned queries over all clients
	j11MaxBuckets    = 1 << 15         // time buckets near flows, per client
	j11MaxIPs        = 1 << 18         // exact IP→name mappings
	j11MaxFlows      = 200_000         // direct flows tracked
	j11MaxCands      = 3               // candidate names reported
	j11BulkPerClient = 50              // named flows of one client before they are summarized
	j11NoBucket      = int64(-1 << 63)
)

// Action bits of a flow.
const (
	j11Allow uint8 = 1 << iota
	j11Close
	j11Deny
	j11Reject
	j11Drop
	j11Other
)

// j11Rec is one DNS query (or mapping record) kept as evidence.
type j11Rec struct {
	t  int64 // unix nanoseconds
	ev alert.Evidence
}

type j11Entry struct {
	name        string
	first, last j11Rec
}

type j11Pin struct {
	name string
	rec  j11Rec
}

type j11Client struct {
	index   map[string]int32 // name → ents index
	ents    []j11Entry
	horizon int64 // newest query time dropped from the history (0 = none)
	pins    []j11Pin
	buckets map[int64]struct{} // time buckets near this client's direct flows
}

type j11IPNames struct {
	n     int
	names [3]string
	recs  [3]j11Rec
	via   [3]string // "DNS answer" or "proxy log"
}

// j11PeerIP is one memoized proxy DstIP.
type j11PeerIP struct {
	s   string     // as logged (cloned); "" = empty slot
	ip  netip.Addr // parsed, unmapped
	ext bool       // valid and not internal: worth mapping
	e   *j11IPNames
}

type j11FlowKey struct {
	src, dst netip.Addr
	port     uint16
}

type j11Flow struct {
	key             j11FlowKey
	first, last     int64 // earliest connection start, latest record (unix ns; 0 = unknown)
	count           int64
	actions         uint8
	evFirst, evLast alert.Evidence
	regStart        int64 // last registered time bucket of a start / end
	regEnd          int64
}

type j11 struct {
	m      *org.Model
	info   *detect.Info
	window int64 // DNSWindow in ns
	skew   int64
	bucket int64 // pin bucket size in ns

	clients map[netip.Addr]*j11Client
	ips     map[netip.Addr]*j11IPNames
	flows   map[j11FlowKey]*j11Flow

	entries, pinsTotal int64

	// The last few proxy DstIP strings (Squid's peer: a handful of values),
	// so that observeProxy parses and classifies each only once.
	px     [4]j11PeerIP
	pxNext int

	dnsEvents, answerEvents, fwEvents, proxyMaps int64
	clientsDropped, entriesDropped, pinsDropped  int64
	ipsDropped, flowsDropped                     int64
	truncatedFlows                               int64
}

// NewJ11 returns the DNS correlation analysis.
func NewJ11(m *org.Model) detect.Detector {
	w := m.DNSWindow
	if w <= 0 {
		w = org.DefaultDNSWindow
	}
	bs := (w + j11Skew) / 16
	if bs < time.Minute {
		bs = time.Minute
	}
	return &j11{
		m: m, info: j11Info(),
		window: int64(w), skew: int64(j11Skew), bucket: int64(bs),
		clients: map[netip.Addr]*j11Client{},
		ips:     map[netip.Addr]*j11IPNames{},
		flows:   map[j11FlowKey]*j11Flow{},
	}
}

func j11Info() *detect.Info {
	return &detect.Info{
		ID:           "J11",
		Title:        "Direct connection named by the DNS query log",
		TitleJA:      "DNS サーバのログの分析",
		Requirements: []string{"J11"},
		Section:      "4.3.1",
		Categories:   []string{detect.DNS, detect.Firewall, detect.Proxy},
		Stages:       []alert.Stage{alert.Exploitation, alert.CommandAndControl, alert.ActionsOnObjectives},
		Techniques:   []string{"C", "D", "G", "H"},
		Attack:       []string{"T1071", "T1571", "T1048"},
		NextSteps: alert.Text{
			EN: []string{
				"The document narrows the huge DNS query log with the firewall analysis: a PC found talking to 23.23.x.x is looked up in the DNS log to find the host name it tried to reach (figure 4-11). Use the name this finding gives as the lead.",
				"Check the name and the address against indicator lists and reputation services; search the proxy and DNS logs for other clients that queried the same name (infection spreading) and for periodic queries (J8).",
				"For a working direct channel (allowed, non-web port) ask why the firewall allows it, block it if it is not needed, and examine the PC (processes with connections to the address, autoruns).",
				"Before concluding it is an attack, ask the PC's user about the destination and time recorded in the log.",
			},
			JA: []string{
				"Firewall のログの分析により、192.168.100.xxx の PC から 23.23.xxx.xxx への通信が見つかり、DNS サーバのログの分析により、当該 PC がアクセスしようとした Web サイトのホスト名を割り出すことができた（図 4-11）。本検知のホスト名を手掛かりに調査範囲を絞り込む。",
				"ホスト名と IP アドレスを既知の攻撃インフラ情報（IOC）やレピュテーションと照合し、同じホスト名を問い合わせた他の PC や、定期的な問い合わせ（J8）がないかをプロキシ・DNS のログで確認する。",
				"許可された Web 以外のポートへの直接通信であれば、Firewall で許可されている理由を確認し、不要なら遮断したうえで、当該 PC（当該アドレスに通信しているプロセス、自動起動設定）を調査する。",
				"攻撃の痕跡と断定する前に、該当 PC のユーザに、ログに記録された送信先、送信時間をもとにヒアリング等を行う。",
			},
		},
		Caveats: alert.Text{
			EN: []string{
				"The DNS server's log records a huge number of queries from healthy PCs too, so traces are hard to find in it alone; the analysis is practical only once other logs (proxy, firewall) narrow the scope.",
				"Query logging must be enabled on the DNS server (JPCERT table 4-26, bind9 logging channel with category queries).",
				"BIND query logs carry no answers: unless an exact mapping is known (DNS answers, proxy log with the server address), the name is a temporal match — the name the client queried closest before the connection — and may be wrong when the client resolved several names at that time; the candidates are listed.",
				"Clocks of the firewall and the DNS server may differ; queries up to 3 minutes after the connection are accepted. Client-side DNS caching, hard-coded IP addresses in malware, and resolvers that forward for other resolvers leave no usable query.",
			},
			JA: []string{
				"DNS サーバのログには、正常な PC からのホスト名の解決を行ったクエリも含まれるなど膨大な量が記録されるので、その中から痕跡を見つけ出すのは困難である。Web プロキシサーバや Firewall など他のログの分析結果から、調査範囲を絞り込むことができれば、DNS サーバのログの分析が可能になる。",
				"DNS サーバのクエリのログを採取するためには、DNS サーバでクエリをログに出力する設定を有効にする必要がある（表 4-26）。",
				"bind のクエリログには応答（IP アドレス）が記録されないため、応答やプロキシのログから IP アドレスとの対応が分からない場合は、接続直前に問い合わせた名前を時刻で対応付けた推定であり、同時刻に複数の名前を解決していれば誤る可能性がある（候補を併記する）。",
				"Firewall と DNS サーバの時刻のずれを考慮し、接続の 3 分後までの問い合わせも対象とする。PC 側の DNS キャッシュ、IP アドレスを直接指定するマルウェア、フォワーダ経由の問い合わせでは対応するクエリが見つからない。",
			},
		},
	}
}

func (d *j11) Info() *detect.Info { return d.info }

// j11Nanos converts t to unix nanoseconds, 0 for the zero time.
func j11Nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func j11FloorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Observe routes by source category.
func (d *j11) Observe(ev *event.Event) {
	switch detect.Category(ev.Source) {
	case detect.Firewall:
		d.observeFlow(ev)
	case detect.DNS:
		d.observeDNS(ev)
	case detect.Proxy:
		d.observeProxy(ev)
	}
}

// j11NameOK reports whether a queried name can stand for an external
// destination: a dotted name, not a reverse lookup.
func j11NameOK(name string) bool {
	if len(name) < 3 || strings.IndexByte(name, '.') < 0 {
		return false
	}
	return !strings.HasSuffix(name, ".arpa")
}

// j11QTypeOK keeps address queries (and unknown types).
func j11QTypeOK(qt string) bool {
	switch qt {
	case "", "A", "AAAA", "ANY", "a", "aaaa", "any":
		return true
	}
	return false
}

func j11NormName(name string) string {
	name = strings.TrimSuffix(name, ".")
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(name)
		}
	}
	return name
}

func (d *j11) observeDNS(ev *event.Event) {
	d.dnsEvents++
	name := ev.Get(event.Query)
	if name == "" {
		name = ev.Get(event.Domain)
	}
	if name == "" || j11ActionBit(ev.Get(event.Action))&(j11Deny|j11Reject|j11Drop) != 0 {
		return
	}
	name = j11NormName(name)
	if !j11NameOK(name) {
		return
	}
	t := j11Nanos(ev.Time)
	if ans := ev.Extra("answers"); ans != "" {
		d.answerEvents++
		for ans != "" {
			var one string
			if i := strings.IndexByte(ans, ','); i >= 0 {
				one, ans = ans[:i], ans[i+1:]
			} else {
				one, ans = ans, ""
			}
			one = strings.TrimSpace(one)
			if a, err := netip.ParseAddr(one); err == nil {
				a = a.Unmap()
				if !d.m.IsInternal(a) {
					d.mapName(a, name, t, ev, "DNS answer")
				}
			}
		}
	}
	if t == 0 || !j11QTypeOK(ev.Get(event.QType)) {
		return
	}
	src := ev.Addr(event.SrcIP)
	if !src.IsValid() || !d.m.IsInternal(src) {
		return
	}
	c := d.client(src)
	if c == nil {
		return
	}
	d.remember(c, name, t, ev)
	if len(c.buckets) > 0 {
		if _, near := c.buckets[j11FloorDiv(t, d.bucket)]; near {
			d.pin(c, name, t, ev)
		}
	}
}

func (d *j11) client(a netip.Addr) *j11Client {
	c := d.clients[a]
	if c == nil {
		if len(d.clients) >= j11MaxClients {
			d.clientsDropped++
			return nil
		}
		c = &j11Client{index: map[string]int32{}}
		d.clients[a] = c
	}
	return c
}

// remember records a query in the client's history: first and latest query
// per name; when the history is full the name whose latest query is oldest
// makes room.
func (d *j11) remember(c *j11Client, name string, t int64, ev *event.Event) {
	if i, ok := c.index[name]; ok {
		e := &c.ents[i]
		if t < e.first.t {
			e.first = j11Rec{t, alert.EvidenceOf(ev)}
		}
		if t > e.last.t {
			e.last = j11Rec{t, alert.EvidenceOf(ev)}
		}
		return
	}
	rec := j11Rec{t, alert.EvidenceOf(ev)}
	if len(c.ents) < j11MaxNames && d.entries < j11MaxEntries {
		key := strings.Clone(name)
		c.index[key] = int32(len(c.ents))
		c.ents = append(c.ents, j11Entry{name: key, first: rec, last: rec})
		d.entries++
		return
	}
	if len(c.ents) == 0 {
		d.entriesDropped++
		return
	}
	oldest := 0
	for i := 1; i < len(c.ents); i++ {
		if c.ents[i].last.t < c.ents[oldest].last.t {
			oldest = i
		}
	}
	if t <= c.ents[oldest].last.t {
		// Older than everything kept: the history has moved past it.
		if t > c.horizon {
			c.horizon = t
		}
		return
	}
	if lt := c.ents[oldest].last.t; lt > c.horizon {
		c.horizon = lt
	}
	delete(c.index, c.ents[oldest].name)
	key := strings.Clone(name)
	c.index[key] = int32(oldest)
	c.ents[oldest] = j11Entry{name: key, first: rec, last: rec}
}

// pin keeps a query that fell near a direct flow, regardless of the
// history's eviction.
func (d *j11) pin(c *j11Client, name string, t int64, ev *event.Event) {
	for i := range c.pins {
		p := &c.pins[i]
		if p.name == name && j11FloorDiv(p.rec.t, d.bucket) == j11FloorDiv(t, d.bucket) {
			return // one pin per name and bucket is enough
		}
	}
	if len(c.pins) >= j11MaxPins || d.pinsTotal >= j11MaxPinsTotal {
		d.pinsDropped++
		return
	}
	name = d.sharedName(c, name)
	c.pins = append(c.pins, j11Pin{name: name, rec: j11Rec{t, alert.EvidenceOf(ev)}})
	d.pinsTotal++
}

// sharedName returns the history's copy of name when there is one, else a
// clone, so kept names never pin the parser's buffers.
func (d *j11) sharedName(c *j11Client, name string) string {
	if i, ok := c.index[name]; ok {
		return c.ents[i].name
	}
	return strings.Clone(name)
}

func (d *j11) mapName(ip netip.Addr, name string, t int64, ev *event.Event, via string) {
	if e := d.ipNames(ip); e != nil {
		e.add(name, t, ev, via)
	}
}

// ipNames returns the mapping entry of ip, creating it; nil when the table
// is full.
func (d *j11) ipNames(ip netip.Addr) *j11IPNames {
	e := d.ips[ip]
	if e == nil {
		if len(d.ips) >= j11MaxIPs {
			d.ipsDropped++
			return nil
		}
		e = &j11IPNames{}
		d.ips[ip] = e
	}
	return e
}

// add records that the address maps to name at t; the oldest of the three
// names kept makes room.
func (e *j11IPNames) add(name string, t int64, ev *event.Event, via string) {
	for i := 0; i < e.n; i++ {
		if e.names[i] == name {
			if t > e.recs[i].t {
				e.recs[i] = j11Rec{t, alert.EvidenceOf(ev)}
				e.via[i] = via
			}
			return
		}
	}
	i := e.n
	if e.n < len(e.names) {
		e.n++
	} else {
		i = 0
		for j := 1; j < e.n; j++ {
			if e.recs[j].t < e.recs[i].t {
				i = j
			}
		}
		if t <= e.recs[i].t {
			return
		}
	}
	e.names[i] = strings.Clone(name)
	e.recs[i] = j11Rec{t, alert.EvidenceOf(ev)}
	e.via[i] = via
}

// peer returns the memoized classification of a proxy DstIP string.
func (d *j11) peer(s string) *j11PeerIP {
	for i := range d.px {
		if d.px[i].s == s {
			return &d.px[i]
		}
	}
	p := &d.px[d.pxNext]
	d.pxNext = (d.pxNext + 1) % len(d.px)
	*p = j11PeerIP{s: strings.Clone(s)}
	if a, err := netip.ParseAddr(s); err == nil {
		p.ip = a.Unmap()
		p.ext = !d.m.IsInternal(p.ip)
	}
	return p
}

func (d *j11) observeProxy(ev *event.Event) {
	dom := ev.Get(event.Domain)
	ipS := ev.Get(event.DstIP)
	if dom == "" || ipS == "" {
		return
	}
	px := d.peer(ipS)
	if !px.ext {
		return
	}
	dom = j11NormName(dom)
	if !j11NameOK(dom) {
		return
	}
	if c := dom[len(dom)-1]; (c >= '0' && c <= '9') || strings.IndexByte(dom, ':') >= 0 {
		if _, err := netip.ParseAddr(dom); err == nil {
			return // CONNECT to an address: no name to learn
		}
	}
	d.proxyMaps++
	if px.e == nil {
		if px.e = d.ipNames(px.ip); px.e == nil {
			return
		}
	}
	px.e.add(dom, j11Nanos(ev.Time), ev, "proxy log")
}

func j11ActionBit(a string) uint8 {
	switch a {
	case "allow":
		return j11Allow
	case "close":
		return j11Close
	case "deny":
		return j11Deny
	case "reject":
		return j11Reject
	case "drop":
		return j11Drop
	}
	return j11Other
}

func (d *j11) observeFlow(ev *event.Event) {
	d.fwEvents++
	src := ev.Addr(event.SrcIP)
	if !src.IsValid() || !d.m.IsInternal(src) {
		return
	}
	dst := ev.Addr(event.DstIP)
	if !dst.IsValid() || d.m.IsInternal(dst) || !dst.IsGlobalUnicast() || dst.IsPrivate() {
		return
	}
	if d.m.EgressAllowed(src) {
		return
	}
	port, _ := ev.Int(event.DstPort)
	if port < 0 || port > 65535 {
		port = 0
	}
	key := j11FlowKey{src: src, dst: dst, port: uint16(port)}
	f := d.flows[key]
	if f == nil {
		if len(d.flows) >= j11MaxFlows {
			d.flowsDropped++
			return
		}
		f = &j11Flow{key: key, regStart: j11NoBucket, regEnd: j11NoBucket}
		d.flows[key] = f
	}
	t := j11Nanos(ev.Time)
	start := t
	if ms, ok := ev.Int(event.Duration); ok && ms > 0 && t != 0 {
		start = t - ms*int64(time.Millisecond)
	}
	f.count++
	f.actions |= j11ActionBit(ev.Get(event.Action))
	if f.count == 1 || (start != 0 && (f.first == 0 || start < f.first)) {
		f.first = start
		f.evFirst = alert.EvidenceOf(ev)
	}
	if f.count == 1 || t > f.last {
		f.last = t
		f.evLast = alert.EvidenceOf(ev)
	}
	if t == 0 {
		return
	}
	if b := j11FloorDiv(start, d.bucket); b != f.regStart {
		f.regStart = b
		d.register(src, start)
	}
	if b := j11FloorDiv(t, d.bucket); b != f.regEnd && b != f.regStart {
		f.regEnd = b
		d.register(src, t)
	}
}

// register marks the time buckets in which a DNS query of src would explain
// a connection at p, so such queries are pinned when they arrive later.
func (d *j11) register(src netip.Addr, p int64) {
	c := d.client(src)
	if c == nil {
		return
	}
	if c.buckets == nil {
		c.buckets = map[int64]struct{}{}
	}
	lo := j11FloorDiv(p-d.window, d.bucket)
	hi := j11FloorDiv(p+d.skew, d.bucket)
	for b := lo; b <= hi; b++ {
		if len(c.buckets) >= j11MaxBuckets {
			return
		}
		c.buckets[b] = struct{}{}
	}
}

// j11Cand is one candidate name for an address.
type j11Cand struct {
	name   string
	query  *j11Rec // the client's DNS query, nil when only a mapping is known
	mapRec *j11Rec // the exact mapping record (DNS answer / proxy log)
	via    string
	off    int64 // query time − connection time
	after  bool
}

// j11Found is one named direct flow and its finding.
type j11Found struct {
	f  *j11Flow
	mt j11Match
	a  *alert.Alert
}

type j11Match struct {
	how   string // "exact" or "temporal"
	point int64  // connection time the match refers to
	cands []j11Cand
}

func j11Abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// forEachRec calls fn for every query record the client kept.
func (c *j11Client) forEachRec(fn func(name string, r *j11Rec)) {
	for i := range c.ents {
		e := &c.ents[i]
		fn(e.name, &e.first)
		if e.last.t != e.first.t {
			fn(e.name, &e.last)
		}
	}
	for i := range c.pins {
		fn(c.pins[i].name, &c.pins[i].rec)
	}
}

// better reports whether a query at offset off (query − connection) is a
// better explanation than one at offset cur: queries before the connection
// beat queries after it; then the closest wins.
func j11Better(off, cur int64) bool {
	if (off <= 0) != (cur <= 0) {
		return off <= 0
	}
	return j11Abs(off) < j11Abs(cur)
}

// lookup names ip for client around the connection times points (first
// start, then latest), exact mapping first.
func (d *j11) lookup(client, ip netip.Addr, points ...int64) j11Match {
	c := d.clients[client]
	if e := d.ips[ip]; e != nil && e.n > 0 {
		var point int64
		for _, p := range points {
			if p != 0 {
				point = p
				break
			}
		}
		m := j11Match{how: "exact", point: point}
		for i := 0; i < e.n; i++ {
			cd := j11Cand{name: e.names[i], mapRec: &e.recs[i], via: e.via[i]}
			if c != nil {
				// The client's own query of this name, nearest to the connection.
				c.forEachRec(func(name string, r *j11Rec) {
					if name != cd.name {
						return
					}
					off := r.t - point
					if cd.query == nil || (point != 0 && j11Better(off, cd.off)) || (point == 0 && r.t > cd.query.t) {
						cd.query, cd.off = r, off
					}
				})
			}
			if cd.query != nil {
				cd.after = cd.off > 0
			}
			m.cands = append(m.cands, cd)
		}
		sort.SliceStable(m.cands, func(i, j int) bool {
			a, b := m.cands[i], m.cands[j]
			if (a.query != nil) != (b.query != nil) {
				return a.query != nil
			}
			if a.query != nil && point != 0 && a.off != b.off {
				return j11Better(a.off, b.off)
			}
			return a.mapRec.t > b.mapRec.t
		})
		if len(m.cands) > j11MaxCands {
			m.cands = m.cands[:j11MaxCands]
		}
		return m
	}
	if c == nil {
		return j11Match{}
	}
	for _, p := range points {
		if p == 0 {
			continue
		}
		lo, hi := p-d.window, p+d.skew
		best := map[string]j11Cand{}
		c.forEachRec(func(name string, r *j11Rec) {
			if r.t < lo || r.t > hi {
				return
			}
			off := r.t - p
			if cur, ok := best[name]; ok && !j11Better(off, cur.off) {
				return
			}
			best[name] = j11Cand{name: name, query: r, off: off, after: off > 0}
		})
		if len(best) == 0 {
			continue
		}
		m := j11Match{how: "temporal", point: p}
		for _, cd := range best {
			m.cands = append(m.cands, cd)
		}
		sort.Slice(m.cands, func(i, j int) bool {
			a, b := m.cands[i], m.cands[j]
			if a.off != b.off {
				return j11Better(a.off, b.off)
			}
			return a.name < b.name
		})
		if len(m.cands) > j11MaxCands {
			m.cands = m.cands[:j11MaxCands]
		}
		return m
	}
	return j11Match{}
}

// allowlisted reports whether a name is a known-good or maintenance site.
func (d *j11) allowlisted(name string) bool {
	if _, ok := d.m.AllowDomains.Match(name); ok {
		return true
	}
	_, ok := d.m.MaintenanceDomains.Match(name)
	return ok
}

// quiet reports whether a match explains the connection away: the best
// temporal candidate, or any exact name, is allowlisted.
func (d *j11) quiet(mt j11Match) bool {
	if len(mt.cands) == 0 {
		return true
	}
	if mt.how == "exact" {
		for _, cd := range mt.cands {
			if d.allowlisted(cd.name) {
				return true
			}
		}
		return false
	}
	return d.allowlisted(mt.cands[0].name)
}

func j11Dur(ns int64) string {
	return time.Duration(j11Abs(ns)).Round(time.Second).String()
}

// howText describes how the primary name was found.
func j11HowText(mt j11Match) string {
	cd := mt.cands[0]
	if mt.how == "exact" {
		if cd.query != nil {
			return "exact match: " + cd.via + ", queried by the client"
		}
		return "exact match: " + cd.via
	}
	if cd.after {
		return "temporal match: DNS query " + j11Dur(cd.off) + " after the connection"
	}
	return "temporal match: DNS query " + j11Dur(cd.off) + " before the connection"
}

func j11Actions(bits uint8) string {
	var parts []string
	for _, a := range []struct {
		bit  uint8
		name string
	}{{j11Allow, "allow"}, {j11Close, "close"}, {j11Deny, "deny"}, {j11Reject, "reject"}, {j11Drop, "drop"}, {j11Other, "other"}} {
		if bits&a.bit != 0 {
			parts = append(parts, a.name)
		}
	}
	return strings.Join(parts, "/")
}

func j11Plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return j13Commas(n) + " " + many
}

// severity: an established channel on a non-web port is high, direct web
// traffic medium, denied attempts low (J3 reports them; J11 names them), a
// name on an indicator list high.
func (d *j11) severity(f *j11Flow, mt j11Match) (alert.Severity, string) {
	for _, cd := range mt.cands {
		if _, ok := d.m.IOCDomains.Match(cd.name); ok && (mt.how == "exact" || cd.name == mt.cands[0].name) {
			return alert.High, cd.name
		}
	}
	established := f.actions&(j11Allow|j11Close|j11Other) != 0
	switch {
	case !established:
		return alert.Low, ""
	case f.key.port == 80 || f.key.port == 443:
		return alert.Medium, ""
	default:
		return alert.High, ""
	}
}

// Flush correlates every recorded direct flow with the DNS history.
func (d *j11) Flush(ctx context.Context, emit func(*alert.Alert)) {
	flows := make([]*j11Flow, 0, len(d.flows))
	for _, f := range d.flows {
		flows = append(flows, f)
	}
	sort.Slice(flows, func(i, j int) bool {
		a, b := flows[i].key, flows[j].key
		if c := a.src.Compare(b.src); c != 0 {
			return c < 0
		}
		if flows[i].first != flows[j].first {
			return flows[i].first < flows[j].first
		}
		if c := a.dst.Compare(b.dst); c != 0 {
			return c < 0
		}
		return a.port < b.port
	})
	var cur []j11Found
	flushClient := func() {
		if len(cur) == 0 {
			return
		}
		if len(cur) > j11BulkPerClient {
			emit(d.bulkAlert(cur))
		} else {
			for _, x := range cur {
				emit(x.a)
			}
		}
		cur = cur[:0]
	}
	for i, f := range flows {
		if i%1024 == 0 && ctx.Err() != nil {
			return
		}
		if len(cur) > 0 && cur[0].f.key.src != f.key.src {
			flushClient()
		}
		mt := d.lookup(f.key.src, f.key.dst, f.first, f.last)
		if len(mt.cands) == 0 {
			if c := d.clients[f.key.src]; c != nil && c.horizon != 0 && f.first != 0 && f.first-d.window <= c.horizon {
				d.truncatedFlows++
			}
			continue
		}
		if d.quiet(mt) {
			continue
		}
		cur = append(cur, j11Found{f, mt, d.flowAlert(f, mt)})
	}
	flushClient()
}

func (d *j11) flowAlert(f *j11Flow, mt j11Match) *alert.Alert {
	sev, ioc := d.severity(f, mt)
	client := f.key.src.String()
	dst := f.key.dst.String()
	port := strconv.Itoa(int(f.key.port))
	primary := mt.cands[0]
	acts := j11Actions(f.actions)
	var sb strings.Builder
	sb.WriteString(client + " connected directly to " + dst + ":" + port +
		" (action " + acts + ", " + j11Plural(f.count, "record", "records") + ") after resolving " +
		primary.name + " (" + j11HowText(mt))
	var others []string
	for _, cd := range mt.cands[1:] {
		others = append(others, cd.name)
	}
	if len(others) > 0 {
		sb.WriteString("; other candidates: " + strings.Join(others, ", "))
	}
	sb.WriteString(")")
	if ioc != "" {
		sb.WriteString("; " + ioc + " is on the indicator list")
	}
	a := d.info.NewAlert(client, sev, sb.String())
	a.Fields["src_ip"] = client
	a.Fields["dst_ip"] = dst
	a.Fields["dst_port"] = port
	a.Fields["action"] = acts
	a.Fields["connections"] = strconv.FormatInt(f.count, 10)
	a.Fields["resolved_name"] = primary.name
	a.Fields["resolved_how"] = mt.how
	if len(mt.cands) > 1 {
		names := make([]string, len(mt.cands))
		for i, cd := range mt.cands {
			names[i] = cd.name
		}
		a.Fields["resolved_candidates"] = strings.Join(names, ",")
	}
	if primary.query != nil {
		a.Fields["query_time"] = event.FormatTime(primary.query.ev.Time)
		if mt.point != 0 {
			off := time.Duration(primary.off).Round(time.Second)
			a.Fields["query_offset"] = off.String()
		}
	}
	if ioc != "" {
		a.Fields["ioc_domain"] = ioc
	}
	a.AddEvidence(f.evFirst)
	if f.count > 1 && f.evLast.Origin != f.evFirst.Origin {
		a.AddEvidence(f.evLast)
	}
	extra := d.addNameEvidence(a, client, dst, mt)
	sort.SliceStable(a.Evidence, func(i, j int) bool { return a.Evidence[i].Time.Before(a.Evidence[j].Time) })
	a.Count = f.count
	a.EvidenceTotal = f.count + extra
	a.FinalizeID(dst + ":" + port)
	return a
}

// addNameEvidence appends the DNS query (and the exact mapping record) of
// the primary name, returning how many records were added.
func (d *j11) addNameEvidence(a *alert.Alert, client, dst string, mt j11Match) int64 {
	cd := mt.cands[0]
	var n int64
	if cd.query != nil {
		e := cd.query.ev
		e.Note = "DNS query by " + client + " for " + cd.name
		switch {
		case mt.how == "exact":
			e.Note += ", which " + cd.via + " maps to " + dst
		case cd.after:
			e.Note += ", " + j11Dur(cd.off) + " after the connection (temporal match; clock skew between devices)"
		default:
			e.Note += ", " + j11Dur(cd.off) + " before the connection (temporal match)"
		}
		a.AddEvidence(e)
		n++
	}
	if cd.mapRec != nil && (cd.query == nil || cd.mapRec.ev.Origin != cd.query.ev.Origin) {
		e := cd.mapRec.ev
		e.Note = cd.via + " mapping " + cd.name + " to " + dst + " (exact match)"
		a.AddEvidence(e)
		n++
	}
	return n
}

// bulkAlert summarizes a client with many named direct flows: usually a
// proxy, relay or server missing from networks.egress_allowed.
func (d *j11) bulkAlert(found []j11Found) *alert.Alert {
	client := found[0].f.key.src.String()
	n := len(found)
	var total, high int64
	sev := alert.Low
	var names []string
	seen := map[string]bool{}
	type ev struct {
		sev alert.Severity
		e   alert.Evidence
	}
	var evs []ev
	for _, x := range found {
		total += x.f.count
		if x.a.Severity > sev {
			sev = x.a.Severity
		}
		if x.a.Severity >= alert.High {
			high++
		}
		if nm := x.mt.cands[0].name; !seen[nm] && len(names) < 10 {
			seen[nm] = true
			names = append(names, nm)
		}
		evs = append(evs, ev{x.a.Severity, x.f.evFirst})
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].sev > evs[j].sev })
	summary := client + " connected directly to " + j13Commas(int64(n)) + " external destinations whose names it had resolved (" +
		j13Commas(high) + " of them high: working channels on non-web ports or indicator names), e.g. " + strings.Join(names, ", ") +
		"; if this host is a proxy, mail relay or resolver, list it under networks.egress_allowed"
	a := d.info.NewAlert(client, sev, summary)
	a.Fields["src_ip"] = client
	a.Fields["destinations"] = strconv.Itoa(n)
	a.Fields["high_destinations"] = strconv.FormatInt(high, 10)
	a.Fields["resolved_names"] = strings.Join(names, ",")
	for i := 0; i < len(evs) && i < alert.MaxEvidence; i++ {
		a.AddEvidence(evs[i].e)
	}
	a.Count = total
	a.EvidenceTotal = total
	a.FinalizeID("bulk")
	return a
}

// j11Annotated lists the rules whose findings J11 names.
func j11Annotated(rule string) bool {
	switch rule {
	case "J3", "J5", "J6":
		return true
	}
	return false
}

// Annotate adds the resolved name to J3 (denied egress), J5 (known-bad
// address) and J6 (CONNECT to an address) findings.
func (d *j11) Annotate(alerts []*alert.Alert) {
	for _, a := range alerts {
		if a == nil || !j11Annotated(a.Rule) {
			continue
		}
		if a.Fields != nil && a.Fields["resolved_name"] != "" {
			continue
		}
		client, err := netip.ParseAddr(a.Host)
		if err != nil {
			continue
		}
		client = client.Unmap()
		var ip netip.Addr
		for _, k := range []string{"dst_ip", "dst", "domain"} {
			if v := a.Fields[k]; v != "" {
				if x, err := netip.ParseAddr(v); err == nil {
					ip = x.Unmap()
					break
				}
			}
		}
		if !ip.IsValid() || d.m.IsInternal(ip) {
			continue
		}
		mt := d.lookup(client, ip, j11Nanos(a.Time), j11Nanos(a.LastTime))
		if len(mt.cands) == 0 {
			continue
		}
		if a.Fields == nil {
			a.Fields = map[string]string{}
		}
		cd := mt.cands[0]
		a.Fields["resolved_name"] = cd.name
		a.Fields["resolved_how"] = mt.how
		if len(mt.cands) > 1 {
			names := make([]string, len(mt.cands))
			for i, x := range mt.cands {
				names[i] = x.name
			}
			a.Fields["resolved_candidates"] = strings.Join(names, ",")
		}
		var ref *j11Rec
		if cd.query != nil {
			ref = cd.query
		} else {
			ref = cd.mapRec
		}
		if ref != nil {
			a.Fields["resolved_evidence"] = ref.ev.Origin.String()
			if !ref.ev.Time.IsZero() {
				a.Fields["resolved_time"] = event.FormatTime(ref.ev.Time)
			}
		}
		if len(a.Evidence) == 0 {
			continue
		}
		// Note the evidence record closest in time to the query.
		k := 0
		if ref != nil && ref.t != 0 {
			for i := range a.Evidence {
				if j11Abs(j11Nanos(a.Evidence[i].Time)-ref.t) < j11Abs(j11Nanos(a.Evidence[k].Time)-ref.t) {
					k = i
				}
			}
		}
		note := "J11: " + a.Host + " resolved " + cd.name + " (" + j11HowText(mt)
		if ref != nil {
			note += "; " + ref.ev.Origin.String()
		}
		note += ")"
		if a.Evidence[k].Note != "" {
			a.Evidence[k].Note += "; " + note
		} else {
			a.Evidence[k].Note = note
		}
	}
}

// Notes reports missing inputs, configuration and capped state.
func (d *j11) Notes() []detect.Note {
	var out []detect.Note
	add := func(level detect.NoteLevel, msg, enable string) {
		out = append(out, detect.Note{Rule: "J11", Level: level, Message: msg, Enable: enable})
	}
	if d.dnsEvents == 0 {
		add(detect.Skipped, "no DNS query log: enable BIND query logging (JPCERT table 4-26); only exact names from proxy logs are used",
			"BIND: logging { channel queries_log { file \"/var/log/queries.log\" versions 10 size 1g; severity info; print-time yes; }; category queries { queries_log; }; } (JPCERT table 4-26)")
	}
	if d.fwEvents == 0 && d.dnsEvents > 0 {
		add(detect.Degraded, "no firewall logs: direct connections cannot be named; J11 only names other analyses' findings (J3/J5/J6)",
			"firewall: log permitted and denied sessions (JPCERT §4.2.2)")
	}
	if d.fwEvents > 0 && !d.m.HasEgressAllowed() {
		add(detect.Degraded, "networks.egress_allowed is not set: direct connections of the proxy, mail relay and resolvers themselves are reported too",
			"networks.egress_allowed")
	}
	if d.truncatedFlows > 0 {
		add(detect.Degraded, j13Commas(d.truncatedFlows)+" direct connections found no name because their client's DNS history (last "+
			strconv.Itoa(j11MaxNames)+" names per client) had moved past them; give the firewall log before the DNS log, or a shorter time range", "")
	}
	for _, c := range []struct {
		n    int64
		what string
	}{
		{d.clientsDropped, "DNS clients beyond " + j13Commas(j11MaxClients) + " were not tracked"},
		{d.entriesDropped, "queried names beyond " + j13Commas(j11MaxEntries) + " in total were not kept"},
		{d.pinsDropped, "queries near direct connections beyond the per-client limit were not kept"},
		{d.ipsDropped, "address-to-name mappings beyond " + j13Commas(j11MaxIPs) + " were not kept"},
		{d.flowsDropped, "direct-connection records beyond " + j13Commas(j11MaxFlows) + " flows were not tracked"},
	} {
		if c.n > 0 {
			add(detect.Degraded, j13Commas(c.n)+" events: "+c.what, "")
		}
	}
	return out
}
