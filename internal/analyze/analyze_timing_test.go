package analyze

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// writeSquid writes n Squid native lines replaying the document's figure
// lines with varied time stamps, clients and hosts (as bench/squidgen does
// at scale).
func writeSquid(b *testing.B, path string, n int) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	r := rand.New(rand.NewPCG(1, 2))
	// A proxy's usual mix: mostly HTTPS tunnels and GETs, some POSTs, and a
	// rare odd CONNECT (the figure lines, with other hosts).
	tpl := []string{
		"%.3f %6d %s TCP_TUNNEL/200 5120 CONNECT h%d.example%d.com:443 - HIER_DIRECT/203.0.113.9 -\n",
		"%.3f %6d %s TCP_MISS/200 74769 GET http://h%d.example%d.com/xxx/apt.zip - DEFAULT_PARENT/113.0.0.1 application/zip-compressed\n",
		"%.3f %6d %s TCP_MISS/200 553 POST http://h%d.example%d.com/blog/ - HIER_DIRECT/203.0.113.9 text/html\n",
		"%.3f %6d %s TCP_DENIED/403 3641 CONNECT h%d.example%d.com:8089 - NONE/- text/html\n",
	}
	pick := func() string {
		switch x := r.IntN(1000); {
		case x < 500:
			return tpl[0]
		case x < 900:
			return tpl[1]
		case x < 999:
			return tpl[2]
		default:
			return tpl[3]
		}
	}
	// Destinations follow a Zipf law, as web traffic does: a few sites get
	// most requests, a long tail of 50,000 gets the rest.
	zipf := rand.NewZipf(r, 1.1, 1, 49_999)
	t := 1422835200.0 // Mon 2015-02-02 09:00 JST: office traffic
	for i := 0; i < n; i++ {
		t += r.Float64() * 0.05
		client := fmt.Sprintf("192.168.%d.%d", 100+r.IntN(8), 1+r.IntN(250))
		h := zipf.Uint64()
		fmt.Fprintf(w, pick(), t, r.IntN(2000), client, h, h%50)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAnalyzeSquid measures parse + all analyses, streaming, on all
// cores; lines/s is the figure to compare with the ≥ 1,000,000 target.
func BenchmarkAnalyzeSquid(b *testing.B) {
	// KIZUKI_BENCH_LINES overrides the size (state grows with it).
	n := 500_000
	if v, err := strconv.Atoi(os.Getenv("KIZUKI_BENCH_LINES")); err == nil && v > 0 {
		n = v
	}
	path := filepath.Join(b.TempDir(), "access.log")
	writeSquid(b, path, n)
	m, err := LoadModel(filepath.Join("testdata", "jpcert-figures", "org.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(path)
	for _, lanes := range []int{1, 2, DefaultLanes} {
		b.Run(fmt.Sprintf("lanes=%d", lanes), func(b *testing.B) {
			b.SetBytes(st.Size())
			for i := 0; i < b.N; i++ {
				run, err := Run(context.Background(), m, []string{path}, Options{Lanes: lanes})
				if err != nil {
					b.Fatal(err)
				}
				if run.Files[0].Events != int64(n) {
					b.Fatalf("%d events", run.Files[0].Events)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
