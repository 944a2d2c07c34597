// Command squidgen writes a large Squid access.log for benchmarks by
// replaying real sample lines (the JPCERT document's figures and the public
// Squid test lines in ../shared/datasets) with new time stamps, clients and
// destination hosts, as the datasets README asks ("generate volume from
// these samples").
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The document's own examples (JPCERT figures 4-6, 4-7, 4-9), always used.
var docLines = []string{
	"1424221299.090    452 127.0.0.1 TCP_MISS/200 74769 GET http://apt.example.com/xxx/xxx/apt.zip - DEFAULT_PARENT/113.1.1.1 application/zip-compressed",
	"1423528142.737      0 192.168.1.1 TCP_DENIED/403 3641 CONNECT 192.168.1.2:8089 - NONE/- text/html",
	"1424227775.972     21 192.168.1.1 TCP_MISS/200 553 POST http://apt.example.com/blog/ - HIER_DIRECT/apt.example.com text/html",
}

func main() {
	n := flag.Int("n", 1_000_000, "lines to write")
	out := flag.String("out", "", "output file (default stdout)")
	datasets := flag.String("datasets", "../shared/datasets", "public datasets folder (for more sample lines)")
	clients := flag.Int("clients", 2000, "distinct client addresses")
	hosts := flag.Int("hosts", 20000, "distinct destination hosts")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()

	templates := append([]string(nil), docLines...)
	templates = append(templates, samples(filepath.Join(*datasets, "squid", "fail2ban", "squid"), false)...)
	templates = append(templates, samples(filepath.Join(*datasets, "squid", "wazuh-ruleset", "squid_rules.ini"), true)...)

	w := os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	defer bw.Flush()
	r := rand.New(rand.NewPCG(*seed, 0))
	zipf := rand.NewZipf(r, 1.2, 1, uint64(*hosts-1))
	// Office traffic: Monday 2015-02-02 from 08:00 JST; when the day ends at
	// 19:00 the clock jumps to 08:00 of the next weekday, as a proxy's load
	// mostly follows working hours.
	t := 1422831600.0
	// The mix of a working office proxy: mostly HTTPS tunnels and page
	// loads, a few POSTs, and 1% of odd lines replayed from the samples
	// (denials, CONNECT to odd ports, errors), which the analyses report.
	benign := []string{
		"1424221299.090    452 127.0.0.1 TCP_TUNNEL/200 5120 CONNECT apt.example.com:443 - HIER_DIRECT/203.0.113.9 -",
		docLines[0],
		docLines[2],
	}
	pick := func() string {
		switch x := r.IntN(100); {
		case x < 55:
			return benign[0]
		case x < 94:
			return benign[1]
		case x < 99:
			return benign[2]
		default:
			return templates[r.IntN(len(templates))]
		}
	}
	for i := 0; i < *n; i++ {
		tpl := strings.Fields(pick())
		if len(tpl) < 10 {
			continue
		}
		t += r.Float64() * 0.05
		t = officeHours(t)
		tpl[0] = fmt.Sprintf("%.3f", t)
		tpl[2] = fmt.Sprintf("192.168.%d.%d", 100+r.IntN(*clients/250+1), 1+r.IntN(250))
		h := zipf.Uint64()
		host := fmt.Sprintf("h%d.example%d.com", h, h%50)
		tpl[6] = rehost(tpl[6], tpl[5], host)
		fmt.Fprintf(bw, "%s %6s %s\n", tpl[0], tpl[1], strings.Join(tpl[2:], " "))
	}
}

// officeHours moves t (epoch seconds) to 08:00 JST of the next weekday when
// it falls after 19:00 JST or on a weekend.
func officeHours(t float64) float64 {
	const day = 86400.0
	jst := t + 9*3600
	dayStart := jst - math.Mod(jst, day)
	sec := jst - dayStart
	wd := (int(dayStart/day) + 4) % 7 // 1970-01-01 was a Thursday
	if sec >= 19*3600 || wd == 0 || wd == 6 {
		for {
			dayStart += day
			wd = (wd + 1) % 7
			if wd != 0 && wd != 6 {
				break
			}
		}
		return dayStart + 8*3600 - 9*3600
	}
	return t
}

// rehost replaces the host of a URL (or of a CONNECT host:port).
func rehost(url, method, host string) string {
	if method == "CONNECT" {
		i := strings.LastIndexByte(url, ':')
		if i <= 0 {
			return url // e.g. Squid's "error:method-not-allowed": keep as logged
		}
		if _, err := strconv.Atoi(url[i+1:]); err != nil {
			return url
		}
		return host + url[i:]
	}
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return url
	}
	_, path, _ := strings.Cut(rest, "/")
	return scheme + "://" + host + "/" + path
}

func samples(path string, wazuh bool) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "squidgen: %v (using the document's lines only)\n", err)
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if wazuh {
			if !strings.HasPrefix(l, "log ") {
				continue
			}
			if i := strings.Index(l, " = "); i >= 0 {
				l = l[i+3:]
			}
		} else if strings.HasPrefix(l, "#") {
			continue
		}
		if len(strings.Fields(l)) >= 10 {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}
