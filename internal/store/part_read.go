package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// openPart opens and checks the part file name in dir: its header, trailer
// and index must be whole and consistent with the range its name gives.
// Blocks are checked when they are read.
func openPart(dir, name string, logf func(string, ...any)) (*part, error) {
	path := filepath.Join(dir, name)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	p, err := readPart(f, st.Size(), name)
	if err != nil {
		f.Close()
		return nil, err
	}
	p.path = path
	p.logf = logf
	return p, nil
}

// readPart reads the header, trailer and index of a part of size bytes
// from r. The part owns r from then on (release closes it).
func readPart(r readerAtCloser, size int64, name string) (*part, error) {
	corrupt := func(off int64, format string, args ...any) error {
		return &CorruptionError{Part: name, Block: -1, Offset: off, Err: fmt.Errorf(format, args...)}
	}
	if size < int64(len(partMagic))+trailerSize {
		return nil, corrupt(0, "%d bytes: too short for a part", size)
	}
	var head [len(partMagic)]byte
	if err := readFull(r, head[:], 0); err != nil {
		return nil, corrupt(0, "read header: %w", err)
	}
	if string(head[:]) != partMagic {
		return nil, corrupt(0, "not an index part (bad magic %q)", head[:])
	}
	var tb [trailerSize]byte
	toff := size - trailerSize
	if err := readFull(r, tb[:], toff); err != nil {
		return nil, corrupt(toff, "read trailer: %w", err)
	}
	var t trailer
	if err := t.get(tb[:]); err != nil {
		return nil, corrupt(toff, "%w", err)
	}
	if t.blocks == 0 || t.blocks > maxPartBlocks || uint64(t.indexLen) != uint64(t.blocks)*entrySize ||
		t.indexOffset < int64(len(partMagic)) || t.indexOffset+int64(t.indexLen) != toff {
		return nil, corrupt(toff, "trailer gives %d blocks, an index of %d bytes at %d", t.blocks, t.indexLen, t.indexOffset)
	}
	idx := make([]byte, t.indexLen)
	if err := readFull(r, idx, t.indexOffset); err != nil {
		return nil, corrupt(t.indexOffset, "read index: %w", err)
	}
	if crc32c(idx) != t.indexCRC {
		return nil, corrupt(t.indexOffset, "index checksum mismatch")
	}
	p := &part{name: name, f: r, size: size, blocks: make([]blockEntry, t.blocks), pairs: t.version >= 2}
	rows := uint64(0)
	for i := range p.blocks {
		e := &p.blocks[i]
		e.get(idx[i*entrySize:])
		var prev *blockEntry
		if i > 0 {
			prev = &p.blocks[i-1]
		}
		if err := e.check(t.indexOffset, prev); err != nil {
			return nil, &CorruptionError{Part: name, Block: i, Offset: t.indexOffset + int64(i*entrySize), Err: err}
		}
		rows += uint64(e.rows)
	}
	if rows != t.rows {
		return nil, corrupt(toff, "trailer counts %d rows, the blocks %d", t.rows, rows)
	}
	p.summarize()
	if first, last, ok := parsePartName(name); ok && (first != p.first || last != p.last) {
		return nil, corrupt(t.indexOffset, "blocks cover sequence %d-%d, the name says %d-%d", p.first, p.last, first, last)
	}
	p.refs.Store(1)
	return p, nil
}

func readFull(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// readChecked reads n bytes at off into buf (grown as needed) and checks
// them against crc; the error is a CorruptionError naming block bi.
func (p *part) readChecked(buf []byte, off int64, n uint32, crc uint32, bi int, what string) ([]byte, error) {
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if err := readFull(p.f, buf, off); err != nil {
		return buf, &CorruptionError{Part: p.name, Block: bi, Offset: off, Err: fmt.Errorf("read %s: %w", what, err)}
	}
	if crc32c(buf) != crc {
		return buf, &CorruptionError{Part: p.name, Block: bi, Offset: off, Err: fmt.Errorf("%s checksum mismatch", what)}
	}
	return buf, nil
}

// readFilter reads block bi's token filter into buf.
func (p *part) readFilter(buf []byte, bi int) ([]byte, error) {
	e := &p.blocks[bi]
	return p.readChecked(buf, e.offset+int64(e.bodyLen), e.filterLen, e.filterCRC, bi, "token filter")
}

// readStored reads block bi as stored (body and filter), checking the
// directory's and the filter's checksums and every column's, for a merge
// that copies the block as it is.
func (p *part) readStored(buf []byte, bi int) ([]byte, error) {
	e := &p.blocks[bi]
	n := int(e.bodyLen) + int(e.filterLen)
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if err := readFull(p.f, buf, e.offset); err != nil {
		return buf, &CorruptionError{Part: p.name, Block: bi, Offset: e.offset, Err: fmt.Errorf("read block: %w", err)}
	}
	body := buf[:e.bodyLen]
	if crc32c(body[:e.dirLen]) != e.dirCRC {
		return buf, &CorruptionError{Part: p.name, Block: bi, Offset: e.offset, Err: errors.New("column directory checksum mismatch")}
	}
	if crc32c(buf[e.bodyLen:]) != e.filterCRC {
		return buf, &CorruptionError{Part: p.name, Block: bi, Offset: e.offset + int64(e.bodyLen), Err: errors.New("token filter checksum mismatch")}
	}
	cols, err := parseDir(nil, body[:e.dirLen], int(e.bodyLen-e.dirLen))
	if err != nil {
		return buf, &CorruptionError{Part: p.name, Block: bi, Offset: e.offset, Err: err}
	}
	chunks := body[e.dirLen:]
	for _, c := range cols {
		if crc32c(chunks[c.off:c.off+c.stored]) != c.crc {
			return buf, &CorruptionError{Part: p.name, Block: bi, Offset: e.offset + int64(e.dirLen) + int64(c.off),
				Err: fmt.Errorf("column %s checksum mismatch", c.label())}
		}
	}
	return buf, nil
}
