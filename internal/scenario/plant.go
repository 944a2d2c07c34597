package scenario

import "time"

// The attack, in order (all on the victim PC 192.168.100.23, user tanaka):
//
//	Mon 02-02 10:15  J1  spoofed From display name
//	Tue 02-03 09:12  J2  【マル秘】顧客情報！.exe (Shift_JIS, JPCERT fig 4-3)
//	Tue 02-03 09:47  J5  second stage from dl.evil-cdn.example (IOC), DNS, proxy, firewall
//	Tue 02-03 10:02  J3  direct connections to 23.23.45.67:80/443 denied
//	Wed 02-04 09:30  J2  Invoice_0204.zip (archive, low)
//	Wed 02-04 11:20  J6  CONNECT 198.51.100.77:8089 and the denied CONNECT 192.168.200.10:8089
//	Wed 02-04 11:26  J4  SHANAI → INTRA 192.168.200.10:8089 denied
//	Thu 02-05 14:31  J7  python-requests
//	Thu 02-05 …      J8  POST apt.example.com/blog/ daily at 13:53 ±2 min until Sat 02-14
//	Mon 02-09 10:31  J13 Administrator authenticates from the victim; 4672 for tanaka
//	Tue 02-10 02:07  J9  night-time access to apt.example.com (and weekend/holiday beacons)
//	Tue 02-10 10:10  J11 c2.bad.example resolved, then ssh to 203.0.113.50 permitted
//	Thu 02-12 10:30  J13 authentication burst from the victim
//	Thu 02-12 13:53  J7  Wget/1.12 (linux-gnu) (JPCERT fig 4-8)
//	Fri 02-13 15:02  J10 POST + CONNECTs to upload.exfil.example, > 100 MB
//	Sat 02-14 03:10  J13 Administrator from the victim again; J12 4719 ×2 and 1102

const (
	attackerIP   = "203.0.113.25"
	iocIP        = "203.0.113.80" // dl.evil-cdn.example
	c2IP         = "203.0.113.50" // c2.bad.example
	directIP     = "23.23.45.67"
	connectIP    = "198.51.100.77"
	exfilIP      = "198.51.100.150"
	adminSSHIP   = "203.0.113.10"
	beaconMinute = 13*60 + 53
)

// plantWindows registers the background blackouts the planted traces need.
func (g *gen) plantWindows() {
	g.blackout = append(g.blackout,
		// no DNS from the victim before the J11 query, the J3 and the J4
		// attempts: any hostname attached to them would be a guess
		window{victimIP, exact(10, 9, 58, 0, 0), exact(10, 10, 12, 0, 0)},
		window{victimIP, exact(3, 9, 40, 0, 0), exact(3, 10, 25, 0, 0)},
		window{victimIP, exact(4, 11, 8, 0, 0), exact(4, 11, 28, 0, 0)},
		// J11 look-alike: ADM01's direct ssh has no DNS query before it
		window{adminIP, exact(9, 16, 0, 0, 0), exact(9, 16, 21, 0, 0)},
	)
}

// fwAt emits a flow with an exact log stamp.
func (g *gen) fwAt(f flow, stamp time.Time, tags ...int) {
	g.add(FileFirewall, stamp, f.String(stamp), tags...)
}

func (g *gen) plant() {
	v := g.victim
	vAddr := v.email()
	mailNote := "recipient " + vAddr + " (user of " + v.name + ")"

	// ---- J1 ------------------------------------------------------------
	j1 := g.finding(Finding{ID: "J1-display-name-spoof", Rule: "J1", Host: v.ip, Key: "partner@example.co.jp", File: FileMail,
		Severity: "medium", Note: mailNote + `; From: "partner@example.co.jp" <attacker@evil.example>`})
	m := g.inbound(exact(2, 10, 15, 32, 118000), "unknown", attackerIP, "[127.0.0.1]", "attacker@evil.example",
		`"partner@example.co.jp" <attacker@evil.example>`, []string{vAddr}, nil)
	m.fromTag = []int{j1}
	g.mail(m)
	g.lookalike(LookAlike{Rule: "J1", Host: "192.168.100.14", Key: "kimura.k@nihon-buhin.co.jp", File: FileMail,
		Reason: "display name is the sender address itself"})
	g.mail(g.inbound(exact(2, 11, 2, 7, 0), "mail.nihon-buhin.co.jp", "198.51.100.60", "mail.nihon-buhin.co.jp", "kimura.k@nihon-buhin.co.jp",
		`"kimura.k@nihon-buhin.co.jp" <kimura.k@nihon-buhin.co.jp>`, []string{g.byIP["192.168.100.14"].email()}, nil))
	g.lookalike(LookAlike{Rule: "J1", Host: v.ip, Key: "yamada@tokyo-shoji.co.jp", File: FileMail,
		Reason: "RFC 2047 (ISO-2022-JP) display name 山田 花子 holds no address"})
	g.mail(g.inbound(exact(3, 14, 0, 41, 0), "smtp.tokyo-shoji.co.jp", "198.51.100.41", "smtp.tokyo-shoji.co.jp", "yamada@tokyo-shoji.co.jp",
		isoJP("山田 花子")+" <yamada@tokyo-shoji.co.jp>", []string{vAddr}, nil))
	g.lookalike(LookAlike{Rule: "J1", Host: v.ip, Key: "suzuki@partner-corp.co.jp", File: FileMail,
		Reason: "plain display name without an address"})
	g.mail(g.inbound(exact(2, 9, 41, 12, 0), "mail.partner-corp.co.jp", "198.51.100.26", "mail.partner-corp.co.jp", "suzuki@partner-corp.co.jp",
		`"Suzuki Ichiro" <suzuki@partner-corp.co.jp>`, []string{vAddr}, nil))
	g.lookalike(LookAlike{Rule: "J1", Host: "192.168.100.24", Key: "info@tokyo-shoji.co.jp", File: FileMail,
		Reason: "display name is the same address, only the domain's letter case differs"})
	g.mail(g.inbound(exact(5, 10, 20, 3, 0), "smtp.tokyo-shoji.co.jp", "198.51.100.41", "smtp.tokyo-shoji.co.jp", "info@tokyo-shoji.co.jp",
		`"info@Tokyo-Shoji.co.jp" <info@tokyo-shoji.co.jp>`, []string{g.byIP["192.168.100.24"].email()}, nil))

	// ---- J2 ------------------------------------------------------------
	exeName := "【マル秘】顧客情報！.exe"
	exe := makeAttachment(exeName, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 4, true)
	j2 := g.finding(Finding{ID: "J2-executable-attachment", Rule: "J2", Host: v.ip, Key: exeName, LineKey: sjisB(exeName), File: FileMail,
		Severity: "high", Note: mailNote + "; Shift_JIS RFC 2047 name as in JPCERT fig 4-3, Content-Type disguised as .docx"})
	exe.tags = []int{j2}
	g.mail(g.inbound(exact(3, 9, 12, 8, 431000), "unknown", attackerIP, "[127.0.0.1]", "attacker@evil.example",
		isoJP("顧客サポート")+" <attacker@evil.example>", []string{vAddr}, []attachment{exe}))

	zip := makeAttachment("Invoice_0204.zip", "application/x-zip-compressed", 0, false)
	j2z := g.finding(Finding{ID: "J2-archive-attachment", Rule: "J2", Host: v.ip, Key: "Invoice_0204.zip", File: FileMail,
		Severity: "low", Note: mailNote + "; archive (lower severity)"})
	zip.tags = []int{j2z}
	g.mail(g.inbound(exact(4, 9, 30, 40, 0), "unknown", attackerIP, "mail.evil.example", "info@evil.example",
		`"Tokyo Shoji Accounting" <info@evil.example>`, []string{vAddr}, []attachment{zip}))

	for _, la := range []struct{ ip, name string }{{v.ip, "invoice.pdf"}, {"192.168.100.24", "report.docx"}, {"192.168.100.14", "見積書.pdf"}} {
		style := 0
		ctype := "application/pdf"
		if la.name == "report.docx" {
			ctype = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
		}
		if la.name == "見積書.pdf" {
			style = 1
		}
		g.lookalike(LookAlike{Rule: "J2", Host: la.ip, Key: la.name, File: FileMail, Reason: "document attachment, not executable or archive"})
		o := extOrgs[0]
		g.mail(g.inbound(g.at(3, 11, 0, 3600), o.out, o.outIP, o.out, "ogura@partner-corp.co.jp", `"Ogura Kei" <ogura@partner-corp.co.jp>`,
			[]string{g.byIP[la.ip].email()}, []attachment{makeAttachment(la.name, ctype, style, la.name == "report.docx")}))
	}

	// ---- J5 ------------------------------------------------------------
	j5d := g.finding(Finding{ID: "J5-ioc-dns", Rule: "J5", Host: v.ip, Key: "evil-cdn.example", File: FileDNS, Severity: "high",
		Note: "query for dl.evil-cdn.example, a subdomain of the IOC domain evil-cdn.example (iocs.txt)"})
	g.dnsQuery(exact(3, 9, 47, 11, 342000), v.ip, "dl.evil-cdn.example", "A", j5d)
	j5p := g.finding(Finding{ID: "J5-ioc-proxy", Rule: "J5", Host: v.ip, Key: "evil-cdn.example", File: FileProxy, Severity: "high",
		Note: "second stage downloaded through the proxy"})
	g.proxy(proxyReq{t: exact(3, 9, 47, 12, 0), client: v.ip, method: "GET", url: "http://dl.evil-cdn.example/files/apt.zip", status: 200, bytes: 74769, ua: v.ua, tag: "TCP_MISS:HIER_DIRECT"}, j5p)
	g.proxy(proxyReq{t: exact(3, 9, 47, 14, 0), client: v.ip, method: "GET", url: "http://dl.evil-cdn.example/files/conf.dat", status: 200, bytes: 2048, ua: v.ua, tag: "TCP_MISS:HIER_DIRECT"}, j5p)
	j5f := g.finding(Finding{ID: "J5-ioc-firewall", Rule: "J5", Host: proxyIP, Key: iocIP, File: FileFirewall, Severity: "high",
		Note: "the proxy's connection to the IOC address 203.0.113.80 on behalf of " + v.ip})
	g.fwAt(flow{start: exact(3, 9, 47, 12, 0), dur: 2, policy: polDMZUntrust, service: "http", proto: 6, srcZone: "DMZ", dstZone: "Untrust",
		action: "Permit", sent: 912, rcvd: 77460, src: proxyIP, dst: iocIP, sport: 41822, dport: 80, session: 30771},
		exact(3, 9, 47, 14, 603117), j5f)
	for _, f := range []string{FileProxy, FileDNS} {
		g.lookalike(LookAlike{Rule: "J5", Host: "192.168.100.27", Key: "notevil-cdn.example.org", File: f,
			Reason: "name merely contains the IOC string; not evil-cdn.example or a subdomain of it"})
	}
	la := g.byIP["192.168.100.27"]
	g.dnsQuery(exact(6, 13, 10, 2, 77000), la.ip, "notevil-cdn.example.org", "A")
	g.proxy(proxyReq{t: exact(6, 13, 10, 3, 0), client: la.ip, method: "GET", url: "http://notevil-cdn.example.org/libs/jquery/1.11.2/jquery.min.js",
		status: 200, bytes: 95931, referer: "http://www.shinkai-works.jp/", ua: la.ua, tag: "TCP_MISS:HIER_DIRECT"})

	// ---- J3 ------------------------------------------------------------
	j3 := g.finding(Finding{ID: "J3-direct-egress", Rule: "J3", Host: v.ip, Key: directIP, File: FileFirewall, Severity: "high",
		Note: "SHANAI → Untrust denied on 80 and 443 without the proxy (JPCERT fig 4-4)"})
	// the first line is byte-for-byte the brief's example
	g.fwAt(flow{start: exact(3, 10, 2, 1, 0), dur: 0, policy: polShanaiUntrust, service: "http", proto: 6, srcZone: "SHANAI", dstZone: "Untrust",
		action: "Deny", src: v.ip, dst: directIP, sport: 58461, dport: 80}, exact(3, 10, 2, 1, 258399), j3)
	for i := 0; i < 5; i++ {
		for _, port := range []int{80, 443} {
			if i == 0 && port == 80 {
				continue
			}
			st := exact(3, 10, 2+5*i, 1, 0)
			if port == 443 {
				st = st.Add(3 * time.Second)
			}
			g.fwAt(flow{start: st, policy: polShanaiUntrust, service: serviceName(6, port), proto: 6, srcZone: "SHANAI", dstZone: "Untrust",
				action: "Deny", src: v.ip, dst: directIP, sport: 58461 + 2*i + port/443, dport: port}, st.Add(time.Duration(g.r.IntN(900000))*time.Microsecond), j3)
		}
	}
	g.lookalike(LookAlike{Rule: "J3", Host: proxyIP, Key: proxyIP, File: FileFirewall,
		Reason: "the proxy is egress_allowed: its outbound flows, permitted or denied, are its job"})
	g.lookalike(LookAlike{Rule: "J3", Host: mailIP, Key: mailIP, File: FileFirewall,
		Reason: "the mail relay is egress_allowed: outbound SMTP permitted, the odd denied submission port"})
	g.lookalike(LookAlike{Rule: "J3", Host: "222.186.30.112", Key: "222.186.30.112", File: FileFirewall,
		Reason: "inbound scan from the Internet denied at the DMZ: not internal → external"})
	for _, day := range []int{5, 12} {
		st := g.at(day-2, 14, 0, 3600)
		g.fw(flow{start: st, policy: polDMZUntrustDeny, service: "ftp", proto: 6, srcZone: "DMZ", dstZone: "Untrust", action: "Deny",
			src: proxyIP, dst: "104.28.9.123", sport: g.between(proxyPortLo, proxyPortHi), dport: 21})
	}
	g.fw(flow{start: exact(6, 16, 40, 12, 0), policy: polDMZUntrustDeny, service: "tcp/port:465", proto: 6, srcZone: "DMZ", dstZone: "Untrust", action: "Deny",
		src: mailIP, dst: "202.32.115.5", sport: g.between(proxyPortLo, proxyPortHi), dport: 465})
	for _, day := range []int{3, 8, 13} {
		g.fw(flow{start: g.at(day-2, 4, 0, 3600), policy: polUntrustDMZDeny, service: "ms-rdp", proto: 6, srcZone: "Untrust", dstZone: "DMZ",
			action: "Deny", src: "222.186.30.112", dst: mailIP, sport: g.between(1024, 65535), dport: 3389})
	}

	// ---- J6 and J4 -----------------------------------------------------
	j6e := g.finding(Finding{ID: "J6-connect-external-8089", Rule: "J6", Host: v.ip, Key: connectIP, File: FileProxy, Severity: "medium",
		Note: "CONNECT to an Internet host on port 8089"})
	g.proxy(proxyReq{t: exact(4, 11, 20, 3, 0), client: v.ip, method: "CONNECT", url: connectIP + ":8089", status: 200, bytes: 15320, ua: v.ua, tag: "TCP_TUNNEL:HIER_DIRECT"}, j6e)
	g.proxy(proxyReq{t: exact(4, 11, 21, 40, 0), client: v.ip, method: "CONNECT", url: connectIP + ":8089", status: 200, bytes: 4410, ua: v.ua, tag: "TCP_TUNNEL:HIER_DIRECT"}, j6e)
	g.fwAt(flow{start: exact(4, 11, 20, 3, 0), dur: 96, policy: polDMZUntrust, service: "tcp/port:8089", proto: 6, srcZone: "DMZ", dstZone: "Untrust",
		action: "Permit", sent: 3904, rcvd: 15702, src: proxyIP, dst: connectIP, sport: 51230, dport: 8089, session: 41117}, exact(4, 11, 21, 39, 880412))
	j6i := g.finding(Finding{ID: "J6-connect-internal-8089", Rule: "J6", Host: v.ip, Key: appIP, File: FileProxy, Severity: "medium",
		Note: "denied CONNECT to an internal address on 8089 (JPCERT fig 4-7)"})
	g.proxy(proxyReq{t: exact(4, 11, 24, 40, 0), client: v.ip, method: "CONNECT", url: appIP + ":8089", status: 403, bytes: 3641, ua: v.ua, tag: "TCP_DENIED:HIER_NONE"}, j6i)
	g.lookalike(LookAlike{Rule: "J6", Host: v.ip, Key: "www.google.com", File: FileProxy, Reason: "CONNECT to port 443"})

	j4 := g.finding(Finding{ID: "J4-denied-inter-zone", Rule: "J4", Host: v.ip, Key: appIP, File: FileFirewall, Severity: "high",
		Note: "SHANAI → INTRA on 8089 is not an allowed flow (JPCERT fig 4-5)"})
	g.fwAt(flow{start: exact(4, 11, 26, 10, 0), policy: polShanaiIntraDeny, service: "-", proto: 17, srcZone: "SHANAI", dstZone: "INTRA",
		action: "Deny", src: v.ip, dst: appIP, sport: 2562, dport: 8089}, exact(4, 11, 26, 10, 711749), j4)
	g.fwAt(flow{start: exact(4, 11, 26, 13, 0), policy: polShanaiIntraDeny, service: "tcp/port:8089", proto: 6, srcZone: "SHANAI", dstZone: "INTRA",
		action: "Deny", src: v.ip, dst: appIP, sport: 50118, dport: 8089}, exact(4, 11, 26, 13, 93120), j4)
	g.lookalike(LookAlike{Rule: "J4", Host: "192.168.100.30", Key: fsIP, File: FileFirewall, Reason: "SHANAI → INTRA 445 permitted (in allowed_flows)"})
	g.lookalike(LookAlike{Rule: "J4", Host: "192.168.100.30", Key: dcIP, File: FileFirewall, Reason: "SHANAI → INTRA 88/389 permitted (in allowed_flows)"})
	g.lookalike(LookAlike{Rule: "J4", Host: "192.168.100.31", Key: "192.168.100.32", File: FileFirewall,
		Reason: "same zone (SHANAI → SHANAI, intrazone block): not across zones"})
	g.lookalike(LookAlike{Rule: "J4", Host: "192.168.100.27", Key: dnsIP, File: FileFirewall, Reason: "SHANAI → DMZ DNS permitted (in allowed_flows)"})
	p30 := g.byIP["192.168.100.30"]
	for i, port := range []int{88, 389, 445} {
		dst := dcIP
		if port == 445 {
			dst = fsIP
		}
		st := exact(5, 10, 0, 5+i*3, 0)
		g.fw(flow{start: st, dur: 1, policy: polShanaiIntra, service: serviceName(6, port), proto: 6, srcZone: "SHANAI", dstZone: "INTRA",
			action: "Permit", sent: 1840, rcvd: 4410, src: p30.ip, dst: dst, sport: 49731 + i, dport: port})
	}
	g.fw(flow{start: exact(6, 15, 12, 40, 0), policy: polIntrazoneShanai, service: "netbios-ssn", proto: 6, srcZone: "SHANAI", dstZone: "SHANAI",
		action: "Deny", src: "192.168.100.31", dst: "192.168.100.32", sport: 50412, dport: 139})
	g.fw(flow{start: exact(6, 13, 10, 2, 0), dur: 0, policy: polShanaiDMZ, service: "dns", proto: 17, srcZone: "SHANAI", dstZone: "DMZ",
		action: "Permit", sent: 74, rcvd: 193, src: "192.168.100.27", dst: dnsIP, sport: 61771, dport: 53})

	// ---- J7 ------------------------------------------------------------
	j7p := g.finding(Finding{ID: "J7-python-requests", Rule: "J7", Host: v.ip, Key: "python-requests/2.5.1", File: FileProxy, Severity: "medium"})
	g.proxy(proxyReq{t: exact(5, 14, 31, 7, 0), client: v.ip, method: "POST", url: "http://apt.example.com/control/report.php", status: 200, bytes: 312, ua: uaPyReq, tag: "TCP_MISS:HIER_DIRECT"}, j7p)
	g.proxy(proxyReq{t: exact(5, 14, 31, 9, 0), client: v.ip, method: "GET", url: "http://apt.example.com/control/cmd.txt", status: 200, bytes: 88, ua: uaPyReq, tag: "TCP_MISS:HIER_DIRECT"}, j7p)
	j7w := g.finding(Finding{ID: "J7-wget", Rule: "J7", Host: v.ip, Key: uaWget, File: FileProxy, Severity: "medium",
		Note: "JPCERT fig 4-8"})
	g.proxy(proxyReq{t: exact(12, 13, 52, 58, 0), client: v.ip, method: "GET", url: "http://apt.example.com/control/apt.zip", status: 200, bytes: 74769, ua: uaWget, tag: "TCP_MISS:HIER_DIRECT"}, j7w)
	g.proxy(proxyReq{t: exact(12, 13, 53, 0, 0), client: v.ip, method: "POST", url: "http://apt.example.com/control/apt.zip", status: 200, bytes: 851, ua: uaWget, tag: "TCP_MISS:HIER_DIRECT"}, j7w)
	for _, l := range []struct{ key, why string }{
		{"Firefox/35.0", "Firefox on Windows: matches the allowlisted glob"},
		{"Chrome/40.0.2214.111", "Chrome on Windows: matches the allowlisted glob"},
		{"Trident/7.0", "Internet Explorer 11 on Windows: matches the allowlisted glob"},
		{"Microsoft Office/15.0", "Outlook/Office on two PCs in three: part of the learned baseline"},
		{"Java/1.8.0_31", "Java update check on one PC in three: part of the learned baseline"},
		{"Microsoft-CryptoAPI/6.1", "certificate checks on every Windows host: part of the learned baseline"},
		{"Windows-Update-Agent", "Windows Update on every Windows host: part of the learned baseline"},
	} {
		g.lookalike(LookAlike{Rule: "J7", Host: "*", Key: l.key, File: FileProxy, Reason: l.why})
	}

	// ---- J8 and J9 -----------------------------------------------------
	j8 := g.finding(Finding{ID: "J8-daily-beacon", Rule: "J8", Host: v.ip, Key: "apt.example.com", File: FileProxy, Severity: "medium",
		Note: "POST http://apt.example.com/blog/ once a day at 13:53 ±2 min on 10 consecutive days (2015-02-05 … 2015-02-14), JPCERT fig 4-9"})
	j9 := g.finding(Finding{ID: "J9-off-hours", Rule: "J9", Host: v.ip, Key: "apt.example.com", File: FileProxy, Severity: "medium",
		Note: "02:07 on a weekday, and the beacon on Saturday, Sunday, the 2015-02-11 holiday and the next Saturday"})
	for day := 5; day <= 14; day++ {
		t := exact(day, 0, 0, 0, 0).Add(time.Duration(beaconMinute)*time.Minute + time.Duration(g.between(-110, 110))*time.Second)
		tags := []int{j8}
		if !isBusinessDay(day-2) || t.Hour() < 8 || t.Hour() >= 19 {
			tags = append(tags, j9)
		}
		g.proxy(proxyReq{t: t, client: v.ip, method: "POST", url: "http://apt.example.com/blog/", status: 200, bytes: 553, ua: v.ua, tag: "TCP_MISS:HIER_DIRECT"}, tags...)
	}
	g.proxy(proxyReq{t: exact(10, 2, 7, 33, 0), client: v.ip, method: "GET", url: "http://apt.example.com/control/cmd.txt", status: 200, bytes: 88, ua: v.ua, tag: "TCP_MISS:HIER_DIRECT"}, j9)
	g.proxy(proxyReq{t: exact(10, 2, 7, 35, 0), client: v.ip, method: "POST", url: "http://apt.example.com/control/report.php", status: 200, bytes: 312, ua: v.ua, tag: "TCP_MISS:HIER_DIRECT"}, j9)
	g.lookalike(LookAlike{Rule: "J8", Host: v.ip, Key: "www.google.com", File: FileProxy, Reason: "visited every working day, but allowlisted"})
	g.lookalike(LookAlike{Rule: "J8", Host: "192.168.100.27", Key: "www.jalan.net", File: FileProxy, Reason: "visited on only 2 days (periodic_min_days is 3)"})
	g.lookalike(LookAlike{Rule: "J8", Host: "*", Key: "windowsupdate.com", File: FileProxy, Reason: "nightly updates: allowlisted maintenance domain"})
	g.lookalike(LookAlike{Rule: "J8", Host: "*", Key: "www.example.co.jp", File: FileProxy, Reason: "the organization's own site, allowlisted"})
	g.lookalike(LookAlike{Rule: "J9", Host: "*", Key: "windowsupdate.com", File: FileProxy, Reason: "night-time Windows Update: maintenance domain"})
	g.lookalike(LookAlike{Rule: "J9", Host: "*", Key: "update.microsoft.com", File: FileProxy, Reason: "night-time Windows Update: maintenance domain"})
	g.lookalike(LookAlike{Rule: "J9", Host: "*", Key: "www.yahoo.co.jp", File: FileProxy, Reason: "browsing only inside business hours"})
	for _, day := range []int{9, 10} {
		t := exact(day, 12, 20, 0, 0).Add(time.Duration(g.between(0, 1800)) * time.Second)
		g.browse(la, site{host: "www.jalan.net", paths: []string{"/yad/", "/kankou/", "/onsen/"}, assets: []string{"", "img.jalan.net"}}, t, "")
	}

	// ---- J10 -----------------------------------------------------------
	j10 := g.finding(Finding{ID: "J10-large-upload", Rule: "J10", Host: v.ip, Key: "upload.exfil.example", File: FileProxy, Severity: "high",
		Note: "POST then 4 CONNECTs to upload.exfil.example summing 124,476,698 bytes (> upload_bytes 100,000,000). Squid's combined format has no request size: the volume is carried by %<st and is an approximation of the upload."})
	up := []int64{24813402, 27262976, 31457280, 22020096, 19922944}
	t := exact(13, 15, 2, 11, 0)
	g.proxy(proxyReq{t: t, client: v.ip, method: "POST", url: "http://upload.exfil.example/api/v1/upload", status: 200, bytes: up[0], ua: v.ua, tag: "TCP_MISS:HIER_DIRECT"}, j10)
	g.fw(flow{start: t.Add(-41 * time.Second), dur: 41, policy: polDMZUntrust, service: "http", proto: 6, srcZone: "DMZ", dstZone: "Untrust",
		action: "Permit", sent: up[0] + 1422, rcvd: 1830, src: proxyIP, dst: exfilIP, sport: 44390, dport: 80})
	for i, n := range up[1:] {
		t = t.Add(time.Duration(100+g.between(0, 60)+i*10) * time.Second)
		g.proxy(proxyReq{t: t, client: v.ip, method: "CONNECT", url: "upload.exfil.example:443", status: 200, bytes: n, ua: v.ua, tag: "TCP_TUNNEL:HIER_DIRECT"}, j10)
		g.fw(flow{start: t.Add(-time.Duration(40+i) * time.Second), dur: 40 + i, policy: polDMZUntrust, service: "https", proto: 6, srcZone: "DMZ", dstZone: "Untrust",
			action: "Permit", sent: n + 2210, rcvd: 6120, src: proxyIP, dst: exfilIP, sport: 44391 + i, dport: 443})
	}
	g.lookalike(LookAlike{Rule: "J10", Host: "192.168.100.35", Key: "download.microsoft.com", File: FileProxy, Reason: "a single 300 MB GET download, not an upload"})
	p35 := g.byIP["192.168.100.35"]
	g.proxy(proxyReq{t: exact(6, 12, 31, 5, 0), client: p35.ip, method: "GET",
		url:    "http://download.microsoft.com/download/5/1/9/519F6D26-0E38-4A05-9F17-6C8F7E6C1A0B/ja_windows_7_professional_with_sp1_x64_dvd_u_676939.iso",
		status: 200, bytes: 314572800, ua: p35.ua, tag: "TCP_MISS:HIER_DIRECT"})
	g.lookalike(LookAlike{Rule: "J10", Host: "192.168.100.28", Key: "www.example.co.jp", File: FileProxy,
		Reason: "many small POSTs (WordPress heartbeat while editing the company site), a few hundred kB in all"})
	p28 := g.byIP["192.168.100.28"]
	for _, day := range []int{5, 10} {
		t := exact(day, 9, 30, 0, 0).Add(time.Duration(g.between(0, 600)) * time.Second)
		for i := 0; i < 60; i++ {
			g.proxy(proxyReq{t: t, client: p28.ip, method: "POST", url: "http://www.example.co.jp/wp-admin/admin-ajax.php", status: 200,
				bytes: int64(g.between(280, 720)), referer: "http://www.example.co.jp/wp-admin/post.php?post=1024&action=edit", ua: p28.ua, tag: "TCP_MISS:HIER_DIRECT"})
			t = t.Add(time.Duration(g.between(48, 72)) * time.Second)
		}
	}

	// ---- J11 -----------------------------------------------------------
	j11d := g.finding(Finding{ID: "J11-dns-then-direct-dns", Rule: "J11", Host: v.ip, Key: "c2.bad.example", File: FileDNS, Severity: "medium",
		Note: "the victim resolves c2.bad.example 28 s before connecting directly to 203.0.113.50:22 (JPCERT fig 4-11)"})
	g.dnsQuery(exact(10, 10, 10, 42, 118000), v.ip, "c2.bad.example", "A", j11d)
	g.dnsQuery(exact(10, 10, 10, 42, 131000), v.ip, "c2.bad.example", "AAAA", j11d)
	j11f := g.finding(Finding{ID: "J11-dns-then-direct-firewall", Rule: "J11", Host: v.ip, Key: "c2.bad.example", LineKey: c2IP, File: FileFirewall, Severity: "medium",
		Note: "permitted SHANAI → Untrust ssh to 203.0.113.50, the address c2.bad.example resolved to"})
	g.fwAt(flow{start: exact(10, 10, 11, 10, 0), dur: 12, policy: polShanaiSSH, service: "ssh", proto: 6, srcZone: "SHANAI", dstZone: "Untrust",
		action: "Permit", sent: 4212, rcvd: 3184, src: v.ip, dst: c2IP, sport: 50233, dport: 22, session: 22871}, exact(10, 10, 11, 22, 402231), j11f)
	g.lookalike(LookAlike{Rule: "J11", Host: adminIP, Key: adminSSHIP, File: FileFirewall, Reason: "direct ssh with no DNS query before it: nothing to attach"})
	g.fwAt(flow{start: exact(9, 16, 20, 5, 0), dur: 1312, policy: polIntraUntrustSSH, service: "ssh", proto: 6, srcZone: "INTRA", dstZone: "Untrust",
		action: "Permit", sent: 88214, rcvd: 412907, src: adminIP, dst: adminSSHIP, sport: 51544, dport: 22, session: 19113}, exact(9, 16, 41, 57, 118734))
	g.lookalike(LookAlike{Rule: "J11", Host: mailIP, Key: "mx.partner-corp.co.jp", File: FileDNS,
		Reason: "the egress-allowed mail relay resolves mx.partner-corp.co.jp, then the firewall permits its SMTP to 198.51.100.25: its normal work"})
	p24 := g.byIP["192.168.100.24"]
	g.mail(msg{t: exact(5, 11, 5, 40, 0), clientName: "pc024." + domain, clientIP: p24.ip, helo: p24.name, envFrom: p24.email(),
		hdrFrom: `"Yamaguchi Rie" <` + p24.email() + ">", rcpts: []string{"suzuki@partner-corp.co.jp"}, size: 6120})

	// ---- J13 (a), (b) on 2015-02-09 ------------------------------------
	j13a := g.finding(Finding{ID: "J13-admin-unexpected-host", Rule: "J13", Host: v.ip, Key: "Administrator", File: FileAD, Severity: "high",
		Note: "Administrator (allowed only from 192.168.200.5) authenticates from 192.168.100.23 / PC023 on 2015-02-09 and 2015-02-14"})
	fs := userAcct("FS01$", 1112)
	t = exact(9, 10, 31, 15, 220000)
	g.ev4768(t, acctAdministrator, v.ip, j13a)
	g.ev4769(t.Add(180*time.Millisecond), acctAdministrator, fs, v.ip, "", j13a)
	lid := g.ev4624(t.Add(420*time.Millisecond), acctAdministrator, 3, v.ip, "", false, true, j13a)
	g.ev4672(t.Add(421*time.Millisecond), acctAdministrator, lid, privAdmin)

	j13b := g.finding(Finding{ID: "J13-privileges-unexpected-account", Rule: "J13", Host: v.ip, Key: "tanaka", File: FileAD, Severity: "high",
		Note: "4672 special privileges assigned to tanaka, who is not an administrator"})
	t = exact(9, 10, 45, 20, 610000)
	lid = g.ev4624(t, v.account(), 3, v.ip, "", false, true)
	g.ev4672(t.Add(time.Millisecond), v.account(), lid, privTheft, j13b)

	// ---- J13 (c)/(d): burst on 2015-02-12 --------------------------------
	j13c := g.finding(Finding{ID: "J13-auth-burst", Rule: "J13", Host: v.ip, Key: v.ip, File: FileAD, Severity: "medium",
		Note: "sudden change (c) and abnormally many (d): the victim's daily authentication count jumps from about a dozen to several hundred on 2015-02-12 (Kerberos service-ticket sweep)"})
	services := []account{fs, userAcct("APP01$", 1111), userAcct("ADM01$", 1110), userAcct("svc_sql", 1120), userAcct("svc_web", 1121)}
	n := 120 + int(280*g.scale)
	if n > 600 {
		n = 600
	}
	from := exact(12, 10, 30, 0, 0)
	span := int64(5 * time.Hour)
	for i := 0; i < n; i++ {
		t := from.Add(time.Duration(int64(i) * span / int64(n))).Add(time.Duration(g.r.IntN(20_000_000)) * time.Microsecond)
		switch x := g.r.IntN(100); {
		case x < 50:
			g.ev4769(t, v.account(), pick(g, services), v.ip, "0x17", j13c)
		case x < 85:
			g.ev4624(t, v.account(), 3, v.ip, "", false, false, j13c)
		default:
			g.ev4768(t, v.account(), v.ip, j13c)
		}
	}
	g.lookalike(LookAlike{Rule: "J13", Host: adminIP, Key: "ADM01", File: FileAD,
		Reason: "Administrator logs on from its allowed host ADM01 (192.168.200.5) every working day; the key is the host name because the true J13 alert names the allowed address"})
	g.lookalike(LookAlike{Rule: "J13", Host: dcIP, Key: "S-1-5-18", File: FileAD, Reason: "4672 for SYSTEM"})
	g.lookalike(LookAlike{Rule: "J13", Host: dcIP, Key: "DC01$", File: FileAD, Reason: "4672 for the domain controller's machine account"})
	g.lookalike(LookAlike{Rule: "J13", Host: "192.168.100.24", Key: "192.168.100.24", File: FileAD, Reason: "steady daily authentication count"})
	g.lookalike(LookAlike{Rule: "J13", Host: fsIP, Key: fsIP, File: FileAD, Reason: "server with a steady count every day, weekends included"})

	// ---- 2015-02-14 night: J13 (a) again, J12 ----------------------------
	t = exact(14, 3, 10, 2, 118000)
	g.ev4776(t, "Administrator", v.name, j13a)
	lid = g.ev4624(t.Add(390*time.Millisecond), acctAdministrator, 3, v.ip, v.name, true, true, j13a)
	g.ev4672(t.Add(391*time.Millisecond), acctAdministrator, lid, privAdmin)
	j12a := g.finding(Finding{ID: "J12-audit-policy-changed", Rule: "J12", Host: dcIP, Key: "4719", File: FileAD, Severity: "high",
		Note: "4719: Logon and Process Creation auditing switched off (success and failure removed)"})
	g.ev4719(exact(14, 3, 12, 47, 301000), "%%8273", "%%12544", "{0CCE9215-69AE-11D9-BED3-505054503030}", "%%8448, %%8450", j12a)
	g.ev4719(exact(14, 3, 12, 47, 309000), "%%8276", "%%13312", "{0CCE922B-69AE-11D9-BED3-505054503030}", "%%8448, %%8450", j12a)
	j12b := g.finding(Finding{ID: "J12-log-cleared", Rule: "J12", Host: dcIP, Key: "1102", File: FileAD, Severity: "high",
		Note: "1102: the Security log was cleared by Administrator"})
	g.ev1102(exact(14, 3, 15, 20, 877000), acctAdministrator, lid, j12b)
	g.lookalike(LookAlike{Rule: "J12", Host: dcIP, Key: "gpupdate.exe", File: FileAD, Reason: "routine 4688 process creation"})
	g.lookalike(LookAlike{Rule: "J12", Host: "192.168.100.11", Key: "PC011$", File: FileAD, Reason: "routine 4624 machine-account logon"})
}
