package scenario

import (
	"fmt"
	"strings"
	"time"
)

// background writes the benign traffic of the 14 days.
func (g *gen) background() {
	for d := 0; d < Days; d++ {
		business := isBusinessDay(d)
		for _, h := range g.pcs {
			if business {
				g.pcWorkday(h, d)
			} else if h.leftOn {
				g.pcIdleDay(h, d)
			}
			if h.leftOn {
				g.nightMaintenance(h, d)
			}
		}
		for _, ip := range []string{dcIP, adminIP, appIP, fsIP} {
			g.serverDay(g.byIP[ip], d)
		}
		if business {
			g.adminDay(d)
		}
		g.bgMailDay(d)
		g.bgFirewallDay(d)
	}
}

// officeHosts etc. are the background destinations of non-browser clients.
var (
	cryptoURLs = []string{
		"http://ctldl.windowsupdate.com/msdownload/update/v3/static/trustedr/en/disallowedcertstl.cab?%s",
		"http://ctldl.windowsupdate.com/msdownload/update/v3/static/trustedr/en/authrootstl.cab?%s",
		"http://crl.microsoft.com/pki/crl/products/MicRooCerAut_2010-06-23.crl",
		"http://ocsp.verisign.com/MFEwTzBNMEswSTAJBgUrDgMCGgUABBS56bKHAoUD%%2BOyl%%2B0LhPg9JxyQm4gQUf9Nlp8Ld7LvwMAnzQzn6Aq8zMTMCEA%s",
		"http://ocsp.digicert.com/MFEwTzBNMEswSTAJBgUrDgMCGgUABBTBL0V27RVZ7LBduom%%2FnYB45SPUEwQU5Z1ZMIJHWMys%%2BghUNoZ7OrUETfACEA%s",
	}
	wuDownloads = []string{
		"http://download.windowsupdate.com/d/msdownload/update/software/secu/2015/02/windows6.1-kb3023562-x64_%s.psf",
		"http://download.windowsupdate.com/c/msdownload/update/software/secu/2015/01/windows6.1-kb3021952-x64_%s.psf",
		"http://au.download.windowsupdate.com/d/msdownload/update/software/defu/2015/02/am_delta_patch_1.191.3%s.exe",
	}
)

// pcWorkday is one working day of a PC and its user.
func (g *gen) pcWorkday(h *host, d int) {
	// On the first working day every PC runs each of its tools once, so
	// that the User-Agent baseline does not depend on the volume.
	first := d == 0
	arrive := g.at(d, 8, 10, 80*60)
	leave := g.at(d, 17, 30, 80*60)
	boot := arrive.Add(-time.Duration(g.between(60, 300)) * time.Second)

	// start-up: DNS, machine authentication, user logon
	t := g.pcBootDNS(h, boot)
	g.pcBootAuth(h, t, arrive)

	// browsing
	span := leave.Sub(arrive) - 10*time.Minute
	visits := g.count(11*h.activity, 1)
	for i := 0; i < visits; i++ {
		vt := arrive.Add(5*time.Minute + time.Duration(g.r.Int64N(int64(span))))
		var s site
		if g.chance(0.14) {
			lt, ok := g.longtail.get(g, d)
			if ok {
				s = lt
			} else {
				s = g.popularSite()
			}
		} else {
			s = g.popularSite()
		}
		end := g.browse(h, s, vt, "")
		if g.chance(0.35) && !s.tls {
			g.browse(h, s, end.Add(time.Duration(g.between(10, 120))*time.Second), "")
		}
	}
	// the victim searches on www.google.com every working day (J8 look-alike)
	if h == g.victim {
		g.browse(h, popular[1], g.at(d, 10, 30, 5*3600), "")
	}
	// Outlook / Office
	if h.office {
		n := g.count(3, 0)
		if first && n == 0 {
			n = 1
		}
		for i := 0; i < n; i++ {
			ot := arrive.Add(time.Duration(g.r.Int64N(int64(leave.Sub(arrive)))))
			host := pick(g, []string{"officeclient.microsoft.com", "config.office.microsoft.com"})
			sz := int64(g.between(3000, 24000))
			g.proxy(proxyReq{t: ot, client: h.ip, method: "CONNECT", url: host + ":443", status: 200, bytes: sz, ua: uaOffice, tag: "TCP_TUNNEL:HIER_DIRECT"})
			g.egress(ot, host, 443, sz)
		}
	}
	// Java update check once a day
	if h.java && (first || g.chance(0.8*g.rate())) {
		jt := arrive.Add(time.Duration(g.between(120, 1800)) * time.Second)
		g.proxy(proxyReq{t: jt, client: h.ip, method: "GET", url: "http://javadl-esd-secure.oracle.com/update/1.8.0/map-m-1.8.0.xml",
			status: 200, bytes: int64(g.between(2400, 2600)), ua: uaJava, tag: g.tagFor(200)})
	}
	// certificate checks
	for i, n := 0, g.count(2, 0); i < n; i++ {
		ct := arrive.Add(time.Duration(g.r.Int64N(int64(leave.Sub(arrive)))))
		g.cryptoAPI(h, ct)
	}
	// Windows Update during the day (machines that are switched off at night)
	if !h.leftOn && (first || g.chance(0.6*g.rate())) {
		g.windowsUpdate(h, boot.Add(time.Duration(g.between(300, 3600))*time.Second))
	}
	// proxy connection samples SHANAI → DMZ
	if g.chance(0.15 * g.rate()) {
		ft := arrive.Add(time.Duration(g.between(60, 7200)) * time.Second)
		g.fw(flow{start: ft, dur: g.between(1, 120), policy: polShanaiDMZ, service: "http-ext", proto: 6, srcZone: "SHANAI", dstZone: "DMZ",
			action: "Permit", sent: int64(g.between(800, 9000)), rcvd: int64(g.between(2000, 90000)), src: h.ip, dst: proxyIP,
			sport: g.between(winPortLo, winPortHi), dport: 8080})
	}
	// internal names through the day
	for i, n := 0, g.count(6, 0); i < n; i++ {
		q := pick(g, pcDayDNS)
		g.bgDNS(arrive.Add(time.Duration(g.r.Int64N(int64(leave.Sub(arrive))))), h.ip, q[0], q[1])
	}
	// authentication through the day
	g.pcDayAuth(h, arrive, leave)
}

func (g *gen) popularSite() site {
	ws := make([]int, len(popular))
	for i, s := range popular {
		ws[i] = s.weight
	}
	return popular[g.weighted(ws)]
}

func (g *gen) cryptoAPI(h *host, t time.Time) {
	u := pick(g, cryptoURLs)
	if strings.Contains(u, "%s") {
		u = fmt.Sprintf(u, g.hex(16))
	}
	st, sz := 200, int64(g.between(1400, 6200))
	if g.chance(0.5) {
		st, sz = 304, int64(g.between(260, 330))
	}
	g.proxy(proxyReq{t: t, client: h.ip, method: "GET", url: u, status: st, bytes: sz, ua: uaCrypto, tag: g.tagFor(st)})
	g.egress(t, hostOfURL(u), 80, sz)
}

// windowsUpdate is one Windows Update scan and (sometimes) a download.
func (g *gen) windowsUpdate(h *host, t time.Time) {
	sz := int64(g.between(9000, 60000))
	g.proxy(proxyReq{t: t, client: h.ip, method: "CONNECT", url: "fe2.update.microsoft.com:443", status: 200, bytes: sz, ua: uaWU, tag: "TCP_TUNNEL:HIER_DIRECT"})
	g.egress(t, "fe2.update.microsoft.com", 443, sz)
	t = t.Add(time.Duration(g.between(2, 40)) * time.Second)
	g.proxy(proxyReq{t: t, client: h.ip, method: "GET", url: fmt.Sprintf(cryptoURLs[0], g.hex(16)), status: 304, bytes: int64(g.between(260, 330)), ua: uaCrypto, tag: g.tagFor(304)})
	if g.chance(0.3) {
		t = t.Add(time.Duration(g.between(5, 90)) * time.Second)
		u := fmt.Sprintf(pick(g, wuDownloads), g.hex(40))
		sz := int64(g.between(200000, 3000000))
		g.proxy(proxyReq{t: t, client: h.ip, method: "GET", url: u, status: 200, bytes: sz, ua: uaWU, tag: g.tagFor(200)})
		g.egress(t, hostOfURL(u), 80, sz)
	}
}

// nightMaintenance: machines left on run Windows Update at night (J9
// look-alike: *.windowsupdate.com / *.update.microsoft.com are maintenance
// domains).
func (g *gen) nightMaintenance(h *host, d int) {
	if d == 0 || g.chance(0.85*min(1, 3*g.scale)) {
		g.windowsUpdate(h, g.at(d, 3, 0, 5400))
	}
}

// pcIdleDay: a PC left on over a weekend or holiday only renews its machine
// credentials.
func (g *gen) pcIdleDay(h *host, d int) {
	t := g.at(d, 9, 0, 8*3600)
	m := h.machine()
	g.ev4768(t, m, h.ip)
	if g.chance(0.6) {
		g.ev4624(t.Add(300*time.Millisecond), m, 3, h.ip, h.name, false, false)
	}
}

// pcBootAuth: the machine account and the user authenticate to DC01.
func (g *gen) pcBootAuth(h *host, boot, logon time.Time) {
	m, u := h.machine(), h.account()
	dc := acctDC
	steps := []func(t time.Time){
		func(t time.Time) { g.ev4768(t, m, h.ip); g.fwAD(h, t, 88) },
		func(t time.Time) { g.ev4769(t, m, dc, h.ip, "") },
		func(t time.Time) { g.ev4624(t, m, 3, h.ip, h.name, false, false); g.fwAD(h, t, 389) },
	}
	n := g.count(3, 0)
	for i := 0; i < n && i < len(steps); i++ {
		steps[i](boot.Add(time.Duration(i*g.between(100, 900)) * time.Millisecond))
	}
	lsteps := []func(t time.Time){
		func(t time.Time) { g.ev4768(t, u, h.ip) },
		func(t time.Time) { g.ev4769(t, u, m, h.ip, "") },
		func(t time.Time) { g.ev4769(t, u, dc, h.ip, "") },
		func(t time.Time) { g.ev4624(t, u, 3, h.ip, h.name, false, false); g.fwAD(h, t, 445) },
	}
	n = g.count(4, 1)
	for i := 0; i < n && i < len(lsteps); i++ {
		lsteps[i](logon.Add(time.Duration(i*g.between(50, 700)) * time.Millisecond))
	}
}

// pcDayAuth: file-server tickets, group-policy refreshes, occasional NTLM.
func (g *gen) pcDayAuth(h *host, from, to time.Time) {
	span := int64(to.Sub(from))
	for i, n := 0, g.count(2*h.activity, 0); i < n; i++ {
		t := from.Add(time.Duration(g.r.Int64N(span)))
		g.ev4769(t, h.account(), userAcct("FS01$", 1112), h.ip, "")
		if g.chance(0.5) {
			g.fw(flow{start: t, dur: g.between(5, 900), policy: polShanaiIntra, service: "smb", proto: 6, srcZone: "SHANAI", dstZone: "INTRA",
				action: "Permit", sent: int64(g.between(2000, 400000)), rcvd: int64(g.between(2000, 3000000)), src: h.ip, dst: fsIP,
				sport: g.between(winPortLo, winPortHi), dport: 445})
		}
	}
	for i, n := 0, g.count(3*h.activity, 0); i < n; i++ {
		t := from.Add(time.Duration(g.r.Int64N(span)))
		a := h.account()
		if g.chance(0.4) {
			a = h.machine()
		}
		g.ev4624(t, a, 3, h.ip, h.name, false, false)
	}
	if g.chance(0.15 * g.scale) {
		g.ev4776(from.Add(time.Duration(g.r.Int64N(span))), h.user, h.name)
	}
}

// fwAD logs (half of) the permitted SHANAI → INTRA flows to DC01.
func (g *gen) fwAD(h *host, t time.Time, port int) {
	if !g.chance(0.5) {
		return
	}
	proto := 6
	if port == 88 && g.chance(0.5) {
		proto = 17
	}
	g.fw(flow{start: t, dur: g.between(0, 2), policy: polShanaiIntra, service: serviceName(proto, port), proto: proto,
		srcZone: "SHANAI", dstZone: "INTRA", action: "Permit", sent: int64(g.between(300, 4000)), rcvd: int64(g.between(300, 9000)),
		src: h.ip, dst: dcIP, sport: g.between(winPortLo, winPortHi), dport: port})
}

// serverDay: INTRA servers authenticate every day, the DC logs its own
// service logons and group-policy processes, servers fetch updates.
func (g *gen) serverDay(h *host, d int) {
	if h.ip != dcIP {
		m := h.machine()
		for i, n := 0, g.count(3, 1); i < n; i++ {
			t := g.at(d, 0, 0, 86399)
			switch i % 3 {
			case 0:
				g.ev4768(t, m, h.ip)
			case 1:
				g.ev4769(t, m, acctDC, h.ip, "")
			default:
				g.ev4624(t, m, 3, h.ip, h.name, false, false)
			}
		}
		for i, n := 0, g.count(2, 1); i < n; i++ {
			q := pick(g, [][2]string{{"dc01." + domain, "A"}, {"_ldap._tcp.dc._msdcs." + domain, "SRV"}, {"time.windows.com", "A"}})
			g.bgDNS(g.at(d, 0, 0, 86399), h.ip, q[0], q[1])
		}
	} else {
		for i, n := 0, g.count(2, 1); i < n; i++ {
			t := g.at(d, 0, 0, 86399)
			lid := g.ev4624(t, acctSystem, 5, "", "", false, true)
			g.ev4672(t.Add(time.Millisecond), acctSystem, lid, privSys)
		}
		for i, n := 0, g.count(2, 1); i < n; i++ {
			t := g.at(d, 0, 0, 86399)
			lid := g.ev4624(t, acctDC, 3, "", "", false, true)
			g.ev4672(t.Add(time.Millisecond), acctDC, lid, privDC)
		}
		procs := [][2]string{
			{`C:\Windows\System32\gpupdate.exe`, `gpupdate.exe /target:computer`},
			{`C:\Windows\System32\taskhost.exe`, `taskhost.exe $(Arg0)`},
			{`C:\Windows\System32\wbem\WmiPrvSE.exe`, `C:\Windows\system32\wbem\wmiprvse.exe -secured -Embedding`},
			{`C:\Windows\System32\conhost.exe`, `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`},
		}
		for i, n := 0, g.count(3, 1); i < n; i++ {
			p := procs[i%len(procs)]
			g.ev4688(g.at(d, 0, 0, 86399), acctSystem, "0x3e7", p[0], p[1])
		}
	}
	g.nightMaintenance(h, d)
}

// adminDay: Administrator works on DC01 from ADM01 (its only allowed host).
func (g *gen) adminDay(d int) {
	a := acctAdministrator
	t := g.at(d, 9, 0, 3600)
	g.ev4768(t, a, adminIP)
	g.ev4769(t.Add(200*time.Millisecond), a, acctDC, adminIP, "")
	lid := g.ev4624(t.Add(900*time.Millisecond), a, 10, adminIP, "ADM01", false, true)
	g.ev4672(t.Add(901*time.Millisecond), a, lid, privAdmin)
	g.ev4688(t.Add(time.Duration(g.between(20, 600))*time.Second), a, lid, `C:\Windows\System32\mmc.exe`, `"C:\Windows\system32\mmc.exe" "C:\Windows\system32\dsa.msc"`)
	for i, n := 0, g.count(2, 0); i < n; i++ {
		t2 := g.at(d, 10, 0, 7*3600)
		lid := g.ev4624(t2, a, 3, adminIP, "ADM01", false, true)
		g.ev4672(t2.Add(time.Millisecond), a, lid, privAdmin)
	}
	// the admin browses a little from ADM01
	adm := g.byIP[adminIP]
	for i, n := 0, g.count(3, 0); i < n; i++ {
		g.browse(adm, g.popularSite(), g.at(d, 9, 30, 8*3600), uaIE11)
	}
	for i, n := 0, g.count(2, 0); i < n; i++ {
		q := pick(g, pcDayDNS)
		g.bgDNS(g.at(d, 9, 0, 9*3600), adminIP, q[0], q[1])
	}
}

var scanners = []string{"222.186.30.112", "61.160.213.55", "185.94.111.1", "91.236.75.4", "117.21.191.99", "36.68.4.170"}

// bgFirewallDay: Internet scans denied at the DMZ, and the odd denied
// connection of the egress-allowed proxy and mail relay.
func (g *gen) bgFirewallDay(d int) {
	for i, n := 0, g.count(20, 3); i < n; i++ {
		src := pick(g, scanners)
		port := pick(g, []int{22, 23, 3389, 1433, 445, 8080, 5900})
		g.fw(flow{start: g.at(d, 0, 0, 86399), policy: polUntrustDMZDeny, service: serviceName(6, port), proto: 6,
			srcZone: "Untrust", dstZone: "DMZ", action: "Deny", src: src, dst: pick(g, []string{proxyIP, mailIP}),
			sport: g.between(1024, 65535), dport: port})
	}
}
