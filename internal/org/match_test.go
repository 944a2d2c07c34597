package org

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// matchWalk is DomainSet.Match without the length filter: every parent
// domain is looked up.
func matchWalk(s *DomainSet, host string) (string, bool) {
	if s == nil || s.Len() == 0 || host == "" {
		return "", false
	}
	h := strings.TrimSuffix(host, ".")
	if hasUpper(h) {
		h = strings.ToLower(h)
	}
	if e, ok := s.exact[h]; ok {
		return e, true
	}
	for i := 0; i < len(h); i++ {
		if h[i] != '.' {
			continue
		}
		parent := h[i+1:]
		if e, ok := s.exact[parent]; ok {
			return e, true
		}
		if e, ok := s.sub[parent]; ok {
			return e, true
		}
	}
	return "", false
}

// The length filter never changes a result.
func TestDomainSetMatchLengths(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	labels := []string{"", "a", "B", "example", "com", "co", "jp", "x", "Example", strings.Repeat("l", 250)}
	name := func() string {
		var parts []string
		for n := r.IntN(5); n >= 0; n-- {
			parts = append(parts, labels[r.IntN(len(labels))])
		}
		s := strings.Join(parts, ".")
		switch r.IntN(4) {
		case 0:
			s += "."
		case 1:
			s = "*." + s
		}
		return s
	}
	for round := 0; round < 200; round++ {
		var entries []string
		for n := r.IntN(6); n > 0; n-- {
			entries = append(entries, name())
		}
		s := NewDomainSet(entries)
		for i := 0; i < 200; i++ {
			h := name()
			e1, ok1 := s.Match(h)
			e2, ok2 := matchWalk(s, h)
			if e1 != e2 || ok1 != ok2 {
				t.Fatalf("entries %q host %q: %q %v, want %q %v", entries, h, e1, ok1, e2, ok2)
			}
		}
	}
}

func BenchmarkDomainSetMatch(b *testing.B) {
	s := NewDomainSet([]string{"example.com", "*.windowsupdate.com"})
	b.ReportAllocs()
	for b.Loop() {
		s.Match("h123.example12.com")
	}
}
