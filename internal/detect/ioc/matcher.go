package ioc

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/kizuki-dev/kizuki/internal/org"
)

// Entry is one indicator as a Matcher holds it: the indicator as the first
// list that names it gave it, and every list that names it.
type Entry struct {
	Indicator Indicator
	Lists     []string
}

// List returns the lists naming the entry, comma-separated.
func (e *Entry) List() string { return strings.Join(e.Lists, ",") }

// Matcher finds indicators in events. It is built once by Compile and
// read-only afterwards: safe for concurrent use, and replaced as a whole
// when a list changes.
type Matcher struct {
	domains *org.DomainSet    // the same matching as J5: a domain covers its subdomains
	byName  map[string]*Entry // DomainSet entry (normalized value) → entry
	ips     *PrefixIndex[*Entry]
	urls    map[string]*Entry
	// urlHosts are the hosts of the URL indicators: a logged URL is
	// normalized (which allocates) only when its host is one of them.
	urlHosts map[string]bool
	hashes   map[string]*Entry
	emails   map[string]*Entry
	n        int
}

// Compile builds a matcher over lists. An indicator named by several lists
// is one entry listing them all. It fails when the lists hold more than max
// distinct indicators (max <= 0: DefaultMaxTotal).
func Compile(lists []*List, max int) (*Matcher, error) {
	if max <= 0 {
		max = DefaultMaxTotal
	}
	m := &Matcher{byName: map[string]*Entry{}, ips: NewPrefixIndex[*Entry](),
		urls: map[string]*Entry{}, urlHosts: map[string]bool{}, hashes: map[string]*Entry{}, emails: map[string]*Entry{}}
	byKey := map[string]*Entry{}
	var names []string
	for _, l := range lists {
		if l == nil {
			continue
		}
		for i := range l.Indicators {
			in := &l.Indicators[i]
			k := in.Key()
			if e := byKey[k]; e != nil {
				if e.Lists[len(e.Lists)-1] != l.Name {
					e.Lists = append(e.Lists, l.Name)
				}
				continue
			}
			if m.n >= max {
				return nil, fmt.Errorf("%w: the lists hold more than %d distinct indicators", ErrTooMany, max)
			}
			e := &Entry{Indicator: *in, Lists: []string{l.Name}}
			byKey[k] = e
			m.n++
			switch in.Kind {
			case Domain:
				m.byName[in.Value] = e
				names = append(names, in.Value)
			case IP:
				m.ips.Add(in.prefix, e)
			case URL:
				m.urls[in.Value] = e
				m.urlHosts[urlHost(in.Value)] = true
			case Hash:
				m.hashes[in.Value] = e
			case Email:
				m.emails[in.Value] = e
			}
		}
	}
	m.domains = org.NewDomainSet(names)
	return m, nil
}

// Len is the number of distinct indicators.
func (m *Matcher) Len() int {
	if m == nil {
		return 0
	}
	return m.n
}

// domain returns the entry a host name falls under.
func (m *Matcher) domain(host string) (*Entry, bool) {
	if len(m.byName) == 0 || host == "" {
		return nil, false
	}
	if v, ok := m.domains.Match(host); ok {
		return m.byName[v], true
	}
	return nil, false
}

// ip returns the entry containing the address s (as logged).
func (m *Matcher) ip(s string) (*Entry, bool) {
	if m.ips.Len() == 0 || s == "" {
		return nil, false
	}
	a := parseAddrFast(s)
	if !a.IsValid() {
		return nil, false
	}
	_, e, ok := m.ips.Lookup(a)
	return e, ok
}

// url returns the entry of a logged URL: equal after normalization, or
// equal once the logged query string is dropped (an indicator without a
// query names the resource whatever parameters it is called with).
func (m *Matcher) url(u string) (*Entry, bool) {
	if len(m.urls) == 0 || u == "" || !strings.Contains(u, "://") || !m.urlHosts[lowerASCII(urlHost(u))] {
		return nil, false
	}
	n := org.NormalizeURL(u)
	if e, ok := m.urls[n]; ok {
		return e, true
	}
	if i := strings.IndexByte(n, '?'); i >= 0 {
		if e, ok := m.urls[strings.TrimSuffix(n[:i], "/")]; ok {
			return e, true
		}
	}
	return nil, false
}

// email returns the entry of a mail address ("Name <a@b>" accepted).
func (m *Matcher) email(s string) (*Entry, bool) {
	if len(m.emails) == 0 || s == "" {
		return nil, false
	}
	a := mailAddress(s)
	if a == "" {
		return nil, false
	}
	e, ok := m.emails[strings.ToLower(a)]
	return e, ok
}

// hash returns the entry of a hex hash value.
func (m *Matcher) hash(s string) (*Entry, bool) {
	if len(m.hashes) == 0 {
		return nil, false
	}
	switch len(s) {
	case 32, 40, 64:
	default:
		return nil, false
	}
	if !isHex(s) {
		return nil, false
	}
	e, ok := m.hashes[strings.ToLower(s)]
	return e, ok
}

// lowerASCII is strings.ToLower for host names, which are nearly always
// lower-case already: it returns s itself unless it holds an upper-case
// letter.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// parseAddrFast parses an address, without the cost of a failed parse
// (which allocates its error) for what clearly is not one.
func parseAddrFast(s string) netip.Addr {
	if s == "" || !(s[0] >= '0' && s[0] <= '9' || strings.IndexByte(s, ':') >= 0) {
		return netip.Addr{}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == ':' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return netip.Addr{}
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// mailAddress returns the address of "Name <a@b>", "<a@b>" or "a@b".
func mailAddress(s string) string {
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		s = s[i+1:]
		if j := strings.IndexByte(s, '>'); j >= 0 {
			s = s[:j]
		}
	}
	s = strings.TrimSpace(s)
	if strings.IndexByte(s, '@') <= 0 {
		return ""
	}
	return s
}

// mailDomain returns the domain of a mail address, "" when none.
func mailDomain(s string) string {
	a := mailAddress(s)
	if i := strings.LastIndexByte(a, '@'); i >= 0 {
		return a[i+1:]
	}
	return ""
}
