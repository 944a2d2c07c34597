package listen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/journal"
)

// TestJournalSink runs the server into a real journal: several clients
// send over TCP in mixed framings and close; the server is stopped at
// once (its drain must take what is still in flight); then the journal is
// read back and every message must be in it exactly once, from its own
// connection, and the journal must verify.
func TestJournalSink(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(dir, journal.Options{SegmentSize: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, j, Limits{MaxBatch: 100})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.ServeStream(ctx, ln, KindTCP) }()

	const conns, per = 6, 3000
	origins := make([]string, conns)
	var wg sync.WaitGroup
	for k := range conns {
		c := dial(t, ln.Addr().String())
		origins[k] = "syslog-tcp " + ln.Addr().String() + " <- " + c.LocalAddr().String()
		wg.Go(func() {
			defer c.Close()
			buf := make([]byte, 0, 64<<10)
			for i := range per {
				body := fmt.Sprintf("<134>1 2024-06-01T12:00:00.000Z host%d app 42 - - conn %d message %d", k, k, i)
				if (i+k)%3 == 0 {
					buf = fmt.Appendf(buf, "%d %s", len(body), body)
				} else {
					buf = fmt.Appendf(buf, "%s\n", body)
				}
				if len(buf) > 32<<10 || i == per-1 {
					if _, err := c.Write(buf); err != nil {
						t.Error(err)
						return
					}
					buf = buf[:0]
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, 5*time.Second, "every connection accepted", func() bool { return s.Stats().Accepted == conns })
	cancel() // at once: the clients' last bytes may not be read yet
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("ServeStream did not stop")
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	st := s.Stats()
	if st.Messages != conns*per || st.Lost != 0 || st.Truncated != 0 || st.SinkErrors != 0 {
		t.Fatalf("stats %+v", st)
	}
	r, err := journal.NewReader(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := make([][]bool, conns)
	for k := range seen {
		seen[k] = make([]bool, per)
	}
	n := 0
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var k, k2, i int
		if _, err := fmt.Sscanf(string(rec.Raw), "<134>1 2024-06-01T12:00:00.000Z host%d app 42 - - conn %d message %d", &k, &k2, &i); err != nil || k != k2 || k >= conns || i >= per {
			t.Fatalf("record %d: %q (%v)", rec.Seq, rec.Raw, err)
		}
		if seen[k][i] {
			t.Fatalf("conn %d message %d twice", k, i)
		}
		seen[k][i] = true
		if rec.Origin != origins[k] {
			t.Fatalf("record %d origin %q, want %q", rec.Seq, rec.Origin, origins[k])
		}
		n++
	}
	if n != conns*per {
		t.Fatalf("%d records in the journal, want %d", n, conns*per)
	}
	rep, err := journal.Verify(t.Context(), dir, nil)
	if err != nil {
		t.Fatalf("journal does not verify: %v", err)
	}
	if rep.Records != conns*per {
		t.Fatalf("verify read %d records", rep.Records)
	}
}
