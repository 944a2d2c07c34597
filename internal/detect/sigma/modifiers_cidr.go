package sigma

import (
	"fmt"
	"net/netip"
	"strings"
)

// |cidr: the value is an IPv4 or IPv6 network (10.0.0.0/8, fe80::/10; a bare
// address is a /32 or /128), and the field matches when it holds an address
// inside it. An IPv4 address written in IPv6 form (::ffff:10.1.2.3) counts as
// IPv4; a field that is not an address does not match.
//
// Adding a modifier of this kind: write its valueMod (or itemMod) here, name
// it in lookupModifier (modifiers.go), and test it, positive and negative,
// in this file's _test.go.

func modCIDR(c *itemCtx, v mval) ([]mval, error) {
	if len(c.applied) > 0 {
		return nil, fmt.Errorf("cidr only applies to a value no other modifier changed (after %s)", strings.Join(c.applied, "|"))
	}
	s, ok := v.asString()
	if !ok {
		return nil, typeError("cidr", v)
	}
	p, ok := s.plain()
	if !ok {
		return nil, fmt.Errorf("cidr value %q has wildcards", s.String())
	}
	if _, err := parseCIDR(p); err != nil {
		return nil, err
	}
	v.kind, v.s, v.text = vCIDR, nil, p
	return []mval{v}, nil
}

func parseCIDR(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad CIDR %q: %w", s, err)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad CIDR %q: %w", s, err)
	}
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// matchCIDR reports whether the field value v is an address inside p.
func matchCIDR(p netip.Prefix, v string) bool {
	a, ok := fieldAddr(v)
	return ok && p.Contains(a)
}

// fieldAddr parses a field value as an address, as |cidr compares it:
// brackets and zone dropped, IPv4-mapped IPv6 as IPv4.
func fieldAddr(v string) (netip.Addr, bool) {
	v = strings.TrimSpace(v)
	if len(v) > 2 && v[0] == '[' && v[len(v)-1] == ']' {
		v = v[1 : len(v)-1]
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}
