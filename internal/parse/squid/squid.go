// Package squid parses the two access-log formats of the Squid web proxy:
//
//   - "squid": Squid's native access.log (logformat squid), the default,
//
//     1424221299.090    452 127.0.0.1 TCP_MISS/200 74769 GET http://apt.example.com/x/apt.zip - DEFAULT_PARENT/113.1.1.1 application/zip-compressed
//
//   - "squid-combined": the Apache-like "combined" logformat that JPCERT/CC
//     recommends (table 4-19) because it adds the User-Agent,
//
//     192.168.1.1 - - [12/Feb/2015:13:53:00 +0900] "POST http://apt.example.com/control/apt.zip HTTP/1.1" 200 851 - "Wget/1.12 (linux-gnu)" TCP_MISS:DIRECT
//
// Both parsers are on the hot path of the product (proxy logs are the largest
// input), so they convert the record to a string once and take every field as
// a substring of it, scanning by index: no regexp, no strings.Fields, no fmt
// except when building an error.
package squid

import (
	"net/netip"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
)

// New returns the parser of Squid's native access.log ("squid").
func New() parse.Parser { return Native{} }

// NewNative returns the parser of Squid's native access.log ("squid").
func NewNative() parse.Parser { return Native{} }

// NewCombined returns the parser of Squid's "combined" logformat
// ("squid-combined").
func NewCombined() parse.Parser { return Combined{} }

// isSpace reports the separators of Squid's log fields. Squid pads the
// elapsed-time column with a run of spaces; tabs are accepted too because
// some collectors rewrite them.
func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// trim drops the line ending and surrounding blanks.
func trim(b []byte) []byte {
	for len(b) > 0 && (isSpace(b[0]) || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	for len(b) > 0 && (isSpace(b[len(b)-1]) || b[len(b)-1] == '\r' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}

// trimmedString returns rec without its surrounding blanks as a string. The
// pipeline has set ev.Raw to rec already (parse.Parser's contract); the
// fields are then substrings of ev.Raw, and parsing a line copies nothing.
// Callers that did not set ev.Raw get a copy.
func trimmedString(rec []byte, ev *event.Event) string {
	start, end := 0, len(rec)
	for start < end && (isSpace(rec[start]) || rec[start] == '\r' || rec[start] == '\n') {
		start++
	}
	for end > start && (isSpace(rec[end-1]) || rec[end-1] == '\r' || rec[end-1] == '\n') {
		end--
	}
	if len(ev.Raw) == len(rec) && ev.Raw == string(rec) {
		return ev.Raw[start:end]
	}
	return string(rec[start:end])
}

func skipSpaces(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

// token returns the field starting at i (which must not be a space) and the
// index just after it.
func token(s string, i int) (string, int) {
	j := i
	for j < len(s) && !isSpace(s[j]) {
		j++
	}
	return s[i:j], j
}

func isDigits(s string) bool {
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

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseEpoch reads Squid's "%ts.%03tu": seconds since the epoch with an
// optional fraction.
func parseEpoch(s string) (time.Time, bool) {
	var sec int64
	i := 0
	for i < len(s) && isDigit(s[i]) {
		if i >= 12 { // far beyond any real clock: refuse rather than overflow
			return time.Time{}, false
		}
		sec = sec*10 + int64(s[i]-'0')
		i++
	}
	if i == 0 {
		return time.Time{}, false
	}
	var nsec int64
	if i < len(s) {
		if s[i] != '.' || i+1 == len(s) {
			return time.Time{}, false
		}
		i++
		scale := int64(100000000)
		for ; i < len(s); i++ {
			if !isDigit(s[i]) {
				return time.Time{}, false
			}
			nsec += int64(s[i]-'0') * scale
			scale /= 10
		}
	}
	return time.Unix(sec, nsec).UTC(), true
}

// splitAt splits s at the first sep: "TCP_MISS/200" into the result code and
// the status. ok is false when sep is absent.
func splitAt(s string, sep byte) (string, string, bool) {
	i := strings.IndexByte(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// isResultCode reports whether s looks like a Squid result code: TCP_MISS,
// TCP_DENIED, NONE, TAG_NONE, TCP_TUNNEL_ABORTED, NONE_NONE...
func isResultCode(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c == '_' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s[0] >= 'A' && s[0] <= 'Z'
}

// setResult stores the result code and the action it implies.
func setResult(ev *event.Event, code string) {
	ev.SetExtra("result_code", code)
	if strings.Contains(code, "DENIED") {
		ev.Set(event.Action, "deny")
	} else {
		ev.Set(event.Action, "allow")
	}
}

// setURL stores the URL and what it says about the destination: the host
// (lower case, no port, no trailing dot) as Domain and the port, explicit or
// implied by the scheme, as DstPort. A URL with no recognizable host ("ahmet",
// "error:method-not-allowed", "/path") sets only URL.
func setURL(ev *event.Event, u string) {
	if u == "" || u == "-" {
		return
	}
	ev.Set(event.URL, u)
	host, port := urlHostPort(u)
	if host == "" {
		return
	}
	ev.Set(event.Domain, host)
	ev.Set(event.DstPort, port)
}

// urlHostPort extracts the host and port of an absolute URL
// ("scheme://[user@]host[:port]/...") or of an authority-form request target
// ("host:port", what CONNECT logs).
func urlHostPort(u string) (host, port string) {
	i := strings.Index(u, "://")
	if i > 0 {
		scheme := u[:i]
		rest := u[i+3:]
		end := len(rest)
		for j := 0; j < len(rest); j++ {
			if c := rest[j]; c == '/' || c == '?' || c == '#' {
				end = j
				break
			}
		}
		auth := rest[:end]
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			auth = auth[at+1:]
		}
		host, port = splitHostPort(auth)
		if port != "" && !isPort(port) {
			return "", ""
		}
		if port == "" {
			port = defaultPort(scheme)
		}
		host = cleanHost(host)
		if host == "" {
			return "", ""
		}
		return host, port
	}
	// Authority form: host:port, nothing else.
	if strings.IndexByte(u, '/') >= 0 {
		return "", ""
	}
	host, port = splitHostPort(u)
	if !isPort(port) {
		return "", ""
	}
	host = cleanHost(host)
	if host == "" {
		return "", ""
	}
	return host, port
}

func isPort(p string) bool { return len(p) <= 5 && isDigits(p) }

// splitHostPort splits "host:port" and "[v6]:port"; port is "" when absent.
func splitHostPort(a string) (host, port string) {
	if strings.HasPrefix(a, "[") {
		j := strings.IndexByte(a, ']')
		if j < 0 {
			return "", ""
		}
		host = a[1:j]
		if j+1 < len(a) {
			if a[j+1] != ':' {
				return "", ""
			}
			port = a[j+2:]
		}
		return host, port
	}
	j := strings.LastIndexByte(a, ':')
	if j < 0 {
		return a, ""
	}
	if strings.IndexByte(a[:j], ':') >= 0 {
		// Several colons and no brackets: a bare IPv6 address.
		return a, ""
	}
	return a[:j], a[j+1:]
}

// cleanHost lower-cases a host name and drops a trailing dot. It rejects
// hosts with characters no DNS name or address literal has, so that garbage
// never becomes a Domain.
func cleanHost(h string) string {
	if len(h) > 1 && h[len(h)-1] == '.' {
		h = h[:len(h)-1]
	}
	if h == "" || h == "." {
		return ""
	}
	upper := false
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == ':', c == '%':
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 0x80: // IDN written in UTF-8
		default:
			return ""
		}
	}
	if upper {
		h = strings.ToLower(h)
	}
	return h
}

func defaultPort(scheme string) string {
	switch {
	case strings.EqualFold(scheme, "http"), strings.EqualFold(scheme, "ws"):
		return "80"
	case strings.EqualFold(scheme, "https"), strings.EqualFold(scheme, "wss"):
		return "443"
	case strings.EqualFold(scheme, "ftp"):
		return "21"
	}
	return ""
}

// isIP reports whether s is an IPv4 or IPv6 address (no allocation for
// addresses without a zone).
func isIP(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// readQuoted reads a double-quoted field starting at s[i] == '"'. It returns
// the content (unescaped when it holds backslash escapes, which costs one
// allocation) and the index after the closing quote.
func readQuoted(s string, i int) (string, int, bool) {
	j := i + 1
	esc := false
	for j < len(s) {
		switch s[j] {
		case '\\':
			esc = true
			j += 2
			continue
		case '"':
			v := s[i+1 : j]
			if esc {
				v = unescape(v)
			}
			return v, j + 1, true
		}
		j++
	}
	return "", len(s), false
}

// unescape undoes the \" and \\ escapes Squid and Apache write inside quoted
// fields. Other escapes (\xHH, \n) are kept as written: they are how the
// logger made a control byte visible and the analyst should see them so.
func unescape(v string) string {
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) && (v[i+1] == '"' || v[i+1] == '\\') {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}
