// Package scenario writes a deterministic, two-week, multi-source log set for
// a small organization, with the traces of one targeted attack planted in it
// and a ground-truth manifest of where they are.
//
// The organization (example.co.jp, about 40 hosts) is the one JPCERT/CC's
// "log analysis for advanced cyber attacks" (chapter 4) assumes: Postfix mail
// server with header_checks / mime_header_checks WARN rules, a Juniper
// NetScreen firewall between the SHANAI (PCs), INTRA (servers), DMZ and
// Untrust zones, a Squid proxy logging the "combined" format, a BIND cache
// logging queries, and an Active Directory domain controller whose Security
// log is exported with `wevtutil qe Security /f:xml`.
//
// The scenario starts on Monday 2015-02-02 00:00 Asia/Tokyo and lasts 14
// days; 2015-02-11 (National Foundation Day) is a holiday. Background traffic
// follows business hours (Mon–Fri 08:00–19:00) and is built so that it does
// not trip any of the J1–J13 analyses by itself; every planted trace is listed
// in the Manifest with its exact line numbers, and the benign look-alikes next
// to them are listed as well, with the reason they must stay quiet.
//
// Generation uses math/rand/v2 seeded from Options.Seed and never reads the
// clock: the same Options give byte-identical files.
package scenario

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Relative paths of the generated logs inside the output directory.
const (
	FileMail     = "mail/maillog"
	FileFirewall = "firewall/netscreen.log"
	FileProxy    = "proxy/access_combined.log"
	FileDNS      = "dns/queries.log"
	FileAD       = "ad/security.xml"
)

// Files lists the generated logs in a fixed order.
var Files = []string{FileMail, FileFirewall, FileProxy, FileDNS, FileAD}

// Days is the length of the scenario.
const Days = 14

var (
	// JST is Asia/Tokyo (no daylight saving time), fixed so that the
	// generator does not depend on the system's tz database.
	JST = time.FixedZone("JST", 9*60*60)
	// Start is the first instant of the scenario (a Monday).
	Start = time.Date(2015, 2, 2, 0, 0, 0, 0, JST)
	// End is the first instant after the scenario. The RFC 3164 mail log,
	// which carries no year, gets this as its modification time.
	End = Start.AddDate(0, 0, Days)
	// Holiday is the national holiday inside the scenario.
	Holiday = time.Date(2015, 2, 11, 0, 0, 0, 0, JST)
)

// Options select the scenario.
type Options struct {
	// Seed selects the random stream; the same Options give byte-identical
	// output.
	Seed uint64
	// Scale multiplies the volume of the background traffic (0 means 1).
	// 1 gives about 45,000 lines; the committed examples use 0.05. The
	// planted traces do not depend on it.
	Scale float64
	// OrgDir is where org.yaml and iocs.txt are written ("" means the output
	// directory itself).
	OrgDir string
	// ManifestDir is where manifest.json is written ("" means the output
	// directory). Keep it outside the logs folder when the folder is
	// analyzed as a whole. Paths in the manifest are relative to dir.
	ManifestDir string
	// MailRFC3339 writes the mail log with rsyslog's high-precision RFC 3339
	// time stamps ("2015-02-02T10:15:03.123456+09:00") instead of RFC 3164
	// ("Feb  2 10:15:03"), which has no year and relies on the file's
	// modification time — which a git checkout does not keep.
	MailRFC3339 bool
}

// Manifest is the ground truth of a generated scenario.
type Manifest struct {
	Seed     uint64  `json:"seed"`
	Scale    float64 `json:"scale"`
	Timezone string  `json:"timezone"`
	Start    string  `json:"start"`
	End      string  `json:"end"`
	// Org is the path of org.yaml relative to the output directory.
	Org string `json:"org"`
	// Files are the generated logs, paths relative to the output directory.
	Files []FileInfo `json:"files"`
	// Findings are the planted traces: each must produce an alert of Rule
	// whose summary or fields contain Key.
	Findings []Finding `json:"findings"`
	// LookAlikes are benign events next to the planted ones: no alert of
	// Rule may have Key in its summary or fields.
	LookAlikes []LookAlike `json:"look_alikes"`
	// Hosts is the address plan (for humans reading the manifest).
	Hosts []HostInfo `json:"hosts"`
	Notes []string   `json:"notes,omitempty"`
}

// FileInfo describes one generated log.
type FileInfo struct {
	Path   string `json:"path"`
	Lines  int    `json:"lines"`
	Bytes  int    `json:"bytes"`
	SHA256 string `json:"sha256"`
	// ModTime is set when the file's modification time matters (RFC 3164
	// logs without a year).
	ModTime string `json:"mtime,omitempty"`
}

// Finding is one planted trace.
type Finding struct {
	ID   string `json:"id"`
	Rule string `json:"rule"`
	// Host is the internal host the trace is tied to (the victim PC for mail
	// findings, whose recipient mailbox is in Note).
	Host string `json:"host"`
	// Key is a short string the alert's summary or fields must contain.
	Key string `json:"key"`
	// LineKey is what the evidence lines contain when it differs from Key
	// (an RFC 2047-encoded attachment name whose decoded form is Key; a
	// firewall line that shows the IP while the alert names the host).
	// When empty, the lines contain Key.
	LineKey string `json:"line_key,omitempty"`
	File    string `json:"file"`
	// Lines are the 1-based line numbers of the evidence in File.
	Lines    []int  `json:"lines"`
	Severity string `json:"severity,omitempty"`
	Note     string `json:"note,omitempty"`
}

// LookAlike is a benign event that resembles a planted one.
type LookAlike struct {
	Rule string `json:"rule"`
	// Host is the host concerned, "*" when many hosts produce it.
	Host   string `json:"host"`
	Key    string `json:"key"`
	File   string `json:"file,omitempty"`
	Reason string `json:"reason"`
}

// HostInfo is one host of the address plan.
type HostInfo struct {
	IP   string `json:"ip"`
	Name string `json:"name"`
	Zone string `json:"zone"`
	Role string `json:"role"`
	User string `json:"user,omitempty"`
}

// Generate writes the scenario into dir (created if needed) and returns its
// manifest, which is also written to manifest.json (in opt.ManifestDir).
func Generate(dir string, opt Options) (*Manifest, error) {
	if opt.Scale <= 0 {
		opt.Scale = 1
	}
	if opt.Scale > 20 {
		return nil, fmt.Errorf("scenario: scale %g too large (max 20)", opt.Scale)
	}
	orgDir := opt.OrgDir
	if orgDir == "" {
		orgDir = dir
	}
	g := newGen(opt)
	g.run()

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(orgDir, 0o755); err != nil {
		return nil, err
	}
	m := &Manifest{
		Seed:     opt.Seed,
		Scale:    opt.Scale,
		Timezone: "Asia/Tokyo",
		Start:    Start.Format(time.RFC3339),
		End:      End.Format(time.RFC3339),
	}
	rel, err := filepath.Rel(dir, filepath.Join(orgDir, "org.yaml"))
	if err != nil {
		rel = filepath.Join(orgDir, "org.yaml")
	}
	m.Org = filepath.ToSlash(rel)

	lines := map[int][]int{} // finding index → line numbers
	for _, name := range Files {
		data, n := g.render(name, lines)
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		fi := FileInfo{Path: name, Lines: n, Bytes: len(data), SHA256: hex.EncodeToString(sum[:])}
		if name == FileMail {
			if err := os.Chtimes(p, End, End); err != nil {
				return nil, err
			}
			fi.ModTime = End.Format(time.RFC3339)
		}
		m.Files = append(m.Files, fi)
	}
	for i, f := range g.findings {
		f.Lines = lines[i]
		if len(f.Lines) == 0 {
			return nil, fmt.Errorf("scenario: finding %s has no evidence lines", f.ID)
		}
		m.Findings = append(m.Findings, *f)
	}
	sort.SliceStable(m.Findings, func(i, j int) bool { return ruleNum(m.Findings[i].Rule) < ruleNum(m.Findings[j].Rule) })
	m.LookAlikes = g.lookalikes
	sort.SliceStable(m.LookAlikes, func(i, j int) bool { return ruleNum(m.LookAlikes[i].Rule) < ruleNum(m.LookAlikes[j].Rule) })
	for _, h := range g.allHosts {
		m.Hosts = append(m.Hosts, HostInfo{IP: h.ip, Name: h.name, Zone: h.zone, Role: h.role, User: h.user})
	}
	m.Notes = []string{
		"Times are Asia/Tokyo. The RFC 3164 mail log has no year: its modification time is set to " + End.Format(time.RFC3339) + " so that readers infer 2015 (git does not keep mtimes: pass the year or reference time explicitly when reading a checkout).",
		"J10: Squid's combined logformat has no request-size field, so the planted upload volume is carried by %<st (bytes column) of the POST and CONNECT lines; the summed figure approximates the upload.",
		"Background traffic is built to be quiet for J1-J13: non-allowlisted domains appear on at most 2 days, off-hours web traffic goes only to maintenance domains, every User-Agent is either allowlisted or used by at least 20% of the hosts, and 4672 is only assigned to Administrator, SYSTEM and DC01$.",
	}

	if err := writeOrg(orgDir); err != nil {
		return nil, err
	}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	js = append(js, '\n')
	manDir := opt.ManifestDir
	if manDir == "" {
		manDir = dir
	}
	if err := os.MkdirAll(manDir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(manDir, "manifest.json"), js, 0o644); err != nil {
		return nil, err
	}
	return m, nil
}

// ruleNum orders "J1" … "J13" numerically.
func ruleNum(r string) int {
	n := 0
	for _, c := range strings.TrimPrefix(r, "J") {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// rec is one log line waiting to be sorted and written.
type rec struct {
	t    time.Time
	seq  int
	text string
	ad   *adEvent // AD events are rendered after sorting (record ids)
	tags []int    // finding indices
}

type gen struct {
	opt   Options
	scale float64
	r     *rand.Rand
	seq   int
	recs  map[string][]*rec

	findings   []*Finding
	lookalikes []LookAlike

	allHosts []*host
	pcs      []*host
	byIP     map[string]*host
	victim   *host

	// state shared by the emitters
	qids      map[string]bool
	usedPorts int
	logonID   uint64
	longtail  *longTail
	blackout  []window // host-times when background DNS must stay silent
}

type window struct {
	ip       string
	from, to time.Time
}

func newGen(opt Options) *gen {
	g := &gen{
		opt:   opt,
		scale: opt.Scale,
		r:     rand.New(rand.NewPCG(opt.Seed, 0x6b697a756b69)), // "kizuki"
		recs:  map[string][]*rec{},
		qids:  map[string]bool{},
		byIP:  map[string]*host{},
	}
	g.logonID = 0x3a0000 + uint64(g.r.IntN(0x10000))
	return g
}

func (g *gen) add(file string, t time.Time, text string, tags ...int) *rec {
	g.seq++
	r := &rec{t: t, seq: g.seq, text: text, tags: tags}
	g.recs[file] = append(g.recs[file], r)
	return r
}

// finding registers a planted trace; lines are collected from the tags.
func (g *gen) finding(f Finding) int {
	g.findings = append(g.findings, &f)
	return len(g.findings) - 1
}

func (g *gen) lookalike(l LookAlike) { g.lookalikes = append(g.lookalikes, l) }

// render sorts a file's records by time and returns its bytes and line count,
// collecting the line numbers of tagged records.
func (g *gen) render(name string, lines map[int][]int) ([]byte, int) {
	rs := g.recs[name]
	sort.SliceStable(rs, func(i, j int) bool {
		if !rs[i].t.Equal(rs[j].t) {
			return rs[i].t.Before(rs[j].t)
		}
		return rs[i].seq < rs[j].seq
	})
	var b bytes.Buffer
	for i, r := range rs {
		text := r.text
		if r.ad != nil {
			text = r.ad.render(adFirstRecordID + i)
		}
		if strings.ContainsAny(text, "\n\r") {
			panic("scenario: record with a line break in " + name)
		}
		b.WriteString(text)
		b.WriteByte('\n')
		for _, tag := range r.tags {
			lines[tag] = append(lines[tag], i+1)
		}
	}
	return b.Bytes(), len(rs)
}

// ---- random helpers --------------------------------------------------------

// count returns a randomized count around mean×scale (at least min).
func (g *gen) count(mean float64, min int) int {
	x := mean * g.scale * (0.7 + 0.6*g.r.Float64())
	n := int(x)
	if g.r.Float64() < x-float64(n) {
		n++
	}
	if n < min {
		n = min
	}
	return n
}

// rate is the scale capped at 1, for probabilities.
func (g *gen) rate() float64 { return min(1, g.scale) }

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func (g *gen) between(a, b int) int {
	if b <= a {
		return a
	}
	return a + g.r.IntN(b-a+1)
}

// at returns day d (0-based) at hh:mm plus a random offset of up to
// spreadSec seconds, with a random sub-second part.
func (g *gen) at(d, hh, mm, spreadSec int) time.Time {
	t := Start.AddDate(0, 0, d).Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
	if spreadSec > 0 {
		t = t.Add(time.Duration(g.r.IntN(spreadSec)) * time.Second)
	}
	return t.Add(time.Duration(g.r.IntN(1_000_000)) * time.Microsecond)
}

// exact returns a fixed local time on 2015-02-dd.
func exact(day, hh, mm, ss int, usec int) time.Time {
	return time.Date(2015, 2, day, hh, mm, ss, usec*1000, JST)
}

func pick[T any](g *gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

// weighted picks an index by weight.
func (g *gen) weighted(ws []int) int {
	total := 0
	for _, w := range ws {
		total += w
	}
	x := g.r.IntN(total)
	for i, w := range ws {
		if x < w {
			return i
		}
		x -= w
	}
	return len(ws) - 1
}

func (g *gen) hex(n int) string {
	const digits = "0123456789ABCDEF"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.r.IntN(16)]
	}
	return string(b)
}

func (g *gen) guid() string {
	h := g.hex(32)
	return "{" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32] + "}"
}

// isBusinessDay reports whether day d (0-based) is a working day.
func isBusinessDay(d int) bool {
	t := Start.AddDate(0, 0, d)
	if t.Weekday() == time.Saturday || t.Weekday() == time.Sunday {
		return false
	}
	return !(t.Year() == Holiday.Year() && t.YearDay() == Holiday.YearDay())
}

// inBlackout reports whether background DNS of ip must stay silent at t.
func (g *gen) inBlackout(ip string, t time.Time) bool {
	for _, w := range g.blackout {
		if w.ip == ip && !t.Before(w.from) && t.Before(w.to) {
			return true
		}
	}
	return false
}

func (g *gen) run() {
	g.buildHosts()
	g.longtail = newLongTail(g)
	g.plantWindows()
	g.background()
	g.plant()
}
