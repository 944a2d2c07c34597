package listen

import (
	"fmt"
	"net"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/journal"
)

func dialUDP(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestUDP checks that each datagram is one record, kept exactly (with a
// trailing LF if it has one), with its sender in the origin; that empty and
// oversized datagrams are counted; and that stopping journals the queue.
func TestUDP(t *testing.T) {
	sink := &memSink{}
	s := newServer(t, sink, Limits{MaxMessage: 100})
	srv := serveUDP(t, s)
	c1, c2 := dialUDP(t, srv.addr), dialUDP(t, srv.addr)
	send := func(c net.Conn, m string) {
		if _, err := c.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	send(c1, "<13>Jan  1 00:00:00 h app: one")
	send(c2, "<13>1 2024-01-01T00:00:00Z h app - - - two\n")
	send(c1, "")
	send(c1, strings.Repeat("x", 101))
	send(c1, "<13>three")
	waitFor(t, 5*time.Second, "three messages", func() bool { return s.Stats().Messages == 3 })
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"<13>Jan  1 00:00:00 h app: one":               c1.LocalAddr().String(),
		"<13>1 2024-01-01T00:00:00Z h app - - - two\n": c2.LocalAddr().String(),
		"<13>three": c1.LocalAddr().String(),
	}
	for _, r := range sink.records() {
		peer, ok := want[string(r.Raw)]
		if !ok {
			t.Fatalf("unexpected record %q", r.Raw)
		}
		if o := "syslog-udp " + srv.addr + " <- " + peer; r.Origin != o {
			t.Errorf("origin %q, want %q", r.Origin, o)
		}
		delete(want, string(r.Raw))
	}
	if len(want) > 0 {
		t.Fatalf("missing %q", want)
	}
	if st := s.Stats(); st.Empty != 1 || st.Oversized != 1 || st.UDPShed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestUDPFlood sends far more datagrams than a slow sink takes and checks
// that the excess is shed and counted, that the queue never holds more
// than its limit, and that the server keeps working.
func TestUDPFlood(t *testing.T) {
	sink := &memSink{delay: 20 * time.Millisecond}
	const queueBytes = 32 << 10
	s := newServer(t, sink, Limits{UDPQueue: 64, UDPQueueBytes: queueBytes, MaxBatch: 16})
	srv := serveUDP(t, s)
	c := dialUDP(t, srv.addr)
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 20000
	msg := []byte("<13>1 2024-01-01T00:00:00Z host app - - - " + strings.Repeat("f", 450))
	for i := range n {
		if _, err := c.Write(msg); err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
	}
	// Every datagram the server read is journaled, shed, or still queued;
	// wait for the queue to empty (the kernel may have dropped others).
	waitFor(t, 10*time.Second, "the queue to drain", func() bool {
		st := s.Stats()
		return st.BytesRead > 0 && st.Messages+st.UDPShed == st.BytesRead/uint64(len(msg))
	})
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	st := s.Stats()
	t.Logf("sent %d, read %d, journaled %d, shed %d, peak queue %d bytes, heap %d -> %d KiB",
		n, st.BytesRead/uint64(len(msg)), st.Messages, st.UDPShed, s.udpPeak.Load(), before.HeapInuse>>10, after.HeapInuse>>10)
	if st.UDPShed == 0 {
		t.Fatal("nothing shed: the flood did not outrun the sink")
	}
	if st.Messages == 0 || st.Messages+st.UDPShed > n {
		t.Fatalf("journaled %d and shed %d of %d", st.Messages, st.UDPShed, n)
	}
	if p := s.udpPeak.Load(); p > queueBytes {
		t.Fatalf("queue held %d bytes, limit %d", p, queueBytes)
	}
	// Still serving.
	if _, err := c.Write([]byte("<13>after the flood")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "a message after the flood", func() bool {
		raws := sink.raws()
		return len(raws) > 0 && raws[len(raws)-1] == "<13>after the flood"
	})
}

// TestUDPSinkFailing makes the sink fail for a while: the batch in hand
// is retried and kept, datagrams beyond the queue are shed, and the
// server goes on once the sink recovers.
func TestUDPSinkFailing(t *testing.T) {
	failUntil := time.Now().Add(300 * time.Millisecond)
	sink := &memSink{fail: func(int, int) error {
		if time.Now().Before(failUntil) {
			return journal.ErrDiskFull
		}
		return nil
	}}
	s := newServer(t, sink, Limits{UDPQueue: 4})
	srv := serveUDP(t, s)
	c := dialUDP(t, srv.addr)
	for i := range 50 {
		if _, err := fmt.Fprintf(c, "<13>m%d", i); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	waitFor(t, 5*time.Second, "the sink to recover", func() bool {
		st := s.Stats()
		return st.Messages > 0 && st.Messages+st.UDPShed == 50
	})
	st := s.Stats()
	if st.SinkErrors == 0 || st.UDPShed == 0 || st.Lost != 0 {
		t.Fatalf("stats %+v", st)
	}
	raws := sink.raws()
	if raws[0] != "<13>m0" || !slices.IsSortedFunc(raws, func(a, b string) int {
		var x, y int
		fmt.Sscanf(a, "<13>m%d", &x)
		fmt.Sscanf(b, "<13>m%d", &y)
		return x - y
	}) {
		t.Fatalf("records %q: the first batch should be kept and order too", raws)
	}
}

// TestUDPSinkClosed checks that ServeUDP returns an error when the sink
// is closed.
func TestUDPSinkClosed(t *testing.T) {
	sink := &memSink{fail: func(int, int) error { return journal.ErrClosed }}
	s := newServer(t, sink, Limits{})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.ServeUDP(t.Context(), pc) }()
	c := dialUDP(t, pc.LocalAddr().String())
	if _, err := c.Write([]byte("<13>x")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("no error with a closed sink")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeUDP went on with a closed sink")
	}
	if st := s.Stats(); st.Lost != 1 {
		t.Fatalf("lost %d, want 1", st.Lost)
	}
}
