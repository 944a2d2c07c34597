package listen

import "sync/atomic"

// Stats is what a Server has done since New: what an operator needs to see
// that input is arriving, that nothing is being lost silently, and where
// it is lost when it is. Every message a sender sent ends in exactly one of
// Messages, Oversized, Empty, Truncated, UDPShed, SinkRejected and Lost,
// except bytes still in the kernel's buffers when the server stops and
// UDP datagrams the kernel dropped before the server read them.
type Stats struct {
	// Messages, Bytes and Batches count what the sink has made durable:
	// records, their raw bytes, and Appends.
	Messages, Bytes, Batches uint64
	// BytesRead counts the bytes read from stream connections (with their
	// framing) and the datagrams' bytes.
	BytesRead uint64

	// Oversized counts messages over Limits.MaxMessage, skipped whole.
	Oversized uint64
	// BadOctetCounts counts frames that began "DIGITS SP" with a count
	// that cannot be a message length (a leading zero, or more than
	// journal.MaxRecordLimit); each was read as an LF-terminated line.
	BadOctetCounts uint64
	// Truncated counts messages cut off by the end of their connection
	// (an octet-counted frame short of its count, or an unterminated line
	// when the connection failed or idled out rather than closing).
	Truncated uint64
	// Empty counts empty frames and datagrams, which are ignored (a blank
	// line, or the LF some senders put after an octet-counted frame).
	Empty uint64

	// UDPShed counts datagrams dropped because the queue to the sink was
	// full: the server was receiving faster than the journal wrote.
	UDPShed uint64

	// Accepted counts stream connections taken on; Refused those closed at
	// once because MaxConns were open; Active is how many are open now.
	Accepted, Refused uint64
	Active            int64
	// IdleClosed counts connections closed by IdleTimeout, HandshakeFailed
	// TLS handshakes that failed or timed out (wrong version, no or a bad
	// client certificate, a port scan), ReadErrors connections that ended
	// with an error other than those (a reset).
	IdleClosed, HandshakeFailed, ReadErrors uint64
	// AcceptErrors counts failed Accepts the listener survived (such as
	// running out of file descriptors).
	AcceptErrors uint64

	// SinkErrors counts failed Appends (each retry counts).
	SinkErrors uint64
	// SinkRejected counts records the sink refused as too large
	// (journal.ErrTooLarge), dropped so the rest of their batch could go.
	SinkRejected uint64
	// Lost counts complete messages read but never made durable: the sink
	// failed until the server stopped, or was closed.
	Lost uint64
}

// counters are the live Stats, updated atomically (once per batch or
// connection on the hot path, not once per message).
type counters struct {
	messages, bytes, batches, bytesRead     atomic.Uint64
	oversized, badCounts, truncated, empty  atomic.Uint64
	udpShed                                 atomic.Uint64
	accepted, refused                       atomic.Uint64
	active                                  atomic.Int64
	idleClosed, handshakeFailed, readErrors atomic.Uint64
	acceptErrors                            atomic.Uint64
	sinkErrors, sinkRejected, lost          atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Messages:        c.messages.Load(),
		Bytes:           c.bytes.Load(),
		Batches:         c.batches.Load(),
		BytesRead:       c.bytesRead.Load(),
		Oversized:       c.oversized.Load(),
		BadOctetCounts:  c.badCounts.Load(),
		Truncated:       c.truncated.Load(),
		Empty:           c.empty.Load(),
		UDPShed:         c.udpShed.Load(),
		Accepted:        c.accepted.Load(),
		Refused:         c.refused.Load(),
		Active:          c.active.Load(),
		IdleClosed:      c.idleClosed.Load(),
		HandshakeFailed: c.handshakeFailed.Load(),
		ReadErrors:      c.readErrors.Load(),
		AcceptErrors:    c.acceptErrors.Load(),
		SinkErrors:      c.sinkErrors.Load(),
		SinkRejected:    c.sinkRejected.Load(),
		Lost:            c.lost.Load(),
	}
}

// frameCounts accumulates a batch's framing events so that the shared
// counters are touched once per batch.
type frameCounts struct {
	oversized, badCounts, empty, truncated uint64
}

func (c *counters) addFrames(f *frameCounts) {
	if f.oversized != 0 {
		c.oversized.Add(f.oversized)
	}
	if f.badCounts != 0 {
		c.badCounts.Add(f.badCounts)
	}
	if f.empty != 0 {
		c.empty.Add(f.empty)
	}
	if f.truncated != 0 {
		c.truncated.Add(f.truncated)
	}
	*f = frameCounts{}
}
