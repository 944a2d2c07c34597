package ioc

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// BenchmarkMatch matches the scenario's proxy, DNS and firewall events
// against 100,000 indicators (domains, addresses, prefixes, URLs, hashes)
// that none of them hold: the common, negative path of live matching.
func BenchmarkMatch(b *testing.B) {
	var sb strings.Builder
	for i := range 25_000 {
		fmt.Fprintf(&sb, "bad%d.example\n198.%d.%d.%d\n10.%d.%d.0/24\nhttp://bad%d.example/x\n", i, 18+i%2, i/256%256, i%256, i/256%256, i%256, i)
	}
	m := compileText(b, "big", sb.String())
	var evs []*event.Event
	for _, f := range []string{"proxy/access_combined.log", "dns/queries.log", "firewall/netscreen.log"} {
		fh, err := os.Open(filepath.Join(examples, f))
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for n := 0; sc.Scan() && n < 300; n++ {
			evs = append(evs, parseLine(b, sc.Text(), ""))
		}
		fh.Close()
	}
	n := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, ev := range evs {
			m.Match(ev, func(Hit) { n++ })
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
	if n != 0 {
		b.Fatalf("%d hits", n)
	}
}
