package store

import (
	"errors"
	"fmt"
)

var (
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("store: index closed")
	// ErrTooLarge is returned (wrapped) by Add for an event the index cannot
	// hold (a raw record over 32 MiB).
	ErrTooLarge = errors.New("store: event too large")
)

// CorruptionError reports a part whose bytes do not match their checksum or
// do not decode. The index is derived data: `kizuki reindex` rebuilds it
// from the journal. Search returns it (wrapped) instead of answering from
// damaged data.
type CorruptionError struct {
	Part   string // part file name
	Block  int    // block number in the part, -1 for the part's own header or index
	Offset int64  // byte offset in the part file of the damaged piece
	Err    error
}

func (e *CorruptionError) Error() string {
	if e.Block < 0 {
		return fmt.Sprintf("store: corrupt index part %s at offset %d: %v (run kizuki reindex)", e.Part, e.Offset, e.Err)
	}
	return fmt.Sprintf("store: corrupt index part %s, block %d at offset %d: %v (run kizuki reindex)", e.Part, e.Block, e.Offset, e.Err)
}

func (e *CorruptionError) Unwrap() error { return e.Err }
