package org

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Model is the compiled configuration. It is read-only after New and safe
// for concurrent use.
type Model struct {
	Location *time.Location

	internal      []netip.Prefix
	internalSet   bool // the user gave networks.internal
	zones         []zone
	flows         []FlowConfig
	egressAllowed map[netip.Addr]bool
	egressPrefix  []netip.Prefix

	hours *businessHours

	UserAgents         *GlobSet
	AllowDomains       *DomainSet
	MaintenanceDomains *DomainSet

	IOCDomains *DomainSet
	IOCIPs     []netip.Prefix
	IOCURLs    map[string]bool
	iocCount   int

	admins map[string][]netip.Prefix // lower-case name → hosts (empty = any)

	UploadBytes       int64
	PeriodicMinDays   int
	PopularClients    int // see ThresholdConfig.PeriodicPopularClients
	DNSWindow         time.Duration
	AuthBurstFactor   float64
	AuthMinCount      int
	MailDomains       *DomainSet
	ExecExtensions    map[string]bool
	ArchiveExtensions map[string]bool

	cfg *Config
}

type zone struct {
	name     string
	prefixes []netip.Prefix
}

type businessHours struct {
	days       [7]bool
	start, end int            // minutes after midnight
	holidays   map[int64]bool // local dates as y*10000 + m*100 + d
}

// Defaults used when the configuration does not say.
const (
	DefaultUploadBytes     = 100_000_000
	DefaultPeriodicMinDays = 3
	DefaultDNSWindow       = 10 * time.Minute
)

// DefaultExecutableExtensions are attachment extensions J2 treats as
// executable (JPCERT §4.2.1.2 and the usual Windows-executable list).
var DefaultExecutableExtensions = []string{
	"exe", "scr", "com", "bat", "cmd", "pif", "js", "jse", "vbs", "vbe", "wsf", "wsh",
	"hta", "lnk", "cpl", "msi", "msp", "ps1", "jar", "dll", "reg", "iso", "img", "vhd", "vhdx",
	"chm", "url", "scf", "application", "appx", "xll", "one",
}

// DefaultArchiveExtensions are compressed containers: a lower-severity J2
// finding, since executables are often zipped to pass filters.
var DefaultArchiveExtensions = []string{"zip", "rar", "7z", "lzh", "cab", "gz", "tgz", "ace", "arj", "xz", "bz2", "tar"}

// New compiles cfg. Relative indicator files are resolved against baseDir
// (the configuration file's folder).
func New(cfg *Config, baseDir string) (*Model, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	m := &Model{cfg: cfg, egressAllowed: map[netip.Addr]bool{}, IOCURLs: map[string]bool{}, admins: map[string][]netip.Prefix{}}
	m.Location = time.Local
	if cfg.Timezone != "" {
		loc, err := time.LoadLocation(cfg.Timezone)
		if err != nil {
			return nil, fmt.Errorf("timezone %q: %w", cfg.Timezone, err)
		}
		m.Location = loc
	}
	var err error
	if len(cfg.Networks.Internal) > 0 {
		m.internalSet = true
		if m.internal, err = parsePrefixes("networks.internal", cfg.Networks.Internal); err != nil {
			return nil, err
		}
	} else {
		// RFC 1918, RFC 6598 shared space, IPv6 ULA: what "internal" means
		// when the user has not said.
		for _, s := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"} {
			m.internal = append(m.internal, netip.MustParsePrefix(s))
		}
	}
	names := make([]string, 0, len(cfg.Networks.Zones))
	for name := range cfg.Networks.Zones {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ps, err := parsePrefixes("networks.zones."+name, cfg.Networks.Zones[name])
		if err != nil {
			return nil, err
		}
		m.zones = append(m.zones, zone{name: name, prefixes: ps})
	}
	// Most specific zone wins: sort by longest prefix first.
	sort.SliceStable(m.zones, func(i, j int) bool { return maxBits(m.zones[i].prefixes) > maxBits(m.zones[j].prefixes) })
	for _, f := range cfg.Networks.AllowedFlows {
		if f.From == "" || f.To == "" {
			return nil, fmt.Errorf("networks.allowed_flows: each flow needs from and to")
		}
	}
	m.flows = cfg.Networks.AllowedFlows
	for _, s := range cfg.Networks.EgressAllowed {
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("networks.egress_allowed %q: %w", s, err)
			}
			m.egressPrefix = append(m.egressPrefix, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("networks.egress_allowed %q: %w", s, err)
		}
		m.egressAllowed[a.Unmap()] = true
	}
	if cfg.BusinessHours != nil {
		if m.hours, err = compileHours(cfg.BusinessHours); err != nil {
			return nil, err
		}
	}
	if m.UserAgents, err = NewGlobSet(cfg.Allowlists.UserAgents); err != nil {
		return nil, fmt.Errorf("allowlists.user_agents: %w", err)
	}
	m.AllowDomains = NewDomainSet(cfg.Allowlists.Domains)
	m.MaintenanceDomains = NewDomainSet(cfg.Allowlists.MaintenanceDomains)
	m.MailDomains = NewDomainSet(cfg.Mail.Domains)

	domains := append([]string(nil), cfg.Indicators.Domains...)
	ips := append([]string(nil), cfg.Indicators.IPs...)
	urls := append([]string(nil), cfg.Indicators.URLs...)
	for _, f := range cfg.Indicators.Files {
		p := f
		if !filepath.IsAbs(p) && baseDir != "" {
			p = filepath.Join(baseDir, p)
		}
		d, i, u, err := loadIndicatorFile(p)
		if err != nil {
			return nil, fmt.Errorf("indicators.files: %w", err)
		}
		domains, ips, urls = append(domains, d...), append(ips, i...), append(urls, u...)
	}
	m.IOCDomains = NewDomainSet(domains)
	for _, s := range ips {
		p, err := parseAddrOrPrefix(s)
		if err != nil {
			return nil, fmt.Errorf("indicators.ips %q: %w", s, err)
		}
		m.IOCIPs = append(m.IOCIPs, p)
	}
	for _, u := range urls {
		m.IOCURLs[NormalizeURL(u)] = true
	}
	m.iocCount = m.IOCDomains.Len() + len(m.IOCIPs) + len(m.IOCURLs)

	for _, a := range cfg.Accounts.Admins {
		if a.Name == "" {
			return nil, fmt.Errorf("accounts.admins: an entry has no name")
		}
		var hosts []netip.Prefix
		for _, h := range a.Hosts {
			p, err := parseAddrOrPrefix(h)
			if err != nil {
				return nil, fmt.Errorf("accounts.admins %s host %q: %w", a.Name, h, err)
			}
			hosts = append(hosts, p)
		}
		m.admins[accountKey(a.Name)] = hosts
	}

	m.UploadBytes = cfg.Thresholds.UploadBytes
	if m.UploadBytes <= 0 {
		m.UploadBytes = DefaultUploadBytes
	}
	m.PeriodicMinDays = cfg.Thresholds.PeriodicMinDays
	if m.PeriodicMinDays <= 0 {
		m.PeriodicMinDays = DefaultPeriodicMinDays
	}
	m.PopularClients = cfg.Thresholds.PeriodicPopularClients
	m.DNSWindow = time.Duration(cfg.Thresholds.DNSWindowSeconds) * time.Second
	if m.DNSWindow <= 0 {
		m.DNSWindow = DefaultDNSWindow
	}
	m.AuthBurstFactor = cfg.Thresholds.AuthBurstFactor
	if m.AuthBurstFactor <= 1 {
		m.AuthBurstFactor = 5
	}
	m.AuthMinCount = cfg.Thresholds.AuthMinCount
	if m.AuthMinCount <= 0 {
		m.AuthMinCount = 50
	}
	m.ExecExtensions = extSet(cfg.Mail.ExecutableExtensions, DefaultExecutableExtensions)
	m.ArchiveExtensions = extSet(cfg.Mail.ArchiveExtensions, DefaultArchiveExtensions)
	return m, nil
}

func extSet(given, def []string) map[string]bool {
	src := given
	if len(src) == 0 {
		src = def
	}
	out := make(map[string]bool, len(src))
	for _, e := range src {
		out[strings.ToLower(strings.TrimPrefix(e, "."))] = true
	}
	return out
}

func maxBits(ps []netip.Prefix) int {
	b := 0
	for _, p := range ps {
		if p.Bits() > b {
			b = p.Bits()
		}
	}
	return b
}

func parsePrefixes(key string, ss []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		p, err := parseAddrOrPrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", key, s, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parseAddrOrPrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func compileHours(h *HoursConfig) (*businessHours, error) {
	bh := &businessHours{holidays: map[int64]bool{}}
	days := h.Days
	if len(days) == 0 {
		days = []string{"mon", "tue", "wed", "thu", "fri"}
	}
	for _, d := range days {
		k := strings.ToLower(d)
		if len(k) > 3 {
			k = k[:3]
		}
		wd, ok := weekdays[k]
		if !ok {
			return nil, fmt.Errorf("business_hours.days: unknown day %q", d)
		}
		bh.days[wd] = true
	}
	var err error
	start, end := h.Start, h.End
	if start == "" {
		start = "08:00"
	}
	if end == "" {
		end = "19:00"
	}
	if bh.start, err = parseClock(start); err != nil {
		return nil, fmt.Errorf("business_hours.start: %w", err)
	}
	if bh.end, err = parseClock(end); err != nil {
		return nil, fmt.Errorf("business_hours.end: %w", err)
	}
	for _, d := range h.Holidays {
		t, err := time.Parse("2006-01-02", d)
		if err != nil {
			return nil, fmt.Errorf("business_hours.holidays %q: want YYYY-MM-DD", d)
		}
		bh.holidays[dateKey(t)] = true
	}
	return bh, nil
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok {
		return 0, fmt.Errorf("%q: want HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("%q: want HH:MM", s)
	}
	return hh*60 + mm, nil
}

// loadIndicatorFile reads one indicator per line; "#" starts a comment. The
// kind is guessed: an IP or CIDR, a URL (has "://" or a "/" path), or a
// domain. CSV lines use their first column.
func loadIndicatorFile(path string) (domains, ips, urls []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 256<<20))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if i := strings.IndexByte(line, ','); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		line = strings.Trim(line, `"`)
		if line == "" {
			continue
		}
		// Defanged indicators as shared in reports: hxxp, [.]
		line = strings.ReplaceAll(strings.ReplaceAll(line, "[.]", "."), "hxxp", "http")
		switch {
		case isAddrOrPrefix(line):
			ips = append(ips, line)
		case strings.Contains(line, "://") || strings.Contains(line, "/"):
			urls = append(urls, line)
		default:
			domains = append(domains, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return domains, ips, urls, nil
}

func isAddrOrPrefix(s string) bool {
	_, err := parseAddrOrPrefix(s)
	return err == nil
}

// Config returns the configuration the model was built from.
func (m *Model) Config() *Config { return m.cfg }

// InternalConfigured reports whether networks.internal was given (otherwise
// the private ranges are assumed).
func (m *Model) InternalConfigured() bool { return m.internalSet }

// IsInternal reports whether a belongs to the organization.
func (m *Model) IsInternal(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range m.internal {
		if p.Contains(a) {
			return true
		}
	}
	for _, z := range m.zones {
		for _, p := range z.prefixes {
			if p.Contains(a) {
				return true
			}
		}
	}
	return false
}

// HasZones reports whether CIDR zones are configured.
func (m *Model) HasZones() bool { return len(m.zones) > 0 }

// ZoneOf returns the configured zone containing a, "" when none.
func (m *Model) ZoneOf(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	for _, z := range m.zones {
		for _, p := range z.prefixes {
			if p.Contains(a) {
				return z.name
			}
		}
	}
	return ""
}

// HasFlows reports whether allowed_flows are configured.
func (m *Model) HasFlows() bool { return len(m.flows) > 0 }

// FlowAllowed reports whether traffic from zone `from` to zone `to` on port
// is in allowed_flows (a flow without ports allows every port).
func (m *Model) FlowAllowed(from, to string, port int) bool {
	for _, f := range m.flows {
		if !strings.EqualFold(f.From, from) || !strings.EqualFold(f.To, to) {
			continue
		}
		if len(f.Ports) == 0 {
			return true
		}
		for _, p := range f.Ports {
			if p == port {
				return true
			}
		}
	}
	return false
}

// EgressAllowed reports whether a may talk to the outside directly (proxy,
// mail relay: the J3 exclusions).
func (m *Model) EgressAllowed(a netip.Addr) bool {
	if m.egressAllowed[a] {
		return true
	}
	for _, p := range m.egressPrefix {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// HasEgressAllowed reports whether networks.egress_allowed was given.
func (m *Model) HasEgressAllowed() bool { return len(m.egressAllowed)+len(m.egressPrefix) > 0 }

// HasBusinessHours reports whether business_hours was given.
func (m *Model) HasBusinessHours() bool { return m.hours != nil }

// OffHours reports whether t (any zone) falls outside business hours in the
// organization's time zone: a non-working weekday, a holiday, or outside
// start–end. Without business_hours configured, Mon–Fri 08:00–19:00 applies.
func (m *Model) OffHours(t time.Time) bool {
	h := m.hours
	if h == nil {
		h = &businessHours{days: [7]bool{false, true, true, true, true, true, false}, start: 8 * 60, end: 19 * 60}
	}
	lt := t.In(m.Location)
	if !h.days[lt.Weekday()] {
		return true
	}
	if len(h.holidays) > 0 && h.holidays[dateKey(lt)] {
		return true
	}
	min := lt.Hour()*60 + lt.Minute()
	return min < h.start || min >= h.end
}

// IsHoliday reports whether t's local date is a configured holiday.
func (m *Model) IsHoliday(t time.Time) bool {
	return m.hours != nil && len(m.hours.holidays) > 0 && m.hours.holidays[dateKey(t.In(m.Location))]
}

// dateKey is t's date (in t's location) as y*10000 + m*100 + d, the key of
// the holidays, computed without formatting.
func dateKey(t time.Time) int64 {
	y, mo, d := t.Date()
	return int64(y)*10000 + int64(mo)*100 + int64(d)
}

// HasIndicators reports whether any indicator was configured.
func (m *Model) HasIndicators() bool { return m.iocCount > 0 }

// IndicatorCount is the number of indicators loaded.
func (m *Model) IndicatorCount() int { return m.iocCount }

// IOCIP returns the indicator prefix containing a.
func (m *Model) IOCIP(a netip.Addr) (netip.Prefix, bool) {
	if !a.IsValid() {
		return netip.Prefix{}, false
	}
	for _, p := range m.IOCIPs {
		if p.Contains(a) {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// IOCURL reports whether url is an indicator URL (normalized comparison).
func (m *Model) IOCURL(url string) bool {
	if len(m.IOCURLs) == 0 {
		return false
	}
	return m.IOCURLs[NormalizeURL(url)]
}

// HasAdmins reports whether accounts.admins was given.
func (m *Model) HasAdmins() bool { return len(m.admins) > 0 }

// IsAdmin reports whether name (case-insensitive, DOMAIN\ or @realm
// stripped) is a configured admin account.
func (m *Model) IsAdmin(name string) bool {
	_, ok := m.admins[accountKey(name)]
	return ok
}

// AdminHostAllowed reports whether admin account name may authenticate from
// a. An admin without hosts may come from anywhere.
func (m *Model) AdminHostAllowed(name string, a netip.Addr) bool {
	hosts, ok := m.admins[accountKey(name)]
	if !ok || len(hosts) == 0 {
		return true
	}
	for _, p := range hosts {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// AdminHosts returns the configured hosts of an admin account.
func (m *Model) AdminHosts(name string) []netip.Prefix { return m.admins[accountKey(name)] }

func accountKey(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		name = name[i+1:]
	}
	if i := strings.IndexByte(name, '@'); i >= 0 {
		name = name[:i]
	}
	return name
}

// NormalizeURL lower-cases scheme and host and drops a default port and a
// trailing slash, so indicator URLs match logged ones.
func NormalizeURL(u string) string {
	u = strings.TrimSpace(u)
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		rest = u
		scheme = "http"
	}
	scheme = strings.ToLower(scheme)
	host, path, _ := strings.Cut(rest, "/")
	host = strings.ToLower(host)
	host = strings.TrimSuffix(host, ":80")
	host = strings.TrimSuffix(host, ":443")
	path = strings.TrimSuffix(path, "/")
	if path == "" {
		return scheme + "://" + host
	}
	return scheme + "://" + host + "/" + path
}
