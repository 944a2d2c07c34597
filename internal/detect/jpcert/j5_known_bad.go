package jpcert

import (
	"context"
	"net/netip"
	"sort"
	"strings"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// J5: known-bad destinations (JPCERT §4.2.3.1 and §4.1.2).
//
// When a C&C server or malware site is reported (indicators.domains / ips /
// urls / files), every log is searched for it: proxy URLs, domains
// (subdomains included: "example.com" matches "apt.example.com") and peer
// IPs; DNS queries (and answers when the DNS log has them); firewall
// destinations (outbound) and sources (inbound, stage 3); mail senders'
// domains and client IPs (stage 3).
//
// In this batch run the whole input is the history. In `kizuki serve` the
// same matcher will also retro-hunt the stored history when a new indicator
// arrives (requirement R2), so an indicator published today finds last
// month's callbacks.

// Kinds of indicator.
const (
	j5Domain = "domain"
	j5URL    = "url"
	j5IP     = "ip"
)

// Where a match was seen (bit set).
const (
	j5ViaProxy uint8 = 1 << iota
	j5ViaDNS
	j5ViaFirewall
	j5ViaMail
)

// j5IPIndex finds the indicator prefix containing an address with one map
// lookup per distinct prefix length, instead of a scan over every
// indicator.
type j5IPIndex struct {
	bits   []int // distinct prefix lengths, longest first
	byBits map[int]map[netip.Prefix]string
}

func newJ5IPIndex(ps []netip.Prefix) *j5IPIndex {
	x := &j5IPIndex{byBits: map[int]map[netip.Prefix]string{}}
	for _, p := range ps {
		p = p.Masked()
		b := p.Bits()
		if x.byBits[b] == nil {
			x.byBits[b] = map[netip.Prefix]string{}
			x.bits = append(x.bits, b)
		}
		s := p.String()
		if p.IsSingleIP() {
			s = p.Addr().String()
		}
		x.byBits[b][p] = s
	}
	sort.Sort(sort.Reverse(sort.IntSlice(x.bits)))
	return x
}

// lookup returns the indicator (as written: address or CIDR) containing a.
func (x *j5IPIndex) lookup(a netip.Addr) (string, bool) {
	if len(x.bits) == 0 || !a.IsValid() {
		return "", false
	}
	a = a.Unmap()
	for _, b := range x.bits {
		if b > a.BitLen() {
			continue
		}
		p, err := a.Prefix(b)
		if err != nil {
			continue
		}
		if s, ok := x.byBits[b][p]; ok {
			return s, true
		}
	}
	return "", false
}

type j5State struct {
	a        *alert.Alert
	via      uint8
	outbound bool // seen as an outbound connection or lookup (stages 3–7)
	allowed  int64
	denied   int64
	lookups  int64
	mails    int64
	inbound  int64
}

type j5 struct {
	info     *detect.Info
	m        *org.Model
	g        *detect.Group
	st       map[string]*j5State
	ips      *j5IPIndex
	urlHosts map[string]bool // hosts of indicator URLs: IOCURL only runs for these
	enabled  bool

	// The last few proxy DstIP strings (Squid's peer: a handful of
	// values) and their indicator match, so that each is parsed and
	// looked up once.
	peers    [4]j5Peer
	peerNext int
}

// j5Peer is one memoized proxy DstIP.
type j5Peer struct {
	s   string // as logged (cloned); "" = empty slot
	hit j5Hit
	ok  bool
}

// NewJ5 returns the known-bad destination analysis.
func NewJ5(m *org.Model) detect.Detector {
	in := &detect.Info{
		ID:           "J5",
		Title:        "Known-bad destinations",
		TitleJA:      "不審な送信先への通信を抽出するログ分析",
		Requirements: []string{"J5"},
		Section:      "4.2.3.1",
		Categories:   []string{detect.Proxy, detect.DNS, detect.Firewall, detect.Mail},
		Stages: j16Stages(alert.Delivery, alert.Installation,
			alert.CommandAndControl, alert.ActionsOnObjectives), // §4.2.3.1 (c)
		Techniques: []string{"B", "D", "H"},
		Attack:     []string{"T1071.001", "T1566.002", "T1189", "T1105"},
		NextSteps: j16Text([]string{
			"The attack is suspected to be at the Delivery, Installation, C&C or Actions-on-objectives stage: investigate whether the PC is infected with malware and whether it regularly communicates with other destinations.",
			"When only the C&C server's IP address is known, analyse the firewall's inside-to-outside logs in addition to the web proxy logs (JPCERT §4.1.2 (2)); search all logs for other internal hosts that contacted the same indicator.",
			"For a PC that contacted the C&C server, check for suspicious access to the outside or to unauthorised internal segments (J3, J4), for User-Agents not used in the organization or CONNECT use (J6, J7), and for authentication failures or unusual accounts (J13).",
			"For a mail match, find the recipients and delivery times in the mail log and ask whether the attachment was opened or the link clicked.",
		}, []string{
			"高度サイバー攻撃の「デリバリ」、「インストール」、「C&C」、または「目的の実行」の段階にあることが疑われる。当該 PC がマルウェアに感染していないか、該当 PC が定常的に通信している他の送信先がないかなどを調査する必要がある。",
			"C&C サーバの IP アドレスだけしか分かっていない場合は、Web プロキシサーバのログに加えて、Firewall の内部から外部に対するログなどを分析する（4.1.2 (2)）。同じ指標と通信した他の組織内 PC がないかも全ログで調べる。",
			"組織内の PC が C&C サーバにアクセスした痕跡が見つかった場合には、当該 PC から組織外あるいは組織内の許可されていないセグメントなどへの不審なアクセス（J3、J4）、組織内で利用しないブラウザなどの UserAgent や CONNECT メソッドを使ったアクセス（J6、J7）、アカウント認証の失敗や普段と異なるアカウントの利用（J13）がないかを調べる。",
			"メールで一致した場合は、メールサーバのログで配送先と配送時間を特定し、添付ファイルを開いたりリンクをクリックしたりしていないかを受信者に確認する。",
		}),
		Caveats: j16Text([]string{
			"If the Internet can be reached without going through the web proxy, proxy-only matching misses traffic: feed the firewall and DNS logs as well.",
			"Indicators age: shared hosting, CDN and sinkholed addresses cause false positives; check the indicator's date and context before concluding.",
			"BIND query logs record the query, not the answer: a lookup alone does not prove that a connection was made.",
		}, []string{
			"インターネットへの通信が、Web プロキシサーバを経由せずとも可能な場合には、検知漏れが生ずる可能性がある（Firewall と DNS のログも併せて分析する）。",
			"指標は古くなる。共用ホスティング、CDN、シンクホールのアドレスは誤検知の原因となるため、指標の日付と文脈を確認してから判断する。",
			"BIND のクエリログには問合せだけが記録され、応答は記録されない。名前解決だけでは通信が成立したとは言えない。",
		}),
	}
	d := &j5{info: in, m: m, g: detect.NewGroup(in), st: map[string]*j5State{},
		ips: newJ5IPIndex(m.IOCIPs), urlHosts: map[string]bool{}, enabled: m.HasIndicators()}
	for u := range m.IOCURLs {
		if h, _ := j16HostPort(u); h != "" {
			d.urlHosts[strings.ToLower(h)] = true
		}
	}
	return d
}

func (d *j5) Info() *detect.Info { return d.info }

func (d *j5) Observe(ev *event.Event) {
	if !d.enabled {
		return
	}
	switch ev.Source {
	case "squid", "squid-combined":
		d.proxy(ev)
	case "bind":
		d.dns(ev)
	case "postfix":
		d.mail(ev)
	case "netscreen", "kv", "iptables":
		d.firewall(ev)
	default:
		switch detect.Category(ev.Source) {
		case detect.Proxy:
			d.proxy(ev)
		case detect.DNS:
			d.dns(ev)
		case detect.Mail:
			d.mail(ev)
		case detect.Firewall:
			d.firewall(ev)
		}
	}
}

// j5Hit is one matched indicator.
type j5Hit struct {
	kind, indicator, matched string
	ip, domain               string // for the dst_ip / domain fields (J11 reads dst_ip)
}

func (d *j5) matchIP(a netip.Addr) (j5Hit, bool) {
	if s, ok := d.ips.lookup(a); ok {
		return j5Hit{kind: j5IP, indicator: s, matched: a.String(), ip: a.String()}, true
	}
	return j5Hit{}, false
}

// matchPeer is matchIP of the address s (a proxy event's DstIP), memoized.
func (d *j5) matchPeer(s string) (j5Hit, bool) {
	if s == "" {
		return j5Hit{}, false
	}
	for i := range d.peers {
		if d.peers[i].s == s {
			return d.peers[i].hit, d.peers[i].ok
		}
	}
	var a netip.Addr
	if p, err := netip.ParseAddr(s); err == nil {
		a = p.Unmap()
	}
	pe := &d.peers[d.peerNext]
	d.peerNext = (d.peerNext + 1) % len(d.peers)
	pe.hit, pe.ok = d.matchIP(a)
	pe.s = strings.Clone(s)
	return pe.hit, pe.ok
}

// hostIP parses a host that is an IP literal; other names are not parsed
// (a failed parse allocates its error).
func j5HostIP(h string) netip.Addr {
	if h == "" || !(h[0] >= '0' && h[0] <= '9' || strings.IndexByte(h, ':') >= 0) {
		return netip.Addr{}
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == ':' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return netip.Addr{}
		}
	}
	a, err := netip.ParseAddr(h)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func (d *j5) proxy(ev *event.Event) {
	// The Squid parsers store Domain in lower case (no need to look at
	// every letter of every host again); another source's, or a host taken
	// from the URL here, may not be.
	host, lowHost := ev.Get(event.Domain), ""
	url := ev.Get(event.URL)
	switch {
	case host == "" && url != "":
		host, _ = j16HostPort(url)
		lowHost = lowerASCII(host)
	case ev.Source == "squid" || ev.Source == "squid-combined":
		lowHost = host
	default:
		lowHost = lowerASCII(host)
	}
	var hit j5Hit
	ok := false
	if len(d.urlHosts) > 0 && url != "" && d.urlHosts[lowHost] && d.m.IOCURL(url) {
		hit, ok = j5Hit{kind: j5URL, indicator: org.NormalizeURL(url), matched: url, domain: host}, true
	}
	if !ok {
		if e, m := d.m.IOCDomains.Match(host); m {
			hit, ok = j5Hit{kind: j5Domain, indicator: e, matched: host, domain: host}, true
		}
	}
	if !ok && len(d.ips.bits) > 0 {
		if h, m := d.matchIP(j5HostIP(host)); m {
			hit, ok = h, true
		} else if h, m := d.matchPeer(ev.Get(event.DstIP)); m {
			hit, ok = h, true
		}
	}
	if !ok {
		return
	}
	denied := j16Denied(ev.Get(event.Action))
	sev := alert.Critical
	if denied {
		sev = alert.High
	}
	st := d.add(ev, ev.Get(event.SrcIP), hit, sev, j5ViaProxy, true)
	if st == nil {
		return
	}
	if denied {
		st.denied++
	} else {
		st.allowed++
	}
}

func (d *j5) dns(ev *event.Event) {
	q := ev.Get(event.Domain)
	if q == "" {
		q = ev.Get(event.Query)
	}
	hit, ok := j5Hit{}, false
	if e, m := d.m.IOCDomains.Match(q); m {
		q = strings.TrimSuffix(q, ".")
		hit, ok = j5Hit{kind: j5Domain, indicator: e, matched: q, domain: q}, true
	}
	if !ok && len(d.ips.bits) > 0 {
		// DNS logs with answers (Zeek and the like): "ip1,ip2".
		for ans := ev.Extra("answers"); ans != "" && !ok; {
			one := ans
			if i := strings.IndexByte(ans, ','); i >= 0 {
				one, ans = ans[:i], ans[i+1:]
			} else {
				ans = ""
			}
			hit, ok = d.matchIP(j5HostIP(strings.TrimSpace(one)))
		}
		if ok {
			hit.matched = q + " → " + hit.matched
			hit.domain = q
		}
	}
	if !ok {
		return
	}
	if st := d.add(ev, ev.Get(event.SrcIP), hit, alert.High, j5ViaDNS, true); st != nil {
		st.lookups++
	}
}

func (d *j5) firewall(ev *event.Event) {
	if len(d.ips.bits) == 0 {
		return
	}
	denied := j16Denied(ev.Get(event.Action))
	sev := alert.Critical
	if denied {
		sev = alert.High
	}
	if hit, ok := d.matchIP(ev.Addr(event.DstIP)); ok {
		if st := d.add(ev, ev.Get(event.SrcIP), hit, sev, j5ViaFirewall, true); st != nil {
			if denied {
				st.denied++
			} else {
				st.allowed++
			}
		}
		return
	}
	// Inbound from a known-bad address (delivery, scanning): the internal
	// destination is the host.
	if hit, ok := d.matchIP(ev.Addr(event.SrcIP)); ok {
		if st := d.add(ev, ev.Get(event.DstIP), hit, sev, j5ViaFirewall, false); st != nil {
			st.inbound++
			if denied {
				st.denied++
			} else {
				st.allowed++
			}
		}
	}
}

func (d *j5) mail(ev *event.Event) {
	hit, ok := j5Hit{}, false
	for _, s := range [...]string{ev.Get(event.MailFrom), ev.Extra("from_address")} {
		if s == "" {
			continue
		}
		if e, m := d.m.IOCDomains.Match(j16Domain(s)); m {
			hit, ok = j5Hit{kind: j5Domain, indicator: e, matched: s}, true
			break
		}
	}
	if !ok && len(d.ips.bits) > 0 {
		hit, ok = d.matchIP(ev.Addr(event.SrcIP))
	}
	if !ok {
		return
	}
	if st := d.add(ev, j16MailHost(ev.Get(event.MailTo)), hit, alert.High, j5ViaMail, false); st != nil {
		st.mails++
	}
}

// add records a match for host; it returns nil when the group is full.
func (d *j5) add(ev *event.Event, host string, hit j5Hit, sev alert.Severity, via uint8, outbound bool) *j5State {
	if host == "" {
		host = "unknown"
	}
	key := host + "\x00" + hit.indicator
	st := d.st[key]
	if st == nil {
		a := d.g.Add(key, host, ev, func(a *alert.Alert) {
			a.Severity = sev
			a.Fields["indicator"] = hit.indicator
			a.Fields["kind"] = hit.kind
			a.Fields["matched"] = hit.matched
			if hit.ip != "" {
				a.Fields["dst_ip"] = hit.ip
			}
			if hit.domain != "" {
				a.Fields["domain"] = hit.domain
			}
			if hit.kind == j5URL {
				a.Fields["url"] = hit.matched
			}
			if via == j5ViaMail {
				a.Fields["mail_to"] = ev.Get(event.MailTo)
				if v := ev.Get(event.MailFrom); v != "" {
					a.Fields["mail_from"] = v
				}
			}
		})
		if a == nil {
			return nil
		}
		st = &j5State{a: a}
		d.st[key] = st
	} else {
		st.a.AddEvidence(alert.EvidenceOf(ev))
		if sev > st.a.Severity {
			st.a.Severity = sev
		}
	}
	st.via |= via
	st.outbound = st.outbound || outbound
	return st
}

func (d *j5) Flush(_ context.Context, emit func(*alert.Alert)) {
	d.g.Each(func(key string, a *alert.Alert) {
		st := d.st[key]
		if !st.outbound {
			a.Stages = j16Stages(alert.Delivery)
		}
		var via []string
		for _, v := range [...]struct {
			bit  uint8
			name string
		}{{j5ViaDNS, "dns"}, {j5ViaFirewall, "firewall"}, {j5ViaMail, "mail"}, {j5ViaProxy, "proxy"}} {
			if st.via&v.bit != 0 {
				via = append(via, v.name)
			}
		}
		a.Fields["via"] = strings.Join(via, ",")
		f := a.Fields
		what := "known-bad " + f["kind"] + " " + f["matched"]
		if f["matched"] != f["indicator"] {
			what += " (indicator " + f["indicator"] + ")"
		}
		var parts []string
		if st.allowed > 0 {
			parts = append(parts, j16Times(st.allowed, "allowed connection", "allowed connections"))
		}
		if st.denied > 0 {
			parts = append(parts, j16Times(st.denied, "denied connection", "denied connections"))
		}
		if st.lookups > 0 {
			parts = append(parts, j16Times(st.lookups, "DNS lookup", "DNS lookups"))
		}
		if st.mails > 0 {
			parts = append(parts, j16Times(st.mails, "mail record", "mail records"))
		}
		var s string
		switch {
		case st.mails > 0 && st.mails == a.Count:
			s = "Mail to " + a.Host + " came from " + what
		case st.inbound > 0 && st.inbound == a.Count:
			s = a.Host + " was contacted from " + what
		default:
			s = a.Host + " contacted " + what
		}
		a.Summary = s + " in the " + f["via"] + " logs: " + strings.Join(parts, ", ")
	})
	d.g.Emit(emit, nil)
}

func (d *j5) Notes() []detect.Note {
	if !d.enabled {
		return []detect.Note{{Rule: "J5", Level: detect.Skipped,
			Message: "no indicators of compromise are configured, so known-bad destinations cannot be searched",
			Enable:  "indicators.domains / indicators.ips / indicators.urls / indicators.files"}}
	}
	return d.g.DroppedNote()
}

// lowerASCII is strings.ToLower for host names, which are ASCII (IDNs are
// logged in punycode) and nearly always lower-case already: it returns s
// itself unless it holds an upper-case letter.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}
