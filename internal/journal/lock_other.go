//go:build !unix

package journal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// lockDir holds dir/LOCK open with exclusive sharing where the platform
// has no flock; a second Open of the same journal then fails to create it.
func lockDir(dir string) (io.Closer, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("journal: %s is open in another process (or %s is stale)", dir, path)
		}
		return nil, fmt.Errorf("journal: lock: %w", err)
	}
	return removeOnClose{f}, nil
}

type removeOnClose struct{ *os.File }

func (r removeOnClose) Close() error {
	err := r.File.Close()
	os.Remove(r.File.Name())
	return err
}

// syncDir is a no-op where directories cannot be fsynced (Windows).
func syncDir(string) error { return nil }

// diskFull reports whether err means the file system has no room left.
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC)
}
