package analyze

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// writeSquid writes n Squid native lines of testutil.SquidBenchLines.
func writeSquid(b *testing.B, path string, n int) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	testutil.SquidBenchLines(n, func(line string) {
		w.WriteString(line)
		w.WriteByte('\n')
	})
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
