//go:build unix

package journal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/kizuki-dev/kizuki/internal/fsutil"
)

// lockDir takes an exclusive lock on dir/LOCK so that two processes (or
// two Opens in one process) never append to one journal.
func lockDir(dir string) (io.Closer, error) {
	l, err := fsutil.Lock(filepath.Join(dir, lockName))
	if errors.Is(err, fsutil.ErrLocked) {
		return nil, fmt.Errorf("journal: %s is open in another process or journal", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return l, nil
}

// syncDir makes renames and removals in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// diskFull reports whether err means the file system has no room left.
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
