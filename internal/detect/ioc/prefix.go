package ioc

import (
	"net/netip"
	"sort"
)

// PrefixIndex finds the indicator prefix containing an address with one map
// lookup per distinct prefix length, longest first, instead of a scan over
// every prefix: lists hold thousands of addresses but only a few lengths
// (/32, /24, /128 ...). It is J5's index made reusable; J5 can move to it.
//
// Add every prefix first, then Lookup; a built index is safe for concurrent
// readers.
type PrefixIndex[V any] struct {
	bits   []int // distinct prefix lengths (per family, +200 for IPv6), longest first
	byBits map[int]map[netip.Prefix]V
}

// NewPrefixIndex returns an empty index.
func NewPrefixIndex[V any]() *PrefixIndex[V] {
	return &PrefixIndex[V]{byBits: map[int]map[netip.Prefix]V{}}
}

// bitsKey separates the IPv4 and IPv6 lengths, so that an IPv4 lookup never
// tries IPv6 lengths and the reverse.
func bitsKey(p netip.Prefix) int {
	if p.Addr().Is6() {
		return 200 + p.Bits()
	}
	return p.Bits()
}

// Add indexes p (masked, IPv4-mapped addresses unmapped) with v, replacing
// an earlier value of the same prefix. It reports whether p was new.
func (x *PrefixIndex[V]) Add(p netip.Prefix, v V) bool {
	if !p.IsValid() {
		return false
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	p = p.Masked()
	k := bitsKey(p)
	m := x.byBits[k]
	if m == nil {
		m = map[netip.Prefix]V{}
		x.byBits[k] = m
		x.bits = append(x.bits, k)
		sort.Sort(sort.Reverse(sort.IntSlice(x.bits)))
	}
	_, had := m[p]
	m[p] = v
	return !had
}

// Len is the number of prefixes.
func (x *PrefixIndex[V]) Len() int {
	n := 0
	for _, m := range x.byBits {
		n += len(m)
	}
	return n
}

// Lookup returns the longest indexed prefix containing a, and its value.
func (x *PrefixIndex[V]) Lookup(a netip.Addr) (netip.Prefix, V, bool) {
	var zero V
	if len(x.bits) == 0 || !a.IsValid() {
		return netip.Prefix{}, zero, false
	}
	a = a.Unmap().WithZone("")
	base := 0
	if a.Is6() {
		base = 200
	}
	for _, k := range x.bits {
		b := k - base
		if b < 0 || b > a.BitLen() {
			continue
		}
		p, err := a.Prefix(b)
		if err != nil {
			continue
		}
		if v, ok := x.byBits[k][p]; ok {
			return p, v, true
		}
	}
	return netip.Prefix{}, zero, false
}
