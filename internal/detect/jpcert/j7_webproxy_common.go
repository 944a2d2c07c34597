package jpcert

// Helpers shared by the web proxy analyses J7–J10 (JPCERT §4.2.3.3–4.2.3.6).
// They are named with a "wp" prefix so that they do not clash with helpers
// of the other analyses in this package.

import (
	"hash/maphash"
	"math"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

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

// wpRec is one evidence record as the web proxy analyses keep it per pair:
// alert.Evidence without the note, its source format and file shared by
// all records of a file (56 bytes instead of 96).
type wpRec struct {
	raw  string
	t    time.Time
	line int64
	src  *wpSrc
}

// wpSrc is the source format and file of records.
type wpSrc struct{ source, file string }

// evidence returns the record as alert.EvidenceOf returned it.
func (r *wpRec) evidence() alert.Evidence {
	return alert.Evidence{Source: r.src.source, Time: r.t, Origin: event.Origin{File: r.src.file, Line: r.line}, Raw: r.raw}
}

// wpSrcs interns the (format, file) of records, one per detector.
type wpSrcs struct {
	last *wpSrc
	all  map[wpSrc]*wpSrc
}

// rec captures what must outlive ev (events are reused).
func (c *wpSrcs) rec(ev *event.Event) wpRec {
	var r wpRec
	c.recInto(&r, ev)
	return r
}

// recInto is rec writing into r.
func (c *wpSrcs) recInto(r *wpRec, ev *event.Event) {
	s := c.last
	if s == nil || !wpSame(s.source, ev.Source) || !wpSame(s.file, ev.Origin.File) {
		k := wpSrc{ev.Source, ev.Origin.File}
		if s = c.all[k]; s == nil {
			if c.all == nil {
				c.all = map[wpSrc]*wpSrc{}
			}
			s = &k
			c.all[k] = s
		}
		c.last = s
	}
	r.raw, r.t, r.line, r.src = ev.Raw, ev.Time, ev.Origin.Line, s
}

// wpSame is a == b, quick when both share their bytes (the records of a file
// share their format and file name strings).
func wpSame(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b)
}

// wpKeep keeps the first few evidence records of something plus the latest
// one, without an alert (the decision to report is taken at Flush).
type wpKeep struct {
	n     int64
	last  wpRec
	first []wpRec
}

// add records r, keeping it among the first ones while there are fewer
// than max.
func (k *wpKeep) add(r wpRec, max int) { k.note(r, true, max) }

// note counts r, keeps it among the first ones when asFirst and there is
// room, and remembers it as the latest record when it is.
func (k *wpKeep) note(r wpRec, asFirst bool, max int) {
	k.n++
	if asFirst && len(k.first) < max {
		k.first = append(k.first, r) // grows 1, 2, 4 ...: most keys see few records
	}
	if k.last.raw == "" || !r.t.Before(k.last.t) {
		k.last = r
	}
}

// reset forgets the records, keeping the buffer.
func (k *wpKeep) reset() {
	k.first = k.first[:0]
	k.last = wpRec{}
	k.n = 0
}

// addTo adds the kept records to a; the caller sets a.Count and
// a.EvidenceTotal to the real totals afterwards.
func (k *wpKeep) addTo(a *alert.Alert) {
	for i := range k.first {
		a.AddEvidence(k.first[i].evidence())
	}
	if k.last.raw == "" {
		return
	}
	l := &k.last
	for _, e := range k.first {
		if e.src.file == l.src.file && e.line == l.line && e.raw == l.raw && e.t.Equal(l.t) {
			return
		}
	}
	a.AddEvidence(l.evidence())
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

// wpPairs holds per-(client, destination host) state of type T for up to
// detect.MaxGroups-like numbers of pairs without a string-keyed map: an
// event's pair is found by one hash of both strings, one probe of an
// open-addressing index and a comparison with the strings kept in the pair
// itself (short ones inline, in the same cache lines as the state). Pairs
// live in chunks that are never moved, so *T stays valid.
type wpPairs[T any] struct {
	seed  maphash.Seed
	index wpIndex
	arena [][]wpPair[T]
	n     int
}

// wpPair is one pair: its strings and its state.
type wpPair[T any] struct {
	client, host string // point into buf when they fit
	buf          [48]byte
	v            T
}

const wpChunk = 1024 // pairs per arena chunk

func newWPPairs[T any]() wpPairs[T] { return wpPairs[T]{seed: maphash.MakeSeed()} }

// len is the number of pairs.
func (s *wpPairs[T]) len() int { return s.n }

// hash combines the hashes of client and host; it is the key of get and
// add (and may feed a wpSeen filter).
func (s *wpPairs[T]) hash(client, host string) uint64 {
	return wpMix(maphash.String(s.seed, client), maphash.String(s.seed, host))
}

// wpMix combines the hashes of a client and a host into a pair hash.
func wpMix(client, host uint64) uint64 { return client*0x9e3779b97f4a7c15 ^ host }

func (s *wpPairs[T]) at(i uint32) *wpPair[T] { return &s.arena[i/wpChunk][i%wpChunk] }

// Prefetching (see prefetch2): slotAddr is where a lookup of hash h
// starts in the index; pairAddr, once that slot is in the cache, is where
// the pair the lookup would most likely find starts (ok false: none).
func (s *wpPairs[T]) slotAddr(h uint64) uintptr {
	x := &s.index
	if len(x.slots) == 0 {
		return uintptr(unsafe.Pointer(x))
	}
	return uintptr(unsafe.Pointer(&x.slots[x.home(h)]))
}

func (s *wpPairs[T]) pairAddr(h uint64) (a uintptr, ok bool) {
	x := &s.index
	if x.n == 0 {
		return 0, false
	}
	mask := uint64(len(x.slots) - 1)
	tag := h &^ 0xffffffff
	for i := x.home(h); ; i = (i + 1) & mask {
		sl := x.slots[i]
		if sl == 0 {
			return 0, false
		}
		if sl&^0xffffffff == tag {
			return uintptr(unsafe.Pointer(s.at(uint32(sl) - 1))), true
		}
	}
}

// get returns the state of (client, host), whose hash is h, or nil.
func (s *wpPairs[T]) get(h uint64, client, host string) *T {
	x := &s.index
	if x.n == 0 {
		return nil
	}
	mask := uint64(len(x.slots) - 1)
	tag := h &^ 0xffffffff
	for i := x.home(h); ; i = (i + 1) & mask {
		sl := x.slots[i]
		if sl == 0 {
			return nil
		}
		if sl&^0xffffffff == tag {
			if p := s.at(uint32(sl) - 1); p.client == client && p.host == host {
				return &p.v
			}
		}
	}
}

// add creates the zero state of (client, host), whose hash is h; the pair
// must not exist yet. The strings are copied.
func (s *wpPairs[T]) add(h uint64, client, host string) *T {
	p, i := s.alloc()
	if len(client)+len(host) <= len(p.buf) {
		n := copy(p.buf[:], client)
		copy(p.buf[n:], host)
		p.client = unsafe.String(&p.buf[0], len(client))
		p.host = unsafe.String(&p.buf[n], len(host))
	} else {
		p.client, p.host = strings.Clone(client), strings.Clone(host)
	}
	s.index.put(h, i)
	return &p.v
}

func (s *wpPairs[T]) alloc() (*wpPair[T], uint32) {
	i := uint32(s.n)
	if int(i/wpChunk) == len(s.arena) {
		s.arena = append(s.arena, make([]wpPair[T], wpChunk))
	}
	s.n++
	return s.at(i), i
}

// each calls fn for every pair's state, in creation order.
func (s *wpPairs[T]) each(fn func(*T)) {
	for i := 0; i < s.n; i++ {
		fn(&s.at(uint32(i)).v)
	}
}

// sorted returns the pairs whose state passes keep, ordered by client then
// host, or by host then client (the orders of nested sorted maps).
func (s *wpPairs[T]) sorted(hostFirst bool, keep func(*T) bool) []*wpPair[T] {
	var out []*wpPair[T]
	for i := 0; i < s.n; i++ {
		if p := s.at(uint32(i)); keep(&p.v) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *wpPair[T]) int {
		if hostFirst {
			if c := strings.Compare(a.host, b.host); c != 0 {
				return c
			}
			return strings.Compare(a.client, b.client)
		}
		if c := strings.Compare(a.client, b.client); c != 0 {
			return c
		}
		return strings.Compare(a.host, b.host)
	})
	return out
}

// wpIndex maps 64-bit hashes to arena indexes by open addressing (linear
// probing, at most half full; equal hashes may repeat). A slot holds the
// high half of the hash and the index in 8 bytes, so a probe usually
// touches one cache line of a compact table; the caller confirms a
// candidate against the pair's strings.
type wpIndex struct {
	slots []uint64 // hash>>32<<32 | index+1; 0 = empty
	n     int
	shift uint8 // 64 - log2(len(slots))
}

// home is the first slot to probe for key; it depends on the high half
// only, which is all a slot keeps.
func (x *wpIndex) home(key uint64) uint64 { return (key &^ 0xffffffff * 0x9e3779b97f4a7c15) >> x.shift }

func (x *wpIndex) put(key uint64, idx uint32) {
	if 2*(x.n+1) > len(x.slots) {
		x.grow()
	}
	mask := uint64(len(x.slots) - 1)
	i := x.home(key)
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = key&^0xffffffff | uint64(idx+1)
	x.n++
}

func (x *wpIndex) grow() {
	old := x.slots
	size := 2 * len(old)
	if size == 0 {
		size = 64
	}
	x.slots = make([]uint64, size)
	x.shift = uint8(64 - bits.Len(uint(size-1)))
	x.n = 0
	for _, s := range old {
		if s != 0 {
			x.put(s, uint32(s)-1)
		}
	}
}

// wpSeen is a fixed-size bitmap filter of pair hashes: a clear bit proves
// that the pair was never added, so events of pairs without state are
// dismissed with one load from a small, cache-resident table. Its size does
// not grow with the input.
type wpSeen struct {
	bits []uint64
}

const wpSeenBits = 1 << 20 // 128 KiB

func (f *wpSeen) add(h uint64) {
	if f.bits == nil {
		f.bits = make([]uint64, wpSeenBits/64)
	}
	i := h % wpSeenBits
	f.bits[i/64] |= 1 << (i % 64)
}

// has reports whether a pair of hash h may have been added.
func (f *wpSeen) has(h uint64) bool {
	if f.bits == nil {
		return false
	}
	i := h % wpSeenBits
	return f.bits[i/64]&(1<<(i%64)) != 0
}
