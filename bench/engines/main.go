// Command engines measures candidate embedded search indexes for kizuki on
// kizuki's own events: real log lines from the shared datasets, parsed by
// kizuki's parsers and replayed with new times to N events. For each engine
// it reports ingest rate and CPU time, bytes on disk, peak RSS and the
// latency of a needle search, a field lookup, a CIDR-prefix count, a top-20
// count by host and a timeline.
//
//	cd bench/engines && go run . -events 2000000
//
// Each engine (and each repeat) runs in a child process of its own, so that
// peak RSS is that engine's alone. See README.md.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
)

type config struct {
	events   int
	engines  string
	dir      string
	datasets string
	mix      string
	batch    int
	runs     int
	repeat   int
	days     float64
	hosts    int
	needle   string
	needles  int
	prefix   string
	threads  int
	memLimit string
	partRows int
	rowGroup int
	seed     uint64
	keep     bool
	jsonOut  string
	child    string
	cpuprof  string
	sqlQuery string
	sqlDB    string
}

func main() {
	var c config
	flag.IntVar(&c.events, "events", 2_000_000, "events to ingest")
	flag.StringVar(&c.engines, "engines", "null,duckdb-map,duckdb-json,duckdb-zstd,parquet-map,parquet-json", "engines to measure, comma-separated (have: "+engineNames()+")")
	flag.StringVar(&c.dir, "dir", "/tmp/engines-bench", "scratch folder for the engines' files (removed after each run unless -keep)")
	flag.StringVar(&c.datasets, "datasets", defaultDatasets(), "the shared datasets folder")
	flag.StringVar(&c.mix, "mix", "squid=45,postfix=35,firewall=10,bind=10", "share of events per source")
	flag.IntVar(&c.batch, "batch", 100_000, "events per Ingest call (one commit)")
	flag.IntVar(&c.runs, "runs", 5, "warm runs of each query (the median is reported)")
	flag.IntVar(&c.repeat, "repeat", 1, "runs of each engine (child processes)")
	flag.Float64Var(&c.days, "days", 7, "time range the events cover")
	flag.IntVar(&c.hosts, "hosts", 20, "devices of each kind")
	flag.StringVar(&c.needle, "needle", "198.51.100.237", "rare token: placed as src_ip (and so in raw) in -needles events")
	flag.IntVar(&c.needles, "needles", 5, "events that get the needle")
	flag.StringVar(&c.prefix, "prefix", "10.", "src_ip prefix for the CIDR-ish count")
	flag.IntVar(&c.threads, "threads", 2, "DuckDB threads")
	flag.StringVar(&c.memLimit, "memory-limit", "1GB", "DuckDB memory_limit")
	flag.IntVar(&c.partRows, "part-rows", 1_000_000, "Parquet: events per part file")
	flag.IntVar(&c.rowGroup, "row-group", 122_880, "Parquet: rows per row group")
	flag.Uint64Var(&c.seed, "seed", 1, "random seed of the event stream")
	flag.BoolVar(&c.keep, "keep", false, "keep the engines' files")
	flag.StringVar(&c.jsonOut, "json", "", "also write every run's figures as JSON to this file")
	flag.StringVar(&c.child, "child", "", "internal: run this one engine and print its figures as JSON")
	flag.StringVar(&c.cpuprof, "cpuprofile", "", "write a CPU profile of each engine's ingest to this file + .ENGINE")
	flag.StringVar(&c.sqlQuery, "sql", "", "run these ;-separated SQL statements on -db with DuckDB, print the results and exit")
	flag.StringVar(&c.sqlDB, "db", "", "with -sql: the DuckDB database file (empty: in memory)")
	flag.Parse()

	if c.sqlQuery != "" {
		if err := runSQL(os.Stdout, c.sqlDB, c.sqlQuery); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}

	if c.child != "" {
		r, err := runChild(c)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", c.child, err)
			os.Exit(1)
		}
		json.NewEncoder(os.Stdout).Encode(r)
		return
	}
	if err := runParent(c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func defaultDatasets() string {
	if d := os.Getenv("KIZUKI_DATASETS"); d != "" {
		return d
	}
	return "../../../shared/datasets"
}

// Result is one child's figures.
type Result struct {
	Engine     string           `json:"engine"`
	Events     int              `json:"events"`
	RawBytes   int64            `json:"raw_bytes"`
	PerSource  map[string]int64 `json:"per_source"`
	GenSeconds float64          `json:"gen_seconds"`
	IngestWall float64          `json:"ingest_wall_s"` // Ingest calls + Flush
	IngestCPU  float64          `json:"ingest_cpu_s"`
	FlushWall  float64          `json:"flush_wall_s"`
	FlushCPU   float64          `json:"flush_cpu_s"`
	DiskBytes  int64            `json:"disk_bytes"`
	RSSIngest  int64            `json:"rss_ingest_peak_bytes"`
	RSSQuery   int64            `json:"rss_query_peak_bytes"`
	Queries    []QResult        `json:"queries"`
	Problems   []string         `json:"problems,omitempty"`
	LoadBefore string           `json:"loadavg_before"` // /proc/loadavg: the machine is shared
	LoadAfter  string           `json:"loadavg_after"`
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// QResult is one query's timings.
type QResult struct {
	Name     string    `json:"name"`
	What     string    `json:"what"`
	First    float64   `json:"first_s"`
	FirstCPU float64   `json:"first_cpu_s"`
	Median   float64   `json:"median_s"`
	Best     float64   `json:"best_s"`     // fastest warm run: others' load only adds time
	MeanCPU  float64   `json:"mean_cpu_s"` // mean CPU-s of the warm runs
	All      []float64 `json:"warm_s"`
	Answer   string    `json:"answer"`
	Want     string    `json:"want,omitempty"`
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// resetPeakRSS starts a new high-water mark of VmHWM (Linux clear_refs 5).
func resetPeakRSS() {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSS is VmHWM in bytes, or ru_maxrss when /proc has none.
func peakRSS() int64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				return kb << 10
			}
		}
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss << 10
}

var startTime = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

func runChild(c config) (*Result, error) {
	corpus, err := LoadCorpus(c.datasets, c.dir, c.mix)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(c.dir, "run-"+c.child)
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if !c.keep {
		defer os.RemoveAll(dir)
	}
	eng, err := openEngine(c.child, Options{Dir: dir, Threads: c.threads, MemoryLimit: c.memLimit, PartRows: c.partRows, RowGroup: c.rowGroup})
	if err != nil {
		return nil, err
	}
	defer eng.Close()

	gen := NewGen(corpus, c.events, c.seed, startTime, c.days, c.hosts, c.needle, c.needles, c.prefix)
	batch := make([]event.Event, c.batch)
	ptrs := make([]*event.Event, c.batch)
	seqs := make([]uint64, c.batch)
	for i := range batch {
		ptrs[i] = &batch[i]
	}
	r := &Result{Engine: eng.Name(), Events: c.events, LoadBefore: loadavg()}
	runtime.GC()
	resetPeakRSS()
	if c.cpuprof != "" {
		f, err := os.Create(c.cpuprof + "." + c.child)
		if err != nil {
			return nil, err
		}
		pprof.StartCPUProfile(f)
		defer f.Close()
	}
	var seq uint64
	for {
		t0 := time.Now()
		n := 0
		for n < len(batch) && gen.Next(&batch[n]) {
			seq++
			seqs[n] = seq
			n++
		}
		r.GenSeconds += time.Since(t0).Seconds()
		if n == 0 {
			break
		}
		t0, c0 := time.Now(), cpuSeconds()
		if err := eng.Ingest(ptrs[:n], seqs[:n]); err != nil {
			return nil, fmt.Errorf("ingest: %w", err)
		}
		r.IngestWall += time.Since(t0).Seconds()
		r.IngestCPU += cpuSeconds() - c0
	}
	t0, c0 := time.Now(), cpuSeconds()
	if err := eng.Flush(); err != nil {
		return nil, fmt.Errorf("flush: %w", err)
	}
	r.FlushWall, r.FlushCPU = time.Since(t0).Seconds(), cpuSeconds()-c0
	r.IngestWall += r.FlushWall
	r.IngestCPU += r.FlushCPU
	if c.cpuprof != "" {
		pprof.StopCPUProfile()
	}
	r.RSSIngest = peakRSS()
	r.RawBytes, r.PerSource = gen.RawBytes, gen.PerSource
	if r.DiskBytes, err = eng.DiskBytes(); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "%s: %d events ingested in %.1f s (%.1f CPU-s), %.0f MB on disk\n",
		eng.Name(), c.events, r.IngestWall, r.IngestCPU, float64(r.DiskBytes)/1e6)

	// Queries, on a reopened engine: the first run of each is cold-ish.
	for i := range batch {
		batch[i] = event.Event{}
	}
	runtime.GC()
	debug.FreeOSMemory()
	if err := eng.Reopen(); err != nil {
		return nil, fmt.Errorf("reopen: %w", err)
	}
	resetPeakRSS()
	d := func(n int64) string { return strconv.FormatInt(n, 10) }
	buckets := int64(c.days * 24)
	queries := []struct {
		name, what, want string
		run              func() (string, error)
	}{
		{"needle-raw", fmt.Sprintf("raw ILIKE '%%%s%%' (fetch time, raw)", c.needle), d(gen.NeedleRaw), func() (string, error) {
			n, err := eng.Needle(c.needle)
			return d(n), err
		}},
		{"needle-lower", fmt.Sprintf("contains(lower(raw), '%s')", strings.ToLower(c.needle)), d(gen.NeedleRaw), func() (string, error) {
			n, err := eng.NeedleLower(c.needle)
			return d(n), err
		}},
		{"needle-cs", fmt.Sprintf("raw LIKE '%%%s%%' (case-sensitive)", c.needle), d(gen.NeedleRaw), func() (string, error) {
			n, err := eng.NeedleCase(c.needle)
			return d(n), err
		}},
		{"needle-field", fmt.Sprintf("count where src_ip = '%s'", c.needle), d(gen.NeedleSrcIP), func() (string, error) {
			n, err := eng.FieldEquals("src_ip", c.needle)
			return d(n), err
		}},
		{"cidr", fmt.Sprintf("count where starts_with(src_ip, '%s')", c.prefix), d(gen.PrefixSrcIP), func() (string, error) {
			n, err := eng.FieldPrefix("src_ip", c.prefix)
			return d(n), err
		}},
		{"top-hosts", "count(*) by host, top 20", "", func() (string, error) {
			cs, err := eng.TopHosts(20)
			if err != nil || len(cs) == 0 {
				return "", err
			}
			return fmt.Sprintf("%d rows, first %s=%d", len(cs), cs[0].Key, cs[0].N), err
		}},
		{"timeline", "count(*) by 1 h bucket, whole range", fmt.Sprintf("%d buckets", buckets), func() (string, error) {
			cs, err := eng.Timeline(time.Hour)
			return fmt.Sprintf("%d buckets", len(cs)), err
		}},
	}
	if eng.Name() == "null" {
		queries = nil
	}
	for _, q := range queries {
		qr := QResult{Name: q.name, What: q.what, Want: q.want}
		for i := 0; i <= c.runs; i++ {
			t0, c0 := time.Now(), cpuSeconds()
			ans, err := q.run()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", q.name, err)
			}
			w, cp := time.Since(t0).Seconds(), cpuSeconds()-c0
			if i == 0 {
				qr.First, qr.FirstCPU, qr.Answer = w, cp, ans
				if q.want != "" && ans != q.want {
					r.Problems = append(r.Problems, fmt.Sprintf("%s: answer %s, want %s", q.name, ans, q.want))
				}
				continue
			}
			qr.All = append(qr.All, w)
			qr.MeanCPU += cp / float64(c.runs)
		}
		qr.Median, qr.Best = median(qr.All), slices.Min(qr.All)
		r.Queries = append(r.Queries, qr)
	}
	r.RSSQuery = peakRSS()
	r.LoadAfter = loadavg()
	return r, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func runParent(c config) error {
	corpus, err := LoadCorpus(c.datasets, c.dir, c.mix)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "events: %d over %g days from %s; sources:\n%s", c.events, c.days, startTime.Format(time.DateOnly), corpus.Describe())
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var all []*Result
	for _, name := range strings.Split(c.engines, ",") {
		name = strings.TrimSpace(name)
		if _, ok := engines[name]; !ok {
			return fmt.Errorf("unknown engine %q (have %s)", name, engineNames())
		}
		for k := 0; k < c.repeat; k++ {
			args := append([]string{"-child", name}, childArgs()...)
			cmd := exec.Command(self, args...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, os.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			var r Result
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				return fmt.Errorf("%s: bad child output: %w", name, err)
			}
			all = append(all, &r)
		}
	}
	if c.jsonOut != "" {
		b, _ := json.MarshalIndent(map[string]any{"command": strings.Join(os.Args, " "), "date": time.Now().UTC().Format(time.RFC3339), "machine": machine(), "runs": all}, "", "  ")
		if err := os.WriteFile(c.jsonOut, b, 0o644); err != nil {
			return err
		}
	}
	printTables(os.Stdout, c, all)
	return nil
}

// childArgs are this process's flags less -engines and -repeat.
func childArgs() []string {
	var out []string
	flag.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "engines", "repeat", "json", "child":
			return
		}
		out = append(out, "-"+f.Name+"="+f.Value.String())
	})
	return out
}

func machine() string {
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		l, _, _ := strings.Cut(string(b), "\n")
		mem = strings.Join(strings.Fields(l)[1:], " ")
	}
	cpu := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%d cores (%s), MemTotal %s, %s, %s/%s, DuckDB %s", runtime.NumCPU(), cpu, mem, runtime.Version(), runtime.GOOS, runtime.GOARCH, duckVersion())
}

func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/1e6) }

func ms(s float64) string {
	switch {
	case s < 0.01:
		return fmt.Sprintf("%.1f ms", s*1e3)
	default:
		return fmt.Sprintf("%.0f ms", s*1e3)
	}
}

// printTables writes the figures as Markdown: one row per run.
func printTables(w io.Writer, c config, all []*Result) {
	if len(all) == 0 {
		return
	}
	r0 := all[0]
	fmt.Fprintf(w, "\n%d events, %s raw (%.0f B/event); mix %s; batch %d; DuckDB threads=%d memory_limit=%s\n\n",
		r0.Events, mb(r0.RawBytes), float64(r0.RawBytes)/float64(r0.Events), fmtMix(r0.PerSource), c.batch, c.threads, c.memLimit)
	fmt.Fprintln(w, "| engine | ingest ev/s (per CPU-s) | ingest wall / CPU-s | of which flush | disk | % of raw | B/event | peak RSS ingest | peak RSS queries | load avg before → after |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range all {
		if r.Engine == "null" {
			fmt.Fprintf(w, "| null (the harness alone) | — | — | — | — | — | — | %s | %s | %s → %s |\n", mb(r.RSSIngest), mb(r.RSSQuery), r.LoadBefore, r.LoadAfter)
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %.1f s / %.1f | %.1f s / %.1f | %s | %.1f%% | %.0f | %s | %s | %s → %s |\n",
			r.Engine, kfmt(float64(r.Events)/r.IngestWall)+" ("+kfmt(float64(r.Events)/r.IngestCPU)+")", r.IngestWall, r.IngestCPU, r.FlushWall, r.FlushCPU,
			mb(r.DiskBytes), 100*float64(r.DiskBytes)/float64(r.RawBytes), float64(r.DiskBytes)/float64(r.Events), mb(r.RSSIngest), mb(r.RSSQuery), r.LoadBefore, r.LoadAfter)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Queries: median / fastest of %d warm runs, mean CPU-s per run; [first run after reopening].\n", c.runs)
	fmt.Fprintln(w)
	var names []string
	for _, r := range all {
		for _, q := range r.Queries {
			if !slices.Contains(names, q.Name) {
				names = append(names, q.Name)
			}
		}
	}
	fmt.Fprint(w, "| engine |")
	for _, n := range names {
		fmt.Fprintf(w, " %s |", n)
	}
	fmt.Fprint(w, "\n|---|")
	for range names {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, r := range all {
		if len(r.Queries) == 0 {
			continue
		}
		fmt.Fprintf(w, "| %s |", r.Engine)
		for _, n := range names {
			i := slices.IndexFunc(r.Queries, func(q QResult) bool { return q.Name == n })
			if i < 0 {
				fmt.Fprint(w, " — |")
				continue
			}
			q := r.Queries[i]
			fmt.Fprintf(w, " %s / %s, %.2f CPU-s [%s] |", ms(q.Median), ms(q.Best), q.MeanCPU, ms(q.First))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	for _, q := range all[len(all)-1].Queries {
		fmt.Fprintf(w, "- %s: %s → %s\n", q.Name, q.What, q.Answer)
	}
	for _, r := range all {
		for _, p := range r.Problems {
			fmt.Fprintf(w, "- PROBLEM %s: %s\n", r.Engine, p)
		}
	}
}

func kfmt(x float64) string {
	if x >= 1e6 {
		return fmt.Sprintf("%.2fM", x/1e6)
	}
	return fmt.Sprintf("%.0fk", x/1e3)
}

func fmtMix(m map[string]int64) string {
	var ks []string
	var tot int64
	for k, v := range m {
		ks = append(ks, k)
		tot += v
	}
	sort.Strings(ks)
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", k, 100*float64(m[k])/float64(tot)))
	}
	return strings.Join(parts, ", ")
}

// nullEngine stores nothing: its figures are the harness's own cost (the
// generator's batch of events, the Go runtime), to subtract from the others.
type nullEngine struct{}

func init() {
	register("null", func(Options) (Engine, error) { return nullEngine{}, nil })
}

func (nullEngine) Name() string                              { return "null" }
func (nullEngine) Ingest([]*event.Event, []uint64) error     { return nil }
func (nullEngine) Flush() error                              { return nil }
func (nullEngine) Reopen() error                             { return nil }
func (nullEngine) DiskBytes() (int64, error)                 { return 0, nil }
func (nullEngine) Needle(string) (int64, error)              { return 0, nil }
func (nullEngine) NeedleLower(string) (int64, error)         { return 0, nil }
func (nullEngine) NeedleCase(string) (int64, error)          { return 0, nil }
func (nullEngine) FieldEquals(string, string) (int64, error) { return 0, nil }
func (nullEngine) FieldPrefix(string, string) (int64, error) { return 0, nil }
func (nullEngine) TopHosts(int) ([]Count, error)             { return nil, nil }
func (nullEngine) Timeline(time.Duration) ([]Count, error)   { return nil, nil }
func (nullEngine) Close() error                              { return nil }
