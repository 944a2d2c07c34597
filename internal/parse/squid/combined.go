package squid

import (
	"fmt"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/parse/syslog"
)

// Combined parses Squid's "combined" logformat (JPCERT/CC table 4-19):
//
//	logformat combined %>a %ui %un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st "%{Referer}>h" "%{User-Agent}>h" %Ss:%Sh
type Combined struct{}

// Name implements parse.Parser.
func (Combined) Name() string { return "squid-combined" }

// Describe implements parse.Parser.
func (Combined) Describe() string {
	return `Squid "combined" logformat (client ident user [time] "request" status bytes referer user-agent code:hierarchy)`
}

// Sniff accepts the combined shape (client ident user [dd/Mon/yyyy:hh:mm:ss
// ...] "...") only when something marks it as a proxy's log rather than a
// web server's: an absolute request URL ("GET http://..."), a CONNECT to
// host:port, or the trailing Squid "%Ss:%Sh" token (TCP_MISS:HIER_DIRECT).
func (Combined) Sniff(rec []byte) bool {
	b := trim(rec)
	i := 0
	for k := 0; k < 3; k++ { // client, ident, user
		n := 0
		for i < len(b) && !isSpace(b[i]) {
			i++
			n++
		}
		if n == 0 || i >= len(b) {
			return false
		}
		for i < len(b) && isSpace(b[i]) {
			i++
		}
	}
	// [12/Feb/2015:13:53:00 +0900]
	if i+22 > len(b) || b[i] != '[' || !isDigit(b[i+1]) || !isDigit(b[i+2]) || b[i+3] != '/' ||
		syslog.Month(b[i+4:]) == 0 || b[i+7] != '/' || b[i+12] != ':' {
		return false
	}
	for i < len(b) && b[i] != ']' {
		i++
	}
	if i+3 >= len(b) || b[i+1] != ' ' || b[i+2] != '"' {
		return false
	}
	i += 3
	// Method.
	m := i
	for i < len(b) && b[i] >= 'A' && b[i] <= 'Z' {
		i++
	}
	method := b[m:i]
	if len(method) > 0 && i < len(b) && b[i] == ' ' {
		i++
		u := i
		for i < len(b) && b[i] != ' ' && b[i] != '"' {
			i++
		}
		url := b[u:i]
		if hasScheme(url) {
			return true
		}
		if string(method) == "CONNECT" {
			h, p := urlHostPort(string(url))
			if h != "" && p != "" {
				return true
			}
		}
	}
	// Trailing CODE:HIERARCHY token.
	j := len(b)
	for j > 0 && !isSpace(b[j-1]) {
		j--
	}
	last := b[j:]
	c := 0
	for c < len(last) && last[c] != ':' {
		c++
	}
	return c > 0 && c < len(last)-1 && isResultCodeB(last[:c]) && isResultCodeB(last[c+1:])
}

func hasScheme(u []byte) bool {
	for i := 0; i < len(u) && i < 10; i++ {
		c := u[i]
		if c == ':' {
			return i > 0 && i+2 < len(u) && u[i+1] == '/' && u[i+2] == '/'
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return false
}

func isResultCodeB(b []byte) bool {
	if len(b) == 0 || b[0] < 'A' || b[0] > 'Z' {
		return false
	}
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c == '_' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// field reads a quoted or bare field at s[i] and skips the blanks after it.
func field(s string, i int) (v string, next int, ok bool) {
	if i < len(s) && s[i] == '"' {
		v, i, ok = readQuoted(s, i)
		if !ok {
			return "", i, false
		}
	} else {
		v, i = token(s, i)
	}
	return v, skipSpaces(s, i), true
}

// Parse implements parse.Parser.
func (Combined) Parse(rec []byte, ev *event.Event, pc *parse.Context) error {
	s := trimmedString(rec, ev)
	if len(s) == 0 || s[0] == '#' {
		return parse.ErrSkip
	}
	var client, ident, user string
	i := 0
	client, i = token(s, i)
	i = skipSpaces(s, i)
	ident, i = token(s, i)
	i = skipSpaces(s, i)
	user, i = token(s, i)
	i = skipSpaces(s, i)
	if i >= len(s) || s[i] != '[' {
		return fmt.Errorf("squid-combined: no [time] after client, ident and user")
	}
	end := i + 1
	for end < len(s) && s[end] != ']' {
		end++
	}
	if end >= len(s) {
		return fmt.Errorf("squid-combined: unterminated [time]")
	}
	t, ok := parseCLFTime(s[i+1:end], pc)
	if !ok {
		return fmt.Errorf("squid-combined: time %q is not dd/Mon/yyyy:hh:mm:ss [+zzzz]", s[i+1:end])
	}
	i = skipSpaces(s, end+1)
	req, i, ok := field(s, i)
	if !ok {
		return fmt.Errorf("squid-combined: unterminated quoted request")
	}
	status, i, _ := field(s, i)
	size, i, _ := field(s, i)
	if status == "" {
		return fmt.Errorf("squid-combined: line ends before the status")
	}
	if !isDigits(status) && status != "-" {
		return fmt.Errorf("squid-combined: status %q is not a number", status)
	}
	if !isDigits(size) && size != "-" && size != "" {
		return fmt.Errorf("squid-combined: size %q is not a number of bytes", size)
	}
	referer, i, ok := field(s, i)
	if !ok {
		return fmt.Errorf("squid-combined: unterminated quoted Referer")
	}
	ua, i, ok := field(s, i)
	if !ok {
		return fmt.Errorf("squid-combined: unterminated quoted User-Agent")
	}

	ev.Time = t
	if client != "-" {
		ev.Set(event.SrcIP, client)
	}
	if user != "-" {
		ev.Set(event.User, user)
	}
	if status != "-" {
		ev.Set(event.Status, status)
	}
	if size != "-" {
		ev.Set(event.BytesIn, size)
	}
	setRequest(ev, req)
	if ua != "-" {
		ev.Set(event.UserAgent, ua)
	}
	if ident != "-" {
		ev.SetExtra("ident", ident)
	}
	if referer != "-" {
		ev.SetExtra("referer", referer)
	}

	// %Ss:%Sh, then whatever a site appended.
	if i < len(s) && s[i] != '"' {
		tok, j := token(s, i)
		if code, hier, ok := splitAt(tok, ':'); ok && isResultCode(code) && isResultCode(hier) {
			setResult(ev, code)
			ev.SetExtra("hierarchy", hier)
			i = skipSpaces(s, j)
		}
	}
	if i < len(s) {
		ev.SetExtra("trailer", s[i:])
	}
	return nil
}

// setRequest splits "%rm %ru HTTP/%rv". A request that is "-" sets nothing;
// one that is not METHOD TARGET [PROTOCOL] (a scanner's garbage, a TLS
// handshake sent to a plain port) is kept whole as extra "request".
func setRequest(ev *event.Event, req string) {
	if req == "" || req == "-" {
		return
	}
	sp := -1
	for k := 0; k < len(req); k++ {
		if req[k] == ' ' {
			sp = k
			break
		}
	}
	method := req
	if sp >= 0 {
		method = req[:sp]
	}
	if sp < 0 || !isMethod(method) {
		ev.SetExtra("request", req)
		return
	}
	rest := req[sp+1:]
	target := rest
	for k := len(rest) - 1; k >= 0; k-- {
		if rest[k] == ' ' {
			if p := rest[k+1:]; len(p) > 5 && p[:5] == "HTTP/" {
				target = rest[:k]
				ev.SetExtra("protocol", p)
			}
			break
		}
	}
	ev.Set(event.Method, method)
	setURL(ev, target)
}

func isMethod(m string) bool {
	if m == "" || len(m) > 32 {
		return false
	}
	for k := 0; k < len(m); k++ {
		c := m[k]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// parseCLFTime reads "12/Feb/2015:13:53:00 +0900" (Squid %tl, Apache %t);
// without an offset the time is read in pc.Location.
func parseCLFTime(s string, pc *parse.Context) (time.Time, bool) {
	if len(s) < 20 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':' {
		return time.Time{}, false
	}
	day, ok1 := num(s[0:2])
	mon := syslog.Month([]byte(s[3:6]))
	year, ok2 := num(s[7:11])
	hh, ok3 := num(s[12:14])
	mm, ok4 := num(s[15:17])
	ss, ok5 := num(s[18:20])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || mon == 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	rest := s[20:]
	nsec := 0
	if len(rest) > 1 && (rest[0] == '.' || rest[0] == ',') && isDigit(rest[1]) {
		k := 1
		scale := 100000000
		for k < len(rest) && isDigit(rest[k]) {
			nsec += int(rest[k]-'0') * scale
			scale /= 10
			k++
		}
		rest = rest[k:]
	}
	for len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	if rest == "" {
		return time.Date(year, time.Month(mon), day, hh, mm, ss, nsec, pc.Location).UTC(), true
	}
	if len(rest) != 5 || (rest[0] != '+' && rest[0] != '-') {
		return time.Time{}, false
	}
	oh, ok1 := num(rest[1:3])
	om, ok2 := num(rest[3:5])
	if !ok1 || !ok2 || oh > 23 || om > 59 {
		return time.Time{}, false
	}
	off := time.Duration(oh)*time.Hour + time.Duration(om)*time.Minute
	if rest[0] == '-' {
		off = -off
	}
	return time.Date(year, time.Month(mon), day, hh, mm, ss, nsec, time.UTC).Add(-off), true
}

func num(s string) (int, bool) {
	n := 0
	for k := 0; k < len(s); k++ {
		if !isDigit(s[k]) {
			return 0, false
		}
		n = n*10 + int(s[k]-'0')
	}
	return n, s != ""
}
