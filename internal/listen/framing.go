package listen

import (
	"bytes"
	"errors"
	"io"

	"github.com/kizuki-dev/kizuki/internal/journal"
)

// Framing of syslog over a stream (RFC 6587, used by RFC 5425 for TLS).
//
// Senders use one of two framings, and some switch between them, so the
// framing is decided for each frame from its first bytes:
//
//   - Octet counting, "MSG-LEN SP MSG": the frame starts with up to
//     maxCountDigits digits and a space. MSG is kept exactly, with any LF
//     it holds (the sender said how long it is). A count over MaxMessage
//     is skipped by counting, so the stream stays in sync (Oversized).
//   - Non-transparent framing: the message ends at LF, or at NUL, which
//     some senders use as a trailer; a CR before the LF is removed with
//     it. A line over MaxMessage is skipped up to its trailer (Oversized).
//
// A frame that starts with digits not followed by a space ("2024-06-01
// ...", a line without a PRI) is a line. A frame that starts "DIGITS SP"
// with a count no message can have (a leading zero, or over
// journal.MaxRecordLimit) is counted as BadOctetCounts and read as a line:
// that resynchronizes at the next LF without closing the connection and
// loses no bytes, where trusting the count could swallow megabytes of
// later messages, and closing would lose what the sender has queued.
//
// When a connection ends, an unterminated line is a message if the sender
// closed the connection (closing ends its last line), and is counted as
// Truncated if the connection failed or idled out; an octet-counted frame
// short of its count is Truncated either way.
//
// The one ambiguity RFC 6587 leaves cannot be resolved from the bytes: a
// line that starts with a number and a space ("12 Oct ...") reads as an
// octet-counted frame. The number and space are taken as framing and the
// count decides where the record ends (cutting the line, or joining the
// lines after it); no other byte is lost. Syslog senders start their
// messages with "<PRI>", so this takes a sender that writes bare lines
// starting with a number.
const (
	// maxCountDigits is the most digits of an octet count: 8 digits hold
	// journal.MaxRecordLimit.
	maxCountDigits = 8
	// maxOctetCount is the largest count believed: no record can be
	// larger, so a larger count is not a length.
	maxOctetCount = journal.MaxRecordLimit
	// initialBuffer is a new connection's read buffer; it grows up to
	// Limits.BufferBytes while the sender keeps it full.
	initialBuffer = 16 << 10
)

// errBufferFull would mean a bug in the framer: a partial frame that
// fills the whole buffer.
var errBufferFull = errors.New("listen: read buffer full without a complete frame")

// frameKind says what framer.next found.
type frameKind uint8

const (
	// frameNone: no complete frame is buffered; read more.
	frameNone frameKind = iota
	// frameMsg: a message.
	frameMsg
	// frameOversized: a message over the limit, skipped (or being skipped).
	frameOversized
	// frameBadCount: an impossible octet count; the frame is re-read as a
	// line by the next call.
	frameBadCount
	// frameEmpty: an empty frame, ignored.
	frameEmpty
	// frameTruncated: (finish only) an octet-counted frame cut short.
	frameTruncated
)

// framer splits a stream into messages. It owns the read buffer: the
// messages it returns alias it and stay valid until the next fill, which
// is what lets a connection hand a whole batch to the sink without copying
// it (the journal copies on Append).
type framer struct {
	buf   []byte
	r, w  int // unread bytes are buf[r:w]
	max   int // Limits.MaxMessage
	limit int // Limits.BufferBytes

	skip     int  // bytes of an oversized octet-counted frame still to discard
	skipLine bool // discarding an oversized line up to its trailer
	asLine   bool // the frame at r is a line whatever its start (after frameBadCount)
	scanned  int  // bytes after r already searched for a trailer
	full     bool // the last read filled the buffer: grow before the next
}

func newFramer(max, limit int) *framer {
	return &framer{buf: make([]byte, min(initialBuffer, limit)), max: max, limit: limit}
}

// next returns the next buffered frame. It never reads; after frameNone,
// fill reads more.
func (f *framer) next() ([]byte, frameKind) {
	if f.skip > 0 {
		n := min(f.skip, f.w-f.r)
		f.r += n
		f.skip -= n
		if f.skip > 0 {
			return nil, frameNone
		}
	}
	if f.skipLine {
		i := indexTrailer(f.buf[f.r:f.w])
		if i < 0 {
			f.r = f.w
			return nil, frameNone
		}
		f.r += i + 1
		f.skipLine = false
	}
	if f.r == f.w {
		return nil, frameNone
	}
	if c := f.buf[f.r]; !f.asLine && c >= '0' && c <= '9' {
		if msg, kind, decided := f.octetFrame(); decided {
			return msg, kind
		}
	}
	return f.lineFrame()
}

// octetFrame reads an octet-counted frame at r. decided is false when the
// frame is a line after all.
func (f *framer) octetFrame() (msg []byte, kind frameKind, decided bool) {
	b := f.buf[f.r:f.w]
	n, i := 0, 0
	for ; i < len(b) && i <= maxCountDigits && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + int(b[i]-'0')
	}
	switch {
	case i == len(b) && i <= maxCountDigits:
		return nil, frameNone, true // more digits, or the space, may follow
	case i > maxCountDigits || b[i] != ' ':
		return nil, 0, false // digits starting a line
	case b[0] == '0' || n > maxOctetCount:
		f.asLine = true
		return nil, frameBadCount, true
	}
	start := f.r + i + 1
	if n > f.max {
		f.r = start
		f.skip = n
		return nil, frameOversized, true
	}
	if f.w-start < n {
		return nil, frameNone, true
	}
	f.r = start + n
	return f.buf[start:f.r:f.r], frameMsg, true
}

// lineFrame reads an LF- or NUL-terminated frame at r.
func (f *framer) lineFrame() ([]byte, frameKind) {
	i := indexTrailer(f.buf[f.r+f.scanned : f.w])
	if i < 0 {
		f.scanned = f.w - f.r
		if f.scanned > f.max+1 { // +1: a CR may still be part of the trailer
			f.r, f.scanned, f.asLine = f.w, 0, false
			f.skipLine = true
			return nil, frameOversized
		}
		return nil, frameNone
	}
	end := f.r + f.scanned + i
	msg := trimCR(f.buf[f.r:end:end])
	f.r, f.scanned, f.asLine = end+1, 0, false
	return classify(msg, f.max)
}

// finish returns what is left when the stream has ended: an unterminated
// line (a message, when the sender closed cleanly: closing ends its last
// line), or an octet-counted frame cut short.
func (f *framer) finish() ([]byte, frameKind) {
	if f.skip > 0 || f.skipLine || f.r == f.w {
		return nil, frameNone // an oversized frame, already counted
	}
	b := f.buf[f.r:f.w]
	f.r = f.w
	if !f.asLine && b[0] >= '0' && b[0] <= '9' {
		i := 0
		for i < len(b) && i <= maxCountDigits && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i < len(b) && i <= maxCountDigits && b[i] == ' ' && b[0] != '0' {
			return nil, frameTruncated
		}
	}
	return classify(trimCR(b), f.max)
}

// pending reports whether a partial frame is buffered (or being skipped
// over): what a connection that fails now cuts short.
func (f *framer) pending() bool {
	return f.r < f.w && f.skip == 0 && !f.skipLine
}

// fill reads once into the buffer. It invalidates the messages returned
// so far, so the caller must have handed them to the sink first.
func (f *framer) fill(r io.Reader) (int, error) {
	if f.r > 0 { // what is left is at most one partial frame: cheap to move
		f.w = copy(f.buf, f.buf[f.r:f.w])
		f.r = 0
	}
	if (f.w == len(f.buf) || f.full) && len(f.buf) < f.limit {
		nb := make([]byte, min(2*len(f.buf), f.limit))
		copy(nb, f.buf[:f.w])
		f.buf = nb
	}
	if f.w == len(f.buf) {
		// Cannot happen: the limit holds a whole frame, and next returns
		// every complete one. Fail rather than spin on empty reads.
		return 0, errBufferFull
	}
	n, err := r.Read(f.buf[f.w:])
	f.full = n > 0 && f.w+n == len(f.buf)
	f.w += n
	return n, err
}

// indexTrailer returns the index of the first LF or NUL in b, or -1.
func indexTrailer(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return bytes.IndexByte(b, 0)
	}
	if j := bytes.IndexByte(b[:i], 0); j >= 0 {
		return j
	}
	return i
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

func classify(msg []byte, max int) ([]byte, frameKind) {
	switch {
	case len(msg) == 0:
		return nil, frameEmpty
	case len(msg) > max:
		return nil, frameOversized
	}
	return msg, frameMsg
}
