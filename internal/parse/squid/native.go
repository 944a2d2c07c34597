package squid

import (
	"fmt"
	"strings"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
)

// Native parses Squid's native access.log:
//
//	time.ms elapsed client code/status bytes method URL user hierarchy/peer type [extra...]
type Native struct{}

// Name implements parse.Parser.
func (Native) Name() string { return "squid" }

// Describe implements parse.Parser.
func (Native) Describe() string {
	return "Squid native access.log (epoch.ms elapsed client code/status bytes method URL user hierarchy/peer type)"
}

// Sniff accepts a line that starts like Squid's native format: an epoch time
// with a fraction, the elapsed milliseconds, a client and a result code with
// an HTTP status ("TCP_MISS/200").
func (Native) Sniff(rec []byte) bool {
	b := trim(rec)
	i := 0
	// epoch seconds "." fraction
	n := 0
	for i < len(b) && isDigit(b[i]) {
		i++
		n++
	}
	if n < 9 || n > 11 || i >= len(b) || b[i] != '.' {
		return false
	}
	i++
	if i >= len(b) || !isDigit(b[i]) {
		return false
	}
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	if i >= len(b) || !isSpace(b[i]) {
		return false
	}
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	// elapsed
	n = 0
	for i < len(b) && isDigit(b[i]) {
		i++
		n++
	}
	if n == 0 || i >= len(b) || !isSpace(b[i]) {
		return false
	}
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	// client
	n = 0
	for i < len(b) && !isSpace(b[i]) {
		i++
		n++
	}
	if n == 0 {
		return false
	}
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	// CODE/status
	n = 0
	for i < len(b) && (b[i] >= 'A' && b[i] <= 'Z' || b[i] == '_') {
		i++
		n++
	}
	if n < 3 || i >= len(b) || b[i] != '/' {
		return false
	}
	i++
	n = 0
	for i < len(b) && isDigit(b[i]) {
		i++
		n++
	}
	return n == 3 && i < len(b) && isSpace(b[i])
}

var nativeFieldNames = [10]string{"time", "elapsed", "client", "code/status", "bytes", "method", "URL", "user", "hierarchy/peer", "type"}

// Parse implements parse.Parser.
func (Native) Parse(rec []byte, ev *event.Event, pc *parse.Context) error {
	s := trimmedString(rec, ev)
	if len(s) == 0 || s[0] == '#' {
		return parse.ErrSkip
	}
	var f [10]string
	i := 0
	n := 0
	for n < len(f) && i < len(s) {
		f[n], i = token(s, i)
		n++
		i = skipSpaces(s, i)
	}
	if n < len(f) {
		return fmt.Errorf("squid: %d fields, the native access.log has at least 10 (missing %s)", n, nativeFieldNames[n])
	}

	t, ok := parseEpoch(f[0])
	if !ok {
		return fmt.Errorf("squid: time %q is not epoch seconds", f[0])
	}
	if !isDigits(f[1]) {
		return fmt.Errorf("squid: elapsed time %q is not a number of milliseconds", f[1])
	}
	code, status, ok := splitAt(f[3], '/')
	if !ok || !isResultCode(code) || !isDigits(status) {
		return fmt.Errorf("squid: result %q is not CODE/status", f[3])
	}
	if !isDigits(f[4]) && f[4] != "-" {
		return fmt.Errorf("squid: size %q is not a number of bytes", f[4])
	}
	hier, peer, ok := splitAt(f[8], '/')
	if !ok {
		return fmt.Errorf("squid: hierarchy/peer %q has no '/' (columns shifted by a blank inside the URL or user?)", f[8])
	}

	ev.Time = t
	ev.Set(event.Duration, f[1])
	if f[2] != "-" {
		ev.Set(event.SrcIP, f[2])
	}
	setResult(ev, code)
	ev.Set(event.Status, status)
	if f[4] != "-" {
		ev.Set(event.BytesIn, f[4])
	}
	if f[5] != "-" {
		ev.Set(event.Method, f[5])
	}
	setURL(ev, f[6])
	if f[7] != "-" {
		ev.Set(event.User, f[7])
	}
	if hier != "-" {
		ev.SetExtra("hierarchy", hier)
	}
	if peer != "-" {
		ev.SetExtra("peer", peer)
		if isIP(peer) {
			ev.Set(event.DstIP, peer)
		}
	}
	if f[9] != "-" {
		ev.Set(event.ContentType, f[9])
	}
	if i < len(s) {
		return nativeTail(s, i, ev)
	}
	return nil
}

// nativeTail reads what some sites append after the type column: a request
// size (%>st, a number) becomes BytesOut; one quoted field is the
// User-Agent, two are Referer then User-Agent. Anything else is kept verbatim
// as extra "trailer".
func nativeTail(s string, i int, ev *event.Event) error {
	quoted := 0
	var first string
	trailer := -1
	for i < len(s) {
		start := i
		if s[i] == '"' {
			v, j, ok := readQuoted(s, i)
			if !ok {
				return fmt.Errorf("squid: unterminated quoted field after the type column: %s", s[start:])
			}
			i = j
			switch quoted {
			case 0:
				first = v
			case 1:
				if first != "-" {
					ev.SetExtra("referer", first)
				}
				first = v
			default:
				if trailer < 0 {
					trailer = start
				}
			}
			quoted++
		} else {
			var tok string
			tok, i = token(s, i)
			if isDigits(tok) && !ev.Has(event.BytesOut) && quoted == 0 {
				ev.Set(event.BytesOut, tok)
			} else if trailer < 0 {
				trailer = start
			}
		}
		i = skipSpaces(s, i)
	}
	if quoted > 0 && first != "-" {
		ev.Set(event.UserAgent, first)
	}
	if trailer >= 0 {
		ev.SetExtra("trailer", strings.TrimRight(s[trailer:], " \t"))
	}
	return nil
}
