package jpcert

import (
	"fmt"
	"math/rand/v2"
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
)

// streamEvents parses n Squid native lines shaped like the analyze
// package's BenchmarkAnalyzeSquid input: 2000 clients, Zipf-distributed
// destinations over 50,000 hosts, mostly CONNECT and GET, during office
// hours. Generated once per process.
var streamEvents = sync.OnceValues(func() ([]event.Event, error) {
	const n = 500_000
	r := rand.New(rand.NewPCG(1, 2))
	tpl := []string{
		"%.3f %6d %s TCP_TUNNEL/200 5120 CONNECT h%d.example%d.com:443 - HIER_DIRECT/203.0.113.9 -",
		"%.3f %6d %s TCP_MISS/200 74769 GET http://h%d.example%d.com/xxx/apt.zip - DEFAULT_PARENT/113.0.0.1 application/zip-compressed",
		"%.3f %6d %s TCP_MISS/200 553 POST http://h%d.example%d.com/blog/ - HIER_DIRECT/203.0.113.9 text/html",
		"%.3f %6d %s TCP_DENIED/403 3641 CONNECT h%d.example%d.com:8089 - NONE/- text/html",
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
	zipf := rand.NewZipf(r, 1.1, 1, 49_999)
	t := 1422835200.0
	p := squid.NewNative()
	pc := parse.NewContext(nil, time.Time{})
	evs := make([]event.Event, n)
	for i := range evs {
		t += r.Float64() * 0.05
		client := fmt.Sprintf("192.168.%d.%d", 100+r.IntN(8), 1+r.IntN(250))
		h := zipf.Uint64()
		line := fmt.Sprintf(pick(), t, r.IntN(2000), client, h, h%50)
		ev := &evs[i]
		if err := p.Parse([]byte(line), ev, pc); err != nil {
			return nil, err
		}
		ev.Source = "squid"
		ev.Raw = line
		ev.Origin = event.Origin{File: "access.log", Line: int64(i + 1)}
	}
	return evs, nil
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
