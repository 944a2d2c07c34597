package jpcert

import (
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/parse/squid"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// streamEvents parses the n Squid native lines of testutil.SquidBenchLines,
// the analyze package's BenchmarkAnalyzeSquid input. Generated once per
// process.
var streamEvents = sync.OnceValues(func() ([]event.Event, error) {
	const n = 500_000
	p := squid.NewNative()
	pc := parse.NewContext(nil, time.Time{})
	evs := make([]event.Event, 0, n)
	var err error
	testutil.SquidBenchLines(n, func(line string) {
		if err != nil {
			return
		}
		evs = append(evs, event.Event{})
		ev := &evs[len(evs)-1]
		if err = p.Parse([]byte(line), ev, pc); err != nil {
			return
		}
		ev.Source = "squid"
		ev.Raw = line
		ev.Origin = event.Origin{File: "access.log", Line: int64(len(evs))}
	})
	return evs, err
})

// BenchmarkProxyStream feeds the stream to each web proxy detector alone
// and to all of them as the engine does; ns/event is the figure to watch.
func BenchmarkProxyStream(b *testing.B) {
	evs, err := streamEvents()
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := org.Load(filepath.Join("..", "..", "analyze", "testdata", "jpcert-figures", "org.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	m, err := org.New(cfg, "")
	if err != nil {
		b.Fatal(err)
	}
	var proxy []detect.Detector
	for _, d := range All(m) {
		for _, c := range d.Info().Categories {
			if c == detect.Proxy {
				proxy = append(proxy, d)
			}
		}
	}
	run := func(b *testing.B, mk func() []detect.Detector) {
		// The thread's CPU time is reported too: on a shared machine it
		// varies less than the elapsed time.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var cpu time.Duration
		for b.Loop() {
			b.StopTimer()
			dets := mk()
			b.StartTimer()
			c0 := threadCPU()
			for i := range evs {
				for _, d := range dets {
					d.Observe(&evs[i])
				}
			}
			cpu += threadCPU() - c0
		}
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(len(evs)), "cpu-ns/event")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(evs)), "ns/event")
	}
	for i, d := range proxy {
		b.Run(d.Info().ID, func(b *testing.B) {
			run(b, func() []detect.Detector {
				for _, nd := range All(m) {
					if nd.Info().ID == proxy[i].Info().ID {
						return []detect.Detector{nd}
					}
				}
				return nil
			})
		})
	}
	// touch reads what the web proxy analyses read of every record and
	// nothing else: the cost of bringing the records into the cache.
	b.Run("touch", func(b *testing.B) {
		run(b, func() []detect.Detector { return []detect.Detector{&streamTouch{}} })
	})
	b.Run("all", func(b *testing.B) {
		run(b, func() []detect.Detector {
			var out []detect.Detector
			for _, d := range All(m) {
				for _, c := range d.Info().Categories {
					if c == detect.Proxy {
						out = append(out, d)
					}
				}
			}
			return out
		})
	})
}

// streamTouch is a detector that only reads the fields and bytes of a
// record that the web proxy analyses read.
type streamTouch struct {
	detect.Detector
	sum int
}

func (t *streamTouch) Observe(ev *event.Event) {
	for _, k := range [...]event.Key{event.Domain, event.SrcIP, event.Method, event.DstIP, event.URL} {
		if v := ev.Get(k); v != "" {
			t.sum += int(v[0]) + int(v[len(v)-1])
		}
	}
	if ev.Raw != "" {
		t.sum += int(ev.Raw[0])
	}
	t.sum += int(ev.Time.Unix()) + len(ev.Source) + int(ev.Origin.Line)
}
