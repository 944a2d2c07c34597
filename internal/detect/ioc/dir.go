package ioc

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kizuki-dev/kizuki/internal/fsutil"
)

// MaxLists bounds the lists one folder may hold; files beyond it are
// reported and not read.
const MaxLists = 256

// ErrBadName is returned (wrapped) for a list name that cannot be a file
// name in the folder.
var ErrBadName = errors.New("invalid list name")

// Dir is a folder of indicator lists: each regular file is one list, named
// by its file name. Files whose names start with "." or end in ".tmp" or
// "~" (editors' and atomic writers' leftovers) are not lists. Scan re-reads
// the files that changed since the last call (size or modification time);
// a file that no longer parses keeps its last good version, with the error
// in Info, so a half-written edit never removes a feed.
//
// A Dir is safe for concurrent use.
type Dir struct {
	path string
	lim  Limits

	mu    sync.Mutex
	files map[string]*dirFile
}

type dirFile struct {
	size   int64
	mod    time.Time
	list   *List // last good version; nil if none
	rep    Report
	err    error // of the last read
	loaded time.Time
}

// ListInfo describes one list of a folder.
type ListInfo struct {
	Name   string    `json:"name"`
	Loaded time.Time `json:"loaded"`
	Report Report    `json:"report"`
	// Error is why the file's last version could not be read; the
	// previous good version (Report) is still matched.
	Error string `json:"error,omitempty"`
}

// OpenDir opens (making it, mode 0700, when missing) a folder of lists. It
// reads nothing yet: call Scan.
func OpenDir(path string, lim Limits) (*Dir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("indicator folder: %w", err)
	}
	return &Dir{path: path, lim: lim.withDefaults(), files: map[string]*dirFile{}}, nil
}

// Path returns the folder.
func (d *Dir) Path() string { return d.path }

// isListFile reports whether a folder entry name is a list.
func isListFile(name string) bool {
	return name != "" && name[0] != '.' && !strings.HasSuffix(name, ".tmp") && !strings.HasSuffix(name, "~")
}

// Scan reads the lists that changed since the last call and forgets the
// removed ones. changed reports whether the set of good lists changed;
// problems lists the files that could not be read this time (each also in
// Info until a good version is read).
func (d *Dir) Scan() (changed bool, problems []error, err error) {
	ents, err := os.ReadDir(d.path)
	if err != nil {
		return false, nil, fmt.Errorf("indicator folder: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	present := map[string]bool{}
	n := 0
	for _, e := range ents {
		name := e.Name()
		if !isListFile(name) || !e.Type().IsRegular() {
			continue
		}
		if n++; n > MaxLists {
			problems = append(problems, fmt.Errorf("%s: more than %d lists in %s: not read", name, MaxLists, d.path))
			continue
		}
		present[name] = true
		fi, err := e.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				delete(present, name)
				continue
			}
			problems = append(problems, fmt.Errorf("%s: %w", name, err))
			continue
		}
		f := d.files[name]
		if f != nil && f.size == fi.Size() && f.mod.Equal(fi.ModTime()) {
			continue // unchanged (a read error was reported when it happened)
		}
		if f == nil {
			f = &dirFile{}
			d.files[name] = f
		}
		f.size, f.mod = fi.Size(), fi.ModTime()
		l, rep, err := d.read(name)
		if err != nil {
			f.err = err
			problems = append(problems, err)
			continue
		}
		changed = changed || f.list == nil || f.list.Digest != l.Digest
		f.list, f.rep, f.err, f.loaded = l, rep, nil, time.Now()
	}
	for name, f := range d.files {
		if !present[name] {
			delete(d.files, name)
			changed = changed || f.list != nil
		}
	}
	return changed, problems, nil
}

func (d *Dir) read(name string) (*List, Report, error) {
	fh, err := os.Open(filepath.Join(d.path, name))
	if err != nil {
		return nil, Report{}, err
	}
	defer fh.Close()
	l, rep, err := Parse(name, fh, d.lim)
	if err != nil {
		return nil, Report{}, err
	}
	return l, rep, nil
}

// Lists returns the good lists, by name.
func (d *Dir) Lists() []*List {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*List
	for _, name := range d.names() {
		if l := d.files[name].list; l != nil {
			out = append(out, l)
		}
	}
	return out
}

// Info describes every list file, by name.
func (d *Dir) Info() []ListInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []ListInfo
	for _, name := range d.names() {
		f := d.files[name]
		li := ListInfo{Name: name, Loaded: f.loaded, Report: f.rep}
		if f.err != nil {
			li.Error = f.err.Error()
		}
		out = append(out, li)
	}
	return out
}

func (d *Dir) names() []string {
	names := make([]string, 0, len(d.files))
	for n := range d.files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// knownExt reports whether name ends in an extension that names a format.
func knownExt(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".txt", ".list", ".csv", ".json", ".stix":
		return true
	}
	return false
}

// ValidName checks a list name given from outside (the API): letters,
// digits, ".", "_" and "-", starting with a letter or digit, at most 128
// bytes, so that it is a plain file name in the folder.
func ValidName(name string) error {
	if name == "" || len(name) > 128 || !isListFile(name) {
		return fmt.Errorf("%w %q: 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit", ErrBadName, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w %q: 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit", ErrBadName, name)
		}
	}
	if c := name[0]; c == '-' || c == '_' {
		return fmt.Errorf("%w %q: must start with a letter or digit", ErrBadName, name)
	}
	return nil
}

// Add stores a list given as data under name and loads it. The list is
// parsed before anything is written: a list that does not parse, or holds
// no indicator, or that check refuses, changes nothing. check (nil: none)
// is given the folder's lists as they would be with this one added, e.g. to
// enforce a limit on all lists together. A name without a known extension
// (.txt, .csv, .json, .stix, .list) gets the one of the detected format,
// and replaces a list of the same name with another extension. The file is
// written atomically (mode 0600). It returns the list as stored.
func (d *Dir) Add(name string, data []byte, check func(next []*List) error) (*List, Report, error) {
	if err := ValidName(name); err != nil {
		return nil, Report{}, err
	}
	if int64(len(data)) > d.lim.MaxBytes {
		return nil, Report{}, fmt.Errorf("%w: %s is larger than %d bytes", ErrTooLarge, name, d.lim.MaxBytes)
	}
	file := name
	if !knownExt(name) {
		file = name + ExtensionFor(DetectFormat(name, data))
	}
	l, rep, err := Parse(file, bytes.NewReader(data), d.lim)
	if err != nil {
		return nil, Report{}, err
	}
	if len(l.Indicators) == 0 {
		return nil, rep, fmt.Errorf("%s: %w to match (%d entries not matched)", name, ErrNoIndicators, rep.ProblemCount)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	// The same list stored with another extension is replaced.
	replaced := func(other string) bool {
		return other == file || (!knownExt(name) && knownExt(other) && strings.TrimSuffix(other, filepath.Ext(other)) == name)
	}
	if check != nil {
		next := []*List{l}
		for _, n := range d.names() {
			if f := d.files[n]; f.list != nil && !replaced(n) {
				next = append(next, f.list)
			}
		}
		if err := check(next); err != nil {
			return nil, rep, err
		}
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(d.path, file), data, 0o600); err != nil {
		return nil, Report{}, fmt.Errorf("store list %s: %w", file, err)
	}
	for other := range d.files {
		if other != file && replaced(other) {
			if err := os.Remove(filepath.Join(d.path, other)); err == nil || errors.Is(err, fs.ErrNotExist) {
				delete(d.files, other)
			}
		}
	}
	f := &dirFile{list: l, rep: rep, loaded: time.Now()}
	if fi, err := os.Stat(filepath.Join(d.path, file)); err == nil {
		f.size, f.mod = fi.Size(), fi.ModTime()
	}
	d.files[file] = f
	return l, rep, nil
}

// Remove deletes a list's file and forgets it.
func (d *Dir) Remove(name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.files[name]; !ok {
		return fmt.Errorf("list %s: %w", name, fs.ErrNotExist)
	}
	if err := os.Remove(filepath.Join(d.path, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove list %s: %w", name, err)
	}
	delete(d.files, name)
	return fsutil.SyncDir(d.path)
}
