// Package bind parses the log of BIND 9's named: the query log that JPCERT/CC
// asks DNS servers to keep (category queries, table 4-26) and the other
// messages named writes next to it (denied queries, refused zone transfers,
// lame servers...).
//
// Accepted shapes of one line (all may carry "category: severity: " before
// the message when print-category / print-severity are on):
//
//	16-Dec-2014 01:03:55 client 192.168.100.1#47197: query: apt.example.com IN A + (192.168.1.1)
//	23-Aug-2013 10:32:56.621 client 82.207.95.42#40278 (redginseng.com.ua): query: redginseng.com.ua IN A + (10.0.0.1)
//	18-Jul-2023 09:12:01.123 queries: info: client @0x7f4e446fd6e8 192.0.2.1#60683 (example.com): view internal: query: example.com IN A +E(0)K (192.0.2.53)
//	Aug 29 15:33:13 ns3 named[464]: client 217.148.39.3#1036: query (cache) 'example.com/A/IN' denied
//
// The time is BIND's own "dd-Mon-yyyy hh:mm:ss[.mmm]" (print-time yes, read in
// pc.Location), an ISO 8601 time (print-time iso8601 / iso8601-utc) or the
// header of the syslog daemon that wrote the line.
package bind

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/parse/syslog"
)

// Parser parses BIND 9 named log lines. It is stateless.
type Parser struct{}

// New returns the BIND parser ("bind").
func New() parse.Parser { return Parser{} }

// Name implements parse.Parser.
func (Parser) Name() string { return "bind" }

// Describe implements parse.Parser.
func (Parser) Describe() string {
	return "BIND 9 named log: query log (client IP#port: query: NAME CLASS TYPE FLAGS (server)) and other named messages, own time stamp or syslog"
}

// sniffCtx only serves syslog.ParseTime's need for a zone and a reference
// time while sniffing; the time it yields is thrown away.
var sniffCtx = &parse.Context{Location: time.UTC, RefTime: time.Unix(0, 0)}

// Sniff accepts:
//   - BIND's own time stamp followed by a lower-case word (every named
//     message, category or severity starts so; Tomcat's look-alike time is
//     followed by an upper-case level),
//   - a syslog line whose program is named (named, named-pkcs11...),
//   - a line whose message, after any time, category and severity, is
//     "client [@0x...] ADDR#PORT" — BIND's client prefix, which no other
//     format writes.
func (Parser) Sniff(rec []byte) bool {
	b := trim(rec)
	if n, ok := bindTimeLen(b); ok {
		m := skipSpacesB(b[n:])
		return len(m) > 0 && m[0] >= 'a' && m[0] <= 'z'
	}
	rest := b
	if len(b) > 0 && b[0] == '<' {
		i := bytes.IndexByte(b, '>')
		if i < 2 || i > 4 {
			return false
		}
		rest = b[i+1:]
		if len(rest) > 2 && rest[0] == '1' && rest[1] == ' ' {
			// RFC 5424: VERSION TIME HOST APP-NAME ...
			_, r := nextToken(skipSpacesB(rest[2:]))
			_, r = nextToken(skipSpacesB(r))
			app, _ := nextToken(skipSpacesB(r))
			return isNamedProgram(app)
		}
	}
	if _, r, ok := syslog.ParseTime(rest, sniffCtx); ok {
		rest = r
	}
	rest = skipSpacesB(rest)
	if clientShape(rest) {
		return true
	}
	tok, after := nextToken(rest)
	if len(tok) > 1 && tok[len(tok)-1] == ':' {
		w := string(tok[:len(tok)-1]) // does not allocate: compared only
		if isCategory(w) || isSeverity(w) {
			m, cat, sev := stripPrefixesB(rest)
			return clientShape(m) || cat && sev
		}
	}
	if !isTagB(tok) {
		tok, _ = nextToken(skipSpacesB(after))
	}
	if !isTagB(tok) {
		return false
	}
	return isNamedProgram(programOf(tok))
}

// programOf returns the program of a syslog tag "prog[pid]:" or "prog:".
func programOf(tag []byte) []byte {
	tag = tag[:len(tag)-1]
	if i := bytes.IndexByte(tag, '['); i >= 0 {
		tag = tag[:i]
	}
	return tag
}

// isNamedProgram reports the syslog program names of BIND's server.
func isNamedProgram[T string | []byte](p T) bool {
	s := string(p) // compared only: no allocation
	return s == "named" || len(s) > 6 && s[:6] == "named-" || s == "named.exe"
}

// Parse implements parse.Parser.
func (Parser) Parse(rec []byte, ev *event.Event, pc *parse.Context) error {
	b := trim(rec)
	if len(b) == 0 {
		return parse.ErrSkip
	}
	s := string(b)
	// BIND's own time stamp: the message follows directly.
	if t, n, ok := bindTime(s, pc); ok {
		ev.Time = t
		m := s[skipSpaces(s, n):]
		if m == "" {
			return fmt.Errorf("bind: nothing after the time stamp")
		}
		parseMessage(m, ev)
		return nil
	}
	if b[0] == '<' {
		return parsePRI(b, s, ev, pc)
	}
	t, rest, ok := syslog.ParseTime(b, pc)
	if !ok {
		return noTime(s)
	}
	ev.Time = t
	i := skipSpaces(s, len(b)-len(rest))
	if i >= len(s) {
		return fmt.Errorf("bind: nothing after the time stamp")
	}
	m := s[i:]
	// No syslog host and tag: named's own file with an ISO 8601 print-time,
	// or a collector that dropped them ("Oct 23 02:06:39 security: info: client ...").
	if clientShape(m) || hasBindPrefix(m) {
		parseMessage(m, ev)
		return nil
	}
	// Syslog: [host] tag: message.
	tok, j := token(s, i)
	host := ""
	if !isTag(tok) {
		host = tok
		i = skipSpaces(s, j)
		tok, j = token(s, i)
	}
	if !isTag(tok) {
		if host != "" && (clientShape(s[i:]) || hasBindPrefix(s[i:])) {
			// "host message" without a tag (some relays drop it).
			ev.Host = host
			parseMessage(s[i:], ev)
			return nil
		}
		return fmt.Errorf("bind: no program tag (named[pid]:) after the syslog header")
	}
	prog, pid := splitTag(tok)
	m = ""
	if j < len(s) {
		m = s[skipSpaces(s, j):]
	}
	return syslogMessage(ev, host, prog, pid, m)
}

// syslogMessage handles the message of a syslog line from program prog.
func syslogMessage(ev *event.Event, host, prog, pid, m string) error {
	if !isNamedProgram(prog) {
		// Another program. Its message still counts when it has BIND's
		// client shape (a renamed binary, a relay that rewrote the tag);
		// anything else is not ours.
		mm, _, _ := stripPrefixes(m)
		if !clientShape(mm) {
			return fmt.Errorf("bind: syslog line from program %q, not named", prog)
		}
	}
	ev.Host = host
	ev.Set(event.Process, prog)
	ev.SetExtra("pid", pid)
	if m != "" {
		parseMessage(m, ev)
	}
	return nil
}

// parsePRI handles a line that starts with a syslog <PRI> (a raw syslog
// stream written to a file), through the shared syslog header parser.
func parsePRI(b []byte, s string, ev *event.Event, pc *parse.Context) error {
	h, err := syslog.Parse(b, pc)
	if err != nil {
		return fmt.Errorf("bind: %v", err)
	}
	ev.Time = h.Time
	m := s[len(s)-len(h.Msg):]
	if h.Program == "" {
		if !clientShape(m) && !hasBindPrefix(m) {
			return fmt.Errorf("bind: no program tag (named[pid]:) after the syslog header")
		}
		ev.Host = h.Host
		parseMessage(m, ev)
		return nil
	}
	return syslogMessage(ev, h.Host, h.Program, h.PID, m)
}

// noTime builds the error for a line without any time stamp, saying why a
// BIND-looking one has none.
func noTime(s string) error {
	if clientShape(s) {
		return fmt.Errorf("bind: no time stamp at the start of the line (named logs one only with print-time yes in the logging channel)")
	}
	b := []byte(s)
	tok, after := nextToken(b)
	if !isTagB(tok) {
		tok, _ = nextToken(skipSpacesB(after))
	}
	if isTagB(tok) && isNamedProgram(programOf(tok)) {
		return fmt.Errorf("bind: no time stamp at the start of the line (a systemd journal export without time? use journalctl -o short-iso)")
	}
	return fmt.Errorf("bind: no recognizable time stamp (dd-Mon-yyyy hh:mm:ss, ISO 8601 or a syslog header)")
}

// splitTag splits "named[464]:" into "named" and "464".
func splitTag(tag string) (prog, pid string) {
	tag = tag[:len(tag)-1]
	if i := strings.IndexByte(tag, '['); i > 0 && tag[len(tag)-1] == ']' {
		return tag[:i], tag[i+1 : len(tag)-1]
	}
	return tag, ""
}

// isTag reports whether tok looks like a syslog tag "prog:" or "prog[pid]:"
// (the same rule as the shared syslog header parser).
func isTag(tok string) bool {
	if len(tok) < 2 || tok[len(tok)-1] != ':' {
		return false
	}
	c := tok[0]
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c == '/'
}

func isTagB(tok []byte) bool {
	if len(tok) < 2 || tok[len(tok)-1] != ':' {
		return false
	}
	c := tok[0]
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c == '/'
}

// hasBindPrefix reports whether m starts with "category:" or "severity:".
func hasBindPrefix(m string) bool {
	i := strings.IndexByte(m, ':')
	if i <= 0 || i+1 < len(m) && m[i+1] != ' ' {
		return false
	}
	w := m[:i]
	return isCategory(w) || isSeverity(w) || isDebugLevel(w)
}

// isCategory reports BIND 9's logging categories (ARM "The category Phrase").
func isCategory(w string) bool {
	switch w {
	case "client", "cname", "config", "database", "default", "delegation-only", "dispatch",
		"dnssec", "dnstap", "edns-disabled", "general", "lame-servers", "network", "notify",
		"nsid", "queries", "query-errors", "rate-limit", "resolver", "rpz", "rpz-passthru",
		"security", "serve-stale", "spill", "sslkeylog", "trust-anchor-telemetry", "unmatched",
		"update", "update-security", "xfer-in", "xfer-out", "zoneload":
		return true
	}
	return false
}

// isSeverity reports BIND's severity names as print-severity writes them.
func isSeverity(w string) bool {
	switch w {
	case "critical", "error", "warning", "notice", "info", "debug", "dynamic":
		return true
	}
	return false
}

// isDebugLevel reports "debug 3" (print-severity of a debug message) and
// "level -5" (a level below critical, as isc_log writes it).
func isDebugLevel(w string) bool {
	var n string
	switch {
	case strings.HasPrefix(w, "debug "):
		n = w[6:]
	case strings.HasPrefix(w, "level "):
		n = strings.TrimPrefix(w[6:], "-")
	default:
		return false
	}
	return isDigits(n)
}

// stripPrefixes removes "category: " and "severity: " (either, both, in
// that order) from the start of a message.
func stripPrefixes(m string) (rest, category, severity string) {
	for k := 0; k < 2; k++ {
		i := strings.IndexByte(m, ':')
		if i <= 0 || i+1 < len(m) && m[i+1] != ' ' {
			break
		}
		w := m[:i]
		switch {
		case category == "" && severity == "" && isCategory(w):
			category = w
		case severity == "" && (isSeverity(w) || isDebugLevel(w)):
			severity = w
		default:
			return m, category, severity
		}
		m = m[min(i+2, len(m)):]
	}
	return m, category, severity
}

func stripPrefixesB(m []byte) (rest []byte, cat, sev bool) {
	for k := 0; k < 2; k++ {
		i := bytes.IndexByte(m, ':')
		if i <= 0 || i+1 < len(m) && m[i+1] != ' ' {
			break
		}
		w := string(m[:i]) // compared only: no allocation
		switch {
		case !cat && !sev && isCategory(w):
			cat = true
		case !sev && (isSeverity(w) || isDebugLevel(w)):
			sev = true
		default:
			return m, cat, sev
		}
		m = m[min(i+2, len(m)):]
	}
	return m, cat, sev
}

// clientShape reports whether b starts with BIND's client prefix
// "client [@0x...] ADDR#PORT" (ADDR as printed, also "ADDR #PORT" as in the
// JPCERT document).
func clientShape[T string | []byte](b T) bool {
	const pre = "client "
	if len(b) < 10 {
		return false
	}
	for k := 0; k < len(pre); k++ {
		if b[k] != pre[k] {
			return false
		}
	}
	i := len(pre)
	if b[i] == '@' {
		for i < len(b) && b[i] != ' ' {
			i++
		}
		i++
	}
	n := 0
	for i < len(b) && b[i] != ' ' && b[i] != '#' {
		c := b[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == ':' || c == '%' || c == '_' || c == '-') {
			return false
		}
		i++
		n++
	}
	if n == 0 || n > 64 {
		return false
	}
	if i < len(b) && b[i] == ' ' {
		i++
	}
	return i+1 < len(b) && b[i] == '#' && isDigit(b[i+1])
}

// parseMessage reads a named message (after the time stamp or the syslog
// tag): optional category and severity, optional client prefix, then the
// text. It never fails: a line that got this far is a named event.
func parseMessage(m string, ev *event.Event) {
	m, cat, sev := stripPrefixes(m)
	ev.SetExtra("category", cat)
	ev.SetExtra("severity", sev)
	qname := ""
	if strings.HasPrefix(m, "client ") {
		m, qname = parseClient(m, ev)
	}
	if strings.HasPrefix(m, "query: ") {
		parseQuery(m[7:], ev)
	} else {
		parseOther(m, ev)
	}
	if qname != "" && !ev.Has(event.Query) {
		setName(ev, qname)
	}
}

// parseClient reads "client [@0x...] ADDR#PORT[/key SIGNER][ (QNAME)][: view VIEW]: "
// and returns the rest of the message and QNAME.
func parseClient(m string, ev *event.Event) (rest, qname string) {
	i := skipSpaces(m, 7)
	if i < len(m) && m[i] == '@' {
		for i < len(m) && m[i] != ' ' {
			i++
		}
		i = skipSpaces(m, i)
	}
	a := i
	for i < len(m) && m[i] != '#' && m[i] != ' ' {
		i++
	}
	addr := m[a:i]
	if i+1 < len(m) && m[i] == ' ' && m[i+1] == '#' {
		i++ // "192.168.100.1 #47197" as printed in the JPCERT document
	}
	if i >= len(m) || m[i] != '#' {
		// Not the usual shape ("client @0x... (no-peer): ..."): keep the
		// whole text, and the address only if it is one.
		addr = strings.TrimSuffix(addr, ":")
		if _, err := netip.ParseAddr(addr); err == nil {
			ev.Set(event.SrcIP, addr)
		}
		return m, ""
	}
	ev.Set(event.SrcIP, addr)
	i++
	p := i
	for i < len(m) && isDigit(m[i]) {
		i++
	}
	ev.Set(event.SrcPort, m[p:i])
	if strings.HasPrefix(m[i:], "/key ") {
		i += 5
		k := i
		for i < len(m) && m[i] != ' ' && m[i] != ':' {
			i++
		}
		ev.SetExtra("tsig_key", m[k:i])
	}
	if strings.HasPrefix(m[i:], " (") {
		if j := strings.Index(m[i:], "):"); j > 0 {
			qname = m[i+2 : i+j]
			i += j + 1
		}
	}
	if i >= len(m) || m[i] != ':' {
		return m[i:], qname
	}
	i = skipSpaces(m, i+1)
	if strings.HasPrefix(m[i:], "view ") {
		if j := strings.Index(m[i:], ": "); j > 5 {
			ev.SetExtra("view", m[i+5:i+j])
			i = skipSpaces(m, i+j+1)
		} else if strings.HasSuffix(m, ":") {
			ev.SetExtra("view", m[i+5:len(m)-1])
			i = len(m)
		}
	}
	return m[i:], qname
}

// parseQuery reads the queries-category message after "query: ":
//
//	NAME CLASS TYPE FLAGS (SERVER)[ [ECS addr/source/scope]]
func parseQuery(q string, ev *event.Event) {
	var tok [4]string
	i := skipSpaces(q, 0)
	for k := range tok {
		if i >= len(q) || q[i] == '(' && k > 0 {
			break
		}
		tok[k], i = token(q, i)
		i = skipSpaces(q, i)
	}
	if tok[0] != "" {
		setName(ev, tok[0])
	}
	ev.SetExtra("qclass", tok[1])
	ev.Set(event.QType, tok[2])
	ev.SetExtra("flags", tok[3])
	if i < len(q) && q[i] == '(' {
		if j := strings.IndexByte(q[i:], ')'); j > 0 {
			ev.Set(event.DstIP, q[i+1:i+j])
			i = skipSpaces(q, i+j+1)
		}
	}
	if rest := q[i:]; rest != "" {
		if strings.HasPrefix(rest, "[ECS ") && strings.HasSuffix(rest, "]") {
			ev.SetExtra("ecs", rest[5:len(rest)-1])
		} else {
			ev.SetExtra("message", rest)
		}
	}
}

// parseOther reads any other named message: the text becomes extra
// "message"; a quoted 'name/TYPE/CLASS' (denied queries, zone transfers,
// updates) or "for name/CLASS/TYPE" (query-errors) gives the query name and
// type; "denied" gives Action deny, "refused" Action reject.
func parseOther(m string, ev *event.Event) {
	ev.SetExtra("message", m)
	if i := strings.IndexByte(m, '\''); i >= 0 {
		if j := strings.IndexByte(m[i+1:], '\''); j >= 0 {
			setTuple(ev, m[i+1:i+1+j])
		}
	} else if strings.HasPrefix(m, "query failed (") {
		if i := strings.Index(m, ") for "); i > 0 {
			t, _ := token(m, i+6)
			setTuple(ev, t)
		}
	}
	switch {
	case strings.Contains(m, "denied"):
		ev.Set(event.Action, "deny")
	case strings.Contains(m, "refused"), strings.Contains(m, "REFUSED"):
		ev.Set(event.Action, "reject")
	}
}

// setTuple reads BIND's "name/TYPE/CLASS", "name/CLASS/TYPE" or
// "name/CLASS" (the name itself may hold a '/', as classless reverse zones
// do). A bare name (lame-server and notify messages) only sets Domain.
func setTuple(ev *event.Event, t string) {
	last := strings.LastIndexByte(t, '/')
	if last < 0 {
		setBareName(ev, t)
		return
	}
	a := t[last+1:]
	head := t[:last]
	prev := strings.LastIndexByte(head, '/')
	b := ""
	if prev >= 0 {
		b = head[prev+1:]
	}
	switch {
	case isClass(a) && prev >= 0 && isType(b): // name/TYPE/CLASS
		setName(ev, head[:prev])
		ev.Set(event.QType, b)
		ev.SetExtra("qclass", a)
	case isType(a) && prev >= 0 && isClass(b): // name/CLASS/TYPE
		setName(ev, head[:prev])
		ev.Set(event.QType, a)
		ev.SetExtra("qclass", b)
	case isClass(a): // name/CLASS
		setName(ev, head)
		ev.SetExtra("qclass", a)
	default:
		setBareName(ev, t)
	}
}

// setBareName sets Domain from a quoted name without class or type, when it
// looks like a domain name: it has a dot and no blank, so that quoted words
// of other messages ("received control channel command 'reload'") are not
// taken for one.
func setBareName(ev *event.Event, t string) {
	if strings.IndexByte(t, '.') < 0 || strings.IndexByte(t, ' ') >= 0 {
		return
	}
	if n := normName(t); n != "" {
		ev.Set(event.Domain, n)
	}
}

func isClass(s string) bool {
	switch s {
	case "IN", "CH", "CHAOS", "HS", "HESIOD", "NONE", "ANY":
		return true
	}
	return strings.HasPrefix(s, "CLASS") && len(s) > 5 && isDigits(s[5:])
}

// isType: an upper-case mnemonic (A, AAAA, NS, AXFR, NSEC3PARAM, TYPE65534).
func isType(s string) bool {
	if s == "" || len(s) > 12 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// setName stores a DNS name as Query and Domain.
func setName(ev *event.Event, name string) {
	n := normName(name)
	if n == "" {
		return
	}
	ev.Set(event.Query, n)
	ev.Set(event.Domain, n)
}

// normName lower-cases a name (resolvers randomize case, "0x20") and drops
// the trailing dot, except for the root ".".
func normName(n string) string {
	if len(n) > 1 && n[len(n)-1] == '.' {
		n = n[:len(n)-1]
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(n)
		}
	}
	return n
}

// bindTimeLen reports the length of BIND's "dd-Mon-yyyy hh:mm:ss[.mmm]" at
// the start of b.
func bindTimeLen(b []byte) (int, bool) {
	i := 0
	for i < len(b) && i < 2 && isDigit(b[i]) {
		i++
	}
	if i == 0 || i+19 > len(b) || b[i] != '-' || syslog.Month(b[i+1:]) == 0 || b[i+4] != '-' ||
		!isDigit(b[i+5]) || !isDigit(b[i+8]) || b[i+9] != ' ' || !isDigit(b[i+10]) || b[i+12] != ':' || b[i+15] != ':' {
		return 0, false
	}
	n := i + 18
	if n+1 < len(b) && b[n] == '.' && isDigit(b[n+1]) {
		n++
		for n < len(b) && isDigit(b[n]) {
			n++
		}
	}
	if n < len(b) && b[n] != ' ' {
		return 0, false
	}
	return n, true
}

// bindTime reads BIND's "dd-Mon-yyyy hh:mm:ss[.mmm]" in pc.Location and
// returns it in UTC with the index after it.
func bindTime(s string, pc *parse.Context) (time.Time, int, bool) {
	i := 0
	day := 0
	for i < len(s) && i < 2 && isDigit(s[i]) {
		day = day*10 + int(s[i]-'0')
		i++
	}
	if i == 0 || i+18 > len(s) || s[i] != '-' || s[i+4] != '-' || s[i+9] != ' ' || s[i+12] != ':' || s[i+15] != ':' {
		return time.Time{}, 0, false
	}
	mon := month(s[i+1 : i+4])
	year, ok1 := num(s[i+5 : i+9])
	hh, ok2 := num(s[i+10 : i+12])
	mm, ok3 := num(s[i+13 : i+15])
	ss, ok4 := num(s[i+16 : i+18])
	if mon == 0 || !ok1 || !ok2 || !ok3 || !ok4 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, 0, false
	}
	n := i + 18
	nsec := 0
	if n+1 < len(s) && s[n] == '.' && isDigit(s[n+1]) {
		n++
		scale := 100000000
		for n < len(s) && isDigit(s[n]) {
			nsec += int(s[n]-'0') * scale
			scale /= 10
			n++
		}
	}
	if n < len(s) && s[n] != ' ' {
		return time.Time{}, 0, false
	}
	return time.Date(year, time.Month(mon), day, hh, mm, ss, nsec, pc.Location).UTC(), n, true
}

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

func month(s string) int {
	for i, m := range months {
		if s == m {
			return i + 1
		}
	}
	return 0
}

func num(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, s != ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func trim(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}

func skipSpaces(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

func skipSpacesB(b []byte) []byte {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return b
}

func token(s string, i int) (string, int) {
	j := i
	for j < len(s) && s[j] != ' ' {
		j++
	}
	return s[i:j], j
}

func nextToken(b []byte) (tok, rest []byte) {
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return b, nil
	}
	return b[:i], b[i:]
}
