package listen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/journal"
)

// TestStreamTCP sends every framing over one TCP connection and checks
// the records: raw bytes, order, origin and receive time.
func TestStreamTCP(t *testing.T) {
	sink := &memSink{}
	s := newServer(t, sink, Limits{MaxMessage: 64})
	srv := serveStream(t, s, KindTCP, nil)
	c := dial(t, srv.addr)
	before := time.Now()
	write(t, c, "<13>1 2024-01-01T00:00:00Z h app - - - lf\n")
	write(t, c, "<13>Jan  1 00:00:00 h app: crlf\r\n")
	write(t, c, "25 <13>1 - h app - - - octet")
	write(t, c, "<13>nul\x00\n")
	write(t, c, strings.Repeat("x", 65)+"\n")  // oversized line
	write(t, c, "70 "+strings.Repeat("y", 70)) // oversized octet frame
	write(t, c, "05 bad count\n<13>last")
	c.Close()
	want := []string{
		"<13>1 2024-01-01T00:00:00Z h app - - - lf",
		"<13>Jan  1 00:00:00 h app: crlf",
		"<13>1 - h app - - - octet",
		"<13>nul",
		"05 bad count",
		"<13>last",
	}
	waitFor(t, 5*time.Second, "the messages", func() bool { return s.Stats().Messages == uint64(len(want)) && s.Stats().Active == 0 })
	if got := sink.raws(); !slices.Equal(got, want) {
		t.Fatalf("records\n got %q\nwant %q", got, want)
	}
	wantOrigin := "syslog-tcp " + srv.addr + " <- " + c.LocalAddr().String()
	for _, r := range sink.records() {
		if r.Origin != wantOrigin {
			t.Errorf("origin %q, want %q", r.Origin, wantOrigin)
		}
		if r.Received.Before(before) || r.Received.After(time.Now()) {
			t.Errorf("received %v outside the test", r.Received)
		}
	}
	st := s.Stats()
	if st.Oversized != 2 || st.BadOctetCounts != 1 || st.Empty != 1 || st.Accepted != 1 || st.Truncated != 0 || st.ReadErrors != 0 {
		t.Errorf("stats %+v", st)
	}
	if n := uint64(len(strings.Join(want, ""))); st.Bytes != n {
		t.Errorf("Bytes %d, want %d", st.Bytes, n)
	}
}

// TestBatchLimit checks that a burst is handed to the sink in batches of
// at most MaxBatch, and that every message arrives once, in order.
func TestBatchLimit(t *testing.T) {
	sink := &memSink{}
	s := newServer(t, sink, Limits{MaxBatch: 10})
	srv := serveStream(t, s, KindTCP, nil)
	c := dial(t, srv.addr)
	var b strings.Builder
	var want []string
	for i := range 1000 {
		m := fmt.Sprintf("<13>message %d", i)
		want = append(want, m)
		b.WriteString(m + "\n")
	}
	write(t, c, b.String())
	c.Close()
	waitFor(t, 5*time.Second, "1000 messages", func() bool { return s.Stats().Messages == 1000 })
	if got := sink.raws(); !slices.Equal(got, want) {
		t.Fatal("messages lost, repeated or reordered")
	}
	if sink.maxRecs > 10 {
		t.Fatalf("a batch of %d records, limit 10", sink.maxRecs)
	}
}

// TestMaxConns checks that a connection beyond MaxConns is closed at once
// and counted, and that its slot is free again once one closes.
func TestMaxConns(t *testing.T) {
	s := newServer(t, &memSink{}, Limits{MaxConns: 2})
	srv := serveStream(t, s, KindTCP, nil)
	c1, c2 := dial(t, srv.addr), dial(t, srv.addr)
	waitFor(t, 5*time.Second, "two accepted connections", func() bool { return s.Stats().Active == 2 })
	c3 := dial(t, srv.addr)
	closedByServer(t, c3, 5*time.Second)
	if st := s.Stats(); st.Refused != 1 || st.Accepted != 2 {
		t.Fatalf("refused %d accepted %d, want 1 and 2", st.Refused, st.Accepted)
	}
	c1.Close()
	waitFor(t, 5*time.Second, "the first connection to end", func() bool { return s.Stats().Active == 1 })
	c4 := dial(t, srv.addr)
	write(t, c4, "<13>fourth\n")
	write(t, c2, "<13>second\n")
	waitFor(t, 5*time.Second, "two messages", func() bool { return s.Stats().Messages == 2 })
	if st := s.Stats(); st.Refused != 1 || st.Accepted != 3 {
		t.Fatalf("refused %d accepted %d, want 1 and 3", st.Refused, st.Accepted)
	}
}

// TestIdleTimeout checks that a silent connection is closed and counted,
// and that a message it left unfinished is counted as truncated.
func TestIdleTimeout(t *testing.T) {
	sink := &memSink{}
	s := newServer(t, sink, Limits{IdleTimeout: 150 * time.Millisecond})
	srv := serveStream(t, s, KindTCP, nil)
	silent := dial(t, srv.addr)
	partial := dial(t, srv.addr)
	write(t, partial, "<13>done\n<13>half a mess")
	start := time.Now()
	closedByServer(t, silent, 5*time.Second)
	closedByServer(t, partial, 5*time.Second)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("closed after %v, before the idle timeout", d)
	}
	waitFor(t, 5*time.Second, "both connections to end", func() bool { return s.Stats().Active == 0 })
	st := s.Stats()
	if st.IdleClosed != 2 || st.Truncated != 1 || st.Messages != 1 {
		t.Fatalf("idle closed %d truncated %d messages %d, want 2, 1, 1", st.IdleClosed, st.Truncated, st.Messages)
	}
}

// smallBuffers makes the kernel's socket buffers small, so that a test of
// back-pressure fills them with little data.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetReadBuffer(16 << 10)
	}
	return c, err
}

// TestBackPressure holds the sink and checks that the server stops
// reading (it holds at most one buffer of data, and the sender is blocked),
// then releases it and checks that every message arrives.
func TestBackPressure(t *testing.T) {
	release := make(chan struct{})
	sink := &memSink{onCall: func(int, []journal.Record) { <-release }}
	const buffer = 64 << 10
	s := newServer(t, sink, Limits{BufferBytes: buffer, MaxMessage: 1024})
	srv := serveStream(t, s, KindTCP, func(ln net.Listener) net.Listener { return smallBuffers{ln} })
	c := dial(t, srv.addr)
	c.(*net.TCPConn).SetWriteBuffer(16 << 10)

	const n = 40000 // 8 MB: far more than the buffers on both sides
	line := "<13>1 2024-01-01T00:00:00Z host app - - - " + strings.Repeat("m", 150)
	var sent atomic.Int64
	done := make(chan error, 1)
	go func() {
		c.SetWriteDeadline(time.Now().Add(20 * time.Second))
		for i := range n {
			if _, err := fmt.Fprintf(c, "%s %06d\n", line, i); err != nil {
				done <- err
				return
			}
			sent.Add(1)
		}
		done <- c.Close()
	}()
	// Let the sender run into the wall.
	var last int64 = -1
	waitFor(t, 10*time.Second, "the sender to be blocked", func() bool {
		time.Sleep(100 * time.Millisecond)
		cur := sent.Load()
		stalled := cur == last
		last = cur
		return stalled
	})
	st := s.Stats()
	if st.BytesRead > buffer {
		t.Fatalf("server read %d bytes while its sink was held, buffer %d", st.BytesRead, buffer)
	}
	if last >= n {
		t.Fatal("the sender was never held back")
	}
	t.Logf("held: sender wrote %d of %d messages, server read %d bytes", last, n, st.BytesRead)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "every message", func() bool { return s.Stats().Messages == n })
	for i, r := range sink.records() {
		if want := fmt.Sprintf("%s %06d", line, i); string(r.Raw) != want {
			t.Fatalf("record %d is %q", i, r.Raw)
		}
	}
}

// TestSinkFailureRetried makes the sink fail (a full disk) and checks that
// the connection waits and retries, and that every message arrives once.
func TestSinkFailureRetried(t *testing.T) {
	sink := &memSink{fail: func(call, _ int) error {
		if call < 3 {
			return fmt.Errorf("wrapped: %w", journal.ErrDiskFull)
		}
		return nil
	}}
	var logs atomic.Int32
	s, err := New(sink, Options{Logf: func(f string, a ...any) { logs.Add(1); t.Logf(f, a...) }})
	if err != nil {
		t.Fatal(err)
	}
	s.retryMin, s.retryMax = time.Millisecond, 10*time.Millisecond
	srv := serveStream(t, s, KindTCP, nil)
	c := dial(t, srv.addr)
	var want []string
	for i := range 20 {
		want = append(want, fmt.Sprintf("<13>m%d", i))
	}
	write(t, c, strings.Join(want, "\n")+"\n")
	c.Close()
	waitFor(t, 5*time.Second, "the messages", func() bool { return s.Stats().Messages == 20 })
	if got := sink.raws(); !slices.Equal(got, want) {
		t.Fatalf("got %q", got)
	}
	st := s.Stats()
	if st.SinkErrors != 3 || st.Lost != 0 {
		t.Fatalf("sink errors %d lost %d, want 3 and 0", st.SinkErrors, st.Lost)
	}
	if logs.Load() != 2 {
		t.Errorf("%d log lines, want 2 (failing, recovered)", logs.Load())
	}
}

// TestSinkClosed checks that a closed sink closes the connection and
// counts the batch as lost.
func TestSinkClosed(t *testing.T) {
	sink := &memSink{fail: func(int, int) error { return journal.ErrClosed }}
	s := newServer(t, sink, Limits{})
	srv := serveStream(t, s, KindTCP, nil)
	c := dial(t, srv.addr)
	write(t, c, "<13>a\n<13>b\n")
	closedByServer(t, c, 5*time.Second)
	waitFor(t, 5*time.Second, "the connection to end", func() bool { return s.Stats().Active == 0 })
	if st := s.Stats(); st.Lost != 2 || st.Messages != 0 {
		t.Fatalf("lost %d messages %d, want 2 and 0", st.Lost, st.Messages)
	}
}

// TestTooLargeForSink checks that a record the sink refuses as too large
// is dropped alone and the rest of its batch is kept.
func TestTooLargeForSink(t *testing.T) {
	sink := &memSink{check: func(recs []journal.Record) error {
		for _, r := range recs {
			if len(r.Raw) > 10 {
				return fmt.Errorf("%w: raw record", journal.ErrTooLarge)
			}
		}
		return nil
	}}
	s := newServer(t, sink, Limits{})
	srv := serveStream(t, s, KindTCP, nil)
	c := dial(t, srv.addr)
	write(t, c, "<13>a\n<13>far too long\n<13>b\n")
	c.Close()
	// Accepted first: before the server took the connection, Active is
	// 0 too.
	waitFor(t, 5*time.Second, "the connection to end", func() bool { st := s.Stats(); return st.Accepted == 1 && st.Active == 0 })
	if got := sink.raws(); !slices.Equal(got, []string{"<13>a", "<13>b"}) {
		t.Fatalf("got %q", got)
	}
	if st := s.Stats(); st.SinkRejected != 1 || st.Lost != 0 {
		t.Fatalf("rejected %d lost %d", st.SinkRejected, st.Lost)
	}
}

// TestShutdownDrains stops the server while a client's messages are in
// flight and checks that everything the client sent before is journaled
// and the client sees the connection close.
func TestShutdownDrains(t *testing.T) {
	sink := &memSink{delay: 20 * time.Millisecond}
	s := newServer(t, sink, Limits{DrainTimeout: time.Second})
	srv := serveStream(t, s, KindTCP, nil)
	c := dial(t, srv.addr)
	var want []string
	var b strings.Builder
	for i := range 300 {
		want = append(want, fmt.Sprintf("<13>m%d", i))
		b.WriteString(want[i] + "\n")
	}
	write(t, c, b.String()+"<13>unfinished")
	waitFor(t, 5*time.Second, "the connection", func() bool { return s.Stats().Accepted == 1 })
	start := time.Now()
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stopping took %v", d)
	}
	closedByServer(t, c, 5*time.Second)
	if got := sink.raws(); !slices.Equal(got, want) {
		t.Fatalf("journaled %d of %d messages", len(got), len(want))
	}
	if st := s.Stats(); st.Truncated != 1 || st.Lost != 0 || st.Active != 0 {
		t.Fatalf("stats %+v", st)
	}
	// The listener is closed.
	if c, err := net.DialTimeout("tcp", srv.addr, time.Second); err == nil {
		c.Close()
		t.Fatal("listener still accepting after stop")
	}
}

// TestShutdownBounded stops the server while the sink hangs and checks
// that it returns within twice the drain timeout, counting the batch lost.
func TestShutdownBounded(t *testing.T) {
	sink := &memSink{gate: make(chan struct{})} // never opened
	s := newServer(t, sink, Limits{DrainTimeout: 100 * time.Millisecond})
	srv := serveStream(t, s, KindTCP, nil)
	c := dial(t, srv.addr)
	write(t, c, "<13>a\n<13>b\n")
	waitFor(t, 5*time.Second, "the append", func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return sink.appends > 0
	})
	start := time.Now()
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("stopping took %v, want about 200 ms", d)
	}
	if st := s.Stats(); st.Lost != 2 {
		t.Fatalf("lost %d, want 2", st.Lost)
	}
}

// TestManyConnections runs concurrent senders and checks that each
// message arrives exactly once, with its connection's origin.
func TestManyConnections(t *testing.T) {
	sink := &memSink{}
	s := newServer(t, sink, Limits{MaxBatch: 7})
	srv := serveStream(t, s, KindTCP, nil)
	const conns, per = 8, 500
	var wg sync.WaitGroup
	origins := make([]string, conns)
	for k := range conns {
		c := dial(t, srv.addr)
		origins[k] = "syslog-tcp " + srv.addr + " <- " + c.LocalAddr().String()
		wg.Go(func() {
			defer c.Close()
			for i := range per {
				var m string
				if i%2 == 0 {
					m = fmt.Sprintf("<13>c%d m%d\n", k, i)
				} else {
					body := fmt.Sprintf("<13>c%d m%d", k, i)
					m = fmt.Sprintf("%d %s", len(body), body)
				}
				if _, err := c.Write([]byte(m)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, 10*time.Second, "every message", func() bool { return s.Stats().Messages == conns*per })
	seen := make(map[string]bool)
	for _, r := range sink.records() {
		var k, i int
		if _, err := fmt.Sscanf(string(r.Raw), "<13>c%d m%d", &k, &i); err != nil {
			t.Fatalf("record %q: %v", r.Raw, err)
		}
		if r.Origin != origins[k] {
			t.Fatalf("record %q from origin %q, want %q", r.Raw, r.Origin, origins[k])
		}
		if seen[string(r.Raw)] {
			t.Fatalf("record %q twice", r.Raw)
		}
		seen[string(r.Raw)] = true
	}
	if len(seen) != conns*per {
		t.Fatalf("%d distinct records, want %d", len(seen), conns*per)
	}
}

// TestServeStreamErrors checks the errors ServeStream returns.
func TestServeStreamErrors(t *testing.T) {
	s := newServer(t, &memSink{}, Limits{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ServeStream(context.Background(), ln, "udp"); err == nil {
		t.Fatal("unknown kind accepted")
	}
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // closed under the server: an error, not a hang
	if err := s.ServeStream(context.Background(), ln, KindTCP); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("got %v, want net.ErrClosed", err)
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Fatal("nil sink accepted")
	}
	if _, err := New(&memSink{}, Options{Limits: Limits{MaxMessage: -1}}); err == nil {
		t.Fatal("negative limit accepted")
	}
	if _, err := New(&memSink{}, Options{Limits: Limits{MaxMessage: journal.MaxRecordLimit + 1}}); err == nil {
		t.Fatal("max message over the journal's limit accepted")
	}
	lim := s.Limits()
	if lim.MaxMessage != 64<<10 || lim.BufferBytes < lim.MaxMessage+frameOverhead || lim.IdleTimeout <= 0 {
		t.Fatalf("defaults %+v", lim)
	}
}
