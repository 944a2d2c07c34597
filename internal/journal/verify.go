package journal

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ProblemKind classifies what Verify found.
type ProblemKind uint8

// The kinds of problems, from the point of view of the records.
const (
	// ProblemModified: bytes differ from what the checksums, the chain or a
	// signed checkpoint say (a changed, replaced or foreign record, block,
	// header or entry).
	ProblemModified ProblemKind = iota + 1
	// ProblemMissing: a segment file, or records between two others, are
	// absent with no retention entry that removed them.
	ProblemMissing
	// ProblemTruncated: a file ends before what it holds or what a
	// checkpoint says it held.
	ProblemTruncated
	// ProblemReordered: records, blocks, segments or checkpoint entries are
	// present but out of order.
	ProblemReordered
	// ProblemGap: checkpoint log entries are missing between two others.
	ProblemGap
	// ProblemBadSignature: an entry's signature does not verify under the
	// given public key (tampered entry, or signed by another key).
	ProblemBadSignature
	// ProblemUnsigned: a public key was given but an entry is unsigned.
	ProblemUnsigned
)

func (k ProblemKind) String() string {
	switch k {
	case ProblemModified:
		return "modified"
	case ProblemMissing:
		return "missing"
	case ProblemTruncated:
		return "truncated"
	case ProblemReordered:
		return "reordered"
	case ProblemGap:
		return "gap between checkpoints"
	case ProblemBadSignature:
		return "bad signature"
	case ProblemUnsigned:
		return "unsigned"
	}
	return fmt.Sprintf("problem(%d)", uint8(k))
}

// Problem is the first thing Verify found wrong: where (file in the
// journal directory, byte offset) and which record (the first one
// affected, or the first of the smallest range that evidence narrows it
// to).
type Problem struct {
	Kind   ProblemKind
	File   string
	Offset int64
	Seq    Seq
	Detail string
}

func (p *Problem) Error() string {
	return fmt.Sprintf("journal verify: %s: %s offset %d, record %d: %s", p.Kind, p.File, p.Offset, p.Seq, p.Detail)
}

// Report is what Verify checked.
type Report struct {
	// Segments and SegmentBytes: the segment files read.
	Segments     int
	SegmentBytes int64
	// Records [FirstSeq, NextSeq) were read and chained; RawBytes is the
	// size of their Raw fields.
	FirstSeq, NextSeq Seq
	Records           uint64
	RawBytes          int64
	// Entries of the checkpoint log, of which Checkpoints are checkpoints
	// (the rest retention and repair entries).
	Entries, Checkpoints, Retentions, Repairs int
	// SignaturesChecked is false when Verify had no public key: then only
	// the chains and checksums were checked, which whoever can write the
	// directory can recompute.
	SignaturesChecked bool
	// Unsigned counts entries without a signature.
	Unsigned int
	// LastCheckpoint is the newest checkpoint matched against the records.
	LastCheckpoint Checkpoint
	// Uncovered counts the records after the last matched checkpoint: they
	// chain, but no signature covers them yet.
	Uncovered uint64
	// RetainedSegments counts segments removed by retention entries;
	// Leftovers lists those still present (a retention a crash
	// interrupted; Open removes them).
	RetainedSegments uint64
	Leftovers        []string
	// Problem is the first problem found, nil when the journal verifies.
	Problem *Problem
}

// Verify recomputes the journal in dir: every checksum, the record chain
// from the start (or from the last retention entry), every checkpoint log
// entry's chain, signature (when pub is not nil) and position against the
// records. It returns the first problem both in the report and as the
// error (a *Problem); other errors mean the verification could not run.
// The first problem is the checkpoint log's first, if it has one (the
// signed statements are what the rest is checked against), else the first
// in record order.
//
// The journal should not be open for appending (its tail is being
// written); use Journal.Verify for a running one.
func Verify(ctx context.Context, dir string, pub ed25519.PublicKey) (Report, error) {
	v := &verifier{dir: dir, pub: pub}
	return v.run(ctx)
}

// Verify verifies the open journal up to what is committed when it is
// called, holding off retention meanwhile.
func (j *Journal) Verify(ctx context.Context, pub ed25519.PublicKey) (Report, error) {
	j.retainMu.Lock()
	defer j.retainMu.Unlock()
	j.cpMu.Lock()
	logSize := j.cp.size
	j.cpMu.Unlock()
	j.state.RLock()
	head := j.head
	j.state.RUnlock()
	v := &verifier{dir: j.dir, pub: pub, bounded: true, limit: head, logSize: logSize}
	return v.run(ctx)
}

type verifier struct {
	dir     string
	pub     ed25519.PublicKey
	bounded bool
	limit   position
	logSize int64

	rep   Report
	id    journalID
	hasID bool

	// From the checkpoint log (pass 1).
	logProblem *Problem
	valid      int         // entries before the first problem
	retained   *Checkpoint // the last retention entry

	// The walk (pass 2).
	seq      Seq
	hash     [hashSize]byte
	cursor   *entryCursor
	lastGood position // the last position a checkpoint confirmed
	dec      *blockDecoder
}

func (v *verifier) run(ctx context.Context) (Report, error) {
	v.rep.SignaturesChecked = v.pub != nil
	if err := v.readLog(ctx); err != nil {
		return v.rep, err
	}
	dec, err := newBlockDecoder()
	if err != nil {
		return v.rep, err
	}
	v.dec = dec
	defer dec.close()
	walkProblem, err := v.walk(ctx)
	if v.cursor != nil {
		v.cursor.close()
	}
	if err != nil {
		return v.rep, err
	}
	// The checkpoint log's problem comes first: every other check rests
	// on its signed statements, and with an entry unusable the walk's
	// findings may only be its consequence (a retention entry that no
	// longer counts makes every removed segment "missing").
	p := walkProblem
	if v.logProblem != nil {
		p = v.logProblem
	}
	v.rep.Problem = p
	if p != nil {
		return v.rep, p
	}
	return v.rep, nil
}

// problem builds a Problem.
func problem(kind ProblemKind, file string, off int64, seq Seq, format string, args ...any) *Problem {
	return &Problem{Kind: kind, File: file, Offset: off, Seq: seq, Detail: fmt.Sprintf(format, args...)}
}

// readLog is pass 1: the checkpoint log on its own (header, entry chain,
// signatures, order of positions). It stops at the first problem, and the
// walk then uses only the entries before it.
func (v *verifier) readLog(ctx context.Context) error {
	f, err := os.Open(filepath.Join(v.dir, checkpointName))
	if errors.Is(err, fs.ErrNotExist) {
		v.logProblem = problem(ProblemMissing, checkpointName, 0, 0, "the checkpoint log is missing")
		return nil
	}
	if err != nil {
		return fmt.Errorf("journal: verify: %w", err)
	}
	defer f.Close()
	size := v.logSize
	if !v.bounded {
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("journal: verify: %w", err)
		}
		size = st.Size()
	}
	s, err := newLogScanner(f, size)
	if err != nil {
		kind := ProblemModified
		if size < logHeaderLen {
			kind = ProblemTruncated
		}
		v.logProblem = problem(kind, checkpointName, 0, 0, "%v", err)
		return nil
	}
	v.id, v.hasID = s.id, true
	var lastPos *Checkpoint
	var nextDeleted uint64 = 1
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		off := s.off
		seq := Seq(0)
		if lastPos != nil {
			seq = lastPos.Seq
		}
		c, b, err := s.next()
		if err == io.EOF {
			return nil
		}
		if err == errLogTorn {
			v.logProblem = problem(ProblemTruncated, checkpointName, off, seq,
				"the log ends inside an entry (%d of %d bytes): an interrupted write, which opening the journal repairs, or a cut", s.end-off, entryLen)
			return nil
		}
		if b != nil && c.Kind != 0 {
			seq = c.Seq
		}
		var ce *entryChainError
		if errors.As(err, &ce) {
			kind := map[int]ProblemKind{chainForeign: ProblemModified, chainGap: ProblemGap, chainBack: ProblemReordered, chainBroken: ProblemGap}[ce.kind]
			if ce.kind == chainGap && entryLater(f, off+entryLen, size, s.index) {
				kind = ProblemReordered
			}
			if ce.kind == chainBroken {
				ce.err = fmt.Errorf("%w: an entry before it was removed, replaced or changed", ce.err)
			}
			v.logProblem = problem(kind, checkpointName, off, seq, "entry %d: %v", s.index, ce.err)
			return nil
		}
		if err != nil {
			v.logProblem = problem(ProblemModified, checkpointName, off, seq, "entry %d: %v", s.index, err)
			return nil
		}
		if !c.Signed {
			v.rep.Unsigned++
		}
		if v.pub != nil {
			if err := checkSignature(b, &c, v.pub); err != nil {
				kind := ProblemBadSignature
				if !c.Signed {
					kind = ProblemUnsigned
				}
				v.logProblem = problem(kind, checkpointName, off, c.Seq, "%s entry %d (%s): %v", c.Kind, c.Index, c.Time.Format("2006-01-02T15:04:05Z"), err)
				return nil
			}
		}
		switch c.Kind {
		case KindRetention:
			if c.DeletedFrom != nextDeleted || c.Segment <= c.DeletedFrom {
				v.logProblem = problem(ProblemGap, checkpointName, off, c.Seq,
					"retention entry %d removes segments %d..%d, but the segments kept before start at %d", c.Index, c.DeletedFrom, c.Segment-1, nextDeleted)
				return nil
			}
			if v.retained != nil && c.Seq < v.retained.Seq {
				v.logProblem = problem(ProblemReordered, checkpointName, off, c.Seq, "retention entry %d goes back to record %d", c.Index, c.Seq)
				return nil
			}
			nextDeleted = c.Segment
			rc := c
			v.retained = &rc
			v.rep.Retentions++
			v.rep.RetainedSegments += c.Segment - c.DeletedFrom
		default:
			if lastPos != nil && (c.Seq < lastPos.Seq || c.Segment < lastPos.Segment ||
				(c.Segment == lastPos.Segment && c.Offset < lastPos.Offset)) {
				v.logProblem = problem(ProblemReordered, checkpointName, off, c.Seq,
					"%s entry %d goes back to record %d (%s offset %d) after record %d", c.Kind, c.Index, c.Seq, segmentName(c.Segment), c.Offset, lastPos.Seq)
				return nil
			}
			pc := c
			lastPos = &pc
			if c.Kind == KindCheckpoint {
				v.rep.Checkpoints++
			} else {
				v.rep.Repairs++
			}
		}
		v.rep.Entries++
		v.valid++
	}
}

// entryLater reports whether an intact entry numbered index lies in the
// log r between from and end: then the entries are out of order rather
// than missing.
func entryLater(r io.ReaderAt, from, end int64, index uint64) bool {
	var b [entryLen]byte
	for off := from; off+entryLen <= end; off += entryLen {
		if _, err := r.ReadAt(b[:], off); err != nil {
			return false
		}
		if c, err := parseCheckpoint(b[:]); err == nil && c.Index == index {
			return true
		}
	}
	return false
}

// entryCursor is pass 2's view of the checkpoint log: the position
// entries (checkpoints and repairs) that pass 1 found sound, in order.
type entryCursor struct {
	f    *os.File
	s    *logScanner
	left int
	cur  *Checkpoint
}

func (v *verifier) openCursor(start Seq, startSeg uint64) error {
	c := &entryCursor{left: v.valid}
	if v.valid > 0 {
		f, err := os.Open(filepath.Join(v.dir, checkpointName))
		if err != nil {
			return fmt.Errorf("journal: verify: %w", err)
		}
		c.f = f
		s, err := newLogScanner(f, logHeaderLen+int64(v.valid)*entryLen)
		if err != nil {
			f.Close()
			return fmt.Errorf("journal: verify: checkpoint log changed: %w", err)
		}
		c.s = s
	}
	v.cursor = c
	// Entries about segments that retention removed cannot be matched.
	for c.advance() == nil && c.cur != nil && (c.cur.Seq < start || c.cur.Segment < startSeg) {
	}
	return nil
}

// advance moves to the next position entry.
func (c *entryCursor) advance() error {
	c.cur = nil
	for c.left > 0 {
		e, _, err := c.s.next()
		c.left--
		if err != nil {
			return fmt.Errorf("journal: verify: checkpoint log changed during verification: %w", err)
		}
		if e.Kind != KindRetention {
			c.cur = &e
			return nil
		}
	}
	return nil
}

func (c *entryCursor) close() {
	if c.f != nil {
		c.f.Close()
	}
}

// at is called at each point of the walk where a position entry may
// stand: the start of a segment and the end of each block. It matches the
// entries for the current record count.
func (v *verifier) at(seg uint64, off int64) (*Problem, error) {
	c := v.cursor
	for c.cur != nil && c.cur.Seq == v.seq && c.cur.Segment == seg && c.cur.Offset == off {
		e := c.cur
		if e.Hash != v.hash {
			from := v.lastGood
			return problem(ProblemModified, segmentName(from.seg), from.off, from.seq,
				"the chain after record %d differs from %s %d (written %s): a record in %d..%d was changed, replaced or reordered, and the hashes after it recomputed",
				e.Seq-1, e.Kind, e.Index, e.Time.Format("2006-01-02T15:04:05Z"), from.seq, e.Seq-1), nil
		}
		v.lastGood = position{seg: seg, off: off, seq: v.seq, hash: v.hash}
		if e.Kind == KindCheckpoint {
			v.rep.LastCheckpoint = *e
		}
		if err := c.advance(); err != nil {
			return nil, err
		}
	}
	if e := c.cur; e != nil && e.Seq < v.seq {
		return problem(ProblemModified, segmentName(e.Segment), e.Offset, e.Seq,
			"%s %d places the end of record %d at %s offset %d, where the journal has no block boundary for it",
			e.Kind, e.Index, e.Seq-1, segmentName(e.Segment), e.Offset), nil
	}
	return nil, nil
}

// segHead is a segment's header as found before the walk.
type segHead struct {
	num  uint64
	h    segmentHeader
	err  error
	size int64
}

// walk is pass 2: every segment from the start, every block, every
// record, matched against the position entries.
func (v *verifier) walk(ctx context.Context) (*Problem, error) {
	nums, err := listSegments(v.dir)
	if err != nil {
		return nil, fmt.Errorf("journal: verify: %w", err)
	}
	heads := make([]segHead, 0, len(nums))
	for _, num := range nums {
		if v.bounded && num > v.limit.seg {
			break
		}
		sh := segHead{num: num}
		f, err := os.Open(segmentPathIn(v.dir, num))
		if err != nil {
			return nil, fmt.Errorf("journal: verify: %w", err)
		}
		sh.h, sh.err = readSegmentHeader(f)
		if st, err := f.Stat(); err == nil {
			sh.size = st.Size()
		}
		f.Close()
		if v.bounded && num == v.limit.seg {
			sh.size = v.limit.off
		}
		heads = append(heads, sh)
	}
	if !v.hasID {
		// No usable log header: take the id from the first segment so the
		// records can still be checked.
		for _, sh := range heads {
			if sh.err == nil {
				v.id, v.hasID = sh.h.id, true
				break
			}
		}
	}

	startSeg, startSeq, startHash := uint64(1), Seq(0), genesis(v.id)
	if r := v.retained; r != nil {
		startSeg, startSeq, startHash = r.Segment, r.Seq, r.Hash
	}
	for len(heads) > 0 && heads[0].num < startSeg {
		v.rep.Leftovers = append(v.rep.Leftovers, segmentName(heads[0].num))
		heads = heads[1:]
	}
	v.seq, v.hash = startSeq, startHash
	v.rep.FirstSeq, v.rep.NextSeq = startSeq, startSeq
	v.lastGood = position{seg: startSeg, off: segmentHeaderLen, seq: startSeq, hash: startHash}
	if err := v.openCursor(startSeq, startSeg); err != nil {
		return nil, err
	}
	if len(heads) == 0 {
		return problem(ProblemMissing, segmentName(startSeg), 0, startSeq, "no segment file from %s on", segmentName(startSeg)), nil
	}

	prevName, prevEnd := "", int64(0)
	for i, want := 0, startSeg; i < len(heads); want++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sh := heads[i]
		name := segmentName(want)
		if sh.num != want {
			return problem(ProblemMissing, name, 0, v.seq, "segment file missing (records from %d on)", v.seq), nil
		}
		i++
		if p := v.checkSegmentHeader(sh, heads, prevName, prevEnd); p != nil {
			return p, nil
		}
		v.rep.Segments++
		v.rep.SegmentBytes += sh.size
		if p, err := v.at(sh.num, segmentHeaderLen); p != nil || err != nil {
			return p, err
		}
		end, p, err := v.walkSegment(ctx, sh, heads[i:])
		if p != nil || err != nil {
			return p, err
		}
		prevName, prevEnd = name, end
	}
	v.rep.NextSeq = v.seq
	if e := v.cursor.cur; e != nil {
		last := heads[len(heads)-1]
		return problem(ProblemTruncated, segmentName(e.Segment), e.Offset, v.seq,
			"%s %d (written %s) covers records up to %d ending at %s offset %d, but the journal ends at record %d (%s, %d bytes)",
			e.Kind, e.Index, e.Time.Format("2006-01-02T15:04:05Z"), e.Seq-1, segmentName(e.Segment), e.Offset, v.seq, segmentName(last.num), last.size), nil
	}
	v.rep.Uncovered = uint64(v.seq - v.lastGood.seq)
	return nil, nil
}

// checkSegmentHeader checks a segment's header against its file name and
// where the chain stands.
func (v *verifier) checkSegmentHeader(sh segHead, heads []segHead, prevName string, prevEnd int64) *Problem {
	name := segmentName(sh.num)
	switch {
	case sh.err != nil:
		kind := ProblemModified
		if sh.size < segmentHeaderLen {
			kind = ProblemTruncated
		}
		return problem(kind, name, 0, v.seq, "%v", sh.err)
	case sh.h.id != v.id:
		return problem(ProblemModified, name, 0, v.seq, "segment of journal %s, not of %s", sh.h.id, v.id)
	case sh.h.num != sh.num:
		return problem(ProblemReordered, name, 0, v.seq, "the file holds segment %d", sh.h.num)
	case sh.h.first != v.seq:
		for _, o := range heads {
			if o.err == nil && o.h.first == v.seq && o.num != sh.num {
				return problem(ProblemReordered, name, 0, v.seq, "segment starts at record %d; record %d starts %s", sh.h.first, v.seq, segmentName(o.num))
			}
		}
		if sh.h.first < v.seq {
			return problem(ProblemReordered, name, 0, v.seq, "segment starts at record %d, before the previous one ends (record %d)", sh.h.first, v.seq)
		}
		if prevName != "" {
			return problem(ProblemTruncated, prevName, prevEnd, v.seq, "segment ends at record %d, but the next one starts at record %d", v.seq, sh.h.first)
		}
		return problem(ProblemMissing, name, 0, v.seq, "records %d..%d missing before the segment", v.seq, sh.h.first-1)
	case sh.h.prev != v.hash:
		return problem(ProblemModified, name, 0, v.seq, "the chain hash before the segment differs from the records before it")
	}
	return nil
}

// walkSegment checks the blocks of one segment and returns where they end.
func (v *verifier) walkSegment(ctx context.Context, sh segHead, later []segHead) (int64, *Problem, error) {
	name := segmentName(sh.num)
	f, err := os.Open(segmentPathIn(v.dir, sh.num))
	if err != nil {
		return 0, nil, fmt.Errorf("journal: verify: %w", err)
	}
	defer f.Close()
	br := blockReader{r: f, off: segmentHeaderLen, end: sh.size}
	ch := newChain(v.hash)
	for {
		if err := ctx.Err(); err != nil {
			return 0, nil, err
		}
		off := br.off
		h, err := br.next()
		if err == io.EOF {
			return off, nil, nil
		}
		var be *blockError
		if errors.As(err, &be) {
			note := ""
			if len(later) == 0 && v.cursor.cur == nil {
				note = " (after the last checkpoint: an interrupted write, which opening the journal repairs, looks the same)"
			}
			if be.torn {
				return 0, problem(ProblemTruncated, name, off, v.seq, "the segment ends inside a block: %v%s", be, note), nil
			}
			return 0, problem(ProblemModified, name, off, v.seq, "damaged block: %v%s", be, note), nil
		}
		if err != nil {
			return 0, nil, fmt.Errorf("journal: verify: %s: %w", name, err)
		}
		if h.first != v.seq {
			return 0, v.misplaced(f, &br, h, name, later), nil
		}
		payload, err := v.dec.payload(&h, br.data)
		if err != nil {
			return 0, problem(ProblemModified, name, off, v.seq, "block %d..%d: %v", h.first, h.last(), err), nil
		}
		minT, maxT := int64(1<<63-1), int64(-1<<63)
		seq := h.first
		err = forEachEntry(payload, h.count, func(_ int, e entry, enc []byte) error {
			ch.add(seq, enc)
			seq++
			minT, maxT = min(minT, e.received), max(maxT, e.received)
			v.rep.RawBytes += int64(len(e.raw))
			return nil
		})
		if err != nil {
			return 0, problem(ProblemModified, name, off, h.first, "block %d..%d: %v", h.first, h.last(), err), nil
		}
		if ch.head != h.hash {
			return 0, problem(ProblemModified, name, off, h.first,
				"records %d..%d do not match the block's chain hash: changed, replaced or reordered", h.first, h.last()), nil
		}
		if minT != h.minT || maxT != h.maxT {
			return 0, problem(ProblemModified, name, off, h.first, "the block header's times differ from its records'"), nil
		}
		v.seq, v.hash = h.next(), h.hash
		v.rep.Records += uint64(h.count)
		v.rep.NextSeq = v.seq
		br.off += h.size()
		if p, err := v.at(sh.num, br.off); p != nil || err != nil {
			return 0, p, err
		}
	}
}

// misplaced classifies a block that does not start at the expected
// record: reordered if the expected record starts another block of this
// segment or a later segment, missing records otherwise.
func (v *verifier) misplaced(f *os.File, br *blockReader, h blockHeader, name string, later []segHead) *Problem {
	off := br.off
	look := blockReader{r: f, off: off + h.size(), end: br.end}
	for {
		o, err := look.skip()
		if err != nil {
			break
		}
		if o.first == v.seq {
			return problem(ProblemReordered, name, off, v.seq, "block holds records %d..%d; record %d starts the block at offset %d", h.first, h.last(), v.seq, look.off)
		}
		look.off += o.size()
	}
	for _, o := range later {
		if o.err == nil && o.h.first == v.seq {
			return problem(ProblemReordered, name, off, v.seq, "block holds records %d..%d; record %d starts %s", h.first, h.last(), v.seq, segmentName(o.num))
		}
	}
	if h.first < v.seq {
		return problem(ProblemReordered, name, off, v.seq, "block holds records %d..%d again (duplicated or moved back)", h.first, h.last())
	}
	return problem(ProblemMissing, name, off, v.seq, "records %d..%d missing: the block here holds %d..%d", v.seq, h.first-1, h.first, h.last())
}

// String renders a report for people.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d segments (%d bytes), records %d..%d (%d records, %d raw bytes)\n",
		r.Segments, r.SegmentBytes, r.FirstSeq, int64(r.NextSeq)-1, r.Records, r.RawBytes)
	fmt.Fprintf(&b, "checkpoint log: %d entries (%d checkpoints, %d retentions, %d repairs), %d unsigned\n",
		r.Entries, r.Checkpoints, r.Retentions, r.Repairs, r.Unsigned)
	switch {
	case !r.SignaturesChecked:
		b.WriteString("signatures NOT checked (no public key given): checksums and chains only\n")
	case r.Entries > 0:
		b.WriteString("signatures checked\n")
	}
	if r.RetainedSegments > 0 {
		fmt.Fprintf(&b, "retention removed %d segments before record %d\n", r.RetainedSegments, r.FirstSeq)
	}
	if len(r.Leftovers) > 0 {
		fmt.Fprintf(&b, "segments removed by retention but still present: %s\n", strings.Join(r.Leftovers, ", "))
	}
	if r.Uncovered > 0 {
		fmt.Fprintf(&b, "%d records after the last checkpoint are chained but not yet signed\n", r.Uncovered)
	}
	if r.Problem != nil {
		fmt.Fprintf(&b, "FAILED: %v\n", r.Problem)
	} else {
		b.WriteString("OK\n")
	}
	return b.String()
}
