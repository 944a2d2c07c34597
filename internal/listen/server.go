// Package listen receives syslog over UDP, TCP and TLS (RFC 3164 and 5424
// messages, RFC 6587 framing, RFC 5425 transport) and hands every message
// to a Sink, the journal in `kizuki serve`, as a raw record.
//
// The promise it keeps is the journal's: a stream connection reads a
// batch of what the sender has sent, hands the batch to the sink, waits
// until the sink says it is on disk, and only then reads on. Reading on is
// the acknowledgement syslog over TCP has (it lets TCP take more from the
// sender), so it is given only for what is durable, and a slow disk slows
// the senders down through TCP flow control instead of filling memory. A
// crash loses what no sender was acknowledged for by the server: the batch
// each connection has in flight, and the kernel's socket buffer, which TCP
// acknowledges on its own (the loss every syslog-over-TCP server without
// application acknowledgements shares). UDP has no flow control:
// datagrams wait in a bounded queue and are shed, and counted, when the
// sink falls behind.
//
// Nothing a sender does can crash the server or make it hold unbounded
// memory: messages, batches, buffers, queues, connections and waits are
// all bounded (Limits), and every message that does not reach the sink is
// counted in Stats under the reason. Messages are never parsed here: the
// journal keeps the bytes, parsing comes later and can be redone.
//
// When the sink fails (a full disk), a stream connection keeps its batch,
// reads nothing more, and retries with backoff (50 ms doubling to 5 s) for
// as long as the server runs: its sender is held back by TCP and goes on
// without loss once the disk has room, where closing would make it drop
// or spool. The UDP appender retries its batch the same way while new
// datagrams beyond the queue are shed. A closed sink (journal.ErrClosed)
// ends the connection, or ServeUDP. When the server stops, a failing batch
// gets one more try and is then counted as Lost. Framing decisions are
// described in framing.go.
package listen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kizuki-dev/kizuki/internal/journal"
)

// Sink makes records durable. *journal.Journal is one; tests use others.
//
// Append must return only once recs are durable, or fail having kept none
// of them, and must not keep recs or their Raw after it returns: Raw
// aliases a connection's read buffer, which the next read overwrites.
// It is called concurrently, by every connection at once.
type Sink interface {
	Append(ctx context.Context, recs []journal.Record) (journal.Seq, error)
}

// Options configures a Server. The zero value works.
type Options struct {
	Limits Limits
	// Logf receives what the server cannot return to a caller: a sink
	// that starts or stops failing, a listener that fails to accept. It
	// never receives message contents. Default: discarded.
	Logf func(format string, args ...any)
}

// Server receives syslog on any number of listeners at once, all feeding
// one sink and one set of Stats and limits. Its methods are safe for
// concurrent use.
type Server struct {
	sink  Sink
	lim   Limits
	logf  func(format string, args ...any)
	stats counters

	// failing is set while the sink's Appends fail, so that a failure is
	// logged once when it starts and once when it ends, not once per
	// connection and retry.
	failing atomic.Bool
	// udpPeak is the most bytes the UDP queues have held (tests check
	// the bound with it).
	udpPeak atomic.Int64
	// retryMin and retryMax bound the backoff between failed Appends
	// (tests shorten them).
	retryMin, retryMax time.Duration
}

// New returns a Server that hands what it receives to sink.
func New(sink Sink, opt Options) (*Server, error) {
	if sink == nil {
		return nil, errors.New("listen: nil sink")
	}
	lim, err := opt.Limits.withDefaults()
	if err != nil {
		return nil, err
	}
	logf := opt.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Server{sink: sink, lim: lim, logf: logf, retryMin: 50 * time.Millisecond, retryMax: 5 * time.Second}, nil
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// Limits returns the limits in force, defaults filled in.
func (s *Server) Limits() Limits { return s.lim }

// lifetime returns the context Appends run under: it outlives ctx, so
// that a batch already read is still written when the server is asked to
// stop, but only by twice the drain timeout, so that stopping is bounded
// even when the sink hangs.
func (s *Server) lifetime(ctx context.Context) (context.Context, func()) {
	hard, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(2*s.lim.DrainTimeout, cancel) })
	return hard, func() { stop(); cancel() }
}

// deliver hands recs to the sink and returns once they are durable.
//
// A failed Append (a full disk, an I/O error) is retried with backoff for
// as long as the server runs, while the caller reads nothing more: the
// sender is held back by TCP, and resumes without loss once the disk has
// room. Once ctx has ended a batch gets one more try. deliver returns false
// when it gave recs up (counted as Lost): the sink is closed, or the
// server is stopping; the caller must then stop reading. A record the sink
// refuses as too large is dropped alone (SinkRejected).
func (s *Server) deliver(ctx, hard context.Context, recs []journal.Record) bool {
	wait := s.retryMin
	for {
		_, err := s.sink.Append(hard, recs)
		if err == nil {
			s.delivered(recs)
			return true
		}
		s.stats.sinkErrors.Add(1)
		switch {
		case errors.Is(err, journal.ErrTooLarge) && len(recs) > 1:
			return s.deliverEach(ctx, hard, recs)
		case errors.Is(err, journal.ErrTooLarge):
			s.stats.sinkRejected.Add(1)
			s.logf("listen: the sink refused a record of %d bytes as too large (lower Limits.MaxMessage to the journal's MaxRecordSize): %v", len(recs[0].Raw), err)
			return true
		case errors.Is(err, journal.ErrClosed), hard.Err() != nil, ctx.Err() != nil:
			s.stats.lost.Add(uint64(len(recs)))
			s.sinkFailed(err)
			return false
		}
		s.sinkFailed(err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done(): // stopping: one more try at once
			t.Stop()
		}
		wait = min(2*wait, s.retryMax)
	}
}

// deliverEach appends recs one by one, after the sink refused them
// together because one of them is too large.
func (s *Server) deliverEach(ctx, hard context.Context, recs []journal.Record) bool {
	for i := range recs {
		if !s.deliver(ctx, hard, recs[i:i+1]) {
			s.stats.lost.Add(uint64(len(recs) - i - 1))
			return false
		}
	}
	return true
}

func (s *Server) delivered(recs []journal.Record) {
	n := 0
	for i := range recs {
		n += len(recs[i].Raw)
	}
	s.stats.messages.Add(uint64(len(recs)))
	s.stats.bytes.Add(uint64(n))
	s.stats.batches.Add(1)
	if s.failing.Load() && s.failing.CompareAndSwap(true, false) {
		s.logf("listen: the sink accepts records again")
	}
}

func (s *Server) sinkFailed(err error) {
	if s.failing.CompareAndSwap(false, true) {
		s.logf("listen: the sink failed; holding senders back and retrying: %v", err)
	}
}

// origin names a listener and a peer for Record.Origin, e.g.
// "syslog-tcp 127.0.0.1:5514 <- 10.0.0.5:51234", with the verified
// client certificate's name after it on TLS.
func origin(kind string, local, peer net.Addr, client string) string {
	var b strings.Builder
	b.WriteString("syslog-")
	b.WriteString(kind)
	b.WriteByte(' ')
	b.WriteString(addrString(local))
	b.WriteString(" <- ")
	b.WriteString(addrString(peer))
	if client != "" {
		b.WriteString(" cn=")
		b.WriteString(client)
	}
	return clip(b.String())
}

func addrString(a net.Addr) string {
	if a == nil {
		return "-"
	}
	return a.String()
}

// maxClientName bounds the certificate name put in an origin.
const maxClientName = 128

// clientName returns a printable form of a certificate's name: the name
// is the sender's (though a CA vouched for it), and the origin must not
// carry control characters or spaces into logs and reports.
func clientName(name string) string {
	b := []byte(name)
	if len(b) > maxClientName {
		b = b[:maxClientName]
	}
	for i, c := range b {
		if c <= ' ' || c >= 0x7f {
			b[i] = '_'
		}
	}
	return string(b)
}

// retryAccept is how long ServeStream waits after a failed Accept, at
// most: the failures it survives (no file descriptors left) pass, and a
// busy loop would only make them worse.
const retryAccept = time.Second

// errorf wraps err with the package's prefix.
func errorf(format string, args ...any) error {
	return fmt.Errorf("listen: "+format, args...)
}

// The journal is the sink `kizuki serve` uses.
var _ Sink = (*journal.Journal)(nil)
