package jpcert

// Helpers shared by the web proxy analyses J7–J10 (JPCERT §4.2.3.3–4.2.3.6).
// They are named with a "wp" prefix so that they do not clash with helpers
// of the other analyses in this package.

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// wpDest returns the destination host of a proxy event (Domain, or DstIP
// when the record has no host name) and whether it lies outside the
// organization. Only external destinations matter to J7–J10: the JPCERT
// analyses look for communication "to outside the organization"
// (組織外への通信).
//
//   - An IP literal is external unless m.IsInternal says otherwise, or it is
//     a loopback, link-local or unspecified address.
//   - A host name is external unless it is a single label ("intranet") or
//     ends in a name reserved for private use (.local, .localhost,
//     .internal, .lan, .home.arpa): the proxy log does not say what a name
//     resolved to.
//
// DstIP is not consulted when Domain is present: in Squid logs it is the
// hierarchy peer, which is often an internal parent proxy.
func wpDest(m *org.Model, ev *event.Event) (string, bool) {
	host := ev.Get(event.Domain)
	if host == "" {
		host = ev.Get(event.DstIP)
		if host == "" {
			return "", false
		}
	}
	return host, wpExternalHost(m, host)
}

// wpExternalHost implements wpDest's rule for one host; it does not
// allocate for host names.
func wpExternalHost(m *org.Model, host string) bool {
	h := host
	if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
	}
	if wpLooksLikeIP(h) {
		a, err := netip.ParseAddr(h)
		if err == nil {
			a = a.Unmap()
			return !(m.IsInternal(a) || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified())
		}
	}
	h = strings.TrimSuffix(h, ".")
	dot := strings.LastIndexByte(h, '.')
	if dot < 0 {
		return false // single label: intranet name, localhost
	}
	switch h[dot+1:] {
	case "local", "localhost", "internal", "lan":
		return false
	case "arpa":
		return !strings.HasSuffix(h, ".home.arpa")
	}
	return true
}

// wpLooksLikeIP reports whether s is made of the characters of an IPv4 or
// IPv6 literal, so that netip.ParseAddr (whose error allocates) is only
// tried on likely literals.
func wpLooksLikeIP(s string) bool {
	if s == "" {
		return false
	}
	colon, hex := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c == '.':
		case c == ':':
			colon = true
		case c >= 'a' && c <= 'f', c >= 'A' && c <= 'F', c == '%':
			hex = true
		default:
			return false
		}
	}
	return colon || !hex // IPv6 has a colon; IPv4 is digits and dots only
}

// wpLocalDay returns the calendar day number (days since 1970-01-01) of t in
// loc. It does not allocate.
func wpLocalDay(t time.Time, loc *time.Location) int32 {
	_, off := t.In(loc).Zone()
	s := t.Unix() + int64(off)
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return int32(d)
}

// wpDayCache memoizes wpLocalDay for the span of one local day (bounded
// by time-zone transitions), so in-order input does not look the zone up
// for every event.
type wpDayCache struct {
	lo, hi int64 // unix seconds [lo, hi) that belong to day
	day    int32
}

func (c *wpDayCache) of(t time.Time, loc *time.Location) int32 {
	u := t.Unix()
	if u >= c.lo && u < c.hi {
		return c.day
	}
	lt := t.In(loc)
	_, off := lt.Zone()
	s := u + int64(off)
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	lo, hi := d*86400-int64(off), d*86400-int64(off)+86400
	if zs, ze := lt.ZoneBounds(); !zs.IsZero() || !ze.IsZero() {
		if !zs.IsZero() && zs.Unix() > lo {
			lo = zs.Unix()
		}
		if !ze.IsZero() && ze.Unix() < hi {
			hi = ze.Unix()
		}
	}
	c.lo, c.hi, c.day = lo, hi, int32(d)
	return c.day
}

// wpDayString renders a day number as YYYY-MM-DD.
func wpDayString(d int32) string {
	return time.Unix(int64(d)*86400, 0).UTC().Format("2006-01-02")
}

// wpDayTime returns local midnight of day d in loc, plus h hours and min
// minutes.
func wpDayTime(d int32, loc *time.Location, h, min int) time.Time {
	y, mo, dd := time.Unix(int64(d)*86400, 0).UTC().Date()
	return time.Date(y, mo, dd, h, min, 0, 0, loc)
}

// wpHoursCache memoizes m.OffHours and m.IsHoliday per minute: both only
// depend on the local date and the minute of the day, and OffHours formats a
// date (allocates) when holidays are configured. Direct-mapped, so
// interleaved inputs from several files still hit.
type wpHoursCache struct {
	key [64]int64 // minute+1; 0 = empty
	val [64]uint8 // bit0 off-hours, bit1 holiday
}

func (c *wpHoursCache) lookup(m *org.Model, t time.Time) (off, holiday bool) {
	min := t.Unix() / 60
	if t.Unix()%60 < 0 {
		min--
	}
	i := min & 63
	if c.key[i] != min+1 {
		var v uint8
		if m.OffHours(t) {
			v |= 1
		}
		if m.IsHoliday(t) {
			v |= 2
		}
		c.key[i], c.val[i] = min+1, v
	}
	v := c.val[i]
	return v&1 != 0, v&2 != 0
}

// wpKeep keeps the first few evidence records of something plus the latest
// one, without an alert (the decision to report is taken at Flush).
type wpKeep struct {
	first []alert.Evidence
	last  alert.Evidence
	n     int64
}

// add records ev, keeping it among the first ones while there are fewer
// than max.
func (k *wpKeep) add(ev *event.Event, max int) { k.note(ev, true, max) }

// note counts ev, keeps it among the first ones when asFirst and there is
// room, and remembers it as the latest record when it is.
func (k *wpKeep) note(ev *event.Event, asFirst bool, max int) {
	k.n++
	e := alert.EvidenceOf(ev)
	if asFirst && len(k.first) < max {
		k.first = append(k.first, e) // grows 1, 2, 4 ...: most keys see few records
	}
	if k.last.Raw == "" || !e.Time.Before(k.last.Time) {
		k.last = e
	}
}

// reset forgets the records, keeping the buffer.
func (k *wpKeep) reset() {
	k.first = k.first[:0]
	k.last = alert.Evidence{}
	k.n = 0
}

// addTo adds the kept records to a; the caller sets a.Count and
// a.EvidenceTotal to the real totals afterwards.
func (k *wpKeep) addTo(a *alert.Alert) {
	for _, e := range k.first {
		a.AddEvidence(e)
	}
	if k.last.Raw == "" {
		return
	}
	for _, e := range k.first {
		if e.Origin == k.last.Origin && e.Raw == k.last.Raw && e.Time.Equal(k.last.Time) {
			return
		}
	}
	a.AddEvidence(k.last)
}

// wpMB renders bytes as decimal megabytes with one decimal ("152.3 MB"),
// or kilobytes below one megabyte ("12.0 kB").
func wpMB(b int64) string {
	if b < 1_000_000 {
		return strconv.FormatFloat(float64(b)/1e3, 'f', 1, 64) + " kB"
	}
	return strconv.FormatFloat(float64(b)/1e6, 'f', 1, 64) + " MB"
}

// wpItoa is strconv.FormatInt for int64.
func wpItoa(n int64) string { return strconv.FormatInt(n, 10) }

// wpFloat renders f with prec decimals.
func wpFloat(f float64, prec int) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "0"
	}
	return strconv.FormatFloat(f, 'f', prec, 64)
}

// wpLocalTime renders t in loc as "2006-01-02 15:04 MST".
func wpLocalTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// wpList joins up to max items with ", " and says how many more there were.
func wpList(items []string, more int) string {
	s := strings.Join(items, ", ")
	if more > 0 {
		s += " (+" + strconv.Itoa(more) + " more)"
	}
	return s
}
