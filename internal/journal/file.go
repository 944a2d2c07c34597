package journal

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// file is what the journal needs of an open file. *os.File has it; tests
// wrap it to inject short writes, ENOSPC and failing fsyncs.
type file interface {
	io.ReaderAt
	io.WriterAt
	Sync() error
	Truncate(size int64) error
	Stat() (fs.FileInfo, error)
	Close() error
}

// openFunc opens a file the journal writes (segments, the checkpoint log).
type openFunc func(name string, flag int, perm fs.FileMode) (file, error)

func osOpen(name string, flag int, perm fs.FileMode) (file, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err // a nil *os.File must not become a non-nil file
	}
	return f, nil
}

// writeNew creates path with the bytes b the crash-safe way: write
// path+".tmp", fsync it, rename it over path, fsync the directory. A crash
// leaves either no file or the whole file, never a torn header. The file is
// returned open for reading and writing at len(b).
func writeNew(open openFunc, path string, b []byte) (file, error) {
	tmp := path + ".tmp"
	f, err := open(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (file, error) {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	if n, err := f.WriteAt(b, 0); err != nil {
		return fail(fmt.Errorf("write %s: %w", tmp, err))
	} else if n != len(b) {
		return fail(fmt.Errorf("write %s: %w", tmp, io.ErrShortWrite))
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("fsync %s: %w", tmp, err))
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// fileSize returns the size of f.
func fileSize(f file) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
