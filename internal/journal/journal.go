// Package journal is kizuki's tamper-evident store of received records
// (requirement S3): the source of truth that the index, detections and
// reports are rebuilt from.
//
// A journal is a directory of append-only segment files (segment.go) of
// compressed blocks of records (block.go, record.go), a hash chain over the
// records, and a log of checkpoints that are signed with an Ed25519 key kept
// outside the directory (checkpoint.go, key.go). Records are made durable in
// group commits: concurrent Appends share one write and one fsync, and
// Append returns only once its records are on disk, so a listener that
// acknowledges after Append never acknowledges a record a crash can lose.
// Open repairs the torn tail a crash leaves (repair.go), Retain removes
// whole old segments and records it (retain.go), Verify recomputes
// everything and names the first problem (verify.go). docs/formats/journal.md
// describes the bytes.
//
// Where this differs from the first sketch in DESIGN.md, and why:
//   - Records are compressed per block (a commit's batch), not one by one,
//     to reach the storage budget; the chain stays per record, over the
//     uncompressed record, so it does not depend on blocking or compression.
//   - Checkpoints live in their own log, not inline in segments, and are
//     chained to each other: cutting a segment cannot remove the statement
//     that its records existed, and a removed checkpoint is itself evident.
//   - The chain starts from a hash of a random journal id, and every
//     segment header and checkpoint carries the id, so files or checkpoints
//     of another journal (even one signed with the same key) do not verify.
//   - Repair never discards bytes: what Open cuts from a torn tail is kept
//     in repair/ and the cut is itself a signed entry of the checkpoint log.
package journal

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Compression selects how blocks are compressed.
type Compression uint8

const (
	// CompressionDefault is zstd at its default level: log lines shrink to
	// a fifth or less of their size at a cost the committer hides behind
	// the fsync it waits for anyway.
	CompressionDefault Compression = iota
	// CompressionFast is zstd at its fastest level.
	CompressionFast
	// CompressionNone stores blocks uncompressed.
	CompressionNone
)

// Options configures a journal. The zero value works.
type Options struct {
	// SegmentSize: a segment is closed at the first commit that ends past
	// it. Default 128 MiB, at least 4 KiB.
	SegmentSize int64
	// BlockSize bounds the uncompressed records of one block (a larger
	// record gets a block of its own). Larger blocks compress better; a
	// reader decompresses a whole block to read one record. Default 256 KiB,
	// at most 16 MiB.
	BlockSize int
	// MaxRecordSize bounds a record's Raw. Default DefaultMaxRecordSize, at
	// most MaxRecordLimit.
	MaxRecordSize int
	// QueueBytes bounds the encoded records waiting for the committer;
	// Append waits for room (or its context) beyond it, which is how a
	// slow disk slows the senders down. Default 64 MiB, at most 1 GiB. One
	// Append may not exceed it.
	QueueBytes int
	// Compression of blocks; default zstd.
	Compression Compression
	// SigningKey signs the checkpoints; nil writes them unsigned, and
	// Verify then says so. Keep the key outside the data directory: a key
	// beside the data lets whoever changes the data sign the change too.
	SigningKey ed25519.PrivateKey
	// CheckpointEvery writes a checkpoint after this many records. Default
	// 100,000; negative: by time and at Close only.
	CheckpointEvery int
	// CheckpointInterval writes a checkpoint this long after the last one
	// when records came in since. Default 10 s; negative: by count and at
	// Close only. Records after the last checkpoint are protected by the
	// chain against accidents but not yet by a signature.
	CheckpointInterval time.Duration
	// ForceRepair lets Open cut a damaged tail after the last checkpoint
	// even when it does not look like an interrupted write (a changed
	// byte rather than a file cut short or zeroed sectors). The cut bytes
	// are kept in repair/ either way. Off, Open refuses such a directory
	// and `kizuki verify` should look at it first.
	ForceRepair bool
	// Logf receives what the journal cannot return to a caller: a
	// checkpoint that failed and will be retried. Default: discarded.
	Logf func(format string, args ...any)

	// Test hooks: files, clock, and the id of a new journal.
	openFile openFunc
	now      func() time.Time
	newID    func() (journalID, error)
}

const (
	defaultSegmentSize = 128 << 20
	minSegmentSize     = 4 << 10
	defaultBlockSize   = 256 << 10
	maxBlockSize       = 16 << 20
	defaultQueueBytes  = 64 << 20
	maxQueueBytes      = 1 << 30
	defaultCPEvery     = 100_000
	defaultCPInterval  = 10 * time.Second
)

func (o Options) withDefaults() (Options, error) {
	switch {
	case o.SegmentSize == 0:
		o.SegmentSize = defaultSegmentSize
	case o.SegmentSize < minSegmentSize:
		return o, fmt.Errorf("journal: segment size %d under the minimum %d", o.SegmentSize, minSegmentSize)
	}
	switch {
	case o.BlockSize == 0:
		o.BlockSize = defaultBlockSize
	case o.BlockSize < 0 || o.BlockSize > maxBlockSize:
		return o, fmt.Errorf("journal: block size %d outside 1..%d", o.BlockSize, maxBlockSize)
	}
	switch {
	case o.MaxRecordSize == 0:
		o.MaxRecordSize = DefaultMaxRecordSize
	case o.MaxRecordSize < 0 || o.MaxRecordSize > MaxRecordLimit:
		return o, fmt.Errorf("journal: max record size %d outside 1..%d", o.MaxRecordSize, MaxRecordLimit)
	}
	switch {
	case o.QueueBytes == 0:
		o.QueueBytes = defaultQueueBytes
	case o.QueueBytes < 0 || o.QueueBytes > maxQueueBytes:
		return o, fmt.Errorf("journal: queue bytes %d outside 1..%d", o.QueueBytes, maxQueueBytes)
	}
	if o.Compression > CompressionNone {
		return o, fmt.Errorf("journal: unknown compression %d", o.Compression)
	}
	if o.SigningKey != nil && len(o.SigningKey) != ed25519.PrivateKeySize {
		return o, fmt.Errorf("journal: signing key of %d bytes, not an Ed25519 private key", len(o.SigningKey))
	}
	if o.CheckpointEvery == 0 {
		o.CheckpointEvery = defaultCPEvery
	}
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = defaultCPInterval
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.openFile == nil {
		o.openFile = osOpen
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.newID == nil {
		o.newID = newJournalID
	}
	return o, nil
}

// Journal appends records durably to a journal directory. Its methods are
// safe for concurrent use.
type Journal struct {
	dir      string
	opt      Options
	lock     io.Closer
	id       journalID
	recovery Recovery

	// The queue of Appends waiting for the committer.
	mu      sync.Mutex
	queue   []*request
	queued  int           // encoded bytes in queue
	space   chan struct{} // closed when the committer takes the queue
	closing bool
	wake    chan struct{} // capacity 1: "the queue is not empty"
	stop    chan struct{} // closed by Close
	done    chan struct{} // closed when the committer has finished

	// Owned by the committer goroutine.
	seg       activeSegment
	next      Seq
	chain     *chain
	enc       *blockEncoder
	wbuf      []byte
	rbuf      []byte
	broken    error // a failed write could not be undone; retried first
	cpSeq     Seq   // records covered by the last checkpoint
	cpTime    time.Time
	skipFinal atomic.Bool // tests: Close without the final checkpoint, like a crash

	// The checkpoint log, shared by the committer and Retain.
	cpMu sync.Mutex
	cp   *checkpointLog

	// What readers, Stats and Retain see: the committed state.
	state    sync.RWMutex
	segs     []segmentInfo // ascending; the last one is active
	head     position
	stats    Stats
	retainMu sync.Mutex // one Retain or journal Verify at a time

	closeOnce sync.Once
	closeErr  error
}

type activeSegment struct {
	num  uint64
	name string
	f    file
	off  int64 // committed length
}

// position is a point of the chain: after record seq-1, the next block
// starts in segment seg at byte off, and the chain hash is hash.
type position struct {
	seg  uint64
	off  int64
	seq  Seq
	hash [hashSize]byte
}

// Stats describes a journal's state.
type Stats struct {
	// FirstSeq is the oldest record kept (retention removes older ones),
	// NextSeq the number the next record will get.
	FirstSeq, NextSeq Seq
	Segments          int
	// Commits and Appended count the group commits and records since Open.
	Commits, Appended uint64
	// LastCheckpoint is the newest checkpoint written (zero Index and Kind
	// before the first).
	LastCheckpoint Checkpoint
	// CheckpointErr is the last checkpoint failure, nil once one succeeds.
	CheckpointErr error
}

// Open opens the journal in dir, creating it when dir holds none. It takes
// a lock on the directory, finishes an interrupted retention, and repairs
// the torn tail a crash leaves on the last segment or the checkpoint log;
// Recovery reports what it did. Damage that is not the shape of a crash is
// returned as a *CorruptionError and nothing is changed.
func Open(dir string, opt Options) (*Journal, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	j := &Journal{
		dir:   dir,
		opt:   opt,
		lock:  lock,
		space: make(chan struct{}),
		wake:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	if err := j.load(); err != nil {
		j.closeFiles()
		return nil, err
	}
	j.enc, err = newBlockEncoder(opt.Compression)
	if err != nil {
		j.closeFiles()
		return nil, err
	}
	j.cpTime = opt.now()
	go j.run()
	return j, nil
}

// newJournalID draws a random journal id.
func newJournalID() (journalID, error) {
	var id journalID
	if _, err := rand.Read(id[:]); err != nil {
		return id, fmt.Errorf("journal: random id: %w", err)
	}
	return id, nil
}

// Dir returns the journal's directory.
func (j *Journal) Dir() string { return j.dir }

// Recovery returns what Open repaired.
func (j *Journal) Recovery() Recovery { return j.recovery }

// Stats returns the journal's committed state.
func (j *Journal) Stats() Stats {
	j.state.RLock()
	defer j.state.RUnlock()
	s := j.stats
	s.NextSeq = j.head.seq
	s.Segments = len(j.segs)
	if len(j.segs) > 0 {
		s.FirstSeq = j.segs[0].first
	}
	return s
}

// request is one Append waiting for the committer.
type request struct {
	enc   []byte // the records, encoded
	ends  []int  // end offset of each record in enc
	state atomic.Int32
	first Seq // set by the committer before done
	done  chan error
}

const (
	reqQueued int32 = iota
	reqTaken
	reqCancelled
)

// Append writes recs to the journal and returns the sequence number of the
// first once all of them are durable (written and fsynced); the rest follow
// without gaps. Records of concurrent Appends share a commit.
//
// An error means none of recs was written: a size limit (ErrTooLarge,
// before queueing), a full disk (ErrDiskFull; a later Append succeeds once
// there is room), ErrClosed, or ctx ending while the records still waited
// in the queue. Once the committer has taken the records, Append waits for
// their one write and fsync even if ctx ends, so that its answer is never
// "maybe". Append of no records returns (0, nil).
func (j *Journal) Append(ctx context.Context, recs []Record) (Seq, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	size := 0
	for i := range recs {
		r := &recs[i]
		if err := checkSizes(r, j.opt.MaxRecordSize); err != nil {
			return 0, fmt.Errorf("journal: record %d of %d: %w", i, len(recs), err)
		}
		size += entrySize(r)
	}
	if size > j.opt.QueueBytes {
		return 0, fmt.Errorf("%w: %d records of %d bytes in one Append, queue limit %d", ErrTooLarge, len(recs), size, j.opt.QueueBytes)
	}
	req := &request{enc: make([]byte, 0, size), ends: make([]int, len(recs)), done: make(chan error, 1)}
	now := j.opt.now()
	for i := range recs {
		ns, err := receivedNanos(recs[i].Received, now)
		if err != nil {
			return 0, fmt.Errorf("journal: record %d of %d: %w", i, len(recs), err)
		}
		req.enc = appendEntry(req.enc, ns, &recs[i])
		req.ends[i] = len(req.enc)
	}
	if err := j.enqueue(ctx, req); err != nil {
		return 0, err
	}
	select {
	case err := <-req.done:
		if err != nil {
			return 0, err
		}
		return req.first, nil
	case <-ctx.Done():
		if req.state.CompareAndSwap(reqQueued, reqCancelled) {
			return 0, ctx.Err()
		}
		if err := <-req.done; err != nil {
			return 0, err
		}
		return req.first, nil
	}
}

// enqueue adds req to the queue, waiting while the queue is full.
func (j *Journal) enqueue(ctx context.Context, req *request) error {
	n := len(req.enc)
	j.mu.Lock()
	for {
		if j.closing {
			j.mu.Unlock()
			return ErrClosed
		}
		if j.queued == 0 || j.queued+n <= j.opt.QueueBytes {
			break
		}
		space := j.space
		j.mu.Unlock()
		select {
		case <-space:
		case <-j.stop:
		case <-ctx.Done():
			return ctx.Err()
		}
		j.mu.Lock()
	}
	j.queue = append(j.queue, req)
	j.queued += n
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
	return nil
}

// take removes the queue's requests for one commit, skipping cancelled ones.
func (j *Journal) take(reqs []*request) []*request {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, r := range j.queue {
		if r.state.CompareAndSwap(reqQueued, reqTaken) {
			reqs = append(reqs, r)
		}
	}
	clear(j.queue)
	j.queue = j.queue[:0]
	if j.queued > 0 {
		j.queued = 0
		close(j.space)
		j.space = make(chan struct{})
	}
	return reqs
}

// run is the committer: it takes whatever Appends are queued, writes them
// as one commit (blocks, one write, one fsync), answers them, and writes
// checkpoints when due. Appends that arrive during a commit's fsync form
// the next commit, so the batch grows with the load and no timer delays a
// lone record.
func (j *Journal) run() {
	defer close(j.done)
	var tick <-chan time.Time
	if j.opt.CheckpointInterval > 0 {
		t := time.NewTicker(min(j.opt.CheckpointInterval, time.Second))
		defer t.Stop()
		tick = t.C
	}
	var reqs []*request
	for {
		stopping := false
		select {
		case <-j.wake:
		case <-tick:
		case <-j.stop:
			stopping = true
		}
		for {
			reqs = j.take(reqs[:0])
			if len(reqs) == 0 {
				break
			}
			err := j.commit(reqs)
			for _, r := range reqs {
				r.done <- err
			}
			clear(reqs)
			j.checkpoint(false)
			// Let the appenders just answered queue their next records
			// before the next take: a fuller commit for the same fsync.
			runtime.Gosched()
		}
		j.checkpoint(false)
		if stopping {
			if !j.skipFinal.Load() {
				if err := j.checkpoint(true); err != nil {
					j.closeErr = err
				}
			}
			return
		}
	}
}

// commit writes the records of reqs as one commit. On any failure it
// restores the segment to its length before the commit, so nothing of a
// failed commit stays on disk and the next commit starts clean.
func (j *Journal) commit(reqs []*request) error {
	if j.broken != nil {
		if err := j.undo(); err != nil {
			return err
		}
	}
	if j.seg.off >= j.opt.SegmentSize && j.seg.off > segmentHeaderLen {
		if err := j.rotate(); err != nil {
			return err
		}
	}
	start := j.seg.off
	saved := j.chain.head
	next := j.next
	buf := j.wbuf[:0]
	raw := j.rbuf[:0]
	var bh blockHeader
	flush := func() {
		bh.hash = j.chain.head
		buf, _ = j.enc.appendBlock(buf, bh, raw)
		raw = raw[:0]
	}
	for _, r := range reqs {
		r.first = next
		prev := 0
		for _, end := range r.ends {
			e := r.enc[prev:end]
			prev = end
			if len(raw) > 0 && len(raw)+len(e) > j.opt.BlockSize {
				flush()
			}
			t := entryTime(e)
			if len(raw) == 0 {
				bh = blockHeader{first: next, minT: t, maxT: t}
			}
			bh.minT, bh.maxT = min(bh.minT, t), max(bh.maxT, t)
			bh.count++
			raw = append(raw, e...)
			j.chain.add(next, e)
			next++
		}
	}
	if len(raw) > 0 {
		flush()
	}
	j.wbuf, j.rbuf = buf[:0], raw[:0]
	if cap(j.wbuf) > 8<<20 {
		j.wbuf = nil // one burst must not pin a large buffer forever
	}

	n, err := j.seg.f.WriteAt(buf, start)
	op := "write"
	if err == nil && n != len(buf) {
		err = io.ErrShortWrite
	}
	if err == nil {
		op = "fsync"
		err = j.seg.f.Sync()
	}
	if err != nil {
		j.chain.head = saved
		werr := fmt.Errorf("%w (records not written)", wrapWrite(j.seg.name, start, op, err))
		j.broken = werr
		if uerr := j.undo(); uerr != nil {
			return fmt.Errorf("%w (and %w)", werr, uerr)
		}
		return werr
	}
	j.seg.off = start + int64(len(buf))
	count := uint64(next - j.next)
	j.next = next
	j.state.Lock()
	j.head = position{seg: j.seg.num, off: j.seg.off, seq: next, hash: j.chain.head}
	j.stats.Commits++
	j.stats.Appended += count
	j.state.Unlock()
	return nil
}

// entryTime reads the received time of an encoded record.
func entryTime(e []byte) int64 {
	return int64(uint64(e[0])<<56 | uint64(e[1])<<48 | uint64(e[2])<<40 | uint64(e[3])<<32 |
		uint64(e[4])<<24 | uint64(e[5])<<16 | uint64(e[6])<<8 | uint64(e[7]))
}

// undo cuts the active segment back to its committed length after a failed
// write, and fsyncs that, so that bytes of a commit that was refused can
// never resurface after a crash. Until it succeeds every commit fails.
func (j *Journal) undo() error {
	if err := j.seg.f.Truncate(j.seg.off); err != nil {
		return wrapWrite(j.seg.name, j.seg.off, "truncate after a failed write", err)
	}
	if err := j.seg.f.Sync(); err != nil {
		return wrapWrite(j.seg.name, j.seg.off, "fsync after a failed write", err)
	}
	j.broken = nil
	return nil
}

// rotate closes the active segment and starts the next one.
func (j *Journal) rotate() error {
	h := segmentHeader{id: j.id, num: j.seg.num + 1, first: j.next, prev: j.chain.head, created: j.opt.now().UnixNano()}
	f, err := createSegment(j.dir, j.opt.openFile, h)
	if err != nil {
		if diskFull(err) {
			return fmt.Errorf("%w: %w", ErrDiskFull, err)
		}
		return err
	}
	old := j.seg.f
	j.seg = activeSegment{num: h.num, name: segmentName(h.num), f: f, off: segmentHeaderLen}
	j.state.Lock()
	j.segs = append(j.segs, segmentInfo{num: h.num, first: h.first, prev: h.prev})
	j.head = position{seg: h.num, off: segmentHeaderLen, seq: j.next, hash: j.chain.head}
	j.state.Unlock()
	old.Close() // fsynced by its last commit
	return nil
}

// checkpoint writes a checkpoint when due (or when force and records came
// in since the last). A failure is kept in Stats and logged; the next
// commit or tick retries.
func (j *Journal) checkpoint(force bool) error {
	if j.next == j.cpSeq {
		return nil
	}
	now := j.opt.now()
	due := force ||
		(j.opt.CheckpointEvery > 0 && uint64(j.next-j.cpSeq) >= uint64(j.opt.CheckpointEvery)) ||
		(j.opt.CheckpointInterval > 0 && now.Sub(j.cpTime) >= j.opt.CheckpointInterval)
	if !due {
		return nil
	}
	c := Checkpoint{Kind: KindCheckpoint, Time: now, Segment: j.seg.num, Offset: j.seg.off, Seq: j.next, Hash: j.chain.head}
	j.cpMu.Lock()
	c, err := j.cp.append(c)
	j.cpMu.Unlock()
	j.state.Lock()
	j.stats.CheckpointErr = err
	if err == nil {
		j.stats.LastCheckpoint = c
	}
	j.state.Unlock()
	if err != nil {
		j.opt.Logf("journal: checkpoint at record %d failed, will retry: %v", j.next, err)
		return err
	}
	j.cpSeq, j.cpTime = j.next, now
	return nil
}

// Close commits what is queued, writes a final checkpoint, and closes the
// journal. Appends after Close return ErrClosed.
func (j *Journal) Close() error {
	j.closeOnce.Do(func() {
		j.mu.Lock()
		j.closing = true
		j.mu.Unlock()
		close(j.stop)
		<-j.done
		j.enc.close()
		if err := j.closeFiles(); j.closeErr == nil {
			j.closeErr = err
		}
	})
	return j.closeErr
}

func (j *Journal) closeFiles() error {
	var errs []error
	if j.seg.f != nil {
		errs = append(errs, j.seg.f.Close())
	}
	if j.cp != nil && j.cp.f != nil {
		errs = append(errs, j.cp.f.Close())
	}
	errs = append(errs, j.lock.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("journal: close: %w", err)
	}
	return nil
}

// segmentPath returns the path of segment num.
func (j *Journal) segmentPath(num uint64) string {
	return segmentPathIn(j.dir, num)
}
