package journal

import (
	"bufio"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"time"
)

// The checkpoint log (file "checkpoints" beside the segments) holds signed
// statements about the chain, like CloudTrail's digest files but in one
// append-only file of fixed-size entries. It is kept apart from the segments
// on purpose: a checkpoint says where the records it covers end (segment,
// offset, count), so cutting records off a segment cannot also remove the
// statement that they existed.
//
// File header (integers big-endian):
//
//	 0  8  magic "KZJCKP01"
//	 8 16  journal id
//	24  8  creation time, ns
//	32  4  CRC-32C of bytes 0..31
//
// then entries of entryLen bytes:
//
//	  0  4  magic "KZCE"
//	  4  1  kind: 1 checkpoint, 2 retention, 3 repair
//	  5  1  signature: 0 none, 1 Ed25519
//	  6  2  reserved, zero
//	  8  8  index: 0, 1, 2... without gaps
//	 16 32  SHA-256 of the previous entry's bytes 0..215 (entry 0: of the file header)
//	 48 16  journal id
//	 64  8  time written, ns
//	 72  8  segment number   ┐ a position in the chain: after record seq-1,
//	 80  8  byte offset      │ the segment and offset where the next block
//	 88  8  seq              │ starts, and the chain hash there
//	 96 32  chain hash       ┘
//	128  8  aux 1: retention: first segment removed; repair: segment bytes cut
//	136  8  aux 2: retention: the cut-off time, ns; repair: log bytes cut
//	144  8  key id: the first 8 bytes of SHA-256 of the public key
//	152 64  Ed25519 signature of bytes 0..151 (zero when unsigned)
//	216  4  CRC-32C of bytes 0..215
//
// Every entry is a position in the chain, signed; each also hashes its
// predecessor, so removing, reordering or editing an entry breaks the
// entries' own chain (a "gap between checkpoints") besides its signature.
// A retention entry states where the kept records start (first kept
// segment, its first record, the chain hash before it) so verification
// starts there after old segments are gone. A repair entry records what
// Open cut from a torn tail.
const (
	logMagic     = "KZJCKP01"
	logHeaderLen = 36
	entryMagic   = "KZCE"
	entryLen     = 220
	signedLen    = 152
)

// EntryKind says what a checkpoint log entry records.
type EntryKind uint8

// The kinds of checkpoint log entries.
const (
	// KindCheckpoint: the journal reached this position.
	KindCheckpoint EntryKind = 1
	// KindRetention: segments before Segment were removed; the kept records
	// start at Seq with the chain at Hash.
	KindRetention EntryKind = 2
	// KindRepair: Open cut CutBytes of a torn tail at this position.
	KindRepair EntryKind = 3
)

func (k EntryKind) String() string {
	switch k {
	case KindCheckpoint:
		return "checkpoint"
	case KindRetention:
		return "retention"
	case KindRepair:
		return "repair"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Checkpoint is one entry of the checkpoint log: a signed statement that
// after record Seq-1 the chain hash is Hash and the next block starts in
// segment Segment at byte Offset.
type Checkpoint struct {
	Kind    EntryKind
	Index   uint64
	Time    time.Time
	Segment uint64
	Offset  int64
	Seq     Seq
	Hash    [hashSize]byte
	// DeletedFrom and Before (retention): segments DeletedFrom..Segment-1
	// were removed because all their records were received before Before.
	DeletedFrom uint64
	Before      time.Time
	// CutBytes and CutLogBytes (repair): how many bytes of a torn tail Open
	// removed from the last segment and from the checkpoint log.
	CutBytes    int64
	CutLogBytes int64
	// KeyID identifies the signing key (KeyID of its public key); zero and
	// Signed false for an unsigned entry.
	KeyID  [8]byte
	Signed bool
}

// KeyID returns the short identifier of a public key written into each
// signed entry, so that verify can tell "signed by another key" from
// "signature does not match".
func KeyID(pub ed25519.PublicKey) [8]byte {
	s := sha256.Sum256(pub)
	var id [8]byte
	copy(id[:], s[:8])
	return id
}

// marshalEntry encodes c as entry bytes, chained to prev and signed with
// key when it is not nil.
func marshalEntry(c *Checkpoint, id journalID, prev [hashSize]byte, key ed25519.PrivateKey) []byte {
	b := make([]byte, entryLen)
	copy(b, entryMagic)
	b[4] = byte(c.Kind)
	binary.BigEndian.PutUint64(b[8:], c.Index)
	copy(b[16:48], prev[:])
	copy(b[48:64], id[:])
	binary.BigEndian.PutUint64(b[64:], uint64(c.Time.UnixNano()))
	binary.BigEndian.PutUint64(b[72:], c.Segment)
	binary.BigEndian.PutUint64(b[80:], uint64(c.Offset))
	binary.BigEndian.PutUint64(b[88:], uint64(c.Seq))
	copy(b[96:128], c.Hash[:])
	switch c.Kind {
	case KindRetention:
		binary.BigEndian.PutUint64(b[128:], c.DeletedFrom)
		binary.BigEndian.PutUint64(b[136:], uint64(c.Before.UnixNano()))
	case KindRepair:
		binary.BigEndian.PutUint64(b[128:], uint64(c.CutBytes))
		binary.BigEndian.PutUint64(b[136:], uint64(c.CutLogBytes))
	}
	if key != nil {
		b[5] = 1
		c.KeyID = KeyID(key.Public().(ed25519.PublicKey))
		c.Signed = true
		copy(b[144:152], c.KeyID[:])
		copy(b[152:216], ed25519.Sign(key, b[:signedLen]))
	}
	binary.BigEndian.PutUint32(b[216:], crc32.Checksum(b[:216], castagnoli))
	return b
}

// parseCheckpoint decodes entry bytes, checking their shape and CRC but not the
// signature or the chain of entries.
func parseCheckpoint(b []byte) (Checkpoint, error) {
	var c Checkpoint
	if len(b) < entryLen {
		return c, fmt.Errorf("entry of %d bytes, %d expected", len(b), entryLen)
	}
	if string(b[:4]) != entryMagic {
		return c, fmt.Errorf("entry magic %q", b[:4])
	}
	if crc32.Checksum(b[:216], castagnoli) != binary.BigEndian.Uint32(b[216:]) {
		return c, errors.New("entry checksum mismatch")
	}
	c.Kind = EntryKind(b[4])
	if c.Kind < KindCheckpoint || c.Kind > KindRepair {
		return c, fmt.Errorf("unknown entry kind %d", b[4])
	}
	if b[5] > 1 || b[6] != 0 || b[7] != 0 {
		return c, errors.New("bad signature type or reserved bytes")
	}
	c.Signed = b[5] == 1
	c.Index = binary.BigEndian.Uint64(b[8:])
	c.Time = timeOf(int64(binary.BigEndian.Uint64(b[64:])))
	c.Segment = binary.BigEndian.Uint64(b[72:])
	c.Offset = int64(binary.BigEndian.Uint64(b[80:]))
	c.Seq = Seq(binary.BigEndian.Uint64(b[88:]))
	copy(c.Hash[:], b[96:128])
	switch c.Kind {
	case KindRetention:
		c.DeletedFrom = binary.BigEndian.Uint64(b[128:])
		c.Before = timeOf(int64(binary.BigEndian.Uint64(b[136:])))
	case KindRepair:
		c.CutBytes = int64(binary.BigEndian.Uint64(b[128:]))
		c.CutLogBytes = int64(binary.BigEndian.Uint64(b[136:]))
	}
	copy(c.KeyID[:], b[144:152])
	if c.Offset < 0 || c.CutBytes < 0 || c.CutLogBytes < 0 {
		return c, errors.New("negative offset")
	}
	return c, nil
}

// entryPrev returns the predecessor hash and journal id an entry claims.
func entryPrev(b []byte) (prev [hashSize]byte, id journalID) {
	copy(prev[:], b[16:48])
	copy(id[:], b[48:64])
	return prev, id
}

// entryHash is what the next entry stores as its predecessor.
func entryHash(b []byte) [hashSize]byte { return sha256.Sum256(b[:216]) }

// checkSignature verifies a parsed entry's signature under pub.
func checkSignature(b []byte, c *Checkpoint, pub ed25519.PublicKey) error {
	if !c.Signed {
		return errors.New("unsigned")
	}
	if want := KeyID(pub); c.KeyID != want {
		return fmt.Errorf("signed by key %x, not by the given key %x", c.KeyID, want)
	}
	if !ed25519.Verify(pub, b[:signedLen], b[152:216]) {
		return errors.New("signature does not match")
	}
	return nil
}

func marshalLogHeader(id journalID, created int64) []byte {
	b := make([]byte, logHeaderLen)
	copy(b, logMagic)
	copy(b[8:24], id[:])
	binary.BigEndian.PutUint64(b[24:], uint64(created))
	binary.BigEndian.PutUint32(b[32:], crc32.Checksum(b[:32], castagnoli))
	return b
}

func parseLogHeader(b []byte) (journalID, error) {
	var id journalID
	if len(b) < logHeaderLen {
		return id, fmt.Errorf("checkpoint log header: %d of %d bytes", len(b), logHeaderLen)
	}
	if string(b[:8]) != logMagic {
		return id, fmt.Errorf("checkpoint log header: magic %q", b[:8])
	}
	if crc32.Checksum(b[:32], castagnoli) != binary.BigEndian.Uint32(b[32:]) {
		return id, errors.New("checkpoint log header: checksum mismatch")
	}
	copy(id[:], b[8:24])
	return id, nil
}

// logScanner reads a checkpoint log's entries in order, checking the chain
// of entries (index, predecessor hash, journal id) as it goes.
type logScanner struct {
	r     *bufio.Reader
	id    journalID
	prev  [hashSize]byte
	index uint64
	off   int64 // offset of the next entry
	end   int64 // the log's length
	buf   [entryLen]byte
}

// entryChainError says how an entry fails to follow its predecessor.
type entryChainError struct {
	kind int
	err  error
}

const (
	chainForeign = iota // another journal's entry
	chainGap            // entries missing before it
	chainBack           // an earlier entry again, or out of order
	chainBroken         // right number, wrong predecessor hash
)

func (e *entryChainError) Error() string { return e.err.Error() }

// errLogTorn marks a partial entry at the end of the log.
var errLogTorn = errors.New("checkpoint log ends inside an entry")

// newLogScanner reads the header of the log r of size bytes.
func newLogScanner(r io.Reader, size int64) (*logScanner, error) {
	s := &logScanner{r: bufio.NewReaderSize(r, 64<<10), end: size}
	var h [logHeaderLen]byte
	if _, err := io.ReadFull(s.r, h[:]); err != nil {
		return nil, fmt.Errorf("checkpoint log header: %w", err)
	}
	id, err := parseLogHeader(h[:])
	if err != nil {
		return nil, err
	}
	s.id = id
	s.prev = sha256.Sum256(h[:])
	s.off = logHeaderLen
	return s, nil
}

// next returns the next entry and its bytes (valid until the next call):
// io.EOF at the end, errLogTorn for a partial last entry, another error for
// a damaged or out-of-chain entry.
func (s *logScanner) next() (Checkpoint, []byte, error) {
	if s.off >= s.end {
		return Checkpoint{}, nil, io.EOF
	}
	if s.end-s.off < entryLen {
		return Checkpoint{}, nil, errLogTorn
	}
	if _, err := io.ReadFull(s.r, s.buf[:]); err != nil {
		return Checkpoint{}, nil, fmt.Errorf("read checkpoint log: %w", err)
	}
	b := s.buf[:]
	c, err := parseCheckpoint(b)
	if err != nil {
		return c, b, err
	}
	prev, id := entryPrev(b)
	switch {
	case id != s.id:
		return c, b, &entryChainError{kind: chainForeign, err: fmt.Errorf("entry of journal %s in the log of journal %s", id, s.id)}
	case c.Index != s.index:
		kind := chainGap
		if c.Index < s.index {
			kind = chainBack
		}
		return c, b, &entryChainError{kind: kind, err: fmt.Errorf("entry number %d where %d was expected", c.Index, s.index)}
	case prev != s.prev:
		return c, b, &entryChainError{kind: chainBroken, err: errors.New("entry does not chain to the one before it")}
	}
	s.prev = entryHash(b)
	s.index++
	s.off += entryLen
	return c, b, nil
}

// checkpointLog appends entries to the log; the journal serializes calls.
type checkpointLog struct {
	f     file
	path  string
	id    journalID
	size  int64
	index uint64
	prev  [hashSize]byte
	key   ed25519.PrivateKey
}

// append writes c (Index, signature and chain filled in) and fsyncs. On
// failure the log is cut back so a retry starts clean.
func (l *checkpointLog) append(c Checkpoint) (Checkpoint, error) {
	c.Index = l.index
	b := marshalEntry(&c, l.id, l.prev, l.key)
	n, err := l.f.WriteAt(b, l.size)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	if err == nil {
		err = l.f.Sync()
	}
	if err != nil {
		if terr := l.f.Truncate(l.size); terr == nil {
			l.f.Sync()
		}
		return c, wrapWrite(checkpointName, l.size, "write checkpoint", err)
	}
	l.size += entryLen
	l.index++
	l.prev = entryHash(b)
	return c, nil
}

// logState is what Open learns from the checkpoint log.
type logState struct {
	id       journalID
	size     int64 // valid length; a torn tail beyond it is cut
	torn     int64 // bytes of a partial or damaged last entry
	index    uint64
	prev     [hashSize]byte
	last     *Checkpoint // last checkpoint or repair: the furthest position
	retained *Checkpoint // last retention entry
}

// readLogState scans the whole log. A bad entry that is not the last one
// is corruption, not a crash, and is returned as an error.
func readLogState(path string) (logState, error) {
	var st logState
	f, err := os.Open(path)
	if err != nil {
		return st, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return st, err
	}
	s, err := newLogScanner(f, info.Size())
	if err != nil {
		return st, &CorruptionError{File: checkpointName, Offset: 0, Err: err}
	}
	st.id = s.id
	for {
		c, _, err := s.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if err == errLogTorn || s.end-s.off == entryLen {
				// Only the last entry: an append that did not complete.
				st.torn = s.end - s.off
				break
			}
			return st, &CorruptionError{File: checkpointName, Offset: s.off, Err: err}
		}
		if c.Kind == KindRetention {
			st.retained = &c
		} else {
			st.last = &c
		}
	}
	st.size = s.off
	st.index = s.index
	st.prev = s.prev
	return st, nil
}
