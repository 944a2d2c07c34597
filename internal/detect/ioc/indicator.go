package ioc

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/kizuki-dev/kizuki/internal/org"
)

// Kind is what an indicator names.
type Kind uint8

// The kinds of indicator.
const (
	// Domain is a host name; it matches itself and its subdomains
	// ("evil.example" matches "dl.evil-cdn.evil.example"), or only the
	// subdomains when written "*.evil.example".
	Domain Kind = 1 + iota
	// IP is an IPv4 or IPv6 address or CIDR prefix.
	IP
	// URL is a full URL, compared after normalization.
	URL
	// Hash is an MD5, SHA-1 or SHA-256 file hash (Indicator.Algo says which).
	Hash
	// Email is a mail address.
	Email
)

var kindNames = [...]string{"", "domain", "ip", "url", "hash", "email"}

// String returns the kind's name as used in reports and alerts.
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "unknown"
}

// Kinds returns every kind, in a fixed order (for reports).
func Kinds() []Kind { return []Kind{Domain, IP, URL, Hash, Email} }

// Indicator is one known-bad value, normalized so that it compares equal to
// what a log holds.
type Indicator struct {
	Kind Kind
	// Value is the normalized indicator: a lower-case domain (with "*."
	// for subdomains only), an address or masked prefix, a normalized URL,
	// a lower-case hex hash, a lower-case mail address.
	Value string
	// Algo is "md5", "sha1" or "sha256" for a Hash.
	Algo string
	// Description is what the list says about it (a comment, a CSV
	// description column, the STIX name and description).
	Description string
	// Source is who published it (a CSV source column, the STIX identity
	// that created it); empty when the list does not say.
	Source string
	// Ref is where it is in its list: "line 12" or a STIX indicator id.
	Ref string

	prefix netip.Prefix // for IP
}

// Prefix returns an IP indicator's prefix (a single address is a /32 or
// /128).
func (in *Indicator) Prefix() netip.Prefix { return in.prefix }

// Key identifies the indicator whatever list holds it: its kind and
// normalized value.
func (in *Indicator) Key() string { return in.Kind.String() + ":" + in.Value }

// Fingerprint is a 64-bit digest of Key, what the retro-hunt remembers of an
// indicator it has searched for.
func (in *Indicator) Fingerprint() uint64 {
	h := sha256.Sum256([]byte(in.Key()))
	return binary.LittleEndian.Uint64(h[:8])
}

// Prefixes shorter than these are refused: "0.0.0.0/0" in a feed would make
// every connection an alert.
const (
	minPrefixV4 = 8
	minPrefixV6 = 16
)

// Errors of NewIndicator and Classify, wrapped with the value.
var (
	ErrUnknownKind = errors.New("cannot tell what kind of indicator this is (domain, IP/CIDR, URL, MD5/SHA-1/SHA-256 hash or mail address)")
	ErrInvalid     = errors.New("invalid indicator")
)

// NewIndicator validates and normalizes value as an indicator of kind.
// Defanged forms ("evil[.]example", "hxxp://") are accepted.
func NewIndicator(kind Kind, value string) (Indicator, error) {
	v := Refang(value)
	if v == "" {
		return Indicator{}, fmt.Errorf("%w: empty value", ErrInvalid)
	}
	switch kind {
	case Domain:
		d, ok := normalizeDomain(v)
		if !ok {
			return Indicator{}, fmt.Errorf("%w: %q is not a domain name (ASCII labels, at least one dot; give IDNs in punycode)", ErrInvalid, value)
		}
		return Indicator{Kind: Domain, Value: d}, nil
	case IP:
		p, err := parsePrefix(v)
		if err != nil {
			return Indicator{}, fmt.Errorf("%w: %q: %w", ErrInvalid, value, err)
		}
		return ipIndicator(p), nil
	case URL:
		u, ok := normalizeURL(v)
		// A normalized URL must read the same when given again: one
		// with characters a URL cannot hold, or still looking defanged
		// ("(at)" in its path), is refused rather than half-matched.
		if !ok || Refang(u) != u {
			return Indicator{}, fmt.Errorf("%w: %q is not an http(s) or ftp URL with a host", ErrInvalid, value)
		}
		return Indicator{Kind: URL, Value: u}, nil
	case Hash:
		h := strings.ToLower(v)
		algo := hashAlgo(h)
		if algo == "" {
			return Indicator{}, fmt.Errorf("%w: %q is not an MD5, SHA-1 or SHA-256 hash (32, 40 or 64 hex digits)", ErrInvalid, value)
		}
		return Indicator{Kind: Hash, Value: h, Algo: algo}, nil
	case Email:
		e, ok := normalizeEmail(v)
		if !ok {
			return Indicator{}, fmt.Errorf("%w: %q is not a mail address", ErrInvalid, value)
		}
		return Indicator{Kind: Email, Value: e}, nil
	}
	return Indicator{}, fmt.Errorf("%w: kind %d", ErrInvalid, kind)
}

// Classify infers the kind of value (plain-text lists, CSV rows without a
// type) and normalizes it: a URL has "://" or a path after a host; an
// address or CIDR parses as one; 32, 40 or 64 hex digits are a hash; a
// value with "@" is a mail address; a host name is a domain. A port after
// a domain or address ("evil.example:8443") is dropped.
func Classify(value string) (Indicator, error) {
	v := Refang(value)
	switch {
	case v == "":
		return Indicator{}, fmt.Errorf("%w: empty value", ErrInvalid)
	case strings.Contains(v, "://"):
		return NewIndicator(URL, v)
	}
	if p, err := parsePrefix(v); err == nil {
		return ipIndicator(p), nil
	} else if looksLikeAddr(v) {
		return Indicator{}, fmt.Errorf("%w: %q: %w", ErrInvalid, value, err)
	}
	if hashAlgo(strings.ToLower(v)) != "" {
		return NewIndicator(Hash, v)
	}
	if strings.IndexByte(v, '@') > 0 && !strings.ContainsAny(v, "/") {
		return NewIndicator(Email, v)
	}
	if host, _, ok := strings.Cut(v, "/"); ok {
		if _, hok := normalizeHost(host); hok {
			return NewIndicator(URL, "http://"+v)
		}
		return Indicator{}, fmt.Errorf("%w: %q", ErrUnknownKind, value)
	}
	if h, ok := normalizeHost(v); ok {
		if p, err := parsePrefix(h); err == nil {
			return ipIndicator(p), nil
		}
		return Indicator{Kind: Domain, Value: h}, nil
	}
	return Indicator{}, fmt.Errorf("%w: %q", ErrUnknownKind, value)
}

// looksLikeAddr tells a malformed address or prefix ("10.0.0.300",
// "10.0.0.0/4") from a name, so that the error says what is wrong.
func looksLikeAddr(v string) bool {
	if strings.Count(v, ":") >= 2 && !strings.Contains(v, ".") {
		return true // IPv6-like
	}
	digits := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' || c == '/':
		default:
			return false
		}
	}
	return digits > 0 && strings.Count(v, ".") == 3
}

func ipIndicator(p netip.Prefix) Indicator {
	v := p.String()
	if p.IsSingleIP() {
		v = p.Addr().String()
	}
	return Indicator{Kind: IP, Value: v, prefix: p}
}

// parsePrefix parses an address or a CIDR prefix, unmapping IPv4-in-IPv6
// and masking the host bits; it refuses prefixes broader than /8 (IPv4)
// and /16 (IPv6).
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.IndexByte(s, '/') < 0 {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		a = a.Unmap().WithZone("")
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a := p.Addr()
	bits := p.Bits()
	if a.Is4In6() {
		if bits < 96 {
			return netip.Prefix{}, fmt.Errorf("IPv4-mapped prefix shorter than /96")
		}
		a, bits = a.Unmap(), bits-96
	}
	p = netip.PrefixFrom(a, bits).Masked()
	if (a.Is4() && bits < minPrefixV4) || (a.Is6() && bits < minPrefixV6) {
		return netip.Prefix{}, fmt.Errorf("prefix /%d is too broad (at least /%d for IPv4, /%d for IPv6)", bits, minPrefixV4, minPrefixV6)
	}
	return p, nil
}

// Refang undoes the usual defanging of shared indicators ("evil[.]example",
// "hxxps://", "user[@]example", "1.2.3[.]4") and trims spaces and quotes.
func Refang(s string) string {
	s = strings.TrimSpace(s)
	s = strings.Trim(s, "\"'`<>")
	if strings.ContainsAny(s, "[({") {
		s = strings.NewReplacer("[.]", ".", "(.)", ".", "{.}", ".", "[dot]", ".", "(dot)", ".",
			"[:]", ":", "[://]", "://", "[@]", "@", "[at]", "@", "(at)", "@", "[/]", "/").Replace(s)
	}
	if len(s) >= 4 && (s[0] == 'h' || s[0] == 'H') {
		low := strings.ToLower(s[:min(len(s), 8)])
		switch {
		case strings.HasPrefix(low, "hxxps"):
			s = "https" + s[5:]
		case strings.HasPrefix(low, "hxxp"):
			s = "http" + s[4:]
		}
	}
	if strings.HasPrefix(strings.ToLower(s), "fxp://") {
		s = "ftp://" + s[6:]
	}
	return strings.TrimSpace(s)
}

// normalizeDomain lower-cases a host name and checks its syntax: ASCII
// labels of letters, digits, "-" and "_" (seen in real malware hosts), at
// least two labels, at most 253 bytes; "*." in front keeps its
// subdomains-only meaning.
func normalizeDomain(s string) (string, bool) {
	d := strings.TrimSuffix(strings.ToLower(s), ".")
	wild := strings.HasPrefix(d, "*.")
	if wild {
		d = d[2:]
	}
	if len(d) == 0 || len(d) > 253 || strings.IndexByte(d, '.') < 0 {
		return "", false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 {
			return "", false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", false
			}
		}
	}
	// A dotted quad that failed to parse as an address is not a name.
	if last := d[strings.LastIndexByte(d, '.')+1:]; strings.Trim(last, "0123456789") == "" {
		return "", false
	}
	if wild {
		d = "*." + d
	}
	return d, true
}

// normalizeHost accepts a domain or an address, with an optional port
// (dropped), and returns it normalized.
func normalizeHost(s string) (string, bool) {
	if strings.HasPrefix(s, "[") { // [v6]:port
		if i := strings.IndexByte(s, ']'); i > 0 {
			if a, err := netip.ParseAddr(s[1:i]); err == nil {
				return a.Unmap().String(), true
			}
		}
		return "", false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().String(), true
	}
	if h, port, ok := strings.Cut(s, ":"); ok && port != "" && strings.Trim(port, "0123456789") == "" {
		s = h
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
		return a.String(), true
	}
	return normalizeDomain(s)
}

// normalizeURL checks that u is an http, https or ftp URL with a valid host
// and normalizes it the way org.NormalizeURL does for J5 (lower-case scheme
// and host, default port and trailing slash dropped), also dropping a
// fragment, which is never sent to a server and so never logged.
func normalizeURL(u string) (string, bool) {
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return "", false
	}
	switch strings.ToLower(scheme) {
	case "http", "https", "ftp":
	default:
		return "", false
	}
	hostport, _, _ := strings.Cut(rest, "/")
	hostport, _, _ = strings.Cut(hostport, "?")
	if i := strings.LastIndexByte(hostport, '@'); i >= 0 { // user:pass@
		hostport = hostport[i+1:]
	}
	if _, ok := normalizeHost(hostport); !ok {
		return "", false
	}
	for i := 0; i < len(u); i++ {
		if c := u[i]; c <= ' ' || c == 0x7f || strings.IndexByte("\"<>`{}|\\^", c) >= 0 {
			return "", false // not a URL character (RFC 3986)
		}
	}
	return org.NormalizeURL(u), true
}

// normalizeEmail lower-cases a mail address and checks it has a local part
// and a domain.
func normalizeEmail(s string) (string, bool) {
	s = strings.TrimPrefix(strings.ToLower(s), "mailto:")
	local, dom, ok := strings.Cut(s, "@")
	if !ok || local == "" || strings.ContainsAny(local, " \t<>\"") {
		return "", false
	}
	d, ok := normalizeDomain(dom)
	if !ok || strings.HasPrefix(d, "*.") {
		return "", false
	}
	return local + "@" + d, true
}

// hashAlgo names the hash algorithm of a lower-case hex string by its
// length, "" when it is not one.
func hashAlgo(h string) string {
	var algo string
	switch len(h) {
	case 32:
		algo = "md5"
	case 40:
		algo = "sha1"
	case 64:
		algo = "sha256"
	default:
		return ""
	}
	if !isHex(h) {
		return ""
	}
	return algo
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
