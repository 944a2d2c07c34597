package listen

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/kizuki-dev/kizuki/internal/journal"
)

// Stream listener kinds, for ServeStream and the records' Origin.
const (
	KindTCP = "tcp" // syslog over TCP (RFC 6587)
	KindTLS = "tls" // syslog over TLS (RFC 5425): a tls.NewListener
)

// Default listening addresses of `kizuki serve`: unprivileged ports, so
// the server needs no root (senders or a port redirect map 514 to them),
// and 6514, the port RFC 5425 assigns to syslog over TLS.
const (
	DefaultSyslogAddr = ":5514" // UDP and TCP
	DefaultTLSAddr    = ":6514"
)

// ServeStream accepts syslog connections on ln until ctx ends, and serves
// each on its own goroutine. kind is KindTCP or KindTLS; for KindTLS, ln
// is a tls.NewListener and each connection's handshake is bounded by
// Limits.HandshakeTimeout.
//
// When ctx ends ServeStream stops accepting, lets each connection read
// what its sender has already sent for up to Limits.DrainTimeout and
// journal it, waits for them all, and returns nil. It returns an error
// when ln fails in a way retrying cannot mend (after draining the same
// way). It closes ln in every case, an unknown kind too.
func (s *Server) ServeStream(ctx context.Context, ln net.Listener, kind string) error {
	if kind != KindTCP && kind != KindTLS {
		ln.Close()
		return errorf("unknown stream kind %q (want %q or %q)", kind, KindTCP, KindTLS)
	}
	cctx, stopConns := context.WithCancel(ctx)
	defer stopConns()
	hard, release := s.lifetime(cctx)
	defer release()
	unwatch := context.AfterFunc(cctx, func() { ln.Close() })
	defer unwatch()

	var wg sync.WaitGroup
	var err error
	wait := 5 * time.Millisecond
	failing := false
	for {
		c, aerr := ln.Accept()
		if aerr != nil {
			if cctx.Err() != nil {
				break
			}
			if errors.Is(aerr, net.ErrClosed) {
				err = errorf("accept on %s: %w", addrString(ln.Addr()), aerr)
				break
			}
			s.stats.acceptErrors.Add(1)
			if !failing {
				failing = true
				s.logf("listen: accept on %s failed, retrying: %v", addrString(ln.Addr()), aerr)
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-cctx.Done():
				t.Stop()
			}
			wait = min(2*wait, retryAccept)
			continue
		}
		wait, failing = 5*time.Millisecond, false
		if s.stats.active.Add(1) > int64(s.lim.MaxConns) {
			s.stats.active.Add(-1)
			s.stats.refused.Add(1)
			c.Close()
			continue
		}
		s.stats.accepted.Add(1)
		wg.Go(func() {
			defer s.stats.active.Add(-1)
			s.serveConn(cctx, hard, c, kind)
		})
	}
	stopConns()
	ln.Close()
	wg.Wait()
	return err
}

// serveConn reads one connection until it ends, in batches: frame what is
// buffered (up to Limits.MaxBatch), deliver it, and read again only once
// the sink has it on disk.
func (s *Server) serveConn(ctx, hard context.Context, c net.Conn, kind string) {
	defer c.Close()
	client := ""
	if tc, ok := c.(*tls.Conn); ok {
		hctx, cancel := context.WithTimeout(ctx, s.lim.HandshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			s.stats.handshakeFailed.Add(1)
			return
		}
		if st := tc.ConnectionState(); len(st.VerifiedChains) > 0 && len(st.VerifiedChains[0]) > 0 {
			leaf := st.VerifiedChains[0][0]
			name := leaf.Subject.CommonName
			if name == "" && len(leaf.DNSNames) > 0 {
				name = leaf.DNSNames[0]
			}
			client = clientName(name)
		}
	}
	org := origin(kind, c.LocalAddr(), c.RemoteAddr(), client)
	dl := newDeadlines(ctx, c, s.lim)
	defer dl.release()

	fr := newFramer(s.lim.MaxMessage, s.lim.BufferBytes)
	batch := make([]journal.Record, 0, min(s.lim.MaxBatch, 256))
	var fc frameCounts
	var received time.Time
	var rerr error
	for {
		for len(batch) < s.lim.MaxBatch {
			msg, k := fr.next()
			if k == frameNone {
				break
			}
			if k == frameMsg {
				batch = append(batch, journal.Record{Received: received, Origin: org, Raw: msg})
				continue
			}
			fc.add(k)
		}
		s.stats.addFrames(&fc)
		if len(batch) > 0 {
			ok := s.deliver(ctx, hard, batch)
			clear(batch)
			batch = batch[:0]
			if !ok {
				return
			}
			continue
		}
		if rerr != nil {
			break
		}
		dl.beforeRead()
		n, err := fr.fill(c)
		received = time.Now()
		if n > 0 {
			s.stats.bytesRead.Add(uint64(n))
		}
		rerr = err // frame what came with it first
	}

	if rerr == io.EOF {
		msg, k := fr.finish()
		if k == frameMsg {
			batch = append(batch, journal.Record{Received: received, Origin: org, Raw: msg})
			s.deliver(ctx, hard, batch)
		} else {
			fc.add(k)
		}
		s.stats.addFrames(&fc)
		return
	}
	if fr.pending() {
		s.stats.truncated.Add(1)
	}
	switch {
	case errors.Is(rerr, os.ErrDeadlineExceeded) && dl.draining():
		// The drain after ctx ended is over; not the sender's fault.
	case errors.Is(rerr, os.ErrDeadlineExceeded):
		s.stats.idleClosed.Add(1)
	case errors.Is(rerr, errBufferFull):
		s.stats.readErrors.Add(1)
		s.logf("listen: %v (from %s)", rerr, addrString(c.RemoteAddr()))
	default:
		s.stats.readErrors.Add(1)
	}
}

// add counts one framing event that is not a message.
func (f *frameCounts) add(k frameKind) {
	switch k {
	case frameOversized:
		f.oversized++
	case frameBadCount:
		f.badCounts++
	case frameEmpty:
		f.empty++
	case frameTruncated:
		f.truncated++
	}
}

// deadlines sets a connection's read deadline: the idle timeout before
// each read, until ctx ends; then one fixed drain deadline, which a read
// already blocked sees too. The mutex orders the two, so that an idle
// deadline set just as ctx ends cannot push the drain deadline back.
type deadlines struct {
	mu       sync.Mutex
	c        net.Conn
	idle     time.Duration
	stopping bool
	release  func() bool
}

func newDeadlines(ctx context.Context, c net.Conn, lim Limits) *deadlines {
	d := &deadlines{c: c, idle: lim.IdleTimeout}
	d.release = context.AfterFunc(ctx, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.stopping = true
		d.c.SetReadDeadline(time.Now().Add(lim.DrainTimeout))
	})
	return d
}

func (d *deadlines) beforeRead() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.stopping {
		d.c.SetReadDeadline(time.Now().Add(d.idle))
	}
}

func (d *deadlines) draining() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stopping
}
