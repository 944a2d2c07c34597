//go:build !amd64 && !arm64

package jpcert

// prefetch2 does nothing where no prefetch instruction is wired up.
func prefetch2(a, b uintptr) {}
