// Package iptables parses Linux netfilter packet log lines (the LOG / NFLOG
// targets of iptables and nftables, UFW, firewalld, Shorewall) as they reach
// syslog or the journal:
//
//	Jun 23 08:51:22 server1 kernel: [486938.916177] [UFW BLOCK] IN=eth1 OUT=
//	MAC=... SRC=86.101.38.88 DST=10.0.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=50
//	ID=51005 DF PROTO=TCP SPT=41945 DPT=16881 WINDOW=7300 RES=0x00 SYN URGP=0
//
// (one line). The text between the kernel time stamp and "IN=" is the
// --log-prefix the administrator chose; the action is read from it. Lines of
// the same files that are not packet logs (other kernel messages, firewalld's
// own errors) are events too, kept as text.
package iptables

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/parse/syslog"
)

type parser struct{}

// New returns the netfilter log parser.
func New() parse.Parser { return parser{} }

func (parser) Name() string { return "iptables" }

func (parser) Describe() string {
	return "Linux netfilter (iptables/nftables/UFW/firewalld) kernel packet log: [PREFIX] IN=eth0 OUT= SRC=... DST=... PROTO=TCP SPT=... DPT=..."
}

// Sniff accepts netfilter packet lines (IN=, SRC= and DST= or PROTO=) and
// the firewalld daemon's own syslog lines.
func (parser) Sniff(rec []byte) bool {
	if inField(rec) >= 0 && bytes.Contains(rec, []byte(" SRC=")) &&
		(bytes.Contains(rec, []byte(" DST=")) || bytes.Contains(rec, []byte(" PROTO="))) {
		return true
	}
	return bytes.Contains(rec, []byte(" firewalld: ")) || bytes.Contains(rec, []byte(" firewalld["))
}

// inField returns the index of the "IN=" field: the first "IN=" at the start
// of the text or after a character that cannot end a longer key (so not in
// "PHYSIN="), or -1.
func inField[T ~string | ~[]byte](b T) int {
	for i := 0; i+3 <= len(b); i++ {
		if b[i] == 'I' && b[i+1] == 'N' && b[i+2] == '=' {
			if i == 0 {
				return 0
			}
			c := b[i-1]
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
				return i
			}
		}
	}
	return -1
}

func (parser) Parse(rec []byte, ev *event.Event, pc *parse.Context) error {
	line := bytes.TrimRight(rec, " \t\r\n\x00")
	if len(bytes.TrimLeft(line, " \t")) == 0 {
		return parse.ErrSkip
	}
	s := string(line)

	msgFrom := 0
	program := ""
	hd, err := syslog.Parse(line, pc)
	if err == nil {
		ev.Time, ev.Host, program = hd.Time, hd.Host, hd.Program
		msgFrom = len(line) - len(hd.Msg)
		// "2024-10-06T16:24:12.159518 [1552566.842275] prefix IN=...": no
		// host, the kernel's uptime stamp was taken for one.
		if h := hd.Host; len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']' && isUptime(h[1:len(h)-1]) {
			ev.Host = ""
		}
	} else if t, n, ok := dmesgTime(s, pc); ok {
		// dmesg -T: "[Tue Jul 18 10:51:43 2014] ..."
		ev.Time = t
		msgFrom = n
	}
	msg := strings.TrimLeft(s[msgFrom:], " ")
	// Kernel uptime stamp: "[486938.916177] ", "[   20.586965] ".
	if len(msg) > 2 && msg[0] == '[' {
		if i := strings.IndexByte(msg, ']'); i > 1 && isUptime(msg[1:i]) {
			msg = strings.TrimLeft(msg[i+1:], " ")
		}
	}

	in := inField(msg)
	packet := in >= 0 && strings.Contains(msg[in:], " SRC=")
	if !packet {
		if err != nil && ev.Time.IsZero() {
			return fmt.Errorf("iptables: neither a netfilter packet line (IN=... SRC=...) nor a syslog line")
		}
		other(program, msg, ev, pc)
	} else {
		prefix := strings.TrimRight(msg[:in], " ")
		if prefix != "" {
			ev.SetExtra("prefix", prefix)
			ev.Set(event.Action, prefixAction(prefix))
		}
		fields(msg[in:], ev)
	}
	if ev.Time.IsZero() {
		return fmt.Errorf("iptables: no wall-clock time stamp (syslog header or dmesg -T) in line")
	}
	return nil
}

func isUptime(s string) bool {
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == ' ':
		case c == '.':
			dot = true
		default:
			return false
		}
	}
	return dot
}

// dmesgTime reads the "[Tue Jul 18 10:51:43 2014]" stamp of dmesg -T.
func dmesgTime(s string, pc *parse.Context) (time.Time, int, bool) {
	if len(s) < 26 || s[0] != '[' || s[4] != ' ' {
		return time.Time{}, 0, false
	}
	i := strings.IndexByte(s, ']')
	if i < 20 || i > 30 {
		return time.Time{}, 0, false
	}
	t, err := time.ParseInLocation("Mon Jan _2 15:04:05 2006", s[1:i], pc.Location)
	if err != nil {
		return time.Time{}, 0, false
	}
	return t.UTC(), i + 1, true
}

// prefixAction reads the action from a --log-prefix: "[UFW BLOCK]",
// "IN_public_DROP:", "FINAL_REJECT:", "iptables ACCEPT: ".
func prefixAction(p string) string {
	switch {
	case containsFold(p, "REJECT"):
		return "reject"
	case containsFold(p, "DROP"):
		return "drop"
	case containsFold(p, "BLOCK"), containsFold(p, "DENY"), containsFold(p, "DENIED"):
		return "deny"
	case containsFold(p, "ACCEPT"), containsFold(p, "ALLOW"), containsFold(p, "PERMIT"):
		return "allow"
	}
	return ""
}

// containsFold reports whether s contains the upper-case ASCII word w in any
// case.
func containsFold(s, w string) bool {
	n := len(w)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for j < n {
			c := s[i+j]
			if c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			if c != w[j] {
				break
			}
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}

// extraNames are the extra field names of the other netfilter fields.
var extraNames = map[string]string{
	"MAC": "mac", "LEN": "len", "TOS": "tos", "PREC": "prec", "TTL": "ttl", "ID": "ip_id",
	"WINDOW": "window", "RES": "res", "URGP": "urgp", "TC": "tc", "HOPLIMIT": "hoplimit",
	"FLOWLBL": "flowlbl", "TYPE": "icmp_type", "CODE": "icmp_code", "SEQ": "icmp_seq",
	"MTU": "mtu", "MARK": "mark", "UID": "uid", "GID": "gid", "PHYSIN": "physin",
	"PHYSOUT": "physout", "ACK": "ack", "OPT": "ip_options",
}

func isFlag(t string) bool {
	switch t {
	case "CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN":
		return true
	}
	return false
}

// fields maps "IN=eth0 OUT= MAC=... SRC=... DST=... ... SYN URGP=0".
func fields(s string, ev *event.Event) {
	flagsFrom, flagsTo := -1, -1
	for i := 0; i < len(s); {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) {
			break
		}
		// ICMP errors quote the offending packet: "[SRC=... DST=... ]".
		if s[i] == '[' {
			depth := 0
			for i < len(s) {
				if s[i] == '[' {
					depth++
				} else if s[i] == ']' {
					depth--
					if depth == 0 {
						i++
						break
					}
				}
				i++
			}
			continue
		}
		j := i
		for j < len(s) && s[j] != ' ' {
			j++
		}
		tok := s[i:j]
		i = j
		k, v, ok := strings.Cut(tok, "=")
		if !ok {
			if isFlag(tok) {
				// Keep the last run of adjacent flags ("ACK PSH FIN").
				if start := j - len(tok); flagsFrom < 0 || flagsTo != start-1 {
					flagsFrom = start
				}
				flagsTo = j
			}
			continue
		}
		if v == "" {
			continue
		}
		switch k {
		case "IN":
			ev.SetExtra("in_iface", v)
		case "OUT":
			ev.SetExtra("out_iface", v)
		case "SRC":
			ev.Set(event.SrcIP, v)
		case "DST":
			ev.Set(event.DstIP, v)
		case "SPT":
			ev.Set(event.SrcPort, v)
		case "DPT":
			ev.Set(event.DstPort, v)
		case "PROTO":
			ev.Set(event.Proto, protoName(v))
		default:
			name, known := extraNames[k]
			if !known {
				name = k
			}
			// The first LEN/ID is the IP header's; later ones (UDP length,
			// ICMP id) do not replace it.
			if (k == "LEN" || k == "ID") && ev.Extra(name) != "" {
				continue
			}
			ev.SetExtra(name, v)
		}
	}
	if flagsFrom >= 0 {
		ev.SetExtra("tcp_flags", s[flagsFrom:flagsTo])
	}
}

// protoName lower-cases PROTO=TCP and names the usual protocol numbers.
func protoName(v string) string {
	switch v {
	case "TCP", "6":
		return "tcp"
	case "UDP", "17":
		return "udp"
	case "ICMP", "1":
		return "icmp"
	case "ICMPv6", "58":
		return "icmpv6"
	}
	return strings.ToLower(v)
}

// other keeps a non-packet line: firewalld's "2014-07-18 10:51:43 ERROR:
// text" gets its level split off, and its own time stamp, which unlike the
// RFC 3164 header has a year, becomes the event time.
func other(program, msg string, ev *event.Event, pc *parse.Context) {
	ev.SetExtra("program", program)
	if len(msg) >= 20 && msg[4] == '-' && msg[10] == ' ' && msg[13] == ':' {
		if t, rest, ok := syslog.ParseTime([]byte(msg[:19]), pc); ok && len(rest) == 0 {
			ev.Time = t
		}
		msg = strings.TrimLeft(msg[19:], " ")
		if i := strings.Index(msg, ": "); i > 0 && i <= 8 && isUpper(msg[:i]) {
			ev.SetExtra("level", msg[:i])
			msg = msg[i+2:]
		}
	}
	ev.SetExtra("message", msg)
}

func isUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
