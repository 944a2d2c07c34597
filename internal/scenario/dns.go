package scenario

import (
	"fmt"
	"time"
)

// dnsQuery emits a BIND 9.16 query-log line (print-time yes, local time):
//
//	03-Feb-2015 10:01:58.123 queries: info: client @0x7f2c1c0a3b20 192.168.100.23#47197 (apt.example.com): query: apt.example.com IN A +E(0) (192.168.1.53)
func (g *gen) dnsQuery(t time.Time, client, name, qtype string, tags ...int) {
	flags := "+"
	if h := g.byIP[client]; h == nil || !h.pc {
		flags = "+E(0)"
	} else if g.chance(0.1) {
		flags = "+E(0)"
	}
	ptr := fmt.Sprintf("0x7f2c%08x", 0x1c000000+g.r.IntN(0x00ffffff)&^0xf)
	port := g.between(1025, 65535)
	line := fmt.Sprintf("%s queries: info: client @%s %s#%d (%s): query: %s IN %s %s (%s)",
		t.Format("02-Jan-2006 15:04:05.000"), ptr, client, port, name, name, qtype, flags, dnsIP)
	g.add(FileDNS, t, line, tags...)
}

// bgDNS is dnsQuery for background traffic: it respects blackout windows
// (a planted J11 trace needs the client to be otherwise silent) and logs a
// small sample of the SHANAI → DMZ permits.
func (g *gen) bgDNS(t time.Time, client, name, qtype string) {
	if g.inBlackout(client, t) {
		return
	}
	g.dnsQuery(t, client, name, qtype)
	if h := g.byIP[client]; h != nil && h.pc && g.chance(0.03) {
		g.fw(flow{start: t, dur: g.between(0, 1), policy: polShanaiDMZ, service: "dns", proto: 17,
			srcZone: "SHANAI", dstZone: "DMZ", action: "Permit", sent: int64(g.between(60, 90)), rcvd: int64(g.between(90, 400)),
			src: client, dst: dnsIP, sport: g.between(winPortLo, winPortHi), dport: 53})
	}
}

// pcBootDNS is what a domain-joined Windows 7 PC asks at start-up and logon.
func (g *gen) pcBootDNS(h *host, t time.Time) time.Time {
	qs := [][2]string{
		{"_ldap._tcp.Default-First-Site-Name._sites.dc._msdcs." + domain, "SRV"},
		{"_ldap._tcp.dc._msdcs." + domain, "SRV"},
		{"dc01." + domain, "A"},
		{"dc01." + domain, "AAAA"},
		{"www.msftncsi.com", "A"},
		{"dns.msftncsi.com", "A"},
		{"wpad." + domain, "A"},
		{"proxy." + domain, "A"},
	}
	n := g.count(float64(len(qs)), 2)
	if n > len(qs) {
		n = len(qs)
	}
	for i := 0; i < n; i++ {
		g.bgDNS(t, h.ip, qs[i][0], qs[i][1])
		t = t.Add(time.Duration(g.between(20, 1500)) * time.Millisecond)
	}
	return t
}

// pcDayDNS are internal names a PC resolves during the day.
var pcDayDNS = [][2]string{
	{"fs01." + domain, "A"},
	{"mail." + domain, "A"},
	{"intra." + domain, "A"},
	{"dc01." + domain, "A"},
	{"_kerberos._tcp.dc._msdcs." + domain, "SRV"},
	{"fs01." + domain, "AAAA"},
	{"proxy." + domain, "A"},
}
