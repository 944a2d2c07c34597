package journal

import (
	"errors"
	"fmt"
)

var (
	// ErrClosed is returned by Append after Close.
	ErrClosed = errors.New("journal: closed")
	// ErrDiskFull is wrapped by errors that come from a full file system
	// (ENOSPC, EDQUOT). Append returns it with nothing written; the same
	// Append succeeds once space is freed, with no restart.
	ErrDiskFull = errors.New("journal: disk full")
)

// CorruptionError reports damage that Open or a reader found and must not
// repair on its own, because it is not the shape a crash leaves (for
// example a bad block before the last checkpoint, or a segment shorter than
// a checkpoint says). Verify gives the full picture.
type CorruptionError struct {
	File   string // file name in the journal directory
	Offset int64  // byte offset of the damage
	Err    error
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("journal: corruption in %s at offset %d: %v (run kizuki verify)", e.File, e.Offset, e.Err)
}

func (e *CorruptionError) Unwrap() error { return e.Err }

// wrapWrite describes a failed write or fsync, marking a full disk.
func wrapWrite(name string, off int64, op string, err error) error {
	if diskFull(err) {
		return fmt.Errorf("%w: %s %s at offset %d: %w", ErrDiskFull, op, name, off, err)
	}
	return fmt.Errorf("journal: %s %s at offset %d: %w", op, name, off, err)
}
