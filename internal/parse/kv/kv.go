// Package kv parses generic key=value firewall logs: FortiGate
// ("date=2019-05-10 time=11:37:47 devname="FG" logid="0000000013"
// type="traffic" srcip=10.1.1.1 srcport=1234 dstip=... action="deny" ..."),
// SonicWall ("id=firewall sn=... time="..." m=98 msg="..." src=1.2.3.4:80:X1
// dst=..."), Juniper SRX structured syslog ("[junos@2636... source-address="..."
// destination-address="..." ...]"), Sophos and similar, with or without a
// syslog header in front.
//
// Every pair is kept as an extra field under its own name; the usual aliases
// of the common fields (srcip/src/src_ip/source-address, dstport/dpt/
// dst_port, sentbyte/bytes_sent/sent, ...) are mapped to them.
package kv

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

// New returns the key=value firewall log parser.
func New() parse.Parser { return parser{} }

func (parser) Name() string { return "kv" }

func (parser) Describe() string {
	return "key=value firewall logs (FortiGate, SonicWall, Junos structured syslog, ...): srcip=... dstip=... action=..."
}

// kind says how the value of a known key is used.
type kind uint8

const (
	kCommon     kind = iota // stored as is in a common field
	kIP                     // address, possibly "ip:port:interface:name" (SonicWall)
	kPort                   // decimal port
	kAction                 // normalized action
	kProto                  // protocol number or name, possibly "tcp/https"
	kDuration               // seconds
	kUser                   // user name; "N/A", "NULL" mean none
	kZoneRole               // FortiGate srcintfrole/dstintfrole; "undefined" means none
	kHost                   // reporting device name
	kDevID                  // device serial (FortiGate devid)
	kSerial                 // SonicWall sn
	kFW                     // SonicWall fw (device address)
	kSonicMsgID             // SonicWall m
	kSonicMsg               // SonicWall msg
	kDate                   // date=2019-05-10
	kTime                   // time=11:37:47 (FortiGate) or time="2019-02-27 12:55:40 UTC" (SonicWall)
	kTZ                     // tz="+0900", timezone=...
	kEpoch                  // eventtime / timestamp: s, ms, µs or ns since 1970
)

type spec struct {
	kind kind
	key  event.Key
	prio uint8 // a higher priority alias wins over a lower one
}

var aliases = map[string]spec{}

func alias(k kind, key event.Key, prio uint8, names ...string) {
	for _, n := range names {
		aliases[n] = spec{k, key, prio}
	}
}

func init() {
	alias(kIP, event.SrcIP, 3, "srcip", "src", "src_ip", "source_ip", "sourceip", "source-address", "src_addr", "srcaddr", "srcv6")
	alias(kIP, event.DstIP, 3, "dstip", "dst", "dst_ip", "destination_ip", "destinationip", "destination-address", "dst_addr", "dstaddr", "dest_ip", "dstv6")
	alias(kPort, event.SrcPort, 3, "srcport", "spt", "src_port", "sport", "source_port", "source-port")
	alias(kPort, event.DstPort, 3, "dstport", "dpt", "dst_port", "dport", "destination_port", "destination-port", "dest_port")
	alias(kCommon, event.SrcZone, 3, "srczone", "src_zone", "source-zone-name", "from_zone", "fromzone", "srczn")
	alias(kCommon, event.DstZone, 3, "dstzone", "dst_zone", "destination-zone-name", "to_zone", "tozone", "dstzn")
	alias(kZoneRole, event.SrcZone, 1, "srcintfrole")
	alias(kZoneRole, event.DstZone, 1, "dstintfrole")
	alias(kProto, event.Proto, 3, "proto", "protocol", "protocol-id", "protocol-name")
	alias(kAction, event.Action, 4, "fw_action")
	alias(kAction, event.Action, 3, "action")
	alias(kAction, event.Action, 2, "act")
	alias(kCommon, event.BytesOut, 3, "sentbyte", "bytes_sent", "sent", "sent_bytes", "sentbytes", "bytesout", "bytes_out", "out_bytes")
	alias(kCommon, event.BytesIn, 3, "rcvdbyte", "bytes_recv", "rcvd", "recv_bytes", "rcvd_bytes", "received_bytes", "bytes_received", "rcvdbytes", "bytesin", "bytes_in", "in_bytes")
	alias(kUser, event.User, 3, "user", "usr", "srcuser")
	alias(kUser, event.User, 2, "username", "user_name", "suser")
	alias(kCommon, event.Service, 3, "service", "service-name")
	alias(kCommon, event.Service, 2, "svc")
	alias(kCommon, event.Domain, 3, "hostname")
	alias(kCommon, event.Domain, 2, "dstname")
	alias(kCommon, event.URL, 3, "url")
	alias(kCommon, event.URL, 2, "uri")
	alias(kCommon, event.UserAgent, 3, "agent", "user_agent", "useragent", "http_user_agent")
	alias(kCommon, event.Method, 3, "http_method", "request_method")
	alias(kCommon, event.Status, 3, "status")
	alias(kCommon, event.EventID, 3, "logid", "log_id", "event_id")
	alias(kDuration, event.Duration, 3, "duration")
	alias(kHost, 0, 5, "devname")
	alias(kHost, 0, 4, "device_name")
	alias(kDevID, 0, 0, "devid")
	alias(kSerial, 0, 0, "sn")
	alias(kFW, 0, 0, "fw")
	alias(kSonicMsgID, 0, 0, "m")
	alias(kSonicMsg, 0, 0, "msg")
	alias(kDate, 0, 0, "date")
	alias(kTime, 0, 0, "time")
	alias(kTZ, 0, 0, "tz", "timezone")
	alias(kEpoch, 0, 1, "timestamp")
	alias(kEpoch, 0, 2, "eventtime")
}

// lookup finds the spec of key, case-insensitively, without allocating.
func lookup[T text](key T) (spec, bool) {
	var buf [40]byte
	if len(key) > len(buf) {
		return spec{}, false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	sp, ok := aliases[string(buf[:len(key)])]
	return sp, ok
}

// Sniff accepts a line with at least four key=value pairs among which a
// source and a destination address, and refuses the formats that look alike
// but have their own parsers: NetScreen ("NetScreen device_id="), netfilter
// kernel lines ("IN=... SRC=..."), CEF/LEEF and Linux audit records.
func (parser) Sniff(rec []byte) bool {
	if len(rec) < 16 ||
		bytes.Contains(rec, []byte("device_id=")) && containsFold(rec, "netscreen") ||
		bytes.Contains(rec, []byte("IN=")) && bytes.Contains(rec, []byte("SRC=")) ||
		bytes.Contains(rec, []byte("CEF:")) || bytes.Contains(rec, []byte("LEEF:")) ||
		bytes.Contains(rec, []byte("msg=audit(")) {
		return false
	}
	var src, dst bool
	n := scanPairs(rec, func(k, v []byte) {
		if sp, ok := lookup(k); ok && sp.kind == kIP && len(v) > 0 {
			if sp.key == event.SrcIP {
				src = true
			} else {
				dst = true
			}
		}
	})
	return n >= 4 && src && dst
}

// state gathers, while the pairs are scanned, what is decided at the end.
type state struct {
	prio                       [event.NumKeys]uint8
	host                       string
	hostPrio                   uint8
	devid, sn, fw, m, msg      string
	date, clock, tz            string
	epoch                      string
	epochPrio                  uint8
	srcIntfSeen, dstIntfSeen   bool
	srcNameSeen, dstNameSeen   bool
	srcIntf, dstIntf, sn0, dn0 string
}

func (st *state) set(ev *event.Event, k event.Key, p uint8, v string) bool {
	if v == "" || v == "-" || st.prio[k] > p {
		return false
	}
	st.prio[k] = p + 1 // 0 means "unset"
	ev.Set(k, v)
	return true
}

func (st *state) pair(ev *event.Event, k, v string) {
	ev.SetExtra(k, v)
	switch k {
	case "srcintf":
		st.srcIntfSeen = true
	case "dstintf":
		st.dstIntfSeen = true
	case "srcname":
		st.srcNameSeen = true
	case "dstname":
		st.dstNameSeen = true
	}
	sp, ok := lookup(k)
	if !ok || v == "" {
		return
	}
	switch sp.kind {
	case kCommon:
		if sp.key == event.Domain && sp.prio < 3 {
			// dstname may be the address itself: not a name.
			if _, err := netip.ParseAddr(v); err == nil {
				return
			}
		}
		st.set(ev, sp.key, sp.prio, v)
	case kIP:
		ip, port, intf, name := splitEndpoint(v)
		st.set(ev, sp.key, sp.prio, ip)
		portKey := event.SrcPort
		if sp.key == event.DstIP {
			portKey = event.DstPort
		}
		if allDigits(port) {
			st.set(ev, portKey, 1, port)
		}
		if sp.key == event.SrcIP {
			st.srcIntf, st.sn0 = intf, name
		} else {
			st.dstIntf, st.dn0 = intf, name
		}
	case kPort:
		if allDigits(v) {
			st.set(ev, sp.key, sp.prio, v)
		}
	case kAction:
		a := normalizeAction(v)
		if st.set(ev, event.Action, sp.prio, a) {
			if a != v {
				ev.SetExtra("action_raw", v)
			} else if ev.Extra("action_raw") != "" {
				ev.SetExtra("action_raw", v)
			}
		}
	case kProto:
		p, svc, _ := strings.Cut(v, "/")
		st.set(ev, event.Proto, sp.prio, protoName(p))
		st.set(ev, event.Service, 0, svc)
	case kDuration:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && n < 1<<40 {
			st.set(ev, event.Duration, sp.prio, strconv.FormatInt(n*1000, 10))
		}
	case kUser:
		if !strings.EqualFold(v, "N/A") && !strings.EqualFold(v, "NULL") {
			st.set(ev, event.User, sp.prio, v)
		}
	case kZoneRole:
		if v != "undefined" {
			st.set(ev, sp.key, sp.prio, v)
		}
	case kHost:
		if sp.prio >= st.hostPrio {
			st.host, st.hostPrio = v, sp.prio
		}
	case kDevID:
		st.devid = v
	case kSerial:
		st.sn = v
	case kFW:
		st.fw = v
	case kSonicMsgID:
		st.m = v
	case kSonicMsg:
		st.msg = v
	case kDate:
		st.date = v
	case kTime:
		st.clock = v
	case kTZ:
		st.tz = v
	case kEpoch:
		if sp.prio >= st.epochPrio {
			st.epoch, st.epochPrio = v, sp.prio
		}
	}
}

// header is what the text in front of the pairs says.
type header struct {
	time     time.Time
	syslog   string // syslog host
	host     string // RFC 5424 host (Junos: the device)
	app      string // RFC 5424 app-name
	msgid    string // RFC 5424 msgid (Junos: RT_FLOW_SESSION_DENY)
	bodyFrom int    // where the pairs start
}

func (parser) Parse(rec []byte, ev *event.Event, pc *parse.Context) error {
	line := bytes.TrimRight(rec, " \t\r\n\x00")
	if len(bytes.TrimLeft(line, " \t")) == 0 {
		return parse.ErrSkip
	}
	s := string(line)
	h := splitHeader(line, pc)
	var st state
	if scanPairs(s[h.bodyFrom:], func(k, v string) { st.pair(ev, k, v) }) == 0 {
		return fmt.Errorf("kv: no key=value pairs in line")
	}
	sonic := st.sn != "" && st.m != ""

	// Interface and name parts of SonicWall "ip:port:interface:name" values,
	// unless the line has its own srcintf/srcname pairs.
	if st.srcIntf != "" && !st.srcIntfSeen {
		ev.SetExtra("srcintf", st.srcIntf)
	}
	if st.dstIntf != "" && !st.dstIntfSeen {
		ev.SetExtra("dstintf", st.dstIntf)
	}
	if st.sn0 != "" && !st.srcNameSeen {
		ev.SetExtra("srcname", st.sn0)
	}
	if st.dn0 != "" && !st.dstNameSeen {
		ev.SetExtra("dstname", st.dn0)
	}

	// Reporting device.
	host := st.host
	for _, c := range [...]string{h.host, h.syslog, st.fw, st.devid} {
		if host != "" {
			break
		}
		host = c
	}
	ev.Host = host
	if h.syslog != "" && h.syslog != host {
		ev.SetExtra("syslog_host", h.syslog)
	}

	// Message id and action implied by it.
	if h.msgid != "" {
		st.set(ev, event.EventID, 0, h.msgid)
		ev.SetExtra("app", h.app)
		if !ev.Has(event.Action) {
			st.set(ev, event.Action, 0, junosAction(h.msgid))
		}
	}
	if sonic {
		st.set(ev, event.EventID, 0, st.m)
		if !ev.Has(event.Action) {
			st.set(ev, event.Action, 0, sonicAction(st.msg))
		}
	}

	t, err := st.eventTime(h, pc)
	if err != nil {
		return err
	}
	ev.Time = t
	return nil
}

// splitHeader finds the syslog (RFC 3164 / ISO / RFC 5424) header in front of
// the pairs, if any.
func splitHeader(line []byte, pc *parse.Context) header {
	var h header
	off := 0
	for off < len(line) && (line[off] == ' ' || line[off] == '\t') {
		off++
	}
	if off < len(line) && line[off] == '<' {
		if i := bytes.IndexByte(line[off:], '>'); i > 1 && i <= 4 && allDigits(string(line[off+1:off+i])) {
			off += i + 1
		}
	}
	if startsWithPair(line[off:]) {
		h.bodyFrom = off
		return h
	}
	// RFC 5424: "<PRI>1 TIME HOST APP PROCID MSGID [SD] MSG".
	if len(line)-off > 2 && line[off] == '1' && line[off+1] == ' ' {
		if r, ok := rfc5424(line, off+2, pc, false); ok {
			return r
		}
	}
	hd, err := syslog.Parse(line[off:], pc)
	if err != nil {
		h.bodyFrom = off
		return h
	}
	h.time, h.syslog = hd.Time, hd.Host
	h.bodyFrom = len(line) - len(hd.Msg)
	// Junos structured syslog relayed by a BSD syslog daemon: the message is
	// "TIME HOST APP PROCID MSGID [junos@... k="v" ...]".
	if m := h.bodyFrom; m < len(line) && line[m] >= '0' && line[m] <= '9' {
		if r, ok := rfc5424(line, m, pc, true); ok {
			r.syslog = h.syslog
			if r.time.IsZero() {
				r.time = h.time
			}
			return r
		}
	}
	return h
}

// rfc5424 reads "TIME HOST APP PROCID MSGID " at line[i:]. With needSD the
// structured data must follow (the embedded Junos form).
func rfc5424(line []byte, i int, pc *parse.Context, needSD bool) (header, bool) {
	var h header
	tok, j := token(line, i)
	if string(tok) != "-" {
		t, rest, ok := syslog.ParseTime(tok, pc)
		if !ok || len(rest) != 0 {
			return h, false
		}
		h.time = t
	}
	var f [4][]byte
	for k := range f {
		f[k], j = token(line, j)
		if len(f[k]) == 0 {
			return h, false
		}
	}
	if needSD && (j >= len(line) || line[j] != '[') {
		return h, false
	}
	if string(f[0]) != "-" {
		h.host = string(f[0])
	}
	if string(f[1]) != "-" {
		h.app = string(f[1])
	}
	if string(f[3]) != "-" {
		h.msgid = string(f[3])
	}
	h.bodyFrom = j
	return h, true
}

// token returns the text from i up to the next space and the index after
// that single space.
func token(b []byte, i int) ([]byte, int) {
	if i >= len(b) {
		return nil, len(b)
	}
	e := bytes.IndexByte(b[i:], ' ')
	if e < 0 {
		return b[i:], len(b)
	}
	return b[i : i+e], i + e + 1
}

func startsWithPair(b []byte) bool {
	i := 0
	for i < len(b) && isKeyChar(b[i]) {
		i++
	}
	return i > 0 && i < len(b) && b[i] == '='
}

// eventTime picks the best time the line offers: the epoch eventtime (UTC
// by definition, sub-second), date+time in tz or pc.Location, SonicWall's
// time="2019-02-27 12:55:40 UTC", then the syslog header.
func (st *state) eventTime(h header, pc *parse.Context) (time.Time, error) {
	if t, ok := epoch(st.epoch); ok {
		return t, nil
	}
	if st.date != "" && st.clock != "" {
		if t, ok := dateClock(st.date, st.clock, st.tz, pc); ok {
			return t, nil
		}
	}
	if len(st.clock) >= 19 {
		if t, rest, ok := syslog.ParseTime([]byte(st.clock), pc); ok {
			switch strings.TrimSpace(string(rest)) {
			case "":
				return t, nil
			case "UTC", "GMT":
				utc := &parse.Context{Location: time.UTC, RefTime: pc.RefTime}
				t, _, _ = syslog.ParseTime([]byte(st.clock), utc)
				return t, nil
			}
		}
	}
	if !h.time.IsZero() {
		return h.time, nil
	}
	return time.Time{}, fmt.Errorf("kv: no time stamp (no date/time, eventtime or syslog header) in line")
}

// epoch reads seconds, milliseconds, microseconds or nanoseconds since 1970,
// choosing the unit that gives a year between 1990 and 2100.
func epoch(v string) (time.Time, bool) {
	if v == "" || len(v) > 19 || !allDigits(v) {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	var t time.Time
	switch {
	case n >= 1e17:
		t = time.Unix(0, n)
	case n >= 1e14:
		t = time.UnixMicro(n)
	case n >= 1e11:
		t = time.UnixMilli(n)
	default:
		t = time.Unix(n, 0)
	}
	if y := t.Year(); y < 1990 || y > 2100 {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// dateClock combines date=2019-05-10 (or 2019/05/10) and time=11:37:47 in
// the zone tz ("+0900", "-07:00", "UTC+2:00", "UTC") or pc.Location.
func dateClock(date, clock, tz string, pc *parse.Context) (time.Time, bool) {
	if len(date) != 10 || (date[4] != '-' && date[4] != '/') || date[7] != date[4] {
		return time.Time{}, false
	}
	y, e1 := strconv.Atoi(date[:4])
	mo, e2 := strconv.Atoi(date[5:7])
	d, e3 := strconv.Atoi(date[8:])
	if e1 != nil || e2 != nil || e3 != nil || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	if len(clock) < 8 || clock[2] != ':' || clock[5] != ':' {
		return time.Time{}, false
	}
	hh, e1 := strconv.Atoi(clock[:2])
	mm, e2 := strconv.Atoi(clock[3:5])
	ss, e3 := strconv.Atoi(clock[6:8])
	if e1 != nil || e2 != nil || e3 != nil || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	nsec := 0
	if len(clock) > 9 && clock[8] == '.' && allDigits(clock[9:]) {
		f := clock[9:]
		if len(f) > 9 {
			f = f[:9]
		}
		n, _ := strconv.Atoi(f)
		for i := len(f); i < 9; i++ {
			n *= 10
		}
		nsec = n
	}
	loc := pc.Location
	if off, ok := tzOffset(tz); ok {
		loc = time.FixedZone("", off)
	}
	return time.Date(y, time.Month(mo), d, hh, mm, ss, nsec, loc).UTC(), true
}

// tzOffset reads "+0900", "-07:00", "+9", "UTC+2:00", "GMT-7", "UTC", "Z".
func tzOffset(tz string) (int, bool) {
	for _, p := range []string{"UTC", "GMT"} {
		if len(tz) >= 3 && strings.EqualFold(tz[:3], p) {
			tz = tz[3:]
			if tz == "" {
				return 0, true
			}
		}
	}
	if tz == "Z" {
		return 0, true
	}
	if len(tz) < 2 || (tz[0] != '+' && tz[0] != '-') {
		return 0, false
	}
	sign := 1
	if tz[0] == '-' {
		sign = -1
	}
	hs, ms, colon := tz[1:], "", false
	if i := strings.IndexByte(hs, ':'); i >= 0 {
		hs, ms, colon = hs[:i], hs[i+1:], true
	} else if len(hs) == 4 {
		hs, ms = hs[:2], hs[2:]
	}
	if !allDigits(hs) || len(hs) > 2 || (ms != "" && (!allDigits(ms) || len(ms) != 2)) || (colon && ms == "") {
		return 0, false
	}
	h, _ := strconv.Atoi(hs)
	m := 0
	if ms != "" {
		m, _ = strconv.Atoi(ms)
	}
	if h > 14 || m > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

// splitEndpoint reads an address value: "1.2.3.4", "fe80::1", "[fe80::1]:80",
// "1.2.3.4:80" or SonicWall's "ip:port:interface[:name]" where ip or port may
// be empty ("10.1.1.1::X0", ":5355"). Anything else is returned as the
// address, as logged.
func splitEndpoint(v string) (ip, port, intf, name string) {
	if _, err := netip.ParseAddr(v); err == nil {
		return v, "", "", ""
	}
	if v[0] == '[' {
		if i := strings.IndexByte(v, ']'); i > 0 {
			ip = v[1:i]
			if rest := v[i+1:]; len(rest) > 1 && rest[0] == ':' {
				port = rest[1:]
			}
			return ip, port, "", ""
		}
	}
	p0, rest, ok := strings.Cut(v, ":")
	if !ok {
		return v, "", "", ""
	}
	if p0 != "" {
		if _, err := netip.ParseAddr(p0); err != nil {
			return v, "", "", ""
		}
	}
	port, rest, _ = strings.Cut(rest, ":")
	if port != "" && !allDigits(port) {
		return v, "", "", ""
	}
	intf, name, _ = strings.Cut(rest, ":")
	return p0, port, intf, name
}

// normalizeAction maps vendor actions to allow, deny, drop, reject, close.
// FortiGate logs an allowed session's end as close, timeout, client-rst or
// server-rst, and its start as start.
func normalizeAction(v string) string {
	switch strings.ToLower(v) {
	case "accept", "accepted", "allow", "allowed", "permit", "permitted", "pass", "passthrough", "start", "ok":
		return "allow"
	case "deny", "denied", "block", "blocked":
		return "deny"
	case "drop", "dropped":
		return "drop"
	case "reject", "rejected":
		return "reject"
	case "close", "closed", "timeout", "client-rst", "server-rst", "end":
		return "close"
	}
	return strings.ToLower(v)
}

// junosAction reads the outcome from a Junos message id: RT_FLOW_SESSION_DENY,
// RT_FLOW_SESSION_CREATE, RT_FLOW_SESSION_CLOSE.
func junosAction(msgid string) string {
	switch {
	case strings.HasSuffix(msgid, "_DENY"):
		return "deny"
	case strings.HasSuffix(msgid, "_CREATE"):
		return "allow"
	case strings.HasSuffix(msgid, "_CLOSE"):
		return "close"
	case strings.HasSuffix(msgid, "_DROP"):
		return "drop"
	}
	return ""
}

// sonicAction reads the outcome from a SonicWall message text when the line
// has no fw_action pair.
func sonicAction(msg string) string {
	switch {
	case containsFold(msg, "dropped"):
		return "drop"
	case containsFold(msg, "denied"), containsFold(msg, "blocked"):
		return "deny"
	case containsFold(msg, "connection opened"):
		return "allow"
	case containsFold(msg, "connection closed"):
		return "close"
	}
	return ""
}

// containsFold reports whether b contains the lower-case ASCII word w in any
// case.
func containsFold[T text](b T, w string) bool {
	n := len(w)
	for i := 0; i+n <= len(b); i++ {
		j := 0
		for j < n {
			c := b[i+j]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
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
