package journal

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"time"
)

// Seq numbers the records of one journal from 0, without gaps, in the order
// they were made durable. It survives retention: the first record kept after
// old segments are removed keeps its number.
type Seq uint64

// Record is one received message as the journal keeps it: the evidence,
// byte-exact, and where and when it came in. Everything derived from it
// (parsed event, index entries, alerts) can be rebuilt from these fields.
type Record struct {
	// Seq is set by the journal: ignored by Append, filled by readers.
	Seq Seq
	// Received is when the listener read the message. It is stored as UTC
	// nanoseconds since the Unix epoch; the zero time means "now" to Append.
	Received time.Time
	// Origin names the listener and peer, e.g. "syslog-tls :6514 10.0.0.5:51234"
	// or a file path. At most MaxOriginLen bytes.
	Origin string
	// Source is the source type when the listener knows it (e.g. "squid"),
	// empty when parsing should sniff it. At most MaxSourceLen bytes.
	Source string
	// Raw is the message exactly as received. At most Options.MaxRecordSize
	// bytes. Append copies it; a reader's Raw is valid only until its next
	// record (see Reader.Next).
	Raw []byte
}

// Size limits. The decoders enforce them on every file they read, so a
// damaged or hostile data directory cannot make verify or a reader allocate
// without bound.
const (
	// MaxRecordLimit is the largest Options.MaxRecordSize accepted.
	MaxRecordLimit = 16 << 20
	// DefaultMaxRecordSize is the default bound on one record's Raw.
	DefaultMaxRecordSize = 1 << 20
	// MaxOriginLen bounds Record.Origin.
	MaxOriginLen = 4096
	// MaxSourceLen bounds Record.Source.
	MaxSourceLen = 255

	// minEntryLen is the smallest encoded record: time and three empty lengths.
	minEntryLen = 8 + 3
)

// ErrTooLarge is returned (wrapped) by Append for a record or a call that
// exceeds a size limit; nothing of that call is written.
var ErrTooLarge = errors.New("journal: too large")

// appendEntry appends the stored form of r (everything but Seq, which the
// block header implies) to dst:
//
//	received  int64 big-endian, UTC nanoseconds since the Unix epoch
//	origin    uvarint length, bytes
//	source    uvarint length, bytes
//	raw       uvarint length, bytes
func appendEntry(dst []byte, received int64, r *Record) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(received))
	dst = binary.AppendUvarint(dst, uint64(len(r.Origin)))
	dst = append(dst, r.Origin...)
	dst = binary.AppendUvarint(dst, uint64(len(r.Source)))
	dst = append(dst, r.Source...)
	dst = binary.AppendUvarint(dst, uint64(len(r.Raw)))
	dst = append(dst, r.Raw...)
	return dst
}

// entry is a decoded record whose byte fields alias the block payload.
type entry struct {
	received int64
	origin   []byte
	source   []byte
	raw      []byte
}

// parseEntry decodes one record from the front of b and returns it with
// its encoded length. It checks every length against b and the limits.
func parseEntry(b []byte) (entry, int, error) {
	var e entry
	if len(b) < minEntryLen {
		return e, 0, errors.New("record shorter than its fixed fields")
	}
	e.received = int64(binary.BigEndian.Uint64(b))
	p := 8
	field := func(name string, limit int) ([]byte, error) {
		n, w := binary.Uvarint(b[p:])
		if w <= 0 {
			return nil, fmt.Errorf("bad %s length", name)
		}
		p += w
		if n > uint64(limit) {
			return nil, fmt.Errorf("%s length %d over the limit %d", name, n, limit)
		}
		if n > uint64(len(b)-p) {
			return nil, fmt.Errorf("%s length %d runs past the block", name, n)
		}
		f := b[p : p+int(n) : p+int(n)]
		p += int(n)
		return f, nil
	}
	var err error
	if e.origin, err = field("origin", MaxOriginLen); err != nil {
		return e, 0, err
	}
	if e.source, err = field("source", MaxSourceLen); err != nil {
		return e, 0, err
	}
	if e.raw, err = field("raw", MaxRecordLimit); err != nil {
		return e, 0, err
	}
	return e, p, nil
}

// checkSizes applies the size limits to r.
func checkSizes(r *Record, maxRaw int) error {
	if len(r.Raw) > maxRaw {
		return fmt.Errorf("%w: raw record of %d bytes, limit %d", ErrTooLarge, len(r.Raw), maxRaw)
	}
	if len(r.Origin) > MaxOriginLen {
		return fmt.Errorf("%w: origin of %d bytes, limit %d", ErrTooLarge, len(r.Origin), MaxOriginLen)
	}
	if len(r.Source) > MaxSourceLen {
		return fmt.Errorf("%w: source of %d bytes, limit %d", ErrTooLarge, len(r.Source), MaxSourceLen)
	}
	return nil
}

// entrySize is the encoded length of r.
func entrySize(r *Record) int {
	return 8 + uvarintLen(len(r.Origin)) + len(r.Origin) + uvarintLen(len(r.Source)) + len(r.Source) +
		uvarintLen(len(r.Raw)) + len(r.Raw)
}

func uvarintLen(n int) int {
	l := 1
	for ; n >= 0x80; n >>= 7 {
		l++
	}
	return l
}

// receivedNanos returns t (now when t is zero) as stored.
func receivedNanos(t, now time.Time) (int64, error) {
	if t.IsZero() {
		t = now
	}
	// UnixNano is only defined between 1678 and 2262; refuse rather than
	// store a wrapped time.
	ns := t.UnixNano()
	if !time.Unix(0, ns).Equal(t) {
		return 0, fmt.Errorf("journal: received time %v out of range", t)
	}
	return ns, nil
}

// hashSize is the length of a chain hash (SHA-256).
const hashSize = sha256.Size

// chain computes h_i = SHA-256(h_{i-1} || seq_i || entry_i), seq as 8 bytes
// big-endian. The record's number is hashed although it is not stored with
// the record, so a record moved to another position no longer chains.
//
// The chain is over records, not over blocks or files: the value at a given
// sequence number depends only on the records, never on how they were
// batched or compressed. A later tool may therefore re-block or recompress
// old segments (or copy the records to another store) and every signed
// checkpoint still verifies.
type chain struct {
	h    hash.Hash
	head [hashSize]byte
	seqb [8]byte
}

func newChain(head [hashSize]byte) *chain {
	return &chain{h: sha256.New(), head: head}
}

func (c *chain) add(seq Seq, enc []byte) {
	c.h.Reset()
	c.h.Write(c.head[:])
	binary.BigEndian.PutUint64(c.seqb[:], uint64(seq))
	c.h.Write(c.seqb[:])
	c.h.Write(enc)
	c.h.Sum(c.head[:0])
}

// genesis is h_{-1}, the hash before the first record: it depends on the
// journal's random id, so the chain (and so every checkpoint) of one journal
// can never be spliced into another's, even when both use the same key.
func genesis(id journalID) [hashSize]byte {
	h := sha256.New()
	h.Write([]byte("kizuki journal v1\x00"))
	h.Write(id[:])
	var out [hashSize]byte
	h.Sum(out[:0])
	return out
}

// journalID identifies one journal directory from its creation on.
type journalID [16]byte

func (id journalID) String() string { return fmt.Sprintf("%x", id[:]) }
