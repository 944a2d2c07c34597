//go:build unix

package pipeline

import (
	"os"
	"syscall"
)

// mapFile maps the first size bytes of f read-only, so that a container
// format decodes the page cache in place instead of copying every byte
// through read calls first (a hunt reads gigabytes of .evtx). The caller
// must unmap it once no reader touches it; a page that vanishes because
// the file shrank meanwhile faults (SIGBUS), which readers turn into a
// panic with debug.SetPanicOnFault and recover as a damaged part.
func mapFile(f *os.File, size int64) (*mapped, error) {
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	return &mapped{b: b, unmap: func() error { return syscall.Munmap(b) }}, nil
}
