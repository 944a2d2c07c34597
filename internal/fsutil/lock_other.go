//go:build !unix

package fsutil

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrLocked says another process holds the lock (or its file is stale).
var ErrLocked = errors.New("locked by another process (or the lock file is stale)")

// Lock creates the file at path exclusively where the platform has no
// flock, and removes it when the returned Closer is closed.
func Lock(path string) (io.Closer, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("lock %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return removeOnClose{f}, nil
}

type removeOnClose struct{ *os.File }

func (r removeOnClose) Close() error {
	err := r.File.Close()
	os.Remove(r.File.Name())
	return err
}
