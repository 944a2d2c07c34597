package journal

import (
	"context"
	"fmt"
	"os"
	"time"
)

// Retention reports what Retain removed.
type Retention struct {
	// Removed lists the segment files removed, oldest first.
	Removed []string
	// Records and Bytes count what they held.
	Records uint64
	Bytes   int64
	// FirstSeq is the oldest record kept.
	FirstSeq Seq
	// Entry is the retention entry written to the checkpoint log (zero
	// when nothing was removed).
	Entry Checkpoint
}

// Retain removes the oldest segments whose records were all received
// before before, never the active one, and only as a prefix: the segments
// kept always run without gaps from the first kept record to the newest.
//
// It first writes a retention entry to the checkpoint log (signed like a
// checkpoint) stating where the kept records start: the first kept
// segment, its first record and the chain hash before it. Only then does
// it remove files. Verify starts from that entry, so the directory still
// verifies; and a crash between the entry and the removals leaves files
// that Open (or the next Retain) removes.
func (j *Journal) Retain(ctx context.Context, before time.Time) (Retention, error) {
	j.retainMu.Lock()
	defer j.retainMu.Unlock()
	cut := before.UnixNano()
	if !time.Unix(0, cut).Equal(before) {
		return Retention{}, fmt.Errorf("journal: retain: time %v out of range", before)
	}
	j.state.RLock()
	segs := append([]segmentInfo(nil), j.segs...)
	j.state.RUnlock()

	var ret Retention
	if len(segs) > 0 {
		ret.FirstSeq = segs[0].first
	}
	// A segment goes when all its records are older than the cut-off and
	// the next segment's header is sound (its start becomes the entry).
	k := 0
	var stop error
	for ; k < len(segs)-1; k++ { // the last segment is active
		if err := ctx.Err(); err != nil {
			return ret, err
		}
		s := &segs[k]
		if s.first == ^Seq(0) || segs[k+1].first == ^Seq(0) {
			stop = fmt.Errorf("journal: retain stops at %s: damaged segment header", segmentName(s.num))
			break
		}
		if !s.known {
			maxT, _, err := segmentMaxTime(j.segmentPath(s.num), s.first)
			if err != nil {
				stop = fmt.Errorf("journal: retain stops at a segment it cannot read: %w", err)
				break
			}
			s.maxT, s.known = maxT, true
			j.remember(*s)
		}
		if s.maxT >= cut {
			break
		}
	}
	if k == 0 {
		return ret, stop
	}
	kept := segs[k]
	c := Checkpoint{Kind: KindRetention, Time: j.opt.now(), Segment: kept.num, Offset: segmentHeaderLen,
		Seq: kept.first, Hash: kept.prev, DeletedFrom: segs[0].num, Before: before}
	j.cpMu.Lock()
	c, err := j.cp.append(c)
	j.cpMu.Unlock()
	if err != nil {
		return ret, fmt.Errorf("journal: retain: %w", err)
	}
	j.state.Lock()
	for len(j.segs) > 0 && j.segs[0].num < kept.num {
		j.segs = j.segs[1:]
	}
	j.state.Unlock()
	ret.Entry, ret.FirstSeq, ret.Records = c, kept.first, uint64(kept.first-segs[0].first)
	for _, s := range segs[:k] {
		path := j.segmentPath(s.num)
		if st, err := os.Stat(path); err == nil {
			ret.Bytes += st.Size()
		}
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			return ret, fmt.Errorf("journal: retain (Open finishes it): %w", err)
		}
		ret.Removed = append(ret.Removed, segmentName(s.num))
	}
	if err := syncDir(j.dir); err != nil {
		return ret, fmt.Errorf("journal: retain: %w", err)
	}
	if stop != nil {
		j.opt.Logf("%v", stop)
	}
	return ret, nil
}

// remember caches what retention learned about a sealed segment.
func (j *Journal) remember(s segmentInfo) {
	j.state.Lock()
	defer j.state.Unlock()
	for i := range j.segs {
		if j.segs[i].num == s.num {
			j.segs[i].maxT, j.segs[i].known = s.maxT, true
		}
	}
}
