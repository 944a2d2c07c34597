package scenario

import (
	"fmt"
	"time"
)

// flow is one NetScreen traffic log (JPCERT fig 4-4 shape, rsyslog ISO time
// stamp in front). The line is stamped when the session ends: start+duration.
type flow struct {
	start      time.Time
	dur        int // seconds
	policy     int
	service    string
	proto      int
	srcZone    string
	dstZone    string
	action     string // Permit or Deny
	sent, rcvd int64
	src, dst   string
	sport      int
	dport      int
	session    int
}

// Policy ids of the firewall rule base.
const (
	polUntrustDMZPermit = 5  // Untrust → DMZ smtp
	polUntrustDMZDeny   = 2  // Untrust → DMZ default deny
	polDMZUntrust       = 12 // proxy / mail relay → Untrust
	polDMZUntrustDeny   = 13 // DMZ → Untrust default deny
	polShanaiIntra      = 21 // SHANAI → INTRA kerberos, ldap, smb
	polShanaiDMZ        = 24 // SHANAI → DMZ proxy, dns, smtp
	polShanaiUntrust    = 36 // SHANAI → Untrust default deny (fig 4-4)
	polShanaiIntraDeny  = 38 // SHANAI → INTRA default deny (fig 4-5)
	polShanaiSSH        = 41 // SHANAI → Untrust ssh (legacy rule)
	polIntraUntrustSSH  = 44 // INTRA → Untrust ssh (admin)
	polIntrazoneShanai  = 50 // SHANAI intrazone block
	maxSession          = 65000
	firstSession        = 1207
	proxyPortLo         = 32768
	proxyPortHi         = 60999
	winPortLo           = 49152
	winPortHi           = 65535
	fwDeviceAndSyslogIP = "192.168.1.1 ns208-master: NetScreen device_id=ns208-master  [Root]system-notification-00257(traffic): "
)

func (f flow) String(stamp time.Time) string {
	return fmt.Sprintf("%s %sstart_time=\"%s\" duration=%d policy_id=%d service=%s proto=%d src zone=%s dst zone=%s action=%s sent=%d rcvd=%d src=%s dst=%s src_port=%d dst_port=%d session_id=%d",
		stamp.Format("2006-01-02T15:04:05.000000-07:00"), fwDeviceAndSyslogIP,
		f.start.Format("2006-01-02 15:04:05"), f.dur, f.policy, f.service, f.proto, f.srcZone, f.dstZone,
		f.action, f.sent, f.rcvd, f.src, f.dst, f.sport, f.dport, f.session)
}

// fw emits a flow; the log time stamp is start + duration + a little.
func (g *gen) fw(f flow, tags ...int) time.Time {
	if f.action == "Permit" && f.session == 0 {
		g.usedPorts++
		f.session = firstSession + (g.usedPorts*7919)%maxSession
	}
	stamp := f.start.Truncate(time.Second).Add(time.Duration(f.dur)*time.Second + time.Duration(g.r.IntN(900_000))*time.Microsecond)
	g.add(FileFirewall, stamp, f.String(stamp), tags...)
	return stamp
}

func serviceName(proto, port int) string {
	switch {
	case proto == 6 && port == 80:
		return "http"
	case proto == 6 && port == 443:
		return "https"
	case proto == 6 && port == 25:
		return "smtp"
	case proto == 6 && port == 22:
		return "ssh"
	case proto == 17 && port == 53:
		return "dns"
	case port == 88:
		return "kerberos"
	case port == 389:
		return "ldap"
	case proto == 6 && port == 445:
		return "smb"
	case proto == 6 && port == 8080:
		return "http-ext"
	case proto == 6 && port == 3389:
		return "ms-rdp"
	case proto == 6 && port == 23:
		return "telnet"
	case proto == 6 && port == 21:
		return "ftp"
	}
	return "-"
}

// egress logs (a sample of) the proxy's own connections to the Internet on
// behalf of its clients.
func (g *gen) egress(t time.Time, hostname string, port int, size int64) {
	if !g.chance(0.12) {
		return
	}
	dur := g.between(0, 25)
	g.fw(flow{
		start: t.Add(-time.Duration(g.between(0, 400)) * time.Millisecond), dur: dur, policy: polDMZUntrust,
		service: serviceName(6, port), proto: 6, srcZone: "DMZ", dstZone: "Untrust", action: "Permit",
		sent: int64(g.between(400, 3000)), rcvd: size + int64(g.between(200, 800)),
		src: proxyIP, dst: ipOf(hostname), sport: g.between(proxyPortLo, proxyPortHi), dport: port,
	})
}
