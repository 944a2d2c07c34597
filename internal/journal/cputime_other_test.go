//go:build !unix

package journal

import "time"

// cpuTime is unknown here; the benchmark then omits cpu-ns/record.
func cpuTime() time.Duration { return 0 }
