package ioc

import (
	"strings"

	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
)

// Direction says which way the traffic with the indicator went, which
// places the hit on the kill chain.
type Direction uint8

// Directions.
const (
	// Outbound: an internal host connected to, or looked up, a known-bad
	// destination (stages 3–7: delivery to actions on objectives).
	Outbound Direction = 1 + iota
	// Inbound: a known-bad address connected to an internal host
	// (delivery, scanning).
	Inbound
	// Mail: a message came from a known-bad sender (delivery).
	Mail
	// File: a known-bad file (hash) was seen on a host (installation).
	File
)

var directionNames = [...]string{"", "outbound", "inbound", "mail", "file"}

func (d Direction) String() string {
	if int(d) < len(directionNames) {
		return directionNames[d]
	}
	return "unknown"
}

// Where a hit was seen: the source category of the event.
const (
	ViaProxy    = "proxy"
	ViaDNS      = "dns"
	ViaFirewall = "firewall"
	ViaMail     = "mail"
	ViaEndpoint = "endpoint" // Windows event logs (Sysmon, Security)
	ViaOther    = "other"
)

// Hit is one indicator found in one event.
type Hit struct {
	Entry     *Entry
	Field     string // the field the value was in: "domain", "dst_ip", "Hashes" ...
	Matched   string // the value as logged
	Via       string
	Direction Direction
	// Host is the internal entity concerned: the client of an outbound
	// connection, the target of an inbound one, the recipient of a mail,
	// the computer of a Windows event.
	Host   string
	Denied bool // the firewall or proxy refused the connection
}

// maxHitsPerEvent bounds the hits of one event (a record listing hundreds
// of known-bad addresses is one finding, not hundreds).
const maxHitsPerEvent = 8

// matchRun is the state of one event's matching: the hits so far, so that
// a value in two fields (domain and query) is one hit. The hits are handed
// to the caller's function at the end, which keeps that function out of
// this state (no allocation per event on the negative path).
type matchRun struct {
	ev   *event.Event
	hits [maxHitsPerEvent]Hit
	n    int
	via  string
}

func (r *matchRun) hit(e *Entry, field, value string, dir Direction, host string) {
	if e == nil || r.n >= maxHitsPerEvent {
		return
	}
	for _, h := range r.hits[:r.n] {
		if h.Entry == e {
			return
		}
	}
	if host == "" {
		host = "unknown"
	}
	r.hits[r.n] = Hit{Entry: e, Field: field, Matched: strings.Clone(value), Via: r.via, Direction: dir,
		Host: host, Denied: denied(r.ev.Get(event.Action))}
	r.n++
}

// Match calls fn for every indicator found in ev (at most eight). What is
// looked at depends on the event's source category:
//
//   - proxy: the URL, the requested host (Domain, or the URL's host), the
//     peer address (dst_ip), outbound from src_ip;
//   - DNS: the query name and any answer addresses ("answers"), outbound
//     from the client;
//   - firewall: the destination (outbound from src_ip) and the source
//     (inbound to dst_ip), and a logged host name or URL;
//   - mail: the envelope sender, the header From address and their
//     domains, and the connecting client address, as delivery to the
//     first recipient;
//   - Windows (Sysmon, Security): DestinationIp / DestinationHostname
//     (network connections), QueryName and QueryResults (DNS), the logon
//     source address (inbound), on the event's computer;
//   - any other source: URL, domain, query, destination and source.
//
// File hashes are looked for in every field, whatever the source: a value
// that is exactly 32, 40 or 64 hex digits, or a list of ALGO=HEX pairs as
// Sysmon's Hashes field ("MD5=...,SHA256=...,IMPHASH=..."; IMPHASH, an
// import-table hash, is not a file hash and is skipped).
func (m *Matcher) Match(ev *event.Event, fn func(Hit)) {
	if m == nil || m.n == 0 {
		return
	}
	var r matchRun
	r.ev = ev
	m.match(&r)
	for i := range r.hits[:r.n] {
		fn(r.hits[i])
	}
}

// match fills r with the hits of r.ev.
func (m *Matcher) match(r *matchRun) {
	ev := r.ev
	src, dst := ev.Get(event.SrcIP), ev.Get(event.DstIP)
	switch detect.Category(ev.Source) {
	case detect.Proxy:
		r.via = ViaProxy
		m.outboundWeb(r, src)
		if e, ok := m.ip(dst); ok {
			r.hit(e, "dst_ip", dst, Outbound, src)
		}
	case detect.DNS:
		r.via = ViaDNS
		m.names(r, src)
		m.answers(r, "answers", src)
	case detect.Firewall:
		r.via = ViaFirewall
		m.outboundWeb(r, src)
		m.addrs(r, src, dst)
	case detect.Mail:
		r.via = ViaMail
		m.mail(r)
	case detect.Auth:
		r.via = ViaEndpoint
		host := ev.Host
		if host == "" {
			host = src
		}
		m.outboundWeb(r, host)
		m.names(r, host)
		m.answers(r, "QueryResults", host)
		if e, ok := m.ip(dst); ok {
			r.hit(e, "dst_ip", dst, Outbound, host)
		}
		if e, ok := m.ip(src); ok {
			r.hit(e, "src_ip", src, Inbound, host)
		}
	default:
		r.via = ViaOther
		host := src
		if host == "" {
			host = ev.Host
		}
		m.outboundWeb(r, host)
		m.names(r, host)
		m.addrs(r, src, dst)
	}
	if len(m.hashes) > 0 {
		host := ev.Host
		if host == "" {
			host = src
		}
		if r.via == ViaMail {
			host = mailHost(ev)
		}
		m.fileHashes(r, host)
	}
}

// outboundWeb looks at the URL and the requested host.
func (m *Matcher) outboundWeb(r *matchRun, client string) {
	ev := r.ev
	u := ev.Get(event.URL)
	if e, ok := m.url(u); ok {
		r.hit(e, "url", u, Outbound, client)
	}
	host := ev.Get(event.Domain)
	field := "domain"
	if host == "" && u != "" {
		host, field = urlHost(u), "url"
	}
	if e, ok := m.domain(host); ok {
		r.hit(e, field, host, Outbound, client)
	} else if e, ok := m.ip(host); ok {
		r.hit(e, field, host, Outbound, client)
	}
}

// names looks at the DNS query name.
func (m *Matcher) names(r *matchRun, client string) {
	q := r.ev.Get(event.Query)
	if e, ok := m.domain(q); ok {
		r.hit(e, "query", strings.TrimSuffix(q, "."), Outbound, client)
	}
}

// answers looks at the addresses of a DNS answer field ("1.2.3.4,5.6.7.8",
// Sysmon's "type: 5 x;::ffff:1.2.3.4;").
func (m *Matcher) answers(r *matchRun, field, client string) {
	if m.ips.Len() == 0 {
		return
	}
	v := r.ev.Extra(field)
	for n := 0; v != "" && n < 64; n++ {
		one := v
		if i := strings.IndexAny(v, ",;"); i >= 0 {
			one, v = v[:i], v[i+1:]
		} else {
			v = ""
		}
		one = strings.TrimSpace(one)
		if e, ok := m.ip(one); ok {
			r.hit(e, field, one, Outbound, client)
		}
	}
}

// addrs looks at a connection's destination (outbound) and source
// (inbound).
func (m *Matcher) addrs(r *matchRun, src, dst string) {
	if e, ok := m.ip(dst); ok {
		r.hit(e, "dst_ip", dst, Outbound, src)
	}
	if e, ok := m.ip(src); ok {
		r.hit(e, "src_ip", src, Inbound, dst)
	}
}

// mail looks at the sender's addresses and domains and the client.
func (m *Matcher) mail(r *matchRun) {
	ev := r.ev
	to := mailHost(ev)
	for _, f := range [...]struct {
		name, value string
	}{{"mail_from", ev.Get(event.MailFrom)}, {"from_address", ev.Extra("from_address")}, {"header_from", ev.Get(event.HeaderFrom)}} {
		if f.value == "" {
			continue
		}
		if e, ok := m.email(f.value); ok {
			r.hit(e, f.name, mailAddress(f.value), Mail, to)
		}
		if d := mailDomain(f.value); d != "" {
			if e, ok := m.domain(d); ok {
				r.hit(e, f.name, mailAddress(f.value), Mail, to)
			}
		}
	}
	if src := ev.Get(event.SrcIP); src != "" {
		if e, ok := m.ip(src); ok {
			r.hit(e, "src_ip", src, Mail, to)
		}
	}
	if u := ev.Get(event.URL); u != "" {
		if e, ok := m.url(u); ok {
			r.hit(e, "url", u, Mail, to)
		}
	}
}

// mailHost is the first recipient of a mail event, the internal entity.
func mailHost(ev *event.Event) string {
	to := ev.Get(event.MailTo)
	if i := strings.IndexByte(to, ','); i >= 0 {
		to = to[:i]
	}
	to = strings.Trim(strings.TrimSpace(to), "<>")
	if to == "" {
		return "unknown-recipient"
	}
	return to
}

// fileHashes looks for hash values in every field.
func (m *Matcher) fileHashes(r *matchRun, host string) {
	dir := File
	if r.via == ViaMail {
		dir = Mail
	}
	r.ev.Fields(func(k, v string) {
		if len(v) < 32 {
			return
		}
		if e, ok := m.hash(v); ok {
			r.hit(e, k, v, dir, host)
			return
		}
		if strings.IndexByte(v, '=') < 0 {
			return
		}
		// ALGO=HEX pairs (Sysmon Hashes).
		for rest, n := v, 0; rest != "" && n < 16; n++ {
			one := rest
			if i := strings.IndexAny(rest, ",;"); i >= 0 {
				one, rest = rest[:i], rest[i+1:]
			} else {
				rest = ""
			}
			algo, hex, ok := strings.Cut(strings.TrimSpace(one), "=")
			if !ok || strings.EqualFold(algo, "IMPHASH") {
				continue
			}
			if e, ok := m.hash(hex); ok {
				r.hit(e, k, hex, dir, host)
			}
		}
	})
}

// urlHost returns the host of a URL ("http://h:8080/x" → "h"), or of a
// CONNECT target ("h:443").
func urlHost(u string) string {
	if _, rest, ok := strings.Cut(u, "://"); ok {
		u = rest
	}
	if i := strings.IndexAny(u, "/?#"); i >= 0 {
		u = u[:i]
	}
	if i := strings.LastIndexByte(u, '@'); i >= 0 {
		u = u[i+1:]
	}
	if strings.HasPrefix(u, "[") {
		if i := strings.IndexByte(u, ']'); i > 0 {
			return u[1:i]
		}
	}
	if i := strings.LastIndexByte(u, ':'); i >= 0 && strings.Count(u, ":") == 1 {
		u = u[:i]
	}
	return u
}

// denied reports whether a normalized action means the connection was
// refused.
func denied(action string) bool {
	switch action {
	case "deny", "reject", "drop", "block", "denied":
		return true
	}
	return false
}
