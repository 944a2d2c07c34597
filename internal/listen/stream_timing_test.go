package listen

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/certs"
	"github.com/kizuki-dev/kizuki/internal/journal"
)

// benchLines returns n distinct RFC 5424 lines of about 200 bytes: web
// access events with varying hosts, paths, users and sizes, so that the
// journal's compression sees realistic, not repeated, input.
func benchLines(n int) [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	hosts := []string{"web-01.example.org", "web-02.example.org", "api-gw.example.org", "mail.example.org"}
	paths := []string{"/api/v1/items", "/login", "/static/app.js", "/api/v1/search", "/healthz"}
	t := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	out := make([][]byte, n)
	for i := range out {
		t = t.Add(time.Duration(r.IntN(3000)) * time.Microsecond)
		out[i] = fmt.Appendf(nil, `<134>1 %s %s nginx %d access [meta sequenceId="%d"] 10.%d.%d.%d - u%04x "GET %s?id=%d HTTP/1.1" %d %d "Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0"`,
			t.Format("2006-01-02T15:04:05.000000Z"), hosts[r.IntN(len(hosts))], 1000+r.IntN(9000), i,
			r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(1<<16), paths[r.IntN(len(paths))], r.IntN(1e6),
			[]int{200, 200, 200, 304, 404, 500}[r.IntN(6)], r.IntN(100000))
	}
	return out
}

// BenchmarkServeStreamJournal measures syslog over TCP on 127.0.0.1 into
// the real journal with durable acks: each connection reads a batch, waits
// for the journal's fsync, and only then reads on. b.N is the number of
// messages, spread over the connections; msgs/s is the figure to compare
// with the 100,000 events/s target. The senders run on the same two
// cores, as they would not in production.
func BenchmarkServeStreamJournal(b *testing.B) {
	lines := benchLines(20000)
	for _, bc := range []struct {
		conns      int
		octet, tls bool
	}{{1, false, false}, {4, false, false}, {4, true, false}, {16, false, false}, {4, false, true}} {
		name := fmt.Sprintf("conns=%d/lf", bc.conns)
		if bc.octet {
			name = fmt.Sprintf("conns=%d/octet", bc.conns)
		}
		if bc.tls {
			name = fmt.Sprintf("conns=%d/tls", bc.conns)
		}
		b.Run(name, func(b *testing.B) { benchIngest(b, lines, bc.conns, bc.octet, bc.tls) })
	}
}

func benchIngest(b *testing.B, lines [][]byte, conns int, octet, useTLS bool) {
	j, err := journal.Open(b.TempDir(), journal.Options{})
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(j, Options{})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr, kind := ln.Addr().String(), KindTCP
	dialConn := func() (net.Conn, error) { return net.Dial("tcp", addr) }
	if useTLS {
		bundle, err := certs.Ensure(b.TempDir(), certs.Options{})
		if err != nil {
			b.Fatal(err)
		}
		ln, kind = tls.NewListener(ln, bundle.Config), KindTLS
		roots := x509.NewCertPool()
		pem, err := os.ReadFile(bundle.CAFile)
		if err != nil {
			b.Fatal(err)
		}
		roots.AppendCertsFromPEM(pem)
		dialConn = func() (net.Conn, error) {
			return tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "localhost"})
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeStream(ctx, ln, kind) }()
	cs := make([]net.Conn, conns)
	for k := range cs {
		if cs[k], err = dialConn(); err != nil {
			b.Fatal(err)
		}
	}
	size := 0
	for _, l := range lines {
		size += len(l)
	}
	b.SetBytes(int64(size / len(lines)))

	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for k, c := range cs {
		share := b.N / conns
		if k < b.N%conns {
			share++
		}
		wg.Go(func() {
			buf := make([]byte, 0, 64<<10)
			for i := range share {
				l := lines[(k*7919+i)%len(lines)]
				if octet {
					buf = strconv.AppendInt(buf, int64(len(l)), 10)
					buf = append(buf, ' ')
					buf = append(buf, l...)
				} else {
					buf = append(buf, l...)
					buf = append(buf, '\n')
				}
				if len(buf) > 60<<10 || i == share-1 {
					if _, err := c.Write(buf); err != nil {
						b.Error(err)
						return
					}
					buf = buf[:0]
				}
			}
		})
	}
	wg.Wait()
	for s.Stats().Messages < uint64(b.N) {
		time.Sleep(200 * time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()

	st, js := s.Stats(), j.Stats()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	if js.Commits > 0 {
		b.ReportMetric(float64(st.Messages)/float64(js.Commits), "msgs/fsync")
	}
	b.ReportMetric(float64(st.Messages)/float64(max(st.Batches, 1)), "msgs/append")
	for _, c := range cs {
		c.Close()
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	if err := j.Close(); err != nil {
		b.Fatal(err)
	}
}
