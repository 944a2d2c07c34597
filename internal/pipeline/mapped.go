package pipeline

import "io"

// mapped is a file mapped into memory: an io.ReaderAt whose Bytes a
// container format may slice instead of copying (the evtx reader does).
type mapped struct {
	b     []byte
	unmap func() error
}

// maxMapped bounds the size of a file read through a mapping: beyond it
// (or on 32-bit systems) the file is read with ReadAt.
const maxMapped = 1 << 40

// Bytes returns the whole file. The bytes are valid until Close: nothing
// made from them may keep referring to them.
func (m *mapped) Bytes() []byte { return m.b }

// ReadAt copies from the mapping.
func (m *mapped) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Close unmaps the file.
func (m *mapped) Close() error { return m.unmap() }
