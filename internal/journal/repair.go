package journal

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Recovery reports what Open did to bring the directory back to a state it
// can append to.
type Recovery struct {
	// Segment and Offset say where a torn tail was cut off the last
	// segment, CutBytes how much; CutLogBytes is what was cut off the
	// checkpoint log. Both zero when nothing was torn.
	Segment     string
	Offset      int64
	CutBytes    int64
	CutLogBytes int64
	// Reason says why the tail was cut (the first bad block).
	Reason string
	// Saved lists the files under repair/ that keep the cut bytes.
	Saved []string
	// Removed lists leftovers removed: segments of a retention that a crash
	// interrupted, temporary files of an interrupted segment creation.
	Removed []string
}

// Repaired reports whether Open cut anything.
func (r Recovery) Repaired() bool { return r.CutBytes > 0 || r.CutLogBytes > 0 }

func (r Recovery) String() string {
	if !r.Repaired() && len(r.Removed) == 0 {
		return "nothing to repair"
	}
	var b strings.Builder
	if r.CutBytes > 0 {
		fmt.Fprintf(&b, "cut a torn tail of %d bytes off %s at offset %d (%s); ", r.CutBytes, r.Segment, r.Offset, r.Reason)
	}
	if r.CutLogBytes > 0 {
		fmt.Fprintf(&b, "cut a torn entry of %d bytes off the checkpoint log; ", r.CutLogBytes)
	}
	if len(r.Saved) > 0 {
		fmt.Fprintf(&b, "the cut bytes are kept in %s; ", strings.Join(r.Saved, ", "))
	}
	if len(r.Removed) > 0 {
		fmt.Fprintf(&b, "removed leftovers %s; ", strings.Join(r.Removed, ", "))
	}
	return strings.TrimSuffix(b.String(), "; ")
}

// maxTornBytes bounds what Open cuts as a torn tail: one commit writes at
// most the queue's bytes plus block headers, so a longer damaged tail was
// not left by one interrupted write.
const maxTornBytes = maxQueueBytes + maxQueueBytes/4

// load brings the directory to an appendable state and sets up the
// committer's state. It trusts sealed segments (Verify checks them) and
// reads only their headers, so opening costs one scan of the last segment.
func (j *Journal) load() error {
	// Stale temporary files: a segment or log creation that a crash
	// interrupted before its rename. Never referenced, never needed.
	des, err := os.ReadDir(j.dir)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	for _, de := range des {
		if strings.HasSuffix(de.Name(), ".tmp") && de.Type().IsRegular() {
			if err := os.Remove(filepath.Join(j.dir, de.Name())); err != nil {
				return fmt.Errorf("journal: %w", err)
			}
			j.recovery.Removed = append(j.recovery.Removed, de.Name())
		}
	}

	logPath := filepath.Join(j.dir, checkpointName)
	nums, err := listSegments(j.dir)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	var st logState
	if _, err := os.Lstat(logPath); errors.Is(err, fs.ErrNotExist) {
		if len(nums) > 0 {
			return &CorruptionError{File: checkpointName, Err: errors.New("checkpoint log missing while segments exist")}
		}
		if st.id, err = j.opt.newID(); err != nil {
			return err
		}
		hdr := marshalLogHeader(st.id, j.opt.now().UnixNano())
		f, err := writeNew(j.opt.openFile, logPath, hdr)
		if err != nil {
			return fmt.Errorf("journal: create checkpoint log: %w", err)
		}
		f.Close()
		st.size = logHeaderLen
		st.prev = sha256.Sum256(hdr)
	} else if st, err = readLogState(logPath); err != nil {
		return err
	}
	j.id = st.id

	// Finish a retention that a crash interrupted: its entry is durable,
	// so the segments it names are gone as far as the journal goes.
	if r := st.retained; r != nil {
		for len(nums) > 0 && nums[0] < r.Segment {
			name := segmentName(nums[0])
			if err := os.Remove(filepath.Join(j.dir, name)); err != nil {
				return fmt.Errorf("journal: finish retention: %w", err)
			}
			j.recovery.Removed = append(j.recovery.Removed, name)
			nums = nums[1:]
		}
		if err := syncDir(j.dir); err != nil {
			return err
		}
	}

	if len(nums) == 0 {
		if st.last != nil || st.retained != nil {
			return &CorruptionError{File: checkpointName, Offset: st.size, Err: errors.New("the checkpoint log names segments but none exist")}
		}
		h := segmentHeader{id: j.id, num: 1, first: 0, prev: genesis(j.id), created: j.opt.now().UnixNano()}
		f, err := createSegment(j.dir, j.opt.openFile, h)
		if err != nil {
			return err
		}
		f.Close()
		nums = []uint64{1}
	}

	// Headers of all segments: where each starts, for readers and
	// retention. A damaged old header does not stop ingest (verify reports
	// it); the last one's must be sound to append after it.
	for i, num := range nums {
		f, err := os.Open(j.segmentPath(num))
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		h, err := readSegmentHeader(f)
		f.Close()
		last := i == len(nums)-1
		switch {
		case err != nil && last:
			return &CorruptionError{File: segmentName(num), Err: err}
		case err == nil && h.id != j.id && last:
			return &CorruptionError{File: segmentName(num), Err: fmt.Errorf("segment of journal %s, not %s", h.id, j.id)}
		case err == nil && h.num != num && last:
			return &CorruptionError{File: segmentName(num), Err: fmt.Errorf("header says segment %d", h.num)}
		case err != nil:
			j.opt.Logf("journal: %s: %v (run kizuki verify)", segmentName(num), err)
			h = segmentHeader{num: num, first: ^Seq(0)}
		}
		j.segs = append(j.segs, segmentInfo{num: num, first: h.first, prev: h.prev})
	}

	if err := j.openTail(&st); err != nil {
		return err
	}

	// The checkpoint log: cut a torn last entry, then open it for appends.
	if st.torn == entryLen && !j.opt.ForceRepair {
		f, err := os.Open(logPath)
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		shaped, err := crashShaped(f, st.size, st.size+st.torn)
		f.Close()
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		if !shaped {
			return &CorruptionError{File: checkpointName, Offset: st.size, Err: errors.New("the last entry is damaged, not the shape of an interrupted write (Options.ForceRepair cuts it, keeping the bytes)")}
		}
	}
	if st.torn > 0 {
		saved, err := j.cutFile(logPath, checkpointName, st.size, st.size+st.torn)
		if err != nil {
			return err
		}
		j.recovery.CutLogBytes = st.torn
		j.recovery.Saved = append(j.recovery.Saved, saved)
	}
	f, err := j.opt.openFile(logPath, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("journal: open checkpoint log: %w", err)
	}
	j.cp = &checkpointLog{f: f, path: logPath, id: j.id, size: st.size, index: st.index, prev: st.prev, key: j.opt.SigningKey}
	if st.last != nil {
		j.cpSeq = st.last.Seq
		j.stats.LastCheckpoint = *st.last
	}
	if j.recovery.Repaired() {
		// The cut itself becomes a signed statement of where the chain now
		// ends, so a later verify sees the repair rather than guessing.
		c := Checkpoint{Kind: KindRepair, Time: j.opt.now(), Segment: j.head.seg, Offset: j.head.off, Seq: j.head.seq,
			Hash: j.head.hash, CutBytes: j.recovery.CutBytes, CutLogBytes: j.recovery.CutLogBytes}
		c, err := j.cp.append(c)
		if err != nil {
			return err
		}
		j.cpSeq = j.head.seq
		j.stats.LastCheckpoint = c
	}
	return nil
}

// openTail scans the last segment's blocks, cuts a torn tail, and opens
// the segment for appending.
func (j *Journal) openTail(st *logState) error {
	info := j.segs[len(j.segs)-1]
	name := segmentName(info.num)
	path := j.segmentPath(info.num)
	f, err := j.opt.openFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	size, err := fileSize(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("journal: %w", err)
	}
	br := blockReader{r: f, off: segmentHeaderLen, end: size}
	next, head := info.first, info.prev
	var reason string
	torn := false // the file ends inside the first bad block
	for {
		h, err := br.next()
		if err == io.EOF {
			break
		}
		var be *blockError
		if errors.As(err, &be) {
			reason, torn = be.Error(), be.torn
			break
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("journal: %s: %w", name, err)
		}
		if h.first != next {
			reason = fmt.Sprintf("block numbered %d where %d was expected", h.first, next)
			break
		}
		next, head = h.next(), h.hash
		br.off += h.size()
	}
	tail := br.off

	// Whatever a checkpoint covers was fsynced before it was written: if
	// it is damaged or gone, this is not a crash, and appending after it
	// would build on a chain that no longer verifies.
	if c := st.last; c != nil {
		switch {
		case c.Segment > info.num:
			f.Close()
			return &CorruptionError{File: checkpointName, Err: fmt.Errorf("checkpoint %d names segment %s, the last one is %s", c.Index, segmentName(c.Segment), name)}
		case c.Segment == info.num && (tail < c.Offset || next < c.Seq):
			f.Close()
			return &CorruptionError{File: name, Offset: tail, Err: fmt.Errorf("records end at offset %d (record %d) but checkpoint %d covers up to offset %d (record %d)", tail, next, c.Index, c.Offset, c.Seq)}
		}
	}
	if tail < size {
		if size-tail > maxTornBytes {
			f.Close()
			return &CorruptionError{File: name, Offset: tail, Err: fmt.Errorf("%s, and %d bytes follow: more than one interrupted write", reason, size-tail)}
		}
		if !torn && !j.opt.ForceRepair {
			shaped, err := crashShaped(f, tail, size)
			if err != nil {
				f.Close()
				return fmt.Errorf("journal: %s: %w", name, err)
			}
			if !shaped {
				f.Close()
				return &CorruptionError{File: name, Offset: tail, Err: fmt.Errorf("%s after the last checkpoint, not the shape of an interrupted write (Options.ForceRepair cuts it, keeping the bytes)", reason)}
			}
		}
		saved, err := j.cutFile(path, name, tail, size)
		if err != nil {
			f.Close()
			return err
		}
		j.recovery.Segment, j.recovery.Offset, j.recovery.CutBytes, j.recovery.Reason = name, tail, size-tail, reason
		j.recovery.Saved = append(j.recovery.Saved, saved)
		j.opt.Logf("journal: %s", j.recovery.String())
	}
	j.seg = activeSegment{num: info.num, name: name, f: f, off: tail}
	j.next = next
	j.chain = newChain(head)
	j.head = position{seg: info.num, off: tail, seq: next, hash: head}
	return nil
}

// cutFile copies bytes [from, to) of path into repair/ and truncates path
// to from, fsyncing both: a repair keeps the evidence it removes.
func (j *Journal) cutFile(path, name string, from, to int64) (string, error) {
	src, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("journal: repair: %w", err)
	}
	defer src.Close()
	dir := filepath.Join(j.dir, repairDirName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("journal: repair: %w", err)
	}
	savedName := fmt.Sprintf("%s.%d.%d.cut", name, from, j.opt.now().UnixNano())
	saved := filepath.Join(dir, savedName)
	dst, err := os.OpenFile(saved, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("journal: repair: %w", err)
	}
	_, err = io.Copy(dst, io.NewSectionReader(src, from, to-from))
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return "", fmt.Errorf("journal: repair: keep the cut bytes: %w", err)
	}
	if err := src.Truncate(from); err != nil {
		return "", fmt.Errorf("journal: repair: %w", err)
	}
	if err := src.Sync(); err != nil {
		return "", fmt.Errorf("journal: repair: %w", err)
	}
	return filepath.Join(repairDirName, savedName), nil
}

// sectorSize is the unit a disk persists atomically, or not at all.
const sectorSize = 512

// crashShaped reports whether the damaged bytes [from, to) of r look like
// an interrupted write rather than a change: a crash leaves a file cut
// short (handled by the caller) or sectors that never reached the disk,
// which read as zeros. A flipped byte, or garbage, does not; Open refuses
// to cut those, so it never destroys what may be evidence of tampering.
func crashShaped(r io.ReaderAt, from, to int64) (bool, error) {
	buf := make([]byte, 64<<10)
	for off := from; off < to; {
		n := min(int64(len(buf)), to-off)
		if _, err := r.ReadAt(buf[:n], off); err != nil && err != io.EOF {
			return false, err
		}
		// Each sector's share of [off, off+n): all zero means unwritten.
		for p := int64(0); p < n; {
			end := min(n, (off+p)/sectorSize*sectorSize+sectorSize-off)
			if allZero(buf[p:end]) {
				return true, nil
			}
			p = end
		}
		off += n
	}
	return false, nil
}
