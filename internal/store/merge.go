package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// Merging keeps the number of parts small as flushes add one every few
// seconds. It is tiered, like an LSM tree's: up to MergeFanIn adjacent
// parts of similar size become one (see pickMerge), so each event is
// rewritten a few times, logarithmically in the index's size. Parts must be
// adjacent in sequence order: a part's name is its sequence range, and a
// range that contains another's marks that one as a merge input.
//
// Two bounds keep parts useful to retention, which drops whole parts: a
// merged part holds at most MaxPartEvents events, and its parts' newest
// events lie within one MaxPartSpan window. Once a window is past (newer
// parts exist in a later window), its remaining parts are merged
// regardless of class, so an old day ends as one part or a few.
//
// A merge copies full blocks byte for byte (their checksums checked) and
// re-encodes only small blocks, gathered into full ones, and the blocks of
// parts of an older format version (whose filters lack pairs); its memory is a
// few blocks whatever the parts' size. The merged part is renamed into
// place before its inputs are deleted; Open removes inputs left by a crash
// in between (manifest.go).

// merger runs merges while there are some to do, until Close.
func (x *Index) merger() {
	defer x.bg.Done()
	enc := newBlockEncoder(x.enc)
	for {
		select {
		case <-x.stop:
			return
		case <-x.mergeK:
		}
		for {
			run := x.pickMerge(time.Now())
			if run == nil {
				break
			}
			err := x.merge(x.bgCtx, run, enc)
			if x.bgCtx.Err() != nil {
				return
			}
			if err != nil {
				x.opt.Logf("store: merge: %v", err)
			}
		}
	}
}

// window returns the retention window of a part.
func (x *Index) window(p *part) int64 {
	if p.maxTime == math.MinInt64 {
		return math.MinInt64
	}
	return p.maxTime / int64(x.opt.MaxPartSpan)
}

// minMergeGain is the least events-merged to biggest-input ratio a tiered
// merge must reach: merging one big part with a few tiny ones would
// rewrite the big one for little gain. It grows with the fan-in, and is
// what bounds how often an event is rewritten (about log_gain of the
// index's size in flushes).
func (x *Index) minMergeGain() float64 { return max(2, float64(x.opt.MergeFanIn)/2) }

// pickMerge chooses adjacent parts to merge and marks them, or returns nil.
//
// Candidates are runs of 2 to MergeFanIn adjacent parts, none being merged
// or known damaged, with their newest events in one MaxPartSpan window and
// at most MaxPartEvents events together. A run in a closed window (a later
// window has parts, and now is past it) is taken as long as it can be.
// Otherwise the run with the best gain (its events over its biggest
// part's) is taken if the gain reaches minMergeGain; on a tie, the
// smaller run, so small parts merge first.
func (x *Index) pickMerge(now time.Time) []*part {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closing || x.closed || len(x.parts) < 2 {
		return nil
	}
	parts := x.parts
	nowWin := timeNanos(now) / int64(x.opt.MaxPartSpan)
	lastWin := x.window(parts[len(parts)-1])
	ok := func(p *part) bool { return !p.merging && !x.badMerge[p] }
	var best []*part
	bestGain, bestRows := 0.0, int64(0)
	for i := 0; i+1 < len(parts); i++ {
		if !ok(parts[i]) {
			continue
		}
		w := x.window(parts[i])
		closed := w < nowWin && w < lastWin
		rows, biggest, blocks := parts[i].rows, parts[i].rows, len(parts[i].blocks)
		for j := i + 1; j < len(parts) && j-i < x.opt.MergeFanIn; j++ {
			p := parts[j]
			if !ok(p) || x.window(p) != w || rows+p.rows > int64(x.opt.MaxPartEvents) || blocks+len(p.blocks) > maxPartBlocks {
				break
			}
			rows += p.rows
			blocks += len(p.blocks)
			biggest = max(biggest, p.rows)
			gain := float64(rows) / float64(biggest)
			if closed {
				gain = math.Inf(1) // as long as it gets
			}
			if gain > bestGain || (gain == bestGain && rows < bestRows) {
				best, bestGain, bestRows = parts[i:j+1], gain, rows
			}
		}
	}
	if best == nil || bestGain < x.minMergeGain() {
		return nil
	}
	run := append([]*part(nil), best...)
	for _, p := range run {
		p.merging = true
		p.acquire()
	}
	return run
}

// merge writes the parts of run (adjacent, marked by pickMerge) as one
// part and swaps it in.
func (x *Index) merge(ctx context.Context, run []*part, enc *blockEncoder) (err error) {
	defer func() {
		x.mu.Lock()
		for _, p := range run {
			p.merging = false
		}
		x.mu.Unlock()
		for _, p := range run {
			p.release()
		}
	}()
	first, last := run[0].first, run[len(run)-1].last
	pw, err := createPart(x.dir, first, last, x.opt.Logf)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			pw.abort()
		}
	}()
	rd := newBlockReader(x.dec)
	var (
		b      = newBlock()
		ev     event.Event
		stored []byte
		counts addCounts
	)
	writeBuilt := func() error {
		if b.n == 0 {
			return nil
		}
		body, dirLen, filter, m := enc.encode(b)
		b = newBlockLike(b, nil)
		return pw.writeBlock(body, dirLen, filter, m)
	}
	for _, p := range run {
		for bi := range p.blocks {
			if err := ctx.Err(); err != nil {
				return err
			}
			e := &p.blocks[bi]
			// A full block is copied as it is, but only from a part whose
			// filters hold pairs: the merged part is written as this
			// version, so an older part's blocks are re-encoded.
			if p.pairs && (e.rows >= x.opt.BlockEvents/2 || int(e.valueBytes) >= x.opt.BlockBytes/2) {
				if err := writeBuilt(); err != nil {
					return err
				}
				if stored, err = p.readStored(stored, bi); err != nil {
					x.markBad(p)
					return err
				}
				if err := pw.copyBlock(e, stored); err != nil {
					return err
				}
				continue
			}
			if err := rd.reset(p, bi); err != nil {
				x.markBad(p)
				return err
			}
			if err := rd.loadAll(); err != nil {
				x.markBad(p)
				return err
			}
			for i := 0; i < rd.b.n; i++ {
				rd.eventInto(i, &ev)
				if !b.fits(&ev) {
					if err := writeBuilt(); err != nil {
						return err
					}
				}
				b.add(rd.b.seqs[i], &ev, x.lim, &counts)
				if b.full(x.opt.BlockEvents, x.opt.BlockBytes) {
					if err := writeBuilt(); err != nil {
						return err
					}
				}
			}
		}
	}
	if err := writeBuilt(); err != nil {
		return err
	}
	if _, err := pw.finish(); err != nil {
		return err
	}
	np, err := openPart(x.dir, pw.name, x.opt.Logf)
	if err != nil {
		return fmt.Errorf("store: reading back the merged part: %w", err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	i := 0
	for i < len(x.parts) && x.parts[i] != run[0] {
		i++
	}
	if i+len(run) > len(x.parts) || x.closed {
		np.remove.Store(true)
		np.release()
		return errors.New("store: merge inputs left the live set")
	}
	for j, p := range run {
		if x.parts[i+j] != p {
			np.remove.Store(true)
			np.release()
			return errors.New("store: merge inputs left the live set")
		}
	}
	parts := make([]*part, 0, len(x.parts)-len(run)+1)
	parts = append(parts, x.parts[:i]...)
	parts = append(parts, np)
	parts = append(parts, x.parts[i+len(run):]...)
	x.parts = parts
	for _, p := range run {
		p.remove.Store(true)
		p.release() // the live set's reference
	}
	x.merges++
	return nil
}

// markBad keeps a damaged part out of later merges (it stays searchable:
// searches report the damaged block).
func (x *Index) markBad(p *part) {
	x.mu.Lock()
	x.badMerge[p] = true
	x.mu.Unlock()
}
