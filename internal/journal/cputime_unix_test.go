//go:build unix

package journal

import (
	"syscall"
	"time"
)

// cpuTime is the process's user and system time so far: on a shared
// machine the share of a core per record says more than records/s, which
// the disk's fsync time bounds.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
