package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

var t0 = time.Date(2024, 7, 25, 0, 0, 0, 0, time.UTC)

// buildParts writes nparts parts of per events each (one flush each) into
// dir and closes the index.
func buildParts(t *testing.T, dir string, nparts, per int, opt Options) []indexed {
	t.Helper()
	opt.NoMerge = true
	x := openTest(t, dir, opt)
	evs := synthEvents(nparts*per, t0)
	var added []indexed
	for p := 0; p < nparts; p++ {
		added = append(added, addAll(t, x, uint64(p*per), evs[p*per:(p+1)*per])...)
		if err := x.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	return added
}

func partFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+partSuffix))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCrashLeftovers opens index folders in the states a crash (or a
// damaged disk) leaves, and checks that Open settles each: the index is
// consistent, searches are right, Next is where the follower must resume,
// and the follower's re-adding from there gives the full index back.
func TestCrashLeftovers(t *testing.T) {
	const nparts, per = 4, 500
	cases := []struct {
		name string
		// damage changes dir and returns the sequence number the index must
		// resume from (how many events survive).
		damage func(t *testing.T, dir string, merged string) uint64
	}{
		{"tmp_leftover", func(t *testing.T, dir, _ string) uint64 {
			os.WriteFile(filepath.Join(dir, partName(2000, 2999)+tmpSuffix), []byte("half a part"), 0o600)
			os.WriteFile(filepath.Join(dir, nextFile+tmpSuffix), []byte("12"), 0o600)
			return nparts * per
		}},
		{"not_a_part_name", func(t *testing.T, dir, _ string) uint64 {
			os.WriteFile(filepath.Join(dir, "notes-zz.part"), []byte("x"), 0o600)
			return nparts * per
		}},
		{"torn_last_part", func(t *testing.T, dir, _ string) uint64 {
			ps := partFiles(t, dir)
			st, _ := os.Stat(ps[3])
			os.Truncate(ps[3], st.Size()-7)
			return 3 * per
		}},
		{"torn_middle_part", func(t *testing.T, dir, _ string) uint64 {
			ps := partFiles(t, dir)
			os.Truncate(ps[1], 100)
			return 1 * per
		}},
		{"zeroed_trailer", func(t *testing.T, dir, _ string) uint64 {
			ps := partFiles(t, dir)
			st, _ := os.Stat(ps[2])
			f, _ := os.OpenFile(ps[2], os.O_WRONLY, 0)
			f.WriteAt(make([]byte, 512), st.Size()-512)
			f.Close()
			return 2 * per
		}},
		{"bad_index_checksum", func(t *testing.T, dir, _ string) uint64 {
			ps := partFiles(t, dir)
			st, _ := os.Stat(ps[2])
			flipByte(t, ps[2], st.Size()-trailerSize-entrySize/2)
			return 2 * per
		}},
		{"empty_part_file", func(t *testing.T, dir, _ string) uint64 {
			ps := partFiles(t, dir)
			os.Truncate(ps[3], 0)
			return 3 * per
		}},
		{"merge_inputs_left", func(t *testing.T, dir, merged string) uint64 {
			// The merged part of parts 0-1 was renamed in; the crash came
			// before the inputs were deleted.
			copyFile(t, merged, filepath.Join(dir, filepath.Base(merged)))
			return nparts * per
		}},
		{"merge_output_torn", func(t *testing.T, dir, merged string) uint64 {
			// Cannot come from a rename after fsync, but a disk can do it:
			// the inputs are whole, the merged part is not.
			to := filepath.Join(dir, filepath.Base(merged))
			copyFile(t, merged, to)
			os.Truncate(to, 1000)
			return nparts * per
		}},
		{"merge_tmp_left", func(t *testing.T, dir, merged string) uint64 {
			copyFile(t, merged, filepath.Join(dir, filepath.Base(merged)+tmpSuffix))
			return nparts * per
		}},
	}
	// One merged part of parts 0 and 1, made once, for the merge cases.
	mdir := t.TempDir()
	buildParts(t, mdir, nparts, per, Options{})
	mx := openTest(t, mdir, Options{NoMerge: true, MergeFanIn: 2})
	run := []*part{mx.parts[0], mx.parts[1]}
	for _, p := range run {
		p.merging = true
		p.acquire()
	}
	if err := mx.merge(context.Background(), run, newBlockEncoder(mx.enc)); err != nil {
		t.Fatal(err)
	}
	merged := filepath.Join(mdir, partName(0, 2*per-1))
	keep := filepath.Join(t.TempDir(), filepath.Base(merged))
	copyFile(t, merged, keep)
	mx.Close()

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			added := buildParts(t, dir, nparts, per, Options{})
			want := c.damage(t, dir, keep)
			x := openTest(t, dir, Options{NoMerge: true})
			defer x.Close()
			if x.Next() != want {
				t.Fatalf("Next = %d, want %d; files %v", x.Next(), want, dirNames(t, dir))
			}
			for _, name := range dirNames(t, dir) {
				if strings.HasSuffix(name, tmpSuffix) {
					t.Errorf("%s left in place", name)
				}
			}
			survivors := added[:want]
			checkSearch(t, x, survivors, Request{Limit: maxLimit}, "all")
			checkSearch(t, x, survivors, Request{Query: mustParse(t, "deny")}, "deny")
			// The follower resumes at Next: the index is whole again.
			addAll(t, x, want, eventsOf(added[want:]))
			if err := x.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			checkSearch(t, x, added, Request{Limit: maxLimit}, "after re-adding")
			if st := x.Stats(); st.Events != int64(len(added)) {
				t.Fatalf("%d events in parts, want %d", st.Events, len(added))
			}
		})
	}
}

func eventsOf(xs []indexed) []*event.Event {
	out := make([]*event.Event, len(xs))
	for i, x := range xs {
		out[i] = x.ev
	}
	return out
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	testutil.FlipByte(t, path, off, 0x20)
}

// TestCorruptBlock flips one byte in turn in each piece of a block (its
// column directory, a column, the token filter) and checks that a search
// reading it fails with a CorruptionError naming the part and block, and
// never panics or answers.
func TestCorruptBlock(t *testing.T) {
	dir := t.TempDir()
	added := buildParts(t, dir, 2, 3000, Options{BlockEvents: 1000})
	path := partFiles(t, dir)[1]
	name := filepath.Base(path)
	x := openTest(t, dir, Options{NoMerge: true})
	p := x.parts[1]
	e := p.blocks[1]
	rd := newBlockReader(x.dec)
	if err := rd.reset(p, 1); err != nil {
		t.Fatal(err)
	}
	var raw dirEntry
	for _, c := range rd.cols {
		if c.kind == colRaw {
			raw = c
		}
	}
	x.Close()
	offsets := map[string]int64{
		"directory": e.offset + 1,
		"raw":       e.offset + int64(e.dirLen) + int64(raw.off) + int64(raw.stored)/2,
		"filter":    e.offset + int64(e.bodyLen) + int64(e.filterLen)/2,
	}
	for what, off := range offsets {
		t.Run(what, func(t *testing.T) {
			flipByte(t, path, off)
			defer flipByte(t, path, off)
			x := openTest(t, dir, Options{NoMerge: true})
			defer x.Close()
			// "session" is in every block: no block is skipped by its filter;
			// with a limit over the 6,000 events every block is read and
			// every event returned (which reads raw).
			for _, q := range []string{"", "session"} {
				_, err := x.Search(context.Background(), Request{Query: mustParse(t, q), Limit: maxLimit})
				if what == "filter" && q == "" {
					// A match-all search needs no filter: it reads no damage.
					if err != nil {
						t.Fatalf("search %q: %v", q, err)
					}
					continue
				}
				var ce *CorruptionError
				if !errors.As(err, &ce) {
					t.Fatalf("search %q: got %v, want a CorruptionError", q, err)
				}
				if ce.Part != name || ce.Block != 1 || !strings.Contains(err.Error(), name) {
					t.Fatalf("search %q: error %v names part %s block %d, want %s block 1", q, err, ce.Part, ce.Block, name)
				}
			}
			// A search that does not reach the damaged block still works.
			from := nanosTime(e.maxTime).Add(time.Millisecond)
			checkSearch(t, x, added, Request{From: from, Limit: 10}, "after the damaged block")
		})
	}
}
