package store

import (
	"context"
	"time"
)

// RetainReport says what Retain removed.
type RetainReport struct {
	Parts     []string // file names of the parts removed
	Events    int64
	DiskBytes int64
	// FirstSeq, LastSeq: the lowest and highest sequence numbers removed.
	FirstSeq, LastSeq uint64
	// Oldest, Newest: the time range of the events removed.
	Oldest, Newest time.Time
	// Busy counts parts old enough that were being merged: the merged part
	// goes at a later Retain.
	Busy int
}

// Retain removes every part whose events are all older than before (the
// server's --hot-days / --keep-months policy). Parts are dropped whole: a
// part with one newer event stays, so events may outlive before by up to
// Options.MaxPartSpan. The tail is not touched (it is seconds old). Files
// are deleted once no search reads them any more.
func (x *Index) Retain(ctx context.Context, before time.Time) (RetainReport, error) {
	cutoff := timeNanos(before)
	return x.retain(ctx, func(p *part) bool { return p.maxTime < cutoff })
}

// RetainSeq removes every part whose events all come from journal records
// before seq: those the journal's own retention removed (it goes by when
// records were received, not by what time their events say), so that the
// index keeps no event the journal no longer holds.
func (x *Index) RetainSeq(ctx context.Context, seq uint64) (RetainReport, error) {
	return x.retain(ctx, func(p *part) bool { return p.last < seq })
}

// retain removes the parts old says are past keeping.
func (x *Index) retain(ctx context.Context, old func(p *part) bool) (RetainReport, error) {
	var rep RetainReport
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	x.mu.Lock()
	if x.closing || x.closed {
		x.mu.Unlock()
		return rep, ErrClosed
	}
	var drop []*part
	for _, p := range x.parts {
		switch {
		case !old(p):
		case p.merging:
			rep.Busy++
		default:
			drop = append(drop, p)
			p.merging = true // reserved: no merge takes it meanwhile
		}
	}
	next := x.next
	x.mu.Unlock()
	if len(drop) == 0 {
		return rep, nil
	}
	// Next must survive even if every part goes. Written without the lock:
	// Add must not wait for an fsync.
	if err := writeNext(x.dir, next); err != nil {
		x.mu.Lock()
		for _, p := range drop {
			p.merging = false
		}
		x.mu.Unlock()
		return rep, err
	}
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return rep, ErrClosed // Close released the parts, still live then
	}
	dropped := make(map[*part]bool, len(drop))
	for _, p := range drop {
		dropped[p] = true
	}
	keep := x.parts[:0:0]
	for _, p := range x.parts {
		if !dropped[p] {
			keep = append(keep, p)
		}
	}
	x.parts = keep
	for _, p := range drop {
		delete(x.badMerge, p)
	}
	x.mu.Unlock()
	for i, p := range drop {
		rep.Parts = append(rep.Parts, p.name)
		rep.Events += p.rows
		rep.DiskBytes += p.size
		if i == 0 || p.first < rep.FirstSeq {
			rep.FirstSeq = p.first
		}
		rep.LastSeq = max(rep.LastSeq, p.last)
		if t := nanosTime(p.minTime); i == 0 || t.Before(rep.Oldest) {
			rep.Oldest = t
		}
		if t := nanosTime(p.maxTime); t.After(rep.Newest) {
			rep.Newest = t
		}
		p.remove.Store(true)
		p.release() // the live set's reference: the file goes with the last reader
	}
	x.opt.Logf("store: retention removed %d parts (%d events, sequence %d-%d, %s to %s)",
		len(rep.Parts), rep.Events, rep.FirstSeq, rep.LastSeq, rep.Oldest.Format(time.RFC3339), rep.Newest.Format(time.RFC3339))
	return rep, nil
}
