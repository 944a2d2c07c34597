package org

import (
	"path"
	"strings"
)

// DomainSet matches a host name against a list of domains. An entry matches
// itself and its subdomains ("example.com" matches "apt.example.com"); a
// leading "*." means subdomains only. Matching is case-insensitive and
// ignores a trailing dot.
type DomainSet struct {
	exact map[string]string // name → entry as configured
	sub   map[string]string // suffix (without "*.") → entry, subdomains only
	// lens has bit n set when some key of exact or sub is n bytes long
	// (n < 256; longer keys set lensLong), so that Match only looks up
	// the suffixes that can be keys: most host names need no lookup.
	lens     [4]uint64
	lensLong bool
}

// NewDomainSet builds a set from configured entries.
func NewDomainSet(entries []string) *DomainSet {
	s := &DomainSet{exact: map[string]string{}, sub: map[string]string{}}
	for _, e := range entries {
		d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(e)), ".")
		if d == "" {
			continue
		}
		if strings.HasPrefix(d, "*.") {
			s.sub[d[2:]] = e
			s.addLen(len(d) - 2)
			continue
		}
		s.exact[d] = e
		s.addLen(len(d))
	}
	return s
}

func (s *DomainSet) addLen(n int) {
	if n >= 256 {
		s.lensLong = true
		return
	}
	s.lens[n>>6] |= 1 << (n & 63)
}

// hasLen reports whether some key may be n bytes long.
func (s *DomainSet) hasLen(n int) bool {
	if n >= 256 {
		return s.lensLong
	}
	return s.lens[n>>6]&(1<<(n&63)) != 0
}

// Len is the number of entries.
func (s *DomainSet) Len() int { return len(s.exact) + len(s.sub) }

// Match returns the configured entry that host falls under.
func (s *DomainSet) Match(host string) (string, bool) {
	if s == nil || s.Len() == 0 || host == "" {
		return "", false
	}
	h := strings.TrimSuffix(host, ".")
	if hasUpper(h) {
		h = strings.ToLower(h)
	}
	if s.hasLen(len(h)) {
		if e, ok := s.exact[h]; ok {
			return e, true
		}
	}
	// Walk the parent domains: a.b.example.com → b.example.com → example.com.
	for rest := h; ; {
		i := strings.IndexByte(rest, '.')
		if i < 0 {
			break
		}
		parent := rest[i+1:]
		rest = parent
		if !s.hasLen(len(parent)) {
			continue
		}
		if e, ok := s.exact[parent]; ok {
			return e, true
		}
		if e, ok := s.sub[parent]; ok {
			return e, true
		}
	}
	return "", false
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// GlobSet matches strings against shell-style patterns ("*" any run, "?"
// one character, "[...]" a class), case-sensitively as User-Agents are.
type GlobSet struct {
	patterns []string
}

// NewGlobSet validates and stores patterns.
func NewGlobSet(patterns []string) (*GlobSet, error) {
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			return nil, err
		}
	}
	return &GlobSet{patterns: patterns}, nil
}

// Len is the number of patterns.
func (g *GlobSet) Len() int {
	if g == nil {
		return 0
	}
	return len(g.patterns)
}

// Match returns the first pattern that matches s.
func (g *GlobSet) Match(s string) (string, bool) {
	if g == nil {
		return "", false
	}
	for _, p := range g.patterns {
		if globMatch(p, s) {
			return p, true
		}
	}
	return "", false
}

// globMatch is path.Match without its special treatment of '/', which
// User-Agents are full of.
func globMatch(pattern, s string) bool {
	// Replace '/' by a byte that cannot appear in the pattern's syntax, in
	// both, so path.Match's separator rule never applies.
	const sep = "\x00"
	ok, err := path.Match(strings.ReplaceAll(pattern, "/", sep), strings.ReplaceAll(s, "/", sep))
	return err == nil && ok
}
