package evtx

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// ErrPanic is the Err (wrapped) of the Problem reported for a chunk whose
// decoding panicked: a bug of this reader on some input, or, for a mapped
// file, its memory gone because the file was truncated while it was read.
// The chunk is skipped and the rest of the file is read.
var ErrPanic = errors.New("decoding panicked; chunk skipped")

// guard runs fn and returns its panic, if any, as an error wrapping ErrPanic
// (and the panic value, when it is an error). Memory faults are turned into
// panics while fn runs (debug.SetPanicOnFault, restored after): reading a
// mapped file whose pages vanished raises SIGBUS, which would otherwise kill
// the process.
func guard(fn func()) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = fmt.Errorf("%w: %w", ErrPanic, e)
			} else {
				err = fmt.Errorf("%w: %v", ErrPanic, r)
			}
		}
	}()
	fn()
	return nil
}
