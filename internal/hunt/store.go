package hunt

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
	"unsafe"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// store keeps the matches of one matcher goroutine for the timeline, in
// bounded memory: each match is encoded at once into a compact record (the
// event's time, host, source, origin and fields, and the rule's index; or
// the match already rendered), and the records past memLimit bytes go to a
// temporary file. Only a small key per match stays in memory for sorting;
// the timeline is read back one match at a time when it is written.
//
// Each spill writes its records in timeline order (a sorted run, as an
// external sort does): the timeline then reads every run front to back,
// in large sequential reads, instead of one read per match.
type store struct {
	id       int
	keys     []matchKey
	mem      []byte
	memLimit int
	file     *os.File
	fileOff  int64
	tmpDir   string
	order    func(a, b matchKey) int // the timeline order; nil = spill in arrival order
	runFrom  int                     // keys[runFrom:] are in mem
	runs     []int64                 // file offset of each run's first record
	spillBuf *bufio.Writer
}

// matchKey orders and locates one stored match.
type matchKey struct {
	t     int64  // event time, Unix ns
	pos   int64  // origin line or record
	file  string // origin file (shared with the event)
	rule  int32  // index into the hunt's rule list
	store int32
	off   int64 // offset of the record: in mem when < 0 is false and spilled is false
	n     int32
	disk  bool
}

func newStore(id, memLimit int, tmpDir string, order func(a, b matchKey) int) *store {
	return &store{id: id, memLimit: memLimit, tmpDir: tmpDir, order: order}
}

// add encodes ev as rule's match.
func (s *store) add(rule int32, ev *event.Event) error {
	return s.addWith(rule, ev, func(b []byte) []byte { return appendMatch(b, ev) })
}

// addWith keeps rule's match of ev as the bytes enc appends: the encoded
// event (add), or the match already rendered in the output format.
func (s *store) addWith(rule int32, ev *event.Event, enc func(b []byte) []byte) error {
	if s.mem == nil {
		// The whole budget at once: growing by doubling would copy it
		// several times (untouched pages cost no memory).
		s.mem = make([]byte, 0, s.memLimit+64<<10)
	}
	start := len(s.mem)
	s.mem = enc(s.mem)
	pos := ev.Origin.Line
	if pos == 0 {
		pos = ev.Origin.Record
	}
	s.keys = append(s.keys, matchKey{t: ev.Time.UnixNano(), pos: pos, file: ev.Origin.File, rule: rule,
		store: int32(s.id), off: int64(start), n: int32(len(s.mem) - start)})
	if len(s.mem) >= s.memLimit {
		return s.spill()
	}
	return nil
}

// appendMatch encodes ev for decodeMatch.
func appendMatch(b []byte, ev *event.Event) []byte {
	b = binary.AppendVarint(b, ev.Time.UnixNano())
	b = appendStr(b, ev.Host)
	b = appendStr(b, ev.Source)
	b = appendStr(b, ev.Origin.File)
	b = binary.AppendVarint(b, ev.Origin.Line)
	b = binary.AppendVarint(b, ev.Origin.Record)
	b = binary.AppendUvarint(b, uint64(ev.NumFields()))
	ev.Fields(func(k, v string) {
		b = appendStr(b, k)
		b = appendStr(b, v)
	})
	return b
}

// spill writes the in-memory records to the temporary file, as one run
// sorted in timeline order.
func (s *store) spill() error {
	if len(s.mem) == 0 {
		return nil
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.tmpDir, "kizuki-hunt-*.tmp")
		if err != nil {
			return fmt.Errorf("spill matches to disk: %w", err)
		}
		// Unlinked at once: the space is returned however the run ends.
		os.Remove(f.Name())
		s.file = f
		s.spillBuf = bufio.NewWriterSize(f, 1<<20)
	}
	run := s.keys[s.runFrom:]
	if s.order != nil {
		slices.SortFunc(run, s.order)
	}
	s.runs = append(s.runs, s.fileOff)
	for i := range run {
		k := &run[i]
		s.spillBuf.Write(s.mem[k.off : k.off+int64(k.n)])
		k.off, k.disk = s.fileOff, true
		s.fileOff += int64(k.n)
	}
	if err := s.spillBuf.Flush(); err != nil {
		return fmt.Errorf("spill matches to disk: %w", err)
	}
	s.runFrom = len(s.keys)
	s.mem = s.mem[:0]
	return nil
}

// read decodes the match of k into ev (reset first). Once writing is over
// it may run on several goroutines at once (ReadAt is pread). With alias,
// ev's strings point into *buf or the store's memory instead of a copy:
// they are then valid only until the next read into buf.
func (s *store) read(k *matchKey, ev *event.Event, buf *[]byte, alias bool) error {
	rec, err := s.record(k, buf)
	if err != nil {
		return err
	}
	return decodeMatch(rec, ev, alias)
}

// record returns the bytes kept for k: in the store's memory, or read from
// the spill file into *buf.
func (s *store) record(k *matchKey, buf *[]byte) ([]byte, error) {
	if !k.disk {
		return s.mem[k.off : k.off+int64(k.n)], nil
	}
	if cap(*buf) < int(k.n) {
		*buf = make([]byte, k.n)
	}
	rec := (*buf)[:k.n]
	if _, err := s.file.ReadAt(rec, k.off); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read spilled match: %w", err)
	}
	return rec, nil
}

// runReader reads the records of a store in timeline order: one window per
// sorted run, refilled with one large read when the next record is past it.
type runReader struct {
	s    *store
	wins []runWindow
}

type runWindow struct {
	start int64 // file offset of buf[0]
	buf   []byte
}

// runWindowSize is how much of a run one read brings in.
const runWindowSize = 256 << 10

func newRunReader(s *store) *runReader {
	return &runReader{s: s, wins: make([]runWindow, len(s.runs))}
}

// record returns the bytes of k, valid until the next call.
func (rr *runReader) record(k *matchKey) ([]byte, error) {
	s := rr.s
	if !k.disk {
		return s.mem[k.off : k.off+int64(k.n)], nil
	}
	// The run holding k: the last one starting at or before it.
	ri := sort.Search(len(s.runs), func(i int) bool { return s.runs[i] > k.off }) - 1
	if ri < 0 {
		return nil, fmt.Errorf("read spilled match: offset %d before the first run: %w", k.off, errCorrupt)
	}
	end := s.fileOff
	if ri+1 < len(s.runs) {
		end = s.runs[ri+1]
	}
	w := &rr.wins[ri]
	if k.off < w.start || k.off+int64(k.n) > w.start+int64(len(w.buf)) {
		size := min(max(int64(k.n), runWindowSize), end-k.off)
		if int64(cap(w.buf)) < size {
			w.buf = make([]byte, size)
		}
		w.buf, w.start = w.buf[:size], k.off
		if _, err := s.file.ReadAt(w.buf, k.off); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read spilled matches: %w", err)
		}
	}
	return w.buf[k.off-w.start : k.off-w.start+int64(k.n)], nil
}

func (s *store) close() {
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errCorrupt = errors.New("corrupt match record")

func decodeMatch(rec []byte, ev *event.Event, alias bool) error {
	ev.Reset()
	// One string for the whole record: every field is a substring of it.
	var whole string
	switch {
	case alias && len(rec) > 0:
		whole = unsafe.String(&rec[0], len(rec))
	default:
		whole = string(rec)
	}
	d := decoder{b: rec, s: whole}
	t := d.varint()
	ev.Time = time.Unix(0, t).UTC()
	ev.Host = d.str()
	ev.Source = d.str()
	ev.Origin.File = d.str()
	ev.Origin.Line = d.varint()
	ev.Origin.Record = d.varint()
	n := d.uvarint()
	if n > math.MaxInt32 {
		return errCorrupt
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		k, v := d.str(), d.str()
		// The fields came from one event: their names are unique.
		if key, ok := event.KeyByName(k); ok {
			ev.Set(key, v)
		} else {
			ev.AppendExtra(k, v)
		}
	}
	return d.err
}

// decoder reads a record: b and s hold the same bytes, b for the varints,
// s for the strings (substrings, no copy each).
type decoder struct {
	b   []byte
	s   string
	pos int
	err error
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b[d.pos:])
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.pos += n
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b[d.pos:])
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.pos += n
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)-d.pos) {
		d.err = errCorrupt
		return ""
	}
	s := d.s[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return s
}

// keyOrder orders the timeline: time, then origin, then rule order (the
// stores and offsets last, for a total order).
func keyOrder(ruleLess func(a, b int32) bool) func(a, b matchKey) int {
	return func(a, b matchKey) int {
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		if c := strings.Compare(a.file, b.file); c != 0 {
			return c
		}
		if c := cmp.Compare(a.pos, b.pos); c != 0 {
			return c
		}
		if a.rule != b.rule {
			if ruleLess(a.rule, b.rule) {
				return -1
			}
			if ruleLess(b.rule, a.rule) {
				return 1
			}
		}
		if c := cmp.Compare(a.store, b.store); c != 0 {
			return c
		}
		return cmp.Compare(a.off, b.off)
	}
}

// mergeKeys merges lists each sorted by order into one sorted list, two at
// a time: each matcher sorts its own keys on its goroutine, and only this
// linear pass is left for the end.
func mergeKeys(lists [][]matchKey, order func(a, b matchKey) int) []matchKey {
	if len(lists) == 0 {
		return nil
	}
	for len(lists) > 1 {
		var next [][]matchKey
		for i := 0; i < len(lists); i += 2 {
			if i+1 == len(lists) {
				next = append(next, lists[i])
				continue
			}
			a, b := lists[i], lists[i+1]
			out := make([]matchKey, 0, len(a)+len(b))
			for len(a) > 0 && len(b) > 0 {
				if order(b[0], a[0]) < 0 {
					out, b = append(out, b[0]), b[1:]
				} else {
					out, a = append(out, a[0]), a[1:]
				}
			}
			out = append(append(out, a...), b...)
			next = append(next, out)
		}
		lists = next
	}
	return lists[0]
}
