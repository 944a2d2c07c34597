package listen

import (
	"fmt"
	"time"

	"github.com/kizuki-dev/kizuki/internal/journal"
)

// Limits bound what one sender, or all of them together, can make the
// server hold: a listener faces the network, so every buffer, queue and
// wait has a size or a time. The zero value of each field means its
// default.
type Limits struct {
	// MaxMessage bounds one message (the bytes of a frame without its
	// framing, or a UDP datagram). A larger one is skipped and counted as
	// Oversized. Default 64 KiB, at most journal.MaxRecordLimit. Keep it
	// at or under the journal's Options.MaxRecordSize (default 1 MiB): a
	// record the journal refuses is counted as SinkRejected and dropped.
	MaxMessage int
	// MaxConns bounds the stream (TCP and TLS) connections open at once
	// across all listeners of a Server; one more is closed as soon as it
	// is accepted and counted as Refused. Default 1024.
	MaxConns int
	// IdleTimeout closes a stream connection that sends nothing for this
	// long (IdleClosed). The clock runs only while the server waits for
	// the sender, never while the sender waits for the journal. Default
	// 10 minutes: quiet hosts keep their connection, and many senders lose
	// the first message written to a connection the server has closed, so
	// a short timeout costs messages.
	IdleTimeout time.Duration
	// HandshakeTimeout bounds a TLS handshake (HandshakeFailed). Default
	// 10 s.
	HandshakeTimeout time.Duration
	// MaxBatch bounds the records handed to the sink in one Append.
	// Default 1024.
	MaxBatch int
	// BufferBytes bounds a stream connection's read buffer, and so the
	// bytes a connection has read but the journal does not have yet:
	// nothing more is read until they are durable. A buffer starts small
	// and grows only while the sender keeps it full. Default 128 KiB, and
	// never less than MaxMessage plus the largest octet-count header.
	BufferBytes int
	// UDPQueue and UDPQueueBytes bound the datagrams read but not yet
	// journaled, in number and in bytes; a datagram beyond either is shed
	// (UDPShed). Defaults 16,384 and 32 MiB.
	UDPQueue      int
	UDPQueueBytes int
	// DrainTimeout is how long, once the server's context ends, stream
	// connections go on reading what their senders already sent (and the
	// UDP appender its queue) before the server gives up; appends still
	// pending after a second DrainTimeout are abandoned and counted Lost.
	// Default 2 s.
	DrainTimeout time.Duration
}

const (
	defaultMaxMessage       = 64 << 10
	defaultMaxConns         = 1024
	defaultIdleTimeout      = 10 * time.Minute
	defaultHandshakeTimeout = 10 * time.Second
	defaultMaxBatch         = 1024
	defaultBufferBytes      = 128 << 10
	defaultUDPQueue         = 16384
	defaultUDPQueueBytes    = 32 << 20
	defaultDrainTimeout     = 2 * time.Second

	// frameOverhead is the most framing one message can carry around it:
	// an octet count of up to maxCountDigits digits and its space, or a
	// CR LF trailer.
	frameOverhead = maxCountDigits + 1
)

// withDefaults fills in the defaults and rejects values that cannot work.
func (l Limits) withDefaults() (Limits, error) {
	var err error
	pos := func(name string, v *int, def, most int) {
		switch {
		case err != nil:
		case *v == 0:
			*v = def
		case *v < 0 || *v > most:
			err = fmt.Errorf("listen: %s %d outside 1..%d", name, *v, most)
		}
	}
	dur := func(name string, v *time.Duration, def time.Duration) {
		switch {
		case err != nil:
		case *v == 0:
			*v = def
		case *v < 0:
			err = fmt.Errorf("listen: negative %s %v", name, *v)
		}
	}
	pos("max message", &l.MaxMessage, defaultMaxMessage, journal.MaxRecordLimit)
	pos("max conns", &l.MaxConns, defaultMaxConns, 1<<20)
	pos("max batch", &l.MaxBatch, defaultMaxBatch, 1<<20)
	pos("buffer bytes", &l.BufferBytes, defaultBufferBytes, 1<<30)
	pos("UDP queue", &l.UDPQueue, defaultUDPQueue, 1<<24)
	pos("UDP queue bytes", &l.UDPQueueBytes, defaultUDPQueueBytes, 1<<30)
	dur("idle timeout", &l.IdleTimeout, defaultIdleTimeout)
	dur("handshake timeout", &l.HandshakeTimeout, defaultHandshakeTimeout)
	dur("drain timeout", &l.DrainTimeout, defaultDrainTimeout)
	if err != nil {
		return l, err
	}
	l.BufferBytes = max(l.BufferBytes, l.MaxMessage+frameOverhead)
	return l, nil
}
