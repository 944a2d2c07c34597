package journal

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

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
