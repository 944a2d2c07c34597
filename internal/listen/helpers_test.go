package listen

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/journal"
)

// memSink is a Sink in memory that can be slow, fail, or hold Appends
// until released.
type memSink struct {
	mu      sync.Mutex
	recs    []journal.Record
	appends int
	// Set before use:
	delay   time.Duration                         // each Append sleeps this long
	fail    func(call int, n int) error           // error for the call-th Append (0-based) of n records
	gate    chan struct{}                         // when set, each Append waits for a receive
	check   func(recs []journal.Record) error     // e.g. a size limit
	onCall  func(call int, recs []journal.Record) // observes Appends
	maxRecs int                                   // largest batch seen
}

func (m *memSink) Append(ctx context.Context, recs []journal.Record) (journal.Seq, error) {
	m.mu.Lock()
	call := m.appends
	m.appends++
	m.maxRecs = max(m.maxRecs, len(recs))
	m.mu.Unlock()
	if m.onCall != nil {
		m.onCall(call, recs)
	}
	if m.gate != nil {
		select {
		case <-m.gate:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	if m.delay > 0 {
		t := time.NewTimer(m.delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		}
	}
	if m.fail != nil {
		if err := m.fail(call, len(recs)); err != nil {
			return 0, err
		}
	}
	if m.check != nil {
		if err := m.check(recs); err != nil {
			return 0, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	seq := journal.Seq(len(m.recs))
	for _, r := range recs {
		r.Raw = bytes.Clone(r.Raw) // the caller's buffer is reused
		m.recs = append(m.recs, r)
	}
	return seq, nil
}

func (m *memSink) records() []journal.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.recs)
}

func (m *memSink) raws() []string {
	var out []string
	for _, r := range m.records() {
		out = append(out, string(r.Raw))
	}
	return out
}

// newServer returns a Server with short retry waits, for tests.
func newServer(t testing.TB, sink Sink, lim Limits) *Server {
	t.Helper()
	s, err := New(sink, Options{Limits: lim, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	s.retryMin, s.retryMax = time.Millisecond, 20*time.Millisecond
	return s
}

// serving is a listener run by a test; stop ends it and returns its error.
type serving struct {
	addr string
	stop func() error
}

// serveStream runs ServeStream on a new 127.0.0.1 listener (wrapped by
// wrap when set) until stop or the end of the test.
func serveStream(t testing.TB, s *Server, kind string, wrap func(net.Listener) net.Listener) *serving {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if wrap != nil {
		ln = wrap(ln)
	}
	return run(t, addr, func(ctx context.Context) error { return s.ServeStream(ctx, ln, kind) })
}

// serveUDP runs ServeUDP on a new 127.0.0.1 socket.
func serveUDP(t testing.TB, s *Server) *serving {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return run(t, pc.LocalAddr().String(), func(ctx context.Context) error { return s.ServeUDP(ctx, pc) })
}

func run(t testing.TB, addr string, serve func(context.Context) error) *serving {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(15 * time.Second):
				err = errors.New("server did not stop within 15 s")
			}
		})
		return err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return &serving{addr: addr, stop: stop}
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// dial connects to addr, failing the test on error.
func dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// write sends b on c, failing the test on error.
func write(t testing.TB, c net.Conn, b string) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(b)); err != nil {
		t.Fatal(err)
	}
}

// closedByServer waits for the server to close c: a read returns EOF or
// a reset.
func closedByServer(t testing.TB, c net.Conn, within time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	var b [64]byte
	_, err := c.Read(b[:])
	if err == nil {
		t.Fatal("server sent data")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("server did not close the connection within %v", within)
	}
}
