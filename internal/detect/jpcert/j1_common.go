package jpcert

// Helpers shared by J1–J6. The j16 prefix keeps them apart from the helpers
// of the other analyses in this package.

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/kizuki-dev/kizuki/internal/alert"
)

// j16Denied reports whether a normalized action means the traffic was
// blocked.
func j16Denied(action string) bool {
	switch action {
	case "deny", "reject", "drop":
		return true
	}
	return false
}

// j16Permitted reports whether a normalized action means the traffic was
// let through (NetScreen logs "close" for a permitted session that ended).
func j16Permitted(action string) bool {
	switch action {
	case "allow", "close", "accept", "permit":
		return true
	}
	return false
}

// j16FirstRecipient returns the first address of a recipient list
// ("a@x, b@y", "<a@x>").
func j16FirstRecipient(to string) string {
	if i := strings.IndexByte(to, ','); i >= 0 {
		to = to[:i]
	}
	to = strings.TrimSpace(to)
	to = strings.TrimPrefix(to, "<")
	to = strings.TrimSuffix(to, ">")
	return to
}

// j16MailHost is the alert host of a mail finding: the first recipient.
func j16MailHost(to string) string {
	if r := j16FirstRecipient(to); r != "" {
		return r
	}
	return "unknown-recipient"
}

// j16Domain returns the domain part of a mail address ("" when none).
func j16Domain(addr string) string {
	addr = strings.TrimSuffix(strings.TrimSpace(addr), ">")
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return addr[i+1:]
}

// j16Times renders "n thing(s)" with the right plural.
func j16Times(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}

// j16Itoa formats an integer.
func j16Itoa(n int64) string { return strconv.FormatInt(n, 10) }

// j16HostPort splits "host:port", "[v6]:port" or a URL's authority into
// host and port; port is "" when absent.
func j16HostPort(s string) (host, port string) {
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	if strings.HasPrefix(s, "[") {
		if j := strings.IndexByte(s, ']'); j > 0 {
			host = s[1:j]
			if rest := s[j+1:]; len(rest) > 1 && rest[0] == ':' {
				port = rest[1:]
			}
			return host, port
		}
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.IndexByte(s[:i], ':') >= 0 { // none, or a bare IPv6
		return s, ""
	}
	return s[:i], s[i+1:]
}

// j16NotRoutable reports destinations that are not "outside the
// organization" even though they are not in networks.internal: multicast,
// broadcast, loopback, link-local and unspecified addresses.
func j16NotRoutable(a netip.Addr) bool {
	if a.IsMulticast() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() {
		return true
	}
	return a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// j16Text builds guidance in both languages.
func j16Text(en, ja []string) alert.Text { return alert.Text{EN: en, JA: ja} }

// j16Stages builds a stage list.
func j16Stages(s ...alert.Stage) []alert.Stage { return s }
