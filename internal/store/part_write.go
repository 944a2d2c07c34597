package store

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kizuki-dev/kizuki/internal/fsutil"
)

// partWriter writes one part: to <name>.tmp, then fsync, rename and a
// folder fsync in finish, so that a part file under its final name is
// always whole. A crash leaves at most a .tmp file, which Open removes.
type partWriter struct {
	dir     string
	name    string
	tmp     string
	f       *os.File
	w       *bufio.Writer
	off     int64
	entries []blockEntry
	buf     []byte
	logf    func(string, ...any)
}

// createPart starts the part that will cover first..last.
func createPart(dir string, first, last uint64, logf func(string, ...any)) (*partWriter, error) {
	name := partName(first, last)
	tmp := filepath.Join(dir, name+tmpSuffix)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: create part: %w", err)
	}
	pw := &partWriter{dir: dir, name: name, tmp: tmp, f: f, w: bufio.NewWriterSize(f, 1<<20), logf: logf}
	if err := pw.write([]byte(partMagic)); err != nil {
		pw.abort()
		return nil, err
	}
	return pw, nil
}

func (pw *partWriter) write(b []byte) error {
	if _, err := pw.w.Write(b); err != nil {
		return fmt.Errorf("store: write %s at offset %d: %w", pw.tmp, pw.off, err)
	}
	pw.off += int64(len(b))
	return nil
}

// writeBlock appends an encoded block (see blockEncoder.encode).
func (pw *partWriter) writeBlock(body []byte, dirLen int, filter []byte, m blockMeta) error {
	e := blockEntry{
		offset:    pw.off,
		bodyLen:   uint32(len(body)),
		dirLen:    uint32(dirLen),
		dirCRC:    crc32c(body[:dirLen]),
		filterLen: uint32(len(filter)),
		filterCRC: crc32c(filter),
		blockMeta: m,
	}
	if err := pw.write(body); err != nil {
		return err
	}
	if err := pw.write(filter); err != nil {
		return err
	}
	pw.entries = append(pw.entries, e)
	return nil
}

// copyBlock appends a block read whole from another part (a merge keeping
// a full block as it is): body and filter back to back, as stored.
func (pw *partWriter) copyBlock(src *blockEntry, stored []byte) error {
	e := *src
	e.offset = pw.off
	if err := pw.write(stored); err != nil {
		return err
	}
	pw.entries = append(pw.entries, e)
	return nil
}

// finish writes the index and trailer, makes the file durable and gives it
// its final name. It returns the file's size.
func (pw *partWriter) finish() (int64, error) {
	if len(pw.entries) == 0 {
		pw.abort()
		return 0, errors.New("store: a part needs at least one block")
	}
	t := trailer{indexOffset: pw.off, blocks: uint32(len(pw.entries)), version: partVersion}
	pw.buf = pw.buf[:0]
	for i := range pw.entries {
		pw.buf = append(pw.buf, make([]byte, entrySize)...)
		pw.entries[i].put(pw.buf[len(pw.buf)-entrySize:])
		t.rows += uint64(pw.entries[i].rows)
	}
	t.indexLen = uint32(len(pw.buf))
	t.indexCRC = crc32c(pw.buf)
	var tb [trailerSize]byte
	t.put(tb[:])
	err := pw.write(pw.buf)
	if err == nil {
		err = pw.write(tb[:])
	}
	if err == nil {
		if err = pw.w.Flush(); err != nil {
			err = fmt.Errorf("store: write %s: %w", pw.tmp, err)
		}
	}
	if err == nil {
		if err = pw.f.Sync(); err != nil {
			err = fmt.Errorf("store: fsync %s: %w", pw.tmp, err)
		}
	}
	if cerr := pw.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("store: close %s: %w", pw.tmp, cerr)
	}
	pw.f = nil
	if err == nil {
		if err = os.Rename(pw.tmp, filepath.Join(pw.dir, pw.name)); err != nil {
			err = fmt.Errorf("store: %w", err)
		}
	}
	if err != nil {
		pw.abort()
		return 0, err
	}
	// The part is whole under its name from here on. A folder fsync that
	// fails leaves the rename's durability open: a crash could then lose
	// the part, which costs a re-read of its events from the journal
	// (Next goes back), not a wrong index. So it is logged, not failed:
	// failing would make the caller write the range again.
	if err := fsutil.SyncDir(pw.dir); err != nil && pw.logf != nil {
		pw.logf("store: %v", err)
	}
	return pw.off, nil
}

// abort drops the part being written.
func (pw *partWriter) abort() {
	if pw.f != nil {
		pw.f.Close()
		pw.f = nil
	}
	os.Remove(pw.tmp)
}
