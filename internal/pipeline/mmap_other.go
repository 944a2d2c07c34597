//go:build !unix

package pipeline

import (
	"errors"
	"os"
)

// mapFile is not available here: containers are read through ReadAt.
func mapFile(f *os.File, size int64) (*mapped, error) {
	return nil, errors.New("memory mapping not supported on this system")
}
