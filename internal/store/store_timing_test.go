package store

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// The benchmarks index real events (loadReal: postfix, EVTX with its XML
// raw, Windows JSON, unparsed syslog and Zeek lines), repeated with times
// shifted by a day per round to reach the sizes asked for. Wall times on a
// shared 2-core machine drift; the CPU time (getrusage, all goroutines
// included: flusher, merger, search workers) and allocations are the
// figures to compare.
//
//	go test -run XXX -bench . -benchtime 1x ./internal/store/
//	KIZUKI_BENCH_EVENTS=4000000 go test -run XXX -bench 'Needle|Stats' -benchtime 20x ./internal/store/

// benchEvents is the index size for BenchmarkNeedle and BenchmarkStatsByHost.
func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("KIZUKI_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// needle is put into 4 events of every million: the rare token an
// analyst looks for (an attacker's tool name).
const needle = "zyzzyvatool"

// feed adds n events made from real ones to x, starting at seq 0, and
// returns the raw bytes added.
func feed(tb testing.TB, x *Index, real []*event.Event, n int) int64 {
	var ev event.Event
	var raw int64
	for i := 0; i < n; i++ {
		src := real[i%len(real)]
		ev.CopyFrom(src)
		round := i / len(real)
		ev.Time = src.Time.Add(time.Duration(round) * 24 * time.Hour)
		if i%250_000 == 12_345 {
			ev.SetExtra("CommandLine", `C:\Users\Public\`+needle+`.exe -accepteula`)
		}
		raw += int64(len(ev.Raw))
		if err := x.Add(uint64(i), &ev); err != nil {
			tb.Fatal(err)
		}
	}
	return raw
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func maxRSS() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss << 10
}

// BenchmarkAdd measures ingest: Add of b.N events (at least 200,000) and
// the flushes, block encoding and part writes they cause (merges run as
// in the server), on all the real events (EVTX records make it raw-heavy)
// and on the text-line formats alone (syslog, postfix, unparsed lines).
func BenchmarkAdd(b *testing.B) {
	real := loadReal(b)
	var lines []*event.Event
	for _, ev := range real {
		if ev.Source != "evtx" && ev.Source != "winjson" && ev.Source != "winxml" {
			lines = append(lines, ev)
		}
	}
	b.Run("all", func(b *testing.B) { benchAdd(b, real) })
	b.Run("lines", func(b *testing.B) { benchAdd(b, lines) })
}

func benchAdd(b *testing.B, real []*event.Event) {
	n := max(b.N, 200_000)
	b.ReportAllocs()
	dir := b.TempDir()
	peak := heapSampler()
	x, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0, t0 := cpuTime(), time.Now()
	raw := feed(b, x, real, n)
	if err := x.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	wall, cpu := time.Since(t0), cpuTime()-cpu0
	b.StopTimer()
	heap := peak()
	st := x.Stats()
	x.Close()
	b.ReportMetric(float64(n)/wall.Seconds(), "events/s")
	b.ReportMetric(float64(n)/cpu.Seconds(), "events/cpu-s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/event")
	b.ReportMetric(float64(raw)/float64(n), "raw-B/event")
	b.ReportMetric(float64(st.DiskBytes)/float64(n), "disk-B/event")
	b.ReportMetric(100*float64(st.DiskBytes)/float64(raw), "disk-%raw")
	b.ReportMetric(float64(heap)/(1<<20), "peak-live-MiB")
	b.Logf("%d events, %d raw bytes, %d on disk in %d parts, %d blocks; wall %v, cpu %v", n, raw, st.DiskBytes, st.Parts, st.Blocks, wall, cpu)
}

// heapSampler samples the live heap (as of the last GC: the memory the
// index keeps, without the garbage not yet collected) every 10 ms until
// the returned function is called, which returns the highest figure seen
// above the figure at the start.
func heapSampler() func() int64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	base := int64(sample[0].Value.Uint64())
	stop := make(chan struct{})
	done := make(chan int64)
	go func() {
		peak := int64(0)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, int64(sample[0].Value.Uint64())-base)
			select {
			case <-stop:
				done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(stop)
		return <-done
	}
}

// benchIndex is one index of benchEvents() events shared by the search
// benchmarks (built once per test binary; removed by TestMain).
var (
	benchOnce sync.Once
	benchDir  string
	benchRaw  int64
)

func sharedIndex(b *testing.B) *Index {
	real := loadReal(b)
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kizuki-store-bench-")
		if err != nil {
			b.Fatal(err)
		}
		x, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		benchRaw = feed(b, x, real, benchEvents())
		if err := x.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		// Let the merges a server would run in the background finish.
		enc := newBlockEncoder(x.enc)
		for run := x.pickMerge(time.Now()); run != nil; run = x.pickMerge(time.Now()) {
			if err := x.merge(context.Background(), run, enc); err != nil {
				b.Fatal(err)
			}
		}
		if err := x.Close(); err != nil {
			b.Fatal(err)
		}
		benchDir = dir
	})
	if benchDir == "" {
		b.Fatal("no shared index")
	}
	x, err := Open(benchDir, Options{NoMerge: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { x.Close() })
	return x
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

func benchSearch(b *testing.B, q string, limit int) {
	x := sharedIndex(b)
	req := Request{Query: mustParse(b, q), Limit: limit}
	res, err := x.Search(context.Background(), req)
	if err != nil {
		b.Fatal(err)
	}
	st := x.Stats()
	b.Logf("%q over %d events (%d parts, %d blocks, %.1f MB on disk, %.1f MB of it filters, %.1f MB raw): total %d, scanned %+v",
		q, st.Events, st.Parts, st.Blocks, float64(st.DiskBytes)/1e6, float64(st.FilterBytes)/1e6, float64(benchRaw)/1e6, res.Total, res.Scanned)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := x.Search(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(res.Scanned.Blocks), "blocks-read")
	b.ReportMetric(float64(maxRSS())/(1<<20), "maxrss-MiB")
}

// BenchmarkNeedle: a rare token (4 events per million), then a common
// word and a field value, newest 100.
func BenchmarkNeedle(b *testing.B) {
	for _, q := range []string{needle, "CommandLine:*" + needle + "*", "reject", "user:administrator"} {
		b.Run(fmt.Sprintf("%q", q), func(b *testing.B) { benchSearch(b, q, 100) })
	}
}

// BenchmarkStatsByHost: `stats count by host` over every event, and
// over the events of one source.
func BenchmarkStatsByHost(b *testing.B) {
	for _, q := range []string{"| stats count by host", "source:postfix | stats count by host"} {
		b.Run(fmt.Sprintf("%q", q), func(b *testing.B) { benchSearch(b, q, 100) })
	}
}

// BenchmarkLatest: the newest 100 events, no filter (the UI's first page).
func BenchmarkLatest(b *testing.B) { benchSearch(b, "", 100) }
