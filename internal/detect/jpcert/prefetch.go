//go:build amd64 || arm64

package jpcert

// prefetch2 asks the CPU to start loading the cache lines at a and b and
// returns at once; it never faults, whatever the addresses. The analyses
// that keep state for hundreds of thousands of pairs use it to overlap the
// cache misses of several records (see j8.Observe). One call serves two
// lines: calling assembly costs more than the instructions.
//
//go:noescape
func prefetch2(a, b uintptr)
