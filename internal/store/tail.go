package store

import (
	"context"
	"fmt"
	"time"
)

// tail holds the events added since the last flush, in memory: full blocks
// waiting for the flusher (sealed, never changed again) and the open block
// Add appends to. Search reads it directly, which is what makes an event
// searchable the moment Add returns. Guarded by Index.mu.
type tail struct {
	sealed []*block
	open   *block
	rows   int
	bytes  int // raw and value bytes (block.valueBytes)
	pool   bufPool
}

// seal closes the open block and starts a new one.
func (t *tail) seal() {
	if t.open.n == 0 {
		return
	}
	t.sealed = append(t.sealed, t.open)
	t.open = newBlockLike(t.open, &t.pool)
}

// oldest returns when the oldest tail event arrived.
func (t *tail) oldest() time.Time {
	if len(t.sealed) > 0 {
		return t.sealed[0].since
	}
	return t.open.since
}

// flusher writes the tail to a part when it holds FlushEvents events (or
// a quarter of MaxTailBytes) or its oldest event is FlushAge old. It runs
// until Close. A failed flush (a full disk) is logged and retried with a
// growing pause, the events staying in the tail; Add waits once the tail
// is full, and then reports the error.
func (x *Index) flusher() {
	defer x.bg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	backoff := time.Duration(0)
	var retryAt time.Time
	for {
		x.mu.Lock()
		rows, bytes, since := x.tail.rows, x.tail.bytes, x.tail.oldest()
		x.mu.Unlock()
		wait := time.Hour
		if rows > 0 {
			wait = time.Until(since.Add(x.opt.FlushAge))
		}
		due := rows > 0 && (rows >= x.opt.FlushEvents || bytes >= x.opt.MaxTailBytes/4 || wait <= 0)
		if due && time.Now().Before(retryAt) {
			due, wait = false, time.Until(retryAt)
		}
		if due {
			err := x.flushTail(x.bgCtx)
			if err == nil {
				backoff, retryAt = 0, time.Time{}
				continue
			}
			if x.bgCtx.Err() != nil {
				return
			}
			x.opt.Logf("store: flush: %v", err)
			x.mu.Lock()
			x.flushErr = err
			x.cond.Broadcast()
			x.mu.Unlock()
			backoff = min(max(2*backoff, 100*time.Millisecond), 10*time.Second)
			retryAt = time.Now().Add(backoff)
			wait = backoff
		}
		timer.Reset(max(wait, time.Millisecond))
		select {
		case <-x.stop:
			return
		case <-x.kick:
		case <-timer.C:
		}
	}
}

// flushTail writes every tail event (up to maxPartBlocks blocks: the
// flusher comes back for more) to one new part and swaps it in: the
// part joins the live set and its blocks leave the tail in one step under
// the lock, so a search sees each event exactly once.
func (x *Index) flushTail(ctx context.Context) error {
	for {
		capped, err := x.flushSome(ctx)
		if err != nil || !capped {
			return err
		}
	}
}

// flushSome is one flushTail step; capped says blocks were left behind.
func (x *Index) flushSome(ctx context.Context) (capped bool, err error) {
	x.flushMu.Lock()
	defer x.flushMu.Unlock()
	x.mu.Lock()
	x.tail.seal()
	n := min(len(x.tail.sealed), maxPartBlocks)
	capped = n < len(x.tail.sealed)
	blocks := x.tail.sealed[:n:n]
	x.mu.Unlock()
	if len(blocks) == 0 {
		return false, nil
	}
	p, err := x.writePart(ctx, blocks)
	if err != nil {
		return false, err
	}
	rows, bytes := 0, 0
	for _, b := range blocks {
		rows += b.n
		bytes += b.valueBytes
	}
	x.mu.Lock()
	x.parts = append(x.parts, p)
	x.tail.sealed = append([]*block(nil), x.tail.sealed[len(blocks):]...)
	x.tail.rows -= rows
	x.tail.bytes -= bytes
	x.next = max(x.next, p.last+1)
	x.flushes++
	x.lastFl = time.Now()
	x.flushErr = nil
	x.cond.Broadcast()
	x.mu.Unlock()
	for _, b := range blocks {
		b.release() // the tail's reference
	}
	x.kickMerge()
	return capped, nil
}

// writePart encodes blocks into a new part and opens it for reading, which
// also checks what was written.
func (x *Index) writePart(ctx context.Context, blocks []*block) (*part, error) {
	first := blocks[0].seqs[0]
	lb := blocks[len(blocks)-1]
	last := lb.seqs[lb.n-1]
	pw, err := createPart(x.dir, first, last, x.opt.Logf)
	if err != nil {
		return nil, err
	}
	for _, b := range blocks {
		if err := ctx.Err(); err != nil {
			pw.abort()
			return nil, err
		}
		body, dirLen, filter, m := x.flushEnc.encode(b)
		if err := pw.writeBlock(body, dirLen, filter, m); err != nil {
			pw.abort()
			return nil, err
		}
	}
	if _, err := pw.finish(); err != nil {
		return nil, err
	}
	p, err := openPart(x.dir, pw.name, x.opt.Logf)
	if err != nil {
		return nil, fmt.Errorf("store: reading back the part just written: %w", err)
	}
	return p, nil
}

func (x *Index) kickMerge() {
	select {
	case x.mergeK <- struct{}{}:
	default:
	}
}
