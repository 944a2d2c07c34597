package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/kizuki-dev/kizuki/internal/fsutil"
)

// The set of live parts is what the directory's file names say, with no
// manifest file to keep in step: a part is named after the sequence range
// it covers, and is renamed into place only once whole (part_write.go).
// Open then settles every state a crash can leave:
//
//   - a .tmp file (a flush or merge that did not finish) is removed;
//   - a part whose range lies inside another's is the input of a merge
//     whose output was renamed into place before the inputs were deleted:
//     the inputs are removed;
//   - a part that does not read back whole (torn, damaged trailer or index)
//     is removed together with every part after it, and Next restarts at
//     its first sequence number, so the follower indexes its events again
//     and no event is indexed twice;
//   - two parts that overlap without one containing the other cannot come
//     from this code: Open refuses, and `kizuki reindex` rebuilds.
//
// One more file, NEXT, holds the sequence number after the last event ever
// indexed, written by Retain before it deletes parts: with every part
// retained, Next must not fall back to 0 and index the journal again.

// partFile is a part file found at Open: p is nil when it does not read back.
type partFile struct {
	name        string
	first, last uint64
	p           *part
}

// loadParts opens the live parts of dir after settling what a crash left.
// It returns them in sequence order and the index's Next.
func loadParts(dir string, logf func(string, ...any)) (parts []*part, next uint64, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, fmt.Errorf("store: %w", err)
	}
	var files []partFile
	defer func() {
		if err != nil {
			for _, f := range files {
				if f.p != nil {
					f.p.f.Close()
				}
			}
		}
	}()
	for _, de := range ents {
		name := de.Name()
		switch {
		case strings.HasSuffix(name, tmpSuffix):
			logf("store: removing %s, left by an interrupted write", name)
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return nil, 0, fmt.Errorf("store: %w", err)
			}
		case strings.HasSuffix(name, partSuffix):
			first, last, ok := parsePartName(name)
			if !ok {
				logf("store: ignoring %s: not a part name", name)
				continue
			}
			files = append(files, partFile{name: name, first: first, last: last})
		}
	}
	floor, err := readNext(dir)
	if err != nil {
		return nil, 0, err
	}
	for i := range files {
		f := &files[i]
		p, err := openPart(dir, f.name, logf)
		if err != nil {
			var ce *CorruptionError
			if !errors.As(err, &ce) {
				return nil, 0, err
			}
			logf("%v", err)
			continue
		}
		f.p = p
	}
	// The widest part first among those starting at the same number, so a
	// merge's inputs follow its output.
	slices.SortFunc(files, func(a, b partFile) int {
		if a.first != b.first {
			return cmpU64(a.first, b.first)
		}
		return cmpU64(b.last, a.last)
	})
	remove := func(f *partFile, why string) error {
		if f.p != nil {
			f.p.f.Close()
			f.p = nil
		}
		logf("store: removing %s: %s", f.name, why)
		if err := os.Remove(filepath.Join(dir, f.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("store: %w", err)
		}
		return nil
	}
	var live []*partFile
	for i := range files {
		f := &files[i]
		if f.p == nil {
			continue
		}
		if n := len(live); n > 0 && f.last <= live[n-1].last {
			if err := remove(f, "merged into "+live[n-1].name); err != nil {
				return nil, 0, err
			}
			continue
		}
		if n := len(live); n > 0 && f.first <= live[n-1].last {
			return nil, 0, fmt.Errorf("store: parts %s and %s overlap: the index directory was changed by hand; run kizuki reindex", live[n-1].name, f.name)
		}
		live = append(live, f)
	}
	// Unreadable parts: one inside a whole part was a merge input; any
	// other sends its events, and every later part's, back to the follower.
	cut, haveCut := uint64(0), false
	for i := range files {
		f := &files[i]
		if f.p != nil || !fileExists(filepath.Join(dir, f.name)) {
			continue
		}
		// Covered: inside one whole part (a merge input), or spanned by whole
		// parts that start and end where it does (a merge output that did
		// not read back, its inputs still there).
		covered, starts, ends := false, false, false
		for _, l := range live {
			covered = covered || (l.first <= f.first && f.last <= l.last)
			starts = starts || l.first == f.first
			ends = ends || l.last == f.last
		}
		covered = covered || (starts && ends)
		why := "unreadable, and covered by a merged part"
		if !covered {
			why = "unreadable; its events will be indexed again"
			if !haveCut || f.first < cut {
				cut, haveCut = f.first, true
			}
		}
		if err := remove(f, why); err != nil {
			return nil, 0, err
		}
	}
	next = floor
	for _, f := range live {
		if haveCut && f.last >= cut {
			if err := remove(f, fmt.Sprintf("after the unreadable part at sequence %d", cut)); err != nil {
				return nil, 0, err
			}
			continue
		}
		parts = append(parts, f.p)
	}
	if haveCut && floor > cut {
		next = cut
		if err := writeNext(dir, cut); err != nil {
			return nil, 0, err
		}
	}
	for _, p := range parts {
		next = max(next, p.last+1)
	}
	return parts, next, nil
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// readNext reads the NEXT file; 0 when there is none.
func readNext(dir string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, nextFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("store: %s: %w", filepath.Join(dir, nextFile), err)
	}
	return n, nil
}

// writeNext makes n the index's durable floor for Next.
func writeNext(dir string, n uint64) error {
	if err := fsutil.WriteFileAtomic(filepath.Join(dir, nextFile), []byte(strconv.FormatUint(n, 10)+"\n"), 0o600); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}
