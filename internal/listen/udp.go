package listen

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"github.com/kizuki-dev/kizuki/internal/journal"
)

// udpReadBuffer is the kernel receive buffer ServeUDP asks for (the kernel
// may grant less): a burst the reader cannot take at once waits there
// rather than being dropped where no counter sees it.
const udpReadBuffer = 4 << 20

// maxOrigins bounds the cache of UDP origins, one per sender address.
const maxOrigins = 4096

// datagram is one UDP message waiting for the sink.
type datagram struct {
	raw  []byte
	from netip.AddrPort // set when pc is a *net.UDPConn
	addr string         // otherwise
	at   time.Time
}

// ServeUDP receives syslog datagrams on pc until ctx ends, one message per
// datagram (RFC 5426), kept exactly as received. A reader goroutine takes
// datagrams off the socket into a queue bounded by Limits.UDPQueue and
// UDPQueueBytes, and sheds (counts as UDPShed) any that would overflow
// it: UDP has no way to slow a sender down, and a reader that waited for
// the disk would only move the loss into the kernel, where nothing counts
// it. This goroutine batches the queue into the sink.
//
// When ctx ends ServeUDP stops reading, journals what is queued (bounded
// by twice Limits.DrainTimeout) and returns nil. It returns an error when
// pc fails for good or the sink is closed. It closes pc in all cases.
func (s *Server) ServeUDP(ctx context.Context, pc net.PacketConn) error {
	defer pc.Close()
	rctx, stopReader := context.WithCancel(ctx)
	defer stopReader()
	hard, release := s.lifetime(ctx)
	defer release()
	if uc, ok := pc.(*net.UDPConn); ok {
		uc.SetReadBuffer(udpReadBuffer) // best effort
	}
	unwatch := context.AfterFunc(rctx, func() { pc.SetReadDeadline(time.Now()) })
	defer unwatch()

	q := make(chan datagram, s.lim.UDPQueue)
	var queued atomic.Int64
	rerr := make(chan error, 1)
	go func() {
		defer close(q)
		rerr <- s.readDatagrams(rctx, pc, q, &queued)
	}()
	local := addrString(pc.LocalAddr())
	if !s.appendDatagrams(ctx, hard, local, q, &queued) {
		stopReader()
		for d := range q { // the sink is gone: count what waits
			s.stats.lost.Add(1)
			queued.Add(-int64(len(d.raw)))
		}
		<-rerr
		return errorf("UDP on %s: the sink is closed", local)
	}
	return <-rerr
}

// readDatagrams moves datagrams from pc to q until ctx ends or pc fails.
func (s *Server) readDatagrams(ctx context.Context, pc net.PacketConn, q chan<- datagram, queued *atomic.Int64) error {
	buf := make([]byte, s.lim.MaxMessage+1) // one more, to see a datagram over the limit
	uc, _ := pc.(*net.UDPConn)
	wait := time.Millisecond
	for {
		var (
			n    int
			from netip.AddrPort
			addr net.Addr
			err  error
		)
		if uc != nil {
			n, from, err = uc.ReadFromUDPAddrPort(buf)
		} else {
			n, addr, err = pc.ReadFrom(buf)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return errorf("UDP read on %s: %w", addrString(pc.LocalAddr()), err)
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue // a deadline set by someone else; ours means stop
			}
			// Errors the socket recovers from (an ICMP error reported
			// on it): count, pause briefly, go on.
			s.stats.readErrors.Add(1)
			time.Sleep(wait)
			wait = min(2*wait, 100*time.Millisecond)
			continue
		}
		wait = time.Millisecond
		s.stats.bytesRead.Add(uint64(n))
		switch {
		case n == 0:
			s.stats.empty.Add(1)
			continue
		case n > s.lim.MaxMessage:
			s.stats.oversized.Add(1)
			continue
		}
		q0 := queued.Add(int64(n))
		if q0 > int64(s.lim.UDPQueueBytes) {
			queued.Add(-int64(n))
			s.stats.udpShed.Add(1)
			continue
		}
		if q0 > s.udpPeak.Load() {
			s.udpPeak.Store(q0) // one reader per queue; a rough peak across several is enough
		}
		d := datagram{raw: bytes.Clone(buf[:n]), from: from, at: time.Now()}
		if uc == nil {
			d.addr = addrString(addr)
		}
		select {
		case q <- d:
		default:
			queued.Add(-int64(n))
			s.stats.udpShed.Add(1)
		}
	}
}

// appendDatagrams batches q into the sink until q is closed. It returns
// false when the sink gave up (it is closed).
func (s *Server) appendDatagrams(ctx, hard context.Context, local string, q <-chan datagram, queued *atomic.Int64) bool {
	origins := make(map[netip.AddrPort]string)
	prefix := "syslog-udp " + local + " <- "
	originOf := func(d *datagram) string {
		if !d.from.IsValid() {
			return clip(prefix + d.addr)
		}
		o, ok := origins[d.from]
		if !ok {
			if len(origins) >= maxOrigins {
				clear(origins)
			}
			o = clip(prefix + d.from.String())
			origins[d.from] = o
		}
		return o
	}
	batch := make([]journal.Record, 0, min(s.lim.MaxBatch, 256))
	for d := range q {
		size := len(d.raw)
		batch = append(batch, journal.Record{Received: d.at, Origin: originOf(&d), Raw: d.raw})
	more:
		for len(batch) < s.lim.MaxBatch {
			select {
			case d, ok := <-q:
				if !ok {
					break more
				}
				size += len(d.raw)
				batch = append(batch, journal.Record{Received: d.at, Origin: originOf(&d), Raw: d.raw})
			default:
				break more
			}
		}
		ok := s.deliver(ctx, hard, batch)
		queued.Add(-int64(size))
		clear(batch) // let the datagrams go
		batch = batch[:0]
		if !ok {
			if hard.Err() != nil || ctx.Err() != nil {
				continue // stopping: the rest of the queue gets its try
			}
			return false
		}
	}
	return true
}

// clip bounds an origin to what the journal accepts.
func clip(o string) string {
	if len(o) > journal.MaxOriginLen {
		return o[:journal.MaxOriginLen]
	}
	return o
}
