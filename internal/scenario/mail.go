package scenario

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/text/encoding/japanese"
)

// msg is one message through the Postfix server (mail-server = 192.168.1.6),
// which is both the Internet relay and the mailbox server of example.co.jp.
type msg struct {
	t          time.Time
	clientName string // smtpd client host name, "unknown" when no rDNS
	clientIP   string
	helo       string
	envFrom    string
	hdrFrom    string // the From: header value as logged
	rcpts      []string
	atts       []attachment
	size       int
	msgID      string
	fromTag    []int // tags on the header From: WARN line
}

// attachment is one MIME part with a name: Postfix logs its Content-Type and
// Content-Disposition headers through mime_header_checks WARN rules.
type attachment struct {
	ctype string // Content-Type value as logged (with ;? name="...")
	disp  string // Content-Disposition value as logged, "" for none
	tags  []int
}

// partner organizations the staff exchange mail with.
type extOrg struct {
	domain   string
	mx       string
	mxIP     string
	out      string // their outbound relay
	outIP    string
	contacts [][3]string // local part, romanized name, Japanese name
}

var extOrgs = []extOrg{
	{domain: "partner-corp.co.jp", mx: "mx.partner-corp.co.jp", mxIP: "198.51.100.25", out: "mail.partner-corp.co.jp", outIP: "198.51.100.26",
		contacts: [][3]string{{"suzuki", "Suzuki Ichiro", "鈴木 一郎"}, {"ogura", "Ogura Kei", "小倉 圭"}, {"sales", "Partner Sales", "パートナー営業部"}}},
	{domain: "tokyo-shoji.co.jp", mx: "mx1.tokyo-shoji.co.jp", mxIP: "198.51.100.40", out: "smtp.tokyo-shoji.co.jp", outIP: "198.51.100.41",
		contacts: [][3]string{{"yamada", "Yamada Hanako", "山田 花子"}, {"info", "Tokyo Shoji", "東京商事"}, {"k-honda", "Honda Kenji", "本田 健二"}}},
	{domain: "nihon-buhin.co.jp", mx: "mail.nihon-buhin.co.jp", mxIP: "198.51.100.60", out: "mail.nihon-buhin.co.jp", outIP: "198.51.100.60",
		contacts: [][3]string{{"kimura.k", "Kimura Kazuo", "木村 和夫"}, {"eigyo", "Nihon Buhin", "日本部品 営業部"}}},
	{domain: "kaihatsu-kk.co.jp", mx: "mx.kaihatsu-kk.co.jp", mxIP: "198.51.100.90", out: "out.kaihatsu-kk.co.jp", outIP: "198.51.100.91",
		contacts: [][3]string{{"h.sato", "Sato Hiroshi", "佐藤 浩"}, {"nishida", "Nishida Ryo", "西田 亮"}}},
}

// newsletters arrive on any day.
var newsletters = []struct{ from, name, host, ip string }{
	{"mailmag@news.biz-journal.jp", "Biz Journal", "mta01.biz-journal.jp", "210.152.243.17"},
	{"info@mailnews.shop-navi.jp", "ショップナビ", "mx.shop-navi.jp", "210.152.243.90"},
	{"noreply@seminar-info.jp", "セミナー情報", "smtp.seminar-info.jp", "202.214.86.35"},
}

func isoJP(s string) string {
	b, err := japanese.ISO2022JP.NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return "=?ISO-2022-JP?B?" + base64.StdEncoding.EncodeToString([]byte(b)) + "?="
}

func utf8B(s string) string {
	return "=?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte(s)) + "?="
}

// sjisB encodes s as the Shift_JIS encoded word of JPCERT fig 4-3.
func sjisB(s string) string {
	b, err := japanese.ShiftJIS.NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return "=?Shift_JIS?B?" + base64.StdEncoding.EncodeToString([]byte(b)) + "?="
}

// fromHeader renders a From: header value in one of the styles mail
// clients use.
func (g *gen) fromHeader(addr, roman, japanese string) string {
	switch x := g.r.IntN(10); {
	case x < 4:
		return isoJP(japanese) + " <" + addr + ">"
	case x < 7:
		return `"` + roman + `" <` + addr + ">"
	case x < 8:
		return utf8B(japanese) + " <" + addr + ">"
	case x < 9:
		return "<" + addr + ">"
	default:
		return roman + " <" + addr + ">"
	}
}

// Benign attachment names. The Japanese ones are RFC 2047 or RFC 2231 encoded.
type attName struct {
	name, ctype string
	style       int // 0 plain, 1 ISO-2022-JP B, 2 UTF-8 B, 3 RFC 2231
}

var benignAtts = []attName{
	{"invoice.pdf", "application/pdf", 0},
	{"report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 0},
	{"見積書.pdf", "application/pdf", 1},
	{"議事録_0205.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 2},
	{"週報.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 3},
	{"schedule.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 0},
	{"image001.png", "image/png", 0},
	{"presentation.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", 0},
	{"発注書.pdf", "application/pdf", 1},
}

func (g *gen) benignAttachment() attachment {
	a := pick(g, benignAtts)
	return makeAttachment(a.name, a.ctype, a.style, g.chance(0.5))
}

// makeAttachment renders the two header values. folded reproduces the way
// Postfix logs a folded header (the line break shows as "?", JPCERT fig 4-3).
func makeAttachment(name, ctype string, style int, folded bool) attachment {
	sep := "; "
	if folded {
		sep = ";? "
	}
	var nameParam, fileParam string
	switch style {
	case 1:
		enc := isoJP(name)
		nameParam, fileParam = `name="`+enc+`"`, `filename="`+enc+`"`
	case 2:
		enc := utf8B(name)
		nameParam, fileParam = `name="`+enc+`"`, `filename="`+enc+`"`
	case 3:
		pct := strings.ReplaceAll(url.PathEscape(name), "+", "%2B")
		nameParam, fileParam = `name*=UTF-8''`+pct, `filename*=UTF-8''`+pct
	case 4: // Shift_JIS B (the document's executable)
		enc := sjisB(name)
		nameParam, fileParam = `name="`+enc+`"`, `filename="`+enc+`"`
	default:
		nameParam, fileParam = `name="`+name+`"`, `filename="`+name+`"`
	}
	disp := "attachment"
	if strings.HasPrefix(ctype, "image/") {
		disp = "inline"
	}
	return attachment{ctype: ctype + sep + nameParam, disp: disp + sep + fileParam}
}

func (g *gen) queueID() string {
	for {
		q := g.hex(10)
		if !g.qids[q] {
			g.qids[q] = true
			return q
		}
	}
}

var (
	qmgrPID    = 1187
	cleanupPID = []int{29597, 30114, 31208}
)

// mail emits the Postfix log lines of one message.
func (g *gen) mail(m msg) {
	q := g.queueID()
	t := m.t
	step := func(ms int) time.Time {
		t = t.Add(time.Duration(ms) * time.Millisecond)
		return t
	}
	syslog := func(at time.Time, proc string, pid int, text string, tags ...int) {
		g.add(FileMail, at, fmt.Sprintf("%s %s postfix/%s[%d]: %s", g.mailStamp(at), mailHost, proc, pid, text), tags...)
	}
	client := fmt.Sprintf("%s[%s]", m.clientName, m.clientIP)
	smtpd := g.between(2000, 32000)
	cleanup := pick(g, cleanupPID)
	if m.msgID == "" {
		m.msgID = fmt.Sprintf("<%s.%s@%s>", m.t.UTC().Format("20060102150405"), g.hex(8), domainOf(m.envFrom))
	}
	syslog(t, "smtpd", smtpd, "connect from "+client)
	syslog(step(g.between(40, 300)), "smtpd", smtpd, q+": client="+client)
	syslog(step(g.between(40, 400)), "cleanup", cleanup, q+": message-id="+m.msgID)
	ctx := fmt.Sprintf(" from %s; from=<%s> to=<%s> proto=ESMTP helo=<%s>", client, m.envFrom, m.rcpts[0], m.helo)
	syslog(step(g.between(1, 20)), "cleanup", cleanup, q+": warning: header From: "+m.hdrFrom+ctx, m.fromTag...)
	for _, a := range m.atts {
		syslog(step(g.between(1, 60)), "cleanup", cleanup, q+": warning: header Content-Type: "+a.ctype+ctx, a.tags...)
		if a.disp != "" {
			syslog(step(g.between(0, 5)), "cleanup", cleanup, q+": warning: header Content-Disposition: "+a.disp+ctx, a.tags...)
		}
	}
	syslog(step(g.between(50, 600)), "qmgr", qmgrPID, fmt.Sprintf("%s: from=<%s>, size=%d, nrcpt=%d (queue active)", q, m.envFrom, m.size, len(m.rcpts)))
	syslog(step(g.between(5, 80)), "smtpd", smtpd, "disconnect from "+client)
	delivered := t
	for _, r := range m.rcpts {
		d0 := delivered.Sub(m.t).Seconds()
		if strings.HasSuffix(r, "@"+domain) {
			dt := step(g.between(20, 400))
			syslog(dt, "local", g.between(2000, 32000), fmt.Sprintf("%s: to=<%s>, relay=local, %s, dsn=2.0.0, status=sent (delivered to mailbox)",
				q, r, delays(m.t, dt, d0, 0)))
			continue
		}
		org := orgOf(domainOf(r))
		dns := step(g.between(2, 30))
		g.dnsQuery(dns, mailIP, org.domain, "MX")
		g.dnsQuery(dns.Add(time.Duration(g.between(2, 40))*time.Millisecond), mailIP, org.mx, "A")
		conn := step(g.between(60, 300))
		dur := g.between(0, 2)
		g.fw(flow{start: conn, dur: dur, policy: polDMZUntrust, service: "smtp", proto: 6, srcZone: "DMZ", dstZone: "Untrust",
			action: "Permit", sent: int64(m.size + g.between(600, 1500)), rcvd: int64(g.between(500, 1200)),
			src: mailIP, dst: org.mxIP, sport: g.between(proxyPortLo, proxyPortHi), dport: 25})
		dt := step(g.between(300, 2000))
		syslog(dt, "smtp", g.between(2000, 32000), fmt.Sprintf("%s: to=<%s>, relay=%s[%s]:25, %s, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as %s)",
			q, r, org.mx, org.mxIP, delays(m.t, dt, d0, 0.3), g.hex(10)))
	}
	syslog(step(g.between(1, 30)), "qmgr", qmgrPID, q+": removed")
}

// delays renders Postfix's "delay=…, delays=a/b/c/d".
func delays(start, done time.Time, beforeQueue, conn float64) string {
	total := done.Sub(start).Seconds()
	xmit := total - beforeQueue - 0.01 - conn
	if xmit < 0.01 {
		xmit = 0.01
	}
	return fmt.Sprintf("delay=%.2f, delays=%.2f/0.01/%.2g/%.2f", total, beforeQueue, conn, xmit)
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return addr
}

func orgOf(d string) extOrg {
	for _, o := range extOrgs {
		if o.domain == d {
			return o
		}
	}
	panic("scenario: unknown mail domain " + d)
}

// inbound builds a message from the Internet; the firewall logs (a sample
// of) the SMTP sessions and the mail server resolves the client.
func (g *gen) inbound(t time.Time, clientName, clientIP, helo, envFrom, hdrFrom string, rcpts []string, atts []attachment) msg {
	if g.chance(0.5) {
		g.fw(flow{start: t.Add(-time.Duration(g.between(100, 900)) * time.Millisecond), dur: g.between(0, 3), policy: polUntrustDMZPermit,
			service: "smtp", proto: 6, srcZone: "Untrust", dstZone: "DMZ", action: "Permit",
			sent: int64(g.between(600, 1600)), rcvd: int64(g.between(3000, 200000)),
			src: clientIP, dst: mailIP, sport: g.between(1024, 65535), dport: 25})
	}
	rev := reverseName(clientIP)
	g.dnsQuery(t.Add(time.Duration(g.between(5, 60))*time.Millisecond), mailIP, rev, "PTR")
	if clientName != "unknown" {
		g.dnsQuery(t.Add(time.Duration(g.between(70, 120))*time.Millisecond), mailIP, clientName, "A")
	}
	return msg{t: t, clientName: clientName, clientIP: clientIP, helo: helo, envFrom: envFrom, hdrFrom: hdrFrom,
		rcpts: rcpts, atts: atts, size: g.size(atts)}
}

func (g *gen) size(atts []attachment) int {
	n := g.between(2500, 18000)
	for range atts {
		n += g.between(30000, 900000)
	}
	return n
}

func reverseName(ip string) string {
	p := strings.Split(ip, ".")
	return p[3] + "." + p[2] + "." + p[1] + "." + p[0] + ".in-addr.arpa"
}

// ---- background mail -------------------------------------------------------

func (g *gen) bgMailDay(d int) {
	business := isBusinessDay(d)
	if business {
		for _, h := range g.pcs {
			// from partners
			for i, n := 0, g.count(2.6*h.activity, 0); i < n; i++ {
				o := pick(g, extOrgs)
				c := pick(g, o.contacts)
				addr := c[0] + "@" + o.domain
				hdr := g.fromHeader(addr, c[1], c[2])
				if addr == "yamada@tokyo-shoji.co.jp" {
					hdr = isoJP(c[2]) + " <" + addr + ">" // J1 look-alike: encoded name, no address
				}
				if addr == "kimura.k@nihon-buhin.co.jp" {
					hdr = `"kimura.k@nihon-buhin.co.jp" <kimura.k@nihon-buhin.co.jp>` // J1 look-alike
				}
				if addr == "info@tokyo-shoji.co.jp" {
					hdr = `"info@Tokyo-Shoji.co.jp" <info@tokyo-shoji.co.jp>` // J1 look-alike
				}
				var atts []attachment
				if g.chance(0.25) {
					atts = append(atts, g.benignAttachment())
				}
				t := g.at(d, 8, 0, 11*3600)
				g.mail(g.inbound(t, o.out, o.outIP, o.out, addr, hdr, []string{h.email()}, atts))
			}
			// internal mail
			for i, n := 0, g.count(1.2*h.activity, 0); i < n; i++ {
				t := g.workTime(d)
				rcpts := []string{pick(g, g.pcs).email()}
				if g.chance(0.3) {
					if r := pick(g, g.pcs).email(); r != rcpts[0] {
						rcpts = append(rcpts, r)
					}
				}
				var atts []attachment
				if g.chance(0.2) {
					atts = append(atts, g.benignAttachment())
				}
				disp := userDisplay[h.user]
				g.mail(msg{t: t, clientName: strings.ToLower(h.name) + "." + domain, clientIP: h.ip, helo: h.name,
					envFrom: h.email(), hdrFrom: g.fromHeader(h.email(), disp[0], disp[1]), rcpts: rcpts, atts: atts, size: g.size(atts)})
			}
			// to partners
			for i, n := 0, g.count(0.9*h.activity, 0); i < n; i++ {
				t := g.workTime(d)
				o := pick(g, extOrgs)
				c := pick(g, o.contacts)
				var atts []attachment
				if g.chance(0.2) {
					atts = append(atts, g.benignAttachment())
				}
				disp := userDisplay[h.user]
				g.mail(msg{t: t, clientName: strings.ToLower(h.name) + "." + domain, clientIP: h.ip, helo: h.name,
					envFrom: h.email(), hdrFrom: g.fromHeader(h.email(), disp[0], disp[1]), rcpts: []string{c[0] + "@" + o.domain}, atts: atts, size: g.size(atts)})
			}
		}
	}
	// newsletters, every day, to a few subscribers
	for _, nl := range newsletters {
		t := g.at(d, 6, 30, 3600)
		if !business {
			t = g.at(d, 9, 0, 3600)
		}
		subs, max := 0, g.count(4, 1)
		for _, h := range g.pcs {
			if (h.userRID+len(nl.from))%4 != 0 {
				continue
			}
			subs++
			if subs > max {
				break
			}
			t = t.Add(time.Duration(g.between(1, 20)) * time.Second)
			g.mail(g.inbound(t, nl.host, nl.ip, nl.host, nl.from, utf8B(nl.name)+" <"+nl.from+">", []string{h.email()}, nil))
		}
	}
	// spam rejected at RCPT
	for i, n := 0, g.count(1.5, 0); i < n; i++ {
		t := g.at(d, 0, 0, 86399)
		ip := fmt.Sprintf("%d.%d.%d.%d", pick(g, []int{91, 185, 117, 222, 36}), g.between(1, 254), g.between(1, 254), g.between(1, 254))
		pid := g.between(2000, 32000)
		g.add(FileMail, t, fmt.Sprintf("%s %s postfix/smtpd[%d]: connect from unknown[%s]", g.mailStamp(t), mailHost, pid, ip))
		t2 := t.Add(time.Duration(g.between(200, 2000)) * time.Millisecond)
		g.add(FileMail, t2, fmt.Sprintf("%s %s postfix/smtpd[%d]: NOQUEUE: reject: RCPT from unknown[%s]: 554 5.7.1 <%s@gmail-support.example>: Relay access denied; from=<%s@%s> to=<%s@gmail-support.example> proto=ESMTP helo=<%s>",
			g.mailStamp(t2), mailHost, pid, ip, pick(g, []string{"info", "admin", "sales"}),
			pick(g, []string{"promo", "news", "win"}), pick(g, []string{"offer-mail.example", "bulk.example"}), pick(g, []string{"info", "admin", "sales"}), ip))
		g.add(FileMail, t2.Add(80*time.Millisecond), fmt.Sprintf("%s %s postfix/smtpd[%d]: disconnect from unknown[%s]", g.mailStamp(t2.Add(80*time.Millisecond)), mailHost, pid, ip))
	}
}

// workTime is a random moment of a working day.
func (g *gen) workTime(d int) time.Time {
	return g.at(d, 8, 40, int((9*time.Hour + 50*time.Minute).Seconds()))
}

// mailStamp renders a syslog time stamp for the mail log: RFC 3164 by
// default, rsyslog's RFC 3339 high-precision form when asked.
func (g *gen) mailStamp(t time.Time) string {
	if g.opt.MailRFC3339 {
		return t.Format("2006-01-02T15:04:05.000000-07:00")
	}
	return t.Format("Jan _2 15:04:05")
}
