// Package postfix parses the log of the Postfix MTA as a syslog daemon writes
// it (/var/log/maillog, /var/log/mail.log):
//
//	Feb 16 11:43:32 mail-server postfix/cleanup[29597]: B1467845E2: warning: header From: "sample@example.co.jp" <attack@example.com> from unknown[192.168.1.10]; from=<root@example.com> to=<info@example.co.jp> proto=ESMTP helo=<[127.0.0.1]>
//	Jul 12 07:47:48 saturn postfix/smtpd[8738]: NOQUEUE: reject: RCPT from 1-2-3-4-example.com[1.2.3.4]: 554 5.7.1 <smtp@example.com>: Relay access denied; from=<john@example.com> to=<smtp@example.org> proto=SMTP helo=<198.51.100.17>
//	Aug 31 21:03:41 mx postfix/smtp[4830]: 345C33E31EB: to=<marco@example.com>, relay=mx.example.com[192.0.2.7]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 1F2DF60508)
//
// The syslog header is read by internal/parse/syslog (RFC 3164 with or
// without year, ISO 8601, RFC 5424). The program is "postfix/<daemon>",
// "postfix-<instance>/<daemon>" (multi-instance) or
// "postfix/<service>/<daemon>" (master.cf services such as submission).
//
// What JPCERT/CC's guide asks of a mail server log is the header_checks /
// mime_header_checks WARN line of the cleanup daemon: the header From (to
// spot a display name that pretends to be a partner's address) and the
// Content-Type / Content-Disposition attachment name (to spot executables),
// both RFC 2047 / RFC 2231 encoded. Those are decoded here into HeaderFrom,
// from_display, from_address and Attachment.
//
// Lines of other programs found in a mail log (dovecot, sendmail, amavis,
// "last message repeated") are returned as events with only the syslog
// header fields: they are legitimate lines of the file, not errors.
package postfix

import (
	"bytes"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/mime"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/parse/syslog"
)

// Parser parses Postfix syslog lines. It is stateless.
type Parser struct{}

// New returns the Postfix parser ("postfix").
func New() parse.Parser { return Parser{} }

// Name implements parse.Parser.
func (Parser) Name() string { return "postfix" }

// Describe implements parse.Parser.
func (Parser) Describe() string {
	return "Postfix MTA log via syslog (postfix/smtpd, cleanup, qmgr, smtp, local, postscreen...): queue id, envelope from/to, client and relay, delivery status, rejects, header_checks lines with decoded From and attachment names"
}

// sniffCtx serves only syslog.ParseTime's need for a zone and a reference
// time while sniffing; the time is thrown away.
var sniffCtx = &parse.Context{Location: time.UTC, RefTime: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}

// Sniff accepts a syslog line whose program tag starts with "postfix"
// followed by "/", "-" or nothing ("postfix/smtpd[12]:", "postfix-in/smtpd:",
// "postfix[3281]:"), and the host-less "[postfix/smtpd]" variant some
// Postfix builds write to a file of their own.
func (Parser) Sniff(rec []byte) bool {
	b := rec
	if len(b) > 0 && b[0] == '<' {
		i := bytes.IndexByte(b, '>')
		if i < 2 || i > 4 {
			return false
		}
		b = b[i+1:]
		if len(b) > 2 && b[0] == '1' && b[1] == ' ' {
			// RFC 5424: VERSION TIME HOST APP-NAME ...
			_, r := nextToken(skipSpaces(b[2:]))
			_, r = nextToken(skipSpaces(r))
			app, _ := nextToken(skipSpaces(r))
			return isPostfixProgram(app)
		}
	}
	_, rest, ok := syslog.ParseTime(b, sniffCtx)
	if !ok {
		return false
	}
	tok, rest := nextToken(skipSpaces(rest))
	if len(tok) > 2 && tok[0] == '[' && tok[len(tok)-1] == ']' {
		return isPostfixProgram(tok[1 : len(tok)-1])
	}
	if !isTagToken(tok) {
		tok, _ = nextToken(skipSpaces(rest))
		if !isTagToken(tok) {
			return false
		}
	}
	tag := tok[:len(tok)-1]
	if i := bytes.IndexByte(tag, '['); i > 0 {
		tag = tag[:i]
	}
	return isPostfixProgram(tag)
}

func isTagToken(tok []byte) bool { return len(tok) >= 2 && tok[len(tok)-1] == ':' }

// isPostfixProgram reports whether a syslog program name is Postfix's.
func isPostfixProgram[T string | []byte](p T) bool {
	const pre = "postfix"
	if len(p) < len(pre) || string(p[:len(pre)]) != pre {
		return false
	}
	return len(p) == len(pre) || p[len(pre)] == '/' || p[len(pre)] == '-'
}

// Parse implements parse.Parser.
func (Parser) Parse(rec []byte, ev *event.Event, pc *parse.Context) error {
	rec = bytes.TrimRight(rec, "\r\n")
	if len(bytes.TrimSpace(rec)) == 0 {
		return parse.ErrSkip
	}
	h, err := syslog.Parse(rec, pc)
	if err != nil {
		return fmt.Errorf("postfix: not a syslog line (%v): %.60q", err, rec)
	}
	ev.Time = h.Time
	program, msg := h.Program, h.Msg
	if program == "" && len(h.Host) > 2 && h.Host[0] == '[' && h.Host[len(h.Host)-1] == ']' {
		// "Dec 18 16:15:28 [postfix/smtpd] connect from ...": no host, the
		// program in brackets.
		program = h.Host[1 : len(h.Host)-1]
		if i := bytes.Index(rec, []byte(h.Host)); i >= 0 {
			msg = rec[i+len(h.Host):]
			if len(msg) > 0 && msg[0] == ' ' {
				msg = msg[1:]
			}
		}
	} else {
		ev.Host = h.Host
	}
	ev.Set(event.Process, program)
	ev.SetExtra("pid", h.PID)
	if !isPostfixProgram(program) {
		// Another program of the mail system: keep the header fields only.
		return nil
	}
	daemon := program
	if i := strings.LastIndexByte(daemon, '/'); i >= 0 {
		daemon = daemon[i+1:]
	}
	parseMessage(daemon, string(msg), ev)
	return nil
}

// parseMessage fills ev from the message part of a Postfix line.
func parseMessage(daemon, s string, ev *event.Event) {
	s = strings.TrimRight(s, " \t")
	// "warning: 9BECF3F19D: sender_canonical_maps map lookup problem..."
	if lv, rest := levelPrefix(s); lv != "" {
		if qid, after, ok := queueID(rest); ok {
			ev.SetExtra("level", lv)
			setQueueID(ev, qid)
			parseAfterQueueID(daemon, after, ev)
			return
		}
	}
	if qid, after, ok := queueID(s); ok {
		setQueueID(ev, qid)
		parseAfterQueueID(daemon, after, ev)
		return
	}
	// Action lines may come without a queue id (proxy-accept, postscreen).
	if actionLine(s, ev) {
		return
	}
	if lv, rest := levelPrefix(s); lv != "" {
		ev.SetExtra("level", lv)
		s = rest
	}
	parseFree(daemon, s, ev)
}

// parseAfterQueueID handles what follows "QUEUEID: ".
func parseAfterQueueID(daemon, s string, ev *event.Event) {
	if actionLine(s, ev) {
		return
	}
	if startsWithKV(s) {
		scanKV(s, ev)
		return
	}
	// bounce: "sender non-delivery notification: ADD2F8052"
	if i := strings.Index(s, " notification: "); i > 0 {
		if q, _, ok := queueID(s[i+len(" notification: "):] + ":"); ok {
			ev.SetExtra("bounce_queue_id", q)
			return
		}
	}
	parseFree(daemon, s, ev)
}

// parseFree handles messages that are neither key=value lists nor
// action lines, per daemon.
func parseFree(daemon, s string, ev *event.Event) {
	switch daemon {
	case "smtp", "lmtp":
		parseSMTPClient(s, ev)
	case "postscreen", "tlsproxy":
		parsePostscreen(s, ev)
	case "dnsblog":
		// "addr 61.238.241.86 listed by domain psbl.surriel.com as 127.0.0.2"
		if strings.HasPrefix(s, "addr ") {
			f := strings.Fields(s)
			if len(f) >= 7 && f[2] == "listed" && f[4] == "domain" && f[5] != "" {
				setClient(ev, "", f[1], "")
				ev.SetExtra("dnsbl_domain", f[5])
				if f[6] == "as" && len(f) > 7 {
					ev.SetExtra("dnsbl_result", f[7])
				}
			}
		}
	case "anvil":
		parseAnvil(s, ev)
	default:
		if daemon == "smtpd" || strings.HasPrefix(daemon, "smtpd") {
			parseSMTPServer(s, ev)
		}
	}
}

// parseSMTPServer reads smtpd's connection-level messages.
func parseSMTPServer(s string, ev *event.Event) {
	// "hostname bad.example.com does not resolve to address 192.0.2.44: ..."
	if strings.HasPrefix(s, "hostname ") {
		f := strings.Fields(s)
		if len(f) >= 8 && f[2] == "does" && f[6] == "address" {
			setClient(ev, f[1], strings.TrimSuffix(f[7], ":"), "")
			return
		}
	}
	// "192.0.2.1: hostname foo.example verification failed: ..." and
	// "192.0.2.1: address not listed for hostname foo.example"
	if i := strings.Index(s, ": "); i > 0 && validIP(s[:i]) {
		setClient(ev, "", s[:i], "")
		if f := strings.Fields(s[i+2:]); len(f) >= 2 && f[0] == "hostname" {
			ev.SetExtra("client_name", f[1])
		}
		return
	}
	name, addr, port, end, ok := findPeer(s)
	if !ok {
		return
	}
	setClient(ev, name, addr, port)
	rest := s[end:]
	switch {
	case strings.HasPrefix(rest, ": SASL "):
		// "host[ip]: SASL LOGIN authentication failed: reason[, sasl_username=x]"
		r := rest[len(": SASL "):]
		if sp := strings.IndexByte(r, ' '); sp > 0 {
			ev.SetExtra("sasl_method", r[:sp])
			r = r[sp+1:]
		}
		if strings.HasPrefix(r, "authentication failed") {
			ev.Set(event.Action, "deny")
			r = strings.TrimPrefix(r[len("authentication failed"):], ":")
			r = strings.TrimSpace(r)
			if u := strings.LastIndex(r, "sasl_username="); u >= 0 {
				ev.Set(event.User, strings.TrimSpace(r[u+len("sasl_username="):]))
				r = strings.TrimRight(r[:u], ", ")
			}
			ev.SetExtra("reason", r)
		}
	case strings.HasPrefix(s, "disconnect from "):
		ev.SetExtra("command_stats", strings.TrimSpace(rest))
	}
	if st := stageAfter(s[:end]); st != "" {
		ev.SetExtra("smtp_stage", st)
	}
}

// parseSMTPClient reads smtp/lmtp messages about the remote server.
func parseSMTPClient(s string, ev *event.Event) {
	name, addr, port, end, ok := findPeer(s)
	if !ok {
		return
	}
	setRelay(ev, name, addr, port)
	rest := s[end:]
	if i := strings.Index(rest, " said: "); i >= 0 {
		reply := rest[i+len(" said: "):]
		if st, cut := inReplyTo(reply); st != "" {
			ev.SetExtra("smtp_stage", st)
			reply = cut
		}
		ev.SetExtra("reply", reply)
		return
	}
	if strings.HasPrefix(rest, " refused to talk to me: ") {
		ev.SetExtra("reply", rest[len(" refused to talk to me: "):])
	}
}

// parsePostscreen reads postscreen / tlsproxy messages.
func parsePostscreen(s string, ev *event.Event) {
	// Leading upper-case verdict: "PASS OLD", "PREGREET", "COMMAND TIME LIMIT".
	v := 0
	for v < len(s) {
		sp := strings.IndexByte(s[v:], ' ')
		tok := s[v:]
		if sp >= 0 {
			tok = s[v : v+sp]
		}
		if !isUpperWord(tok) {
			break
		}
		if sp < 0 {
			v = len(s)
			break
		}
		v += sp + 1
	}
	if verdict := strings.TrimSpace(s[:v]); verdict != "" {
		ev.SetExtra("postscreen", verdict)
	}
	name, addr, port, end, ok := findPeer(s)
	if !ok {
		return
	}
	setClient(ev, name, addr, port)
	rest := s[end:]
	// "CONNECT from [61.238.241.86]:53024 to [89.105.204.244]:25"
	if strings.HasPrefix(rest, " to ") {
		if _, a, p, _, ok := findPeer(rest[len(" to "):]); ok {
			ev.Set(event.DstIP, a)
			ev.Set(event.DstPort, p)
		}
	}
	if st := stageAfter(s); st != "" {
		ev.SetExtra("smtp_stage", st)
	}
}

// parseAnvil reads "statistics: max connection rate 1/60s for
// (smtpd:61.238.241.86) at Oct 26 18:13:50".
func parseAnvil(s string, ev *event.Event) {
	i := strings.Index(s, " for (")
	if i < 0 {
		return
	}
	r := s[i+len(" for ("):]
	j := strings.IndexByte(r, ')')
	if j < 0 {
		return
	}
	r = r[:j]
	// service:address, where the service may hold colons itself
	// ("127.0.0.1:2525:127.0.0.1") and the address too (IPv6).
	for k := 0; k < len(r); k++ {
		if r[k] == ':' && validIP(r[k+1:]) {
			setClient(ev, "", r[k+1:], "")
			ev.SetExtra("anvil_service", r[:k])
			return
		}
	}
}

// actionLine handles "ACTION: ..." lines: access and header/body checks,
// milters and the before-queue proxy. It reports whether s was one.
func actionLine(s string, ev *event.Event) bool {
	c := strings.Index(s, ": ")
	if c <= 0 || !isActionWord(s[:c]) {
		return false
	}
	act, rest := s[:c], s[c+2:]
	switch {
	case strings.HasPrefix(rest, "header ") || strings.HasPrefix(rest, "body "):
		if !checkLine(rest, ev) {
			return false
		}
	case strings.HasPrefix(act, "proxy-"):
		// "proxy-reject: END-OF-MESSAGE: 554 5.7.0 Reject...; from=<> to=<...>"
		sp := strings.Index(rest, ": ")
		if sp <= 0 || !isUpperWord(rest[:sp]) {
			return false
		}
		ev.SetExtra("smtp_stage", rest[:sp])
		text, trailer := splitTrailer(rest[sp+2:])
		reply(text, ev)
		if trailer != "" {
			scanKV(trailer, ev)
		}
	default:
		// "reject: RCPT from host[ip]: 554 5.7.1 <x>: reason; from=<> to=<>"
		f := strings.Index(rest, " from ")
		if f <= 0 || !isUpperWord(rest[:f]) {
			return false
		}
		stage := rest[:f]
		r := rest[f+len(" from "):]
		name, addr, port, end, ok := peerAt(r)
		if !ok {
			return false
		}
		setClient(ev, name, addr, port)
		ev.SetExtra("smtp_stage", stage)
		r = strings.TrimPrefix(r[end:], ":")
		text, trailer := splitTrailer(strings.TrimLeft(r, " "))
		reply(text, ev)
		if trailer != "" {
			scanKV(trailer, ev)
		}
	}
	setAction(ev, act)
	return true
}

// checkLine handles header_checks / body_checks / milter header lines:
//
//	header From: "x" <y> from unknown[192.0.2.1]; from=<a> to=<b> proto=ESMTP helo=<h>[: text]
//
// The header value may itself hold " from " and ";", so the client part is
// found from the right.
func checkLine(s string, ev *event.Event) bool {
	class := "header"
	if strings.HasPrefix(s, "body ") {
		class = "body"
	}
	s = s[len(class)+1:]
	content, attr, trailer := splitCheck(s)
	if attr != "" {
		if name, addr, port, _, ok := peerAt(attr); ok {
			setClient(ev, name, addr, port)
		} else if b := strings.IndexByte(attr, '['); b > 0 && strings.HasSuffix(attr, "]") {
			// A redacted or odd address ("unknown[192.168.xxx.xxx]").
			setClient(ev, attr[:b], attr[b+1:len(attr)-1], "")
		} else {
			ev.SetExtra("client_name", attr) // "local"
		}
	}
	if trailer != "" {
		rest := scanKV(trailer, ev)
		if strings.HasPrefix(rest, ": ") {
			ev.SetExtra("reason", rest[2:])
		}
	}
	if class == "body" {
		ev.SetExtra("body", content)
		return true
	}
	colon := strings.IndexByte(content, ':')
	if colon <= 0 || strings.ContainsAny(content[:colon], " \t") {
		ev.SetExtra("header_value", content)
		return true
	}
	name := content[:colon]
	value := strings.TrimLeft(content[colon+1:], " \t")
	ev.SetExtra("header_name", name)
	ev.SetExtra("header_value", value)
	decoded := unfold(value)
	switch {
	case strings.EqualFold(name, "From"):
		ev.Set(event.HeaderFrom, strings.TrimSpace(mime.DecodeHeader(decoded)))
		d, a := mime.SplitFrom(decoded)
		ev.SetExtra("from_display", d)
		ev.SetExtra("from_address", a)
	case strings.EqualFold(name, "Subject"):
		ev.SetExtra("subject", strings.TrimSpace(mime.DecodeHeader(decoded)))
	case strings.EqualFold(name, "Content-Type"):
		ev.Set(event.ContentType, mime.MediaType(decoded))
		ev.Set(event.Attachment, mime.FileName(decoded))
	case strings.EqualFold(name, "Content-Disposition"):
		ev.SetExtra("disposition", mime.MediaType(decoded))
		ev.Set(event.Attachment, mime.FileName(decoded))
	}
	return true
}

// splitCheck splits "CONTENT from ATTR;TRAILER" at the right-most " from "
// whose ATTR is one token followed by ";" and a plausible trailer. When no
// such split exists (a line cut short), all of s is the content.
func splitCheck(s string) (content, attr, trailer string) {
	limit := len(s)
	for {
		p := strings.LastIndex(s[:limit], " from ")
		if p < 0 {
			return s, "", ""
		}
		tail := s[p+len(" from "):]
		semi := strings.IndexByte(tail, ';')
		if semi > 0 && strings.IndexByte(tail[:semi], ' ') < 0 {
			after := tail[semi+1:]
			if after == "" || hasTrailerStart(after) || strings.HasPrefix(after, ": ") {
				return s[:p], tail[:semi], strings.TrimPrefix(after, " ")
			}
		}
		limit = p
	}
}

func hasTrailerStart(s string) bool {
	return strings.HasPrefix(s, " from=<") || strings.HasPrefix(s, " to=<") ||
		strings.HasPrefix(s, " proto=") || strings.HasPrefix(s, " helo=")
}

// splitTrailer splits "TEXT; from=<a> to=<b> proto=P helo=<h>" at the
// right-most "; " that starts the key=value trailer.
func splitTrailer(s string) (text, trailer string) {
	limit := len(s)
	for {
		p := strings.LastIndex(s[:limit], ";")
		if p < 0 {
			return s, ""
		}
		if hasTrailerStart(s[p+1:]) {
			return s[:p], s[p+2:]
		}
		limit = p
	}
}

// reply stores "554 5.7.1 <x>: text": the SMTP reply code, the enhanced
// status code and the rest as the reason.
func reply(text string, ev *event.Event) {
	text = strings.TrimSpace(text)
	if len(text) >= 4 && isDigit(text[0]) && isDigit(text[1]) && isDigit(text[2]) && (text[3] == ' ' || text[3] == '-') {
		ev.SetExtra("reply_code", text[:3])
		text = text[4:]
	}
	if sp := strings.IndexByte(text, ' '); sp > 0 && isDSN(text[:sp]) {
		ev.SetExtra("dsn", text[:sp])
		text = text[sp+1:]
	} else if isDSN(text) {
		ev.SetExtra("dsn", text)
		text = ""
	}
	ev.SetExtra("reason", strings.TrimSpace(text))
}

// isDSN reports whether s is an enhanced status code "5.7.1", "4.7.25".
func isDSN(s string) bool {
	if len(s) < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.' {
		return false
	}
	dots := 0
	for i := 2; i < len(s); i++ {
		switch {
		case s[i] == '.':
			if s[i-1] == '.' {
				return false
			}
			dots++
		case !isDigit(s[i]):
			return false
		}
	}
	return dots == 1 && s[len(s)-1] != '.'
}

// setAction normalizes a Postfix action word into Action, keeping the
// original as action_raw when it differs.
func setAction(ev *event.Event, act string) {
	norm := act
	switch act {
	case "reject", "milter-reject", "proxy-reject":
		norm = "reject"
	case "discard", "milter-discard":
		norm = "drop"
	case "hold", "milter-hold":
		norm = "hold"
	case "reject_warning", "warning":
		norm = "warn"
	case "proxy-accept":
		norm = "allow"
	}
	ev.Set(event.Action, norm)
	if norm != act {
		ev.SetExtra("action_raw", act)
	}
}

// isActionWord reports whether w is an action Postfix logs before ": ":
// access-table, header/body-check, milter and proxy outcomes.
func isActionWord(w string) bool {
	switch w {
	case "reject", "reject_warning", "discard", "hold", "filter", "redirect", "warning", "info",
		"prepend", "replace", "strip", "bcc", "defer", "defer_if_permit", "defer_if_reject":
		return true
	}
	if strings.HasPrefix(w, "milter-") || strings.HasPrefix(w, "proxy-") {
		for i := 0; i < len(w); i++ {
			if c := w[i]; !(c >= 'a' && c <= 'z' || c == '-') {
				return false
			}
		}
		return true
	}
	return false
}

// startsWithKV reports whether s starts with "key=".
func startsWithKV(s string) bool {
	k := 0
	for k < len(s) && isKeyChar(s[k]) {
		k++
	}
	return k > 0 && k < len(s) && s[k] == '=' && s[0] >= 'a' && s[0] <= 'z'
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// scanKV reads Postfix's "key=value" lists, separated by ", " or " ", and
// returns what follows the last pair. Values in angle brackets may hold
// anything but a ">" followed by a separator.
func scanKV(s string, ev *event.Event) string {
	for {
		t := strings.TrimLeft(s, " ,")
		if !startsWithKV(t) {
			return s
		}
		eq := strings.IndexByte(t, '=')
		key := t[:eq]
		t = t[eq+1:]
		var val string
		switch {
		case strings.HasPrefix(t, "<"):
			e := closeAngle(t)
			if e < 0 {
				val, t = t[1:], ""
			} else {
				val, t = t[1:e], t[e+1:]
			}
		case key == "message-id" || key == "resent-message-id":
			// Unbracketed message-ids (mangled, encoded) run to the end.
			val, t = strings.TrimSpace(t), ""
		default:
			e := strings.IndexAny(t, ", ")
			if e < 0 {
				e = len(t)
			}
			val, t = t[:e], t[e:]
		}
		setKV(ev, key, val)
		if key == "status" {
			setStatusDetail(ev, t)
			return ""
		}
		s = t
	}
}

// closeAngle finds the ">" that closes the value starting at t[0] == '<':
// the first one followed by the end, a separator or ":".
func closeAngle(t string) int {
	for i := 1; i < len(t); i++ {
		if t[i] != '>' {
			continue
		}
		if i+1 == len(t) {
			return i
		}
		switch t[i+1] {
		case ',', ' ', ':', ';':
			return i
		}
	}
	return strings.IndexByte(t, '>')
}

// setStatusDetail reads what follows "status=sent": "(250 2.0.0 Ok: queued
// as X)" or ", returned to sender".
func setStatusDetail(ev *event.Event, t string) {
	t = strings.TrimLeft(t, " ")
	var d string
	switch {
	case strings.HasPrefix(t, "("):
		d = t[1:]
		if e := strings.LastIndexByte(d, ')'); e >= 0 {
			d = d[:e]
		}
	case strings.HasPrefix(t, ","):
		d = strings.TrimSpace(t[1:])
	default:
		return
	}
	ev.SetExtra("status_detail", d)
	if st, _ := inReplyTo(d); st != "" {
		ev.SetExtra("smtp_stage", st)
	}
	if i := strings.Index(d, "queued as "); i >= 0 {
		q := d[i+len("queued as "):]
		if e := strings.IndexAny(q, " ,;)"); e >= 0 {
			q = q[:e]
		}
		ev.SetExtra("queued_as", q)
	}
}

// inReplyTo finds a trailing "(in reply to RCPT TO command)" and returns
// the command and the text before it.
func inReplyTo(s string) (stage, before string) {
	const pre, suf = " (in reply to ", " command)"
	i := strings.LastIndex(s, pre)
	if i < 0 || !strings.HasSuffix(s, suf) || i+len(pre) > len(s)-len(suf) {
		return "", s
	}
	return s[i+len(pre) : len(s)-len(suf)], s[:i]
}

// setKV maps one Postfix key=value pair onto the event.
func setKV(ev *event.Event, key, val string) {
	switch key {
	case "from":
		ev.Set(event.MailFrom, val)
	case "to":
		ev.Set(event.MailTo, val)
	case "client":
		if name, addr, port, _, ok := peerAt(val); ok {
			setClient(ev, name, addr, port)
		} else {
			ev.SetExtra("client", val)
		}
	case "relay":
		if b := strings.IndexByte(val, '['); b >= 0 {
			if name, addr, port, _, ok := peerAt(val); ok {
				setRelay(ev, name, addr, port)
				return
			}
			// "sub1.example.com[private/dovecot-lmtp]"
			ev.SetExtra("relay", val[:b])
			if e := strings.LastIndexByte(val, ']'); e > b {
				ev.SetExtra("relay_service", val[b+1:e])
			}
			return
		}
		ev.SetExtra("relay", val)
	case "status":
		ev.Set(event.Status, val)
		switch {
		case val == "sent" || val == "deliverable":
			ev.Set(event.Action, "allow")
		case val == "bounced" || strings.HasPrefix(val, "undeliverable"):
			ev.Set(event.Action, "reject")
		case val == "deferred":
			ev.Set(event.Action, "defer")
		case val == "expired":
			ev.Set(event.Action, "drop")
		}
	case "delay":
		ev.SetExtra("delay", val)
		if f, err := strconv.ParseFloat(val, 64); err == nil && f >= 0 && f < 1e12 {
			ev.Set(event.Duration, strconv.FormatInt(int64(math.Round(f*1000)), 10))
		}
	case "sasl_username":
		ev.Set(event.User, val)
		ev.SetExtra("sasl_username", val)
	case "proto":
		// Not the transport protocol of the common "proto" field.
		ev.SetExtra("smtp_proto", val)
	default:
		k := strings.ReplaceAll(key, "-", "_")
		if _, clash := event.KeyByName(k); clash {
			k = "postfix_" + k
		}
		ev.SetExtra(k, val)
	}
}

// setClient stores the SMTP client: its name as client_name, its address
// as SrcIP when it is one (else as client_addr, e.g. a redacted log), the
// port as SrcPort.
func setClient(ev *event.Event, name, addr, port string) {
	ev.SetExtra("client_name", name)
	addr = strings.TrimPrefix(addr, "IPv6:")
	switch {
	case validIP(addr):
		ev.Set(event.SrcIP, addr)
	case addr != "unknown":
		ev.SetExtra("client_addr", addr)
	}
	ev.Set(event.SrcPort, port)
}

// setRelay stores the server Postfix delivered to.
func setRelay(ev *event.Event, name, addr, port string) {
	ev.SetExtra("relay", name)
	addr = strings.TrimPrefix(addr, "IPv6:")
	if validIP(addr) {
		ev.Set(event.DstIP, addr)
	}
	ev.Set(event.DstPort, port)
}

func setQueueID(ev *event.Event, qid string) {
	if qid != "NOQUEUE" {
		ev.Set(event.QueueID, qid)
	}
}

// queueID reads "QUEUEID: " at the start of s: a short id (6+ upper-case
// hex digits), a long id (12+ alphanumerics with a digit, Postfix's
// enable_long_queue_ids) or NOQUEUE.
func queueID(s string) (qid, rest string, ok bool) {
	c := strings.IndexByte(s, ':')
	if c < 6 || c > 40 {
		return "", s, false
	}
	id := s[:c]
	rest = strings.TrimPrefix(s[c+1:], " ")
	if id == "NOQUEUE" {
		return id, rest, true
	}
	hex, digit := true, false
	for i := 0; i < len(id); i++ {
		ch := id[i]
		switch {
		case ch >= '0' && ch <= '9':
			digit = true
		case ch >= 'A' && ch <= 'F':
		case ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z':
			hex = false
		default:
			return "", s, false
		}
	}
	if hex || (digit && len(id) >= 12) {
		return id, rest, true
	}
	return "", s, false
}

// levelPrefix strips "warning: ", "error: ", "fatal: ", "panic: ".
func levelPrefix(s string) (level, rest string) {
	for _, lv := range [...]string{"warning", "error", "fatal", "panic"} {
		if len(s) > len(lv)+1 && s[:len(lv)] == lv && s[len(lv)] == ':' {
			return lv, strings.TrimPrefix(s[len(lv)+1:], " ")
		}
	}
	return "", s
}

// findPeer finds the first "name[addr]" or "name[addr]:port" in s whose
// address is an IP address ("[addr]:port" with no name too, as postscreen
// writes). end is the index just past it.
func findPeer(s string) (name, addr, port string, end int, ok bool) {
	off := 0
	for off < len(s) {
		i := strings.IndexByte(s[off:], '[')
		if i < 0 {
			break
		}
		i += off
		k := i
		for k > 0 && isHostChar(s[k-1]) {
			k--
		}
		if k == 0 || s[k-1] == ' ' || s[k-1] == '(' || s[k-1] == '=' || s[k-1] == ',' {
			if n, a, p, e, ok := peerAt(s[k:]); ok {
				return n, a, p, k + e, true
			}
		}
		off = i + 1
	}
	return "", "", "", 0, false
}

// peerAt reads "name[addr]" or "name[addr]:port" at the start of s. The
// address must be an IP address (optionally "IPv6:"-prefixed) or
// "unknown".
func peerAt(s string) (name, addr, port string, end int, ok bool) {
	b := strings.IndexByte(s, '[')
	if b < 0 {
		return "", "", "", 0, false
	}
	for k := 0; k < b; k++ {
		if !isHostChar(s[k]) {
			return "", "", "", 0, false
		}
	}
	e := strings.IndexByte(s[b:], ']')
	if e < 0 {
		return "", "", "", 0, false
	}
	e += b
	addr = s[b+1 : e]
	if addr != "unknown" && !validIP(strings.TrimPrefix(addr, "IPv6:")) {
		return "", "", "", 0, false
	}
	end = e + 1
	if end+1 < len(s) && s[end] == ':' && isDigit(s[end+1]) {
		p := end + 1
		for p < len(s) && isDigit(s[p]) {
			p++
		}
		port = s[end+1 : p]
		end = p
	}
	if b == 0 && port == "" {
		// A bare "[addr]" is too common in free text ("mynetworks:
		// 127.0.0.0/8 [::1]/128"); Postfix writes a nameless peer only as
		// postscreen's "[addr]:port".
		return "", "", "", 0, false
	}
	return s[:b], addr, port, end, true
}

// stageAfter returns the SMTP command after " after " ("lost connection
// after DATA (0 bytes) from", "COMMAND TIME LIMIT from [ip]:port after
// CONNECT"), "" when there is none.
func stageAfter(s string) string {
	i := strings.Index(s, " after ")
	if i < 0 {
		return ""
	}
	w := s[i+len(" after "):]
	if e := strings.IndexAny(w, " :"); e >= 0 {
		w = w[:e]
	}
	if w == "." || isUpperWord(w) {
		return w
	}
	return ""
}

// isUpperWord reports whether w is an upper-case protocol word such as
// "RCPT", "END-OF-MESSAGE", "NON-SMTP".
func isUpperWord(w string) bool {
	if w == "" {
		return false
	}
	for i := 0; i < len(w); i++ {
		if c := w[i]; !(c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// unfold undoes how Postfix prints a folded header line: the CR/LF and TAB
// of a fold are non-printable and become "?". A run of one or two "?" right
// after an encoded word's "?=", or after ";", ",", or a closing quote, and
// before white space or the next "=?", is turned back into spaces, so that
// adjacent encoded words join again and "Name"? <addr> reads as a phrase.
func unfold(s string) string {
	if strings.IndexByte(s, '?') < 0 {
		return s
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '?' || i == 0 {
			continue
		}
		prevOK := s[i-1] == ';' || s[i-1] == ',' || s[i-1] == '"' ||
			(i >= 2 && s[i-1] == '=' && s[i-2] == '?' && (i < 3 || s[i-3] != '='))
		if !prevOK {
			continue
		}
		j := i
		for j < len(s) && s[j] == '?' && j-i < 2 {
			j++
		}
		nextOK := j == len(s) || s[j] == ' ' || s[j] == '\t' || (j+1 < len(s) && s[j] == '=' && s[j+1] == '?')
		if !nextOK {
			continue
		}
		if b == nil {
			b = []byte(s)
		}
		for k := i; k < j; k++ {
			b[k] = ' '
		}
		i = j - 1
	}
	if b == nil {
		return s
	}
	return string(b)
}

func validIP(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

func isHostChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func nextToken(b []byte) (tok, rest []byte) {
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return b, nil
	}
	return b[:i], b[i:]
}

func skipSpaces(b []byte) []byte {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return b
}
