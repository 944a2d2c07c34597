// Package netscreen parses Juniper ScreenOS (NetScreen / SSG) syslog lines,
// the firewall log the JPCERT/CC guide uses in its examples (figures 4-4,
// 4-5, 4-11):
//
//	2014-12-16T01:02:01.258399+09:00 192.168.1.1 ns208-master: NetScreen device_id=ns208-master
//	[Root]system-notification-00257(traffic): start_time="2014-12-16 00:11:15" duration=0
//	policy_id=36 service=http proto=6 src zone=SHANAI dst zone=Untrust action=Deny sent=0 rcvd=0
//	src=192.168.100.1 dst=23.23.1.1 src_port=58461 dst port=80 session_id=0
//
// (one line). Traffic messages carry key=value pairs whose keys may contain
// a space ("src zone", "dst port", "src-xlated ip") and whose unquoted values
// may too ("service=msrpc Endpoint Mapper(tcp)"); a value therefore runs up
// to the next key. Every other message (configuration changes, admin
// logins, screening alarms such as "SYN flood!") is an event too, kept as
// text with its message id and level.
package netscreen

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/parse/syslog"
)

type parser struct{}

// New returns the NetScreen parser.
func New() parse.Parser { return parser{} }

func (parser) Name() string { return "netscreen" }

func (parser) Describe() string {
	return "Juniper ScreenOS/SSG NetScreen syslog (NetScreen device_id=... [Root]system-notification-00257(traffic): key=value ...)"
}

// Sniff accepts any line carrying the "NetScreen device_id=" marker.
func (parser) Sniff(rec []byte) bool {
	ns, _ := marker(rec)
	return ns >= 0
}

var deviceID = []byte("device_id=")

// marker finds "NetScreen device_id=" (any case of "NetScreen", one or more
// spaces) and returns where "NetScreen" starts and where the device id value
// starts, or -1.
func marker(b []byte) (ns, val int) {
	off := 0
	for {
		i := bytes.Index(b[off:], deviceID)
		if i < 0 {
			return -1, -1
		}
		i += off
		j := i
		for j > 0 && b[j-1] == ' ' {
			j--
		}
		if j < i && j >= 9 && bytes.EqualFold(b[j-9:j], []byte("NetScreen")) {
			return j - 9, i + len(deviceID)
		}
		off = i + len(deviceID)
	}
}

func (parser) Parse(rec []byte, ev *event.Event, pc *parse.Context) error {
	line := bytes.TrimRight(rec, " \t\r\n\x00")
	if len(bytes.TrimLeft(line, " \t")) == 0 {
		return parse.ErrSkip
	}
	ns, val := marker(line)
	if ns < 0 {
		return fmt.Errorf("netscreen: no %q marker in line", "NetScreen device_id=")
	}
	s := string(line)

	// Syslog header (optional): the time the device sent the line.
	var hdrTime time.Time
	sysHost := ""
	if h := bytes.TrimSpace(line[:ns]); len(h) > 0 {
		h = stripPRI(h)
		if f := bytes.Split(h, []byte("\t")); len(f) == 4 {
			// Kiwi Syslog: "2007-01-11 10:06:15<TAB>Local0.Notice<TAB>10.10.27.1<TAB>fw:".
			if t, rest, ok := syslog.ParseTime(f[0], pc); ok && len(rest) == 0 {
				hdrTime, sysHost = t, string(f[2])
			}
		} else if hd, err := syslog.Parse(h, pc); err == nil {
			hdrTime, sysHost = hd.Time, hd.Host
		} else if i := bytes.IndexByte(h, ' '); i > 0 && h[i-1] != ':' {
			// "192.168.1.3 Netscreen-FW1: NetScreen ..." (relay without time).
			sysHost = string(h[:i])
		}
	}

	// device_id
	end := val
	for end < len(s) && s[end] != ' ' {
		end++
	}
	dev := s[val:end]
	if dev != "" {
		ev.Host = dev
	} else {
		ev.Host = sysHost
	}
	if sysHost != "" && sysHost != ev.Host {
		ev.SetExtra("syslog_host", sysHost)
	}

	rest := strings.TrimLeft(s[end:], " ")
	// Virtual system: "[Root]", "[No Name]".
	if len(rest) > 0 && rest[0] == '[' {
		if i := strings.IndexByte(rest, ']'); i > 0 {
			ev.SetExtra("vsys", rest[1:i])
			rest = rest[i+1:]
		}
	}
	body := rest
	msgType := ""
	if c := strings.IndexByte(rest, ':'); c > 0 && c < 96 && !strings.ContainsAny(rest[:c], "=\"") {
		if t, ok := messageHeader(rest[:c], ev); ok {
			msgType = t
			body = strings.TrimLeft(rest[c+1:], " ")
		}
	}

	if msgType == "traffic" || startsWithPair(body) {
		traffic(body, ev)
	} else if body != "" {
		systemMessage(body, ev)
	}

	switch {
	case !hdrTime.IsZero():
		ev.Time = hdrTime
	default:
		t, ok := localTime(ev.Extra("start_time"), pc)
		if !ok {
			t, ok = localTime(ev.Extra("device_time"), pc)
		}
		if !ok {
			return fmt.Errorf("netscreen: no time stamp (no syslog header, start_time or device time) in line")
		}
		ev.Time = t
	}
	return nil
}

// stripPRI removes a leading "<N>" and the spaces after it.
func stripPRI(h []byte) []byte {
	if len(h) > 0 && h[0] == '<' {
		if i := bytes.IndexByte(h, '>'); i > 1 && i <= 4 {
			return bytes.TrimLeft(h[i+1:], " ")
		}
	}
	return h
}

// messageHeader reads "system-notification-00257(traffic)": it sets the
// message id, level and type, and reports false (setting nothing) when h is
// not such a header.
func messageHeader(h string, ev *event.Event) (msgType string, ok bool) {
	h = strings.TrimSpace(h)
	if strings.HasSuffix(h, ")") {
		if i := strings.LastIndexByte(h, '('); i >= 0 {
			msgType = h[i+1 : len(h)-1]
			h = h[:i]
		}
	}
	i := strings.LastIndexByte(h, '-')
	if i < 0 || !allDigits(h[i+1:]) {
		return "", false
	}
	id := h[i+1:]
	h = h[:i]
	ev.Set(event.EventID, id)
	ev.SetExtra("message_id", id)
	if i := strings.LastIndexAny(h, "- "); i >= 0 {
		if cat := h[:i]; cat != "system" {
			ev.SetExtra("category", cat)
		}
		h = h[i+1:]
	}
	ev.SetExtra("level", h)
	ev.SetExtra("msg_type", msgType)
	return msgType, true
}

func startsWithPair(body string) bool {
	i := 0
	for i < len(body) && isKeyChar(body[i]) {
		i++
	}
	return i > 0 && i < len(body) && body[i] == '='
}

// traffic maps the key=value pairs of a traffic message.
func traffic(body string, ev *event.Event) {
	xlated := "" // which translated address a following "port=" belongs to
	scanPairs(body, func(key, val string) {
		val = cleanValue(val)
		if val == "" {
			return
		}
		switch key {
		case "src":
			ev.Set(event.SrcIP, val)
		case "dst":
			ev.Set(event.DstIP, val)
		case "src_port", "src port", "srcPort", "src-port":
			ev.Set(event.SrcPort, unparen(val))
		case "dst_port", "dst port", "dstPort", "dst-port":
			ev.Set(event.DstPort, unparen(val))
		case "src zone", "src_zone":
			ev.Set(event.SrcZone, val)
		case "dst zone", "dst_zone":
			ev.Set(event.DstZone, val)
		case "action":
			a := normalizeAction(val)
			ev.Set(event.Action, a)
			if a != val {
				ev.SetExtra("action_raw", val)
			}
		case "proto":
			ev.Set(event.Proto, protoName(val))
		case "service":
			if val != "-" {
				ev.Set(event.Service, val)
			}
		case "sent":
			ev.Set(event.BytesOut, val)
		case "rcvd":
			ev.Set(event.BytesIn, val)
		case "duration":
			if n, err := strconv.ParseInt(val, 10, 64); err == nil && n >= 0 && n < 1<<40 {
				ev.Set(event.Duration, strconv.FormatInt(n*1000, 10))
			} else {
				ev.SetExtra("duration", val)
			}
		case "policy_id", "policy id":
			ev.SetExtra("policy_id", val)
		case "session_id":
			ev.SetExtra("session_id", val)
		case "start_time":
			ev.SetExtra("start_time", val)
		case "src-xlated ip", "srcXlated ip":
			xlated = "src_xlated"
			ev.SetExtra("src_xlated_ip", val)
		case "dst-xlated ip", "dstXlated ip":
			xlated = "dst_xlated"
			ev.SetExtra("dst_xlated_ip", val)
		case "translated ip":
			xlated = "xlated"
			ev.SetExtra("xlated_ip", val)
		case "port":
			if xlated != "" {
				ev.SetExtra(xlated+"_port", unparen(val))
			} else {
				ev.SetExtra("port", unparen(val))
			}
		case "icmp type":
			ev.SetExtra("icmp_type", val)
		case "reason", "user", "vsys":
			if key == "user" {
				ev.Set(event.User, val)
			} else {
				ev.SetExtra(key, val)
			}
		default:
			ev.SetExtra(extraName(key), val)
		}
	})
}

// cleanValue drops the "<000>" NUL marker some relays append to the last value.
func cleanValue(v string) string {
	v = strings.TrimSuffix(v, "<000>")
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t' || v[len(v)-1] == 0) {
		v = v[:len(v)-1]
	}
	return v
}

// unparen turns "(1254)" into "1254" (old ScreenOS writes ports that way).
func unparen(v string) string {
	if len(v) >= 2 && v[0] == '(' && v[len(v)-1] == ')' {
		return v[1 : len(v)-1]
	}
	return v
}

// extraName makes an extra field name of an unknown key: lower case, with
// spaces and dashes turned into underscores.
func extraName(k string) string {
	clean := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c == ' ' || c == '-' || (c >= 'A' && c <= 'Z') {
			clean = false
			break
		}
	}
	if clean {
		return k
	}
	b := []byte(k)
	for i, c := range b {
		switch {
		case c == ' ' || c == '-':
			b[i] = '_'
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// compound reports whether w is the first word of a two-word ScreenOS key
// ("src zone", "dst port", "src-xlated ip", "icmp type", "policy id").
func compound(w string) bool {
	switch w {
	case "src", "dst", "src-xlated", "dst-xlated", "srcXlated", "dstXlated", "icmp", "policy", "translated":
		return true
	}
	return false
}

// keyAt returns the start of the key whose '=' is at eq (including a
// compound first word) and the key text, or ok=false when the '=' does not
// end a key (not preceded by a word that starts a token).
func keyAt(s string, eq int) (start int, key string, ok bool) {
	i := eq
	for i > 0 && isKeyChar(s[i-1]) {
		i--
	}
	if i == eq || (i > 0 && s[i-1] != ' ') {
		return 0, "", false
	}
	start = i
	if i >= 2 {
		j := i - 1 // the space
		k := j
		for k > 0 && s[k-1] != ' ' {
			k--
		}
		if compound(s[k:j]) {
			return k, s[k:eq], true
		}
	}
	return start, s[start:eq], true
}

// nextKey finds the next '=' at or after from that ends a key.
func nextKey(s string, from int) (eq, start int, key string) {
	for from < len(s) {
		i := strings.IndexByte(s[from:], '=')
		if i < 0 {
			return -1, len(s), ""
		}
		eq = from + i
		if st, k, ok := keyAt(s, eq); ok {
			return eq, st, k
		}
		from = eq + 1
	}
	return -1, len(s), ""
}

// scanPairs calls fn for each key=value pair of s. A quoted value ends at
// its closing quote; an unquoted one runs up to the next key.
func scanPairs(s string, fn func(key, val string)) {
	eq, _, key := nextKey(s, 0)
	for eq >= 0 {
		vs := eq + 1
		var val string
		var nEq, nStart int
		var nKey string
		if q := quote(s, vs); q != "" {
			vs += len(q)
			e := strings.Index(s[vs:], q)
			next := len(s)
			if e < 0 {
				val = s[vs:]
			} else {
				val = s[vs : vs+e]
				next = vs + e + len(q)
			}
			nEq, _, nKey = nextKey(s, next)
		} else {
			nEq, nStart, nKey = nextKey(s, vs)
			if nStart < vs {
				nStart = vs
			}
			val = strings.Trim(s[vs:nStart], " ")
		}
		fn(key, val)
		eq, key = nEq, nKey
	}
}

// quote returns the quote that opens the value at s[i:]: `"`, or `\"` as
// written by relays that escape the line once more; "" when unquoted.
func quote(s string, i int) string {
	switch {
	case i < len(s) && s[i] == '"':
		return `"`
	case i+1 < len(s) && s[i] == '\\' && s[i+1] == '"':
		return `\"`
	}
	return ""
}

// normalizeAction maps ScreenOS actions to the common vocabulary.
func normalizeAction(v string) string {
	switch {
	case hasPrefixFold(v, "permit"), hasPrefixFold(v, "accept"), hasPrefixFold(v, "allow"),
		hasPrefixFold(v, "tunnel"), hasPrefixFold(v, "pass"):
		return "allow"
	case hasPrefixFold(v, "deny"), hasPrefixFold(v, "block"):
		return "deny"
	case hasPrefixFold(v, "reject"):
		return "reject"
	case hasPrefixFold(v, "drop"):
		return "drop"
	case hasPrefixFold(v, "close"):
		return "close"
	}
	return strings.ToLower(v)
}

func hasPrefixFold(s, p string) bool {
	return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p)
}

// protoName names the common IP protocol numbers; names are lower-cased.
func protoName(v string) string {
	switch v {
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "1":
		return "icmp"
	}
	if allDigits(v) {
		return v
	}
	return strings.ToLower(v)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// localTime reads "2006-01-02 15:04:05" (device-local) in pc.Location.
func localTime(v string, pc *parse.Context) (time.Time, bool) {
	if len(v) < 19 {
		return time.Time{}, false
	}
	t, rest, ok := syslog.ParseTime([]byte(v), pc)
	if !ok || len(rest) != 0 {
		return time.Time{}, false
	}
	return t, true
}

// systemMessage keeps the text of a non-traffic message and pulls out the
// addresses, user and counters the common ScreenOS messages carry.
func systemMessage(msg string, ev *event.Event) {
	ev.SetExtra("message", msg)

	// "... (2014-05-23 10:58:17)": the device-local time of the event.
	if strings.HasSuffix(msg, ")") {
		if i := strings.LastIndexByte(msg, '('); i >= 0 && len(msg)-i-2 == 19 && msg[i+5] == '-' {
			ev.SetExtra("device_time", msg[i+1:len(msg)-1])
		}
	}

	// Screening alarms: "SYN flood! From 192.168.18.53:41437 to
	// 192.168.17.251:9612, proto TCP (zone Untrust int  ethernet0/0).
	// Occurred 1 times."
	if i := strings.Index(msg, "From "); i >= 0 {
		tok, rest := word(msg[i+5:])
		if endpoint(ev, event.SrcIP, event.SrcPort, tok) && strings.HasPrefix(rest, " to ") {
			tok, _ = word(rest[4:])
			endpoint(ev, event.DstIP, event.DstPort, tok)
		}
	}
	if i := strings.Index(msg, "proto "); i >= 0 && ev.Has(event.SrcIP) {
		if tok, _ := word(msg[i+6:]); tok != "" {
			ev.Set(event.Proto, protoName(tok))
		}
	}
	if i := strings.Index(msg, "(zone "); i >= 0 {
		tok, rest := word(msg[i+6:])
		ev.Set(event.SrcZone, tok)
		rest = strings.TrimLeft(rest, ", ")
		if strings.HasPrefix(rest, "int ") {
			rest = strings.TrimLeft(rest[4:], " ")
			if j := strings.IndexByte(rest, ')'); j > 0 {
				ev.SetExtra("interface", rest[:j])
			}
		}
	}
	if i := strings.Index(msg, "Occurred "); i >= 0 {
		if tok, _ := word(msg[i+9:]); allDigits(tok) {
			ev.SetExtra("count", tok)
		}
	}

	// Administration: "... by netscreen via web from host 10.10.10.101 to
	// 10.10.10.1:443", "Management session via SSH from 10.10.10.100:0 for
	// admin netscreen has timed out".
	if i := strings.Index(msg, " via "); i >= 0 {
		if tok, _ := word(msg[i+5:]); tok != "" {
			ev.SetExtra("via", tok)
		}
		if j := strings.LastIndex(msg[:i], " by "); j >= 0 {
			if u := msg[j+4 : i]; u != "" && !strings.Contains(u, " ") {
				ev.Set(event.User, u)
			}
		}
	}
	for _, p := range []string{"for admin ", "by admin ", "Admin user ", "admin user "} {
		if i := strings.Index(msg, p); i >= 0 {
			if tok, _ := word(msg[i+len(p):]); tok != "" {
				ev.Set(event.User, strings.Trim(tok, "\"'"))
				break
			}
		}
	}
	if !ev.Has(event.SrcIP) {
		if i := strings.Index(msg, " from host "); i >= 0 {
			tok, rest := word(msg[i+11:])
			if endpoint(ev, event.SrcIP, event.SrcPort, tok) && strings.HasPrefix(rest, " to ") {
				tok, _ = word(rest[4:])
				endpoint(ev, event.DstIP, event.DstPort, tok)
			}
		} else if i := strings.Index(msg, " from "); i >= 0 {
			tok, _ := word(msg[i+6:])
			endpoint(ev, event.SrcIP, event.SrcPort, tok)
		}
	}
}

// word returns the text up to the next space, comma or closing parenthesis,
// with a trailing full stop removed, and the rest.
func word(s string) (string, string) {
	i := 0
	for i < len(s) && s[i] != ' ' && s[i] != ',' && s[i] != ')' {
		i++
	}
	return strings.TrimSuffix(s[:i], "."), s[i:]
}

// endpoint stores "ip" or "ip:port" when it is an address.
func endpoint(ev *event.Event, ipKey, portKey event.Key, tok string) bool {
	if tok == "" {
		return false
	}
	if _, err := netip.ParseAddr(tok); err == nil {
		ev.Set(ipKey, tok)
		return true
	}
	if i := strings.LastIndexByte(tok, ':'); i > 0 && allDigits(tok[i+1:]) {
		if _, err := netip.ParseAddr(tok[:i]); err == nil {
			ev.Set(ipKey, tok[:i])
			ev.Set(portKey, tok[i+1:])
			return true
		}
	}
	return false
}
