package sigma

import (
	"fmt"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// BenchmarkCorrelatorObserve: cost of one base-rule match fed to the
// brute-force (event_count) and spraying (value_count) correlations, over
// 4,096 source addresses trying 64 accounts, one failure every 10 ms.
func BenchmarkCorrelatorObserve(b *testing.B) {
	failed := ruleFailedLogon()
	rs := corrSet(b, []*Rule{failed}, bruteForce, passwordSpray)
	evs := make([]*event.Event, 4096)
	for i := range evs {
		evs[i] = failed4625(t0, int64(i), fmt.Sprintf("user%02d", i%64), fmt.Sprintf("10.1.%d.%d", i>>8, i&255))
	}
	c := rs.NewCorrelator()
	matches := 0
	emit := func(*CorrelationMatch) { matches++ }
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ev := evs[i%len(evs)]
		ev.Time = t0.Add(time.Duration(i) * 10 * time.Millisecond)
		c.Observe(failed, ev, emit)
	}
	b.StopTimer()
	c.Flush(emit)
	b.ReportMetric(float64(matches)/float64(b.N), "matches/op")
}
