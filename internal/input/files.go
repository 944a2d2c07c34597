// Package input finds and opens log files: plain, gzip or zstd (recognized
// by their magic bytes, whatever the file is called), the members of .zip
// archives (public datasets such as OTRF's ship zipped), folders walked
// recursively, and "-" for standard input.
package input

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// File is one input to read.
type File struct {
	Path     string    // as given or found; "-" for stdin; ARCHIVE!MEMBER for a zip member
	ModTime  time.Time // modification time (zero for stdin)
	Explicit bool      // named on the command line rather than found in a folder
	// Archive and Member locate a member of a .zip archive.
	Archive, Member string
}

// MaxArchiveMembers bounds the members listed from one .zip archive.
const MaxArchiveMembers = 100_000

// expandZip lists the members of the zip archive at path (folders and
// hidden members left out), or returns an error when it is not a readable
// zip archive.
func expandZip(path string) ([]File, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("zip %s: %w", path, err)
	}
	defer zr.Close()
	var out []File
	for _, m := range zr.File {
		if m.FileInfo().IsDir() || strings.HasPrefix(filepath.Base(m.Name), ".") {
			continue
		}
		if len(out) == MaxArchiveMembers {
			return nil, fmt.Errorf("zip %s: more than %d members", path, MaxArchiveMembers)
		}
		out = append(out, File{Path: path + "!" + m.Name, ModTime: m.Modified, Archive: path, Member: m.Name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// isZipName reports whether a file is taken for a zip archive: by its name,
// so that a log that happens to start with "PK" is not opened as one.
func isZipName(path string) bool { return strings.EqualFold(filepath.Ext(path), ".zip") }

// Expand turns command-line paths into files: a folder yields every regular
// file below it and every symbolic link to one (sorted, hidden entries
// skipped, links to folders not followed), "-" yields stdin. Files found in
// a folder carry no ModTime (links and named files do): Reader.ModTime reads
// it once the file is open.
func Expand(paths []string) ([]File, error) {
	var out []File
	for _, p := range paths {
		if p == "-" {
			out = append(out, File{Path: "-", Explicit: true})
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", p, err)
		}
		if !st.IsDir() {
			if isZipName(p) {
				members, err := expandZip(p)
				if err != nil {
					return nil, fmt.Errorf("input %w", err)
				}
				out = append(out, members...)
				continue
			}
			out = append(out, File{Path: p, ModTime: st.ModTime(), Explicit: true})
			continue
		}
		var found, links []File
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("walk %s: %w", path, err)
			}
			name := d.Name()
			if path != p && strings.HasPrefix(name, ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			switch {
			case d.Type().IsRegular():
				// No stat here: a hunt over tens of thousands of files
				// would pay a system call each for a modification time
				// only text formats need (Reader.ModTime gives it).
				found = appendFound(found, File{Path: path})
			case d.Type()&fs.ModeSymlink != 0:
				links = append(links, File{Path: path})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, l := range regularLinks(links) {
			found = appendFound(found, l)
		}
		sort.Slice(found, func(i, j int) bool { return found[i].Path < found[j].Path })
		out = append(out, found...)
	}
	return out, nil
}

// appendFound appends a file found in a folder, or the members of a .zip
// archive. A damaged archive is kept as a file: it is then reported as not
// read, like any unknown file.
func appendFound(found []File, f File) []File {
	if isZipName(f.Path) {
		if members, err := expandZip(f.Path); err == nil {
			return append(found, members...)
		}
	}
	return append(found, f)
}

// linkCheckers is how many symbolic links are resolved at once: each is a
// path walk in the kernel, and a folder of links (a benchmark corpus, an
// evidence folder of links into a share) can hold tens of thousands.
const linkCheckers = 8

// regularLinks returns the links that lead to a regular file, with its
// modification time. Log folders often link the current file; links to
// folders are not followed (so a loop cannot make the walk endless), and
// dangling links are left out.
func regularLinks(links []File) []File {
	ok := make([]bool, len(links))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(linkCheckers, len(links)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if st, err := os.Stat(links[i].Path); err == nil && st.Mode().IsRegular() {
					links[i].ModTime, ok[i] = st.ModTime(), true
				}
			}
		}()
	}
	for i := range links {
		next <- i
	}
	close(next)
	wg.Wait()
	out := links[:0]
	for i, l := range links {
		if ok[i] {
			out = append(out, l)
		}
	}
	return out
}

// Compression names what Open found.
type Compression string

// Compressions.
const (
	Plain Compression = ""
	Gzip  Compression = "gzip"
	Zstd  Compression = "zstd"
	Zip   Compression = "zip" // a member of a zip archive (deflated or stored)
)

// Reader is an opened, decompressed input.
type Reader struct {
	io.Reader
	Compression Compression
	closers     []io.Closer
	file        *os.File
	member      bool // a zip member
	head        [HeadSize]byte
	headLen     int
}

// HeadSize is how many first bytes of a file Head gives: enough for any
// magic number.
const HeadSize = 64

// Head returns the first bytes of an opened file (up to HeadSize), read in
// place without moving the reader; nil for stdin and archive members.
func (r *Reader) Head() []byte {
	if r.file == nil {
		return nil
	}
	return r.head[:r.headLen]
}

// Buffered returns the buffered reader of an uncompressed input (reading
// from it is reading the input; Peek looks ahead without consuming), nil
// for a compressed one.
func (r *Reader) Buffered() *bufio.Reader {
	if br, ok := r.Reader.(*bufio.Reader); ok && r.Compression == Plain {
		return br
	}
	return nil
}

// File returns the opened file itself when the input is a plain
// (uncompressed) file, for reading at random offsets; nil otherwise.
func (r *Reader) File() *os.File {
	if r.Compression != Plain {
		return nil
	}
	return r.file
}

// ModTime returns the modification time of the opened file (zero for
// stdin and archive members, or when it cannot be read).
func (r *Reader) ModTime() time.Time {
	if r.file == nil {
		return time.Time{}
	}
	st, err := r.file.Stat()
	if err != nil {
		return time.Time{}
	}
	return st.ModTime()
}

// Close releases the file and the decompressor.
func (r *Reader) Close() error {
	var errs []error
	for i := len(r.closers) - 1; i >= 0; i-- {
		if err := r.closers[i].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// Open opens f and, when its first bytes say so, decompresses it (gzip,
// including concatenated members as logrotate writes them, or zstd).
func Open(f File, stdin io.Reader) (*Reader, error) {
	return OpenBuffered(f, stdin, bufio.NewReaderSize(nil, BufferSize))
}

// BufferSize is the size of the buffered reader Open reads through.
const BufferSize = 256 << 10

// OpenBuffered is Open reading through br (reset to the input), so that a
// caller opening thousands of files reuses its buffers instead of
// allocating one each; br must not be used otherwise until the Reader is
// closed.
func OpenBuffered(f File, stdin io.Reader, br *bufio.Reader) (*Reader, error) {
	var src io.Reader
	r := &Reader{}
	switch {
	case f.Archive != "":
		rc, err := openMember(f)
		if err != nil {
			return nil, err
		}
		r.closers = append(r.closers, rc)
		r.member = true
		src = rc
	case f.Path == "-":
		src = stdin
	default:
		fh, err := os.Open(f.Path)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", f.Path, err)
		}
		r.closers = append(r.closers, fh)
		r.file = fh
		src = fh
	}
	br.Reset(src)
	var magic []byte
	if r.file != nil {
		// A file's magic number is read in place: filling the buffer
		// would read the first 256 KiB of every file, which a container
		// format then reads again in its own way.
		n, _ := r.file.ReadAt(r.head[:], 0)
		magic = r.head[:min(n, 4)]
		r.headLen = n
	} else {
		magic, _ = br.Peek(4)
	}
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		gz, err := gzip.NewReader(br)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("gzip %s: %w", f.Path, err)
		}
		r.closers = append(r.closers, gz)
		r.Reader, r.Compression = gz, Gzip
	case len(magic) == 4 && bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("zstd %s: %w", f.Path, err)
		}
		r.closers = append(r.closers, closerFunc(func() error { zr.Close(); return nil }))
		r.Reader, r.Compression = zr, Zstd
	default:
		r.Reader = br
	}
	if r.member && r.Compression == Plain {
		r.Compression = Zip
	}
	return r, nil
}

// openMember opens a member of a zip archive for reading.
func openMember(f File) (io.ReadCloser, error) {
	zr, err := zip.OpenReader(f.Archive)
	if err != nil {
		return nil, fmt.Errorf("zip %s: %w", f.Archive, err)
	}
	for _, m := range zr.File {
		if m.Name == f.Member {
			rc, err := m.Open()
			if err != nil {
				zr.Close()
				return nil, fmt.Errorf("zip %s: %s: %w", f.Archive, f.Member, err)
			}
			return struct {
				io.Reader
				io.Closer
			}{rc, closerFunc(func() error { rc.Close(); return zr.Close() })}, nil
		}
	}
	zr.Close()
	return nil, fmt.Errorf("zip %s: no member %s", f.Archive, f.Member)
}
