//go:build !unix

package journal

import (
	"errors"
	"syscall"
)

// syncDir is a no-op where directories cannot be fsynced (Windows).
func syncDir(string) error { return nil }

// diskFull reports whether err means the file system has no room left.
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC)
}
