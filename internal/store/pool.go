package store

import (
	"sync"
	"sync/atomic"
)

// bufPool keeps the column buffers of flushed tail blocks for the blocks
// that follow. A tail block's buffers are a few MiB, allocated (zeroed by
// the runtime, faulted in by the kernel) and then copied into as they
// grow: reusing them took a fifth of the cost of Add away.
//
// A tail block may be recycled only when nothing reads it any more: the
// tail holds one reference until the block is in a part, and every search
// that took it (or a view of it) in its snapshot holds one until it ends
// (block.refs).
type bufPool struct {
	mu    sync.Mutex
	bytes [][]byte
	ends  [][]uint32
	held  int // bytes kept
}

// poolMaxBytes bounds what the pool keeps: a few blocks' worth.
const poolMaxBytes = 32 << 20

// getBytes returns an empty buffer with room for n bytes.
func (p *bufPool) getBytes(n int) []byte {
	if n == 0 {
		return nil
	}
	p.mu.Lock()
	for i, b := range p.bytes {
		if cap(b) >= n && cap(b) <= 2*n+4096 {
			p.bytes[i] = p.bytes[len(p.bytes)-1]
			p.bytes = p.bytes[:len(p.bytes)-1]
			p.held -= cap(b)
			p.mu.Unlock()
			return b[:0]
		}
	}
	p.mu.Unlock()
	return make([]byte, 0, n)
}

// getEnds returns an empty slice with room for n rows.
func (p *bufPool) getEnds(n int) []uint32 {
	if n == 0 {
		return nil
	}
	p.mu.Lock()
	for i, b := range p.ends {
		if cap(b) >= n && cap(b) <= 2*n+1024 {
			p.ends[i] = p.ends[len(p.ends)-1]
			p.ends = p.ends[:len(p.ends)-1]
			p.held -= 4 * cap(b)
			p.mu.Unlock()
			return b[:0]
		}
	}
	p.mu.Unlock()
	return make([]uint32, 0, n)
}

// putCol gives a column's buffers back.
func (p *bufPool) putCol(c *strCol) {
	if c == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if cap(c.buf) >= 4096 && p.held+cap(c.buf) <= poolMaxBytes {
		p.bytes = append(p.bytes, c.buf[:0])
		p.held += cap(c.buf)
	}
	if cap(c.ends) >= 1024 && p.held+4*cap(c.ends) <= poolMaxBytes {
		p.ends = append(p.ends, c.ends[:0])
		p.held += 4 * cap(c.ends)
	}
	c.buf, c.ends = nil, nil
}

// putBlock gives every column buffer of b back.
func (p *bufPool) putBlock(b *block) {
	p.putCol(b.raw)
	p.putCol(b.host)
	p.putCol(b.source)
	p.putCol(b.originFile)
	for _, c := range b.common {
		p.putCol(c)
	}
	for _, e := range b.extras {
		p.putCol(e.col)
	}
}

// blockRefs counts the readers of a tail block (see bufPool).
type blockRefs struct {
	n    atomic.Int32
	pool *bufPool
}

func (b *block) acquire() {
	if b.refs != nil {
		b.refs.n.Add(1)
	}
}

// release drops a reference; the last one recycles the buffers.
func (b *block) release() {
	if b.refs != nil && b.refs.n.Add(-1) == 0 {
		b.refs.pool.putBlock(b)
	}
}
