package testutil

import (
	"fmt"
	"math/rand/v2"
)

// SquidBenchLines calls emit with n Squid native access.log lines (without
// newline) shaped like an office proxy's traffic, the same every time: 2,000
// clients, destinations Zipf-distributed over 50,000 hosts (a few sites get
// most requests), half HTTPS tunnels, 40% GETs, some POSTs and a rare
// CONNECT to an odd port (the document's figure lines with other hosts),
// from Monday 2015-02-02 09:00 JST. The benchmarks of the analyses share it
// so that their figures compare.
func SquidBenchLines(n int, emit func(line string)) {
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
	for i := 0; i < n; i++ {
		t += r.Float64() * 0.05
		client := fmt.Sprintf("192.168.%d.%d", 100+r.IntN(8), 1+r.IntN(250))
		h := zipf.Uint64()
		emit(fmt.Sprintf(pick(), t, r.IntN(2000), client, h, h%50))
	}
}
