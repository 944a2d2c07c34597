//go:build unix

package fsutil

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// ErrLocked says another process (or another open in this one: flock locks
// belong to the open file) holds the lock.
var ErrLocked = errors.New("locked by another process")

// Lock takes an exclusive advisory lock on the file at path (created if
// missing) and holds it until the returned Closer is closed. The kernel
// drops it when the process dies, so a kill -9 leaves nothing to clean up.
func Lock(path string) (io.Closer, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}
