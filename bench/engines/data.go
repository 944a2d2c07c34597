package main

// The benchmark's events: real log lines from ../shared/datasets, parsed by
// kizuki's own parsers, replayed with new time stamps until there are N.
//
// Replaying the same lines unchanged would flatter every columnar engine
// (a dictionary holds each repeated line once), so each replay rewrites the
// line's text before it is parsed again: the time stamp, the third octet of
// every IPv4 address, the Postfix queue id and the syslog host, so that
// almost every raw line is distinct while the vocabulary stays that of the
// real logs. The fields stored are what the parser reads from that text.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/formats"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/parse/syslog"
)

// How a template's raw line starts, so its time stamp can be rewritten.
const (
	tsNone  = iota // no time stamp at the start: the text is left as is
	tsEpoch        // Squid native: "1424221299.090 ..."
	ts3164         // syslog "Feb 16 11:43:32 ..."
	tsISO          // syslog "2014-05-23T10:25:58.681222-04:00 ..."
	tsBind         // BIND's own "16-Dec-2014 01:03:55[.621] ..."
)

type template struct {
	raw   string
	p     parse.Parser
	file  string // relative to the datasets folder
	line  int64
	ts    int    // tsNone...
	pre   int    // bytes before the time stamp ("<PRI>")
	tsEnd int    // end of the time stamp
	host  string // host as the template's syslog header names it
	qid   string // Postfix queue id, rewritten per replay
}

type source struct {
	name   string
	weight int
	tpls   []template
	next   int
	rep    int
}

// Corpus is the set of templates and the mix.
type Corpus struct {
	sources []*source
	total   int
	dir     string
}

// Describe lists the templates per source.
func (c *Corpus) Describe() string {
	var b strings.Builder
	for _, s := range c.sources {
		files := map[string]int{}
		for _, t := range s.tpls {
			files[t.file]++
		}
		var fs []string
		for f, n := range files {
			fs = append(fs, fmt.Sprintf("%s (%d)", f, n))
		}
		sort.Strings(fs)
		fmt.Fprintf(&b, "  %-9s weight %2d%%  %6d distinct lines from %s\n", s.name, s.weight, len(s.tpls), strings.Join(fs, ", "))
	}
	return b.String()
}

// LoadCorpus reads the templates. mix is "name=weight,..." over the sources
// squid, postfix, firewall, bind. work is a scratch folder (the Squid base
// file is generated there once by the project's bench/squidgen).
func LoadCorpus(datasets, work, mix string) (*Corpus, error) {
	reg := formats.Registry()
	pc := parse.NewContext(time.UTC, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	weights := map[string]int{}
	for _, kv := range strings.Split(mix, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 0 {
			return nil, fmt.Errorf("bad -mix entry %q", kv)
		}
		weights[k] = n
	}
	c := &Corpus{dir: datasets}
	add := func(name string, tpls []template) {
		if weights[name] == 0 || len(tpls) == 0 {
			return
		}
		c.sources = append(c.sources, &source{name: name, weight: weights[name], tpls: tpls})
		c.total += weights[name]
	}

	// Squid: the project's own generator replays the public Squid lines
	// with an office's mix of clients and destinations (zipf).
	squidLog := filepath.Join(work, "base", "squid-50000.log")
	if weights["squid"] > 0 {
		if _, err := os.Stat(squidLog); err != nil {
			if err := os.MkdirAll(filepath.Dir(squidLog), 0o755); err != nil {
				return nil, err
			}
			cmd := exec.Command("go", "run", "github.com/kizuki-dev/kizuki/bench/squidgen",
				"-n", "50000", "-datasets", datasets, "-out", squidLog+".tmp")
			cmd.Stderr = os.Stderr
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("bench/squidgen: %w", err)
			}
			if err := os.Rename(squidLog+".tmp", squidLog); err != nil {
				return nil, err
			}
		}
		tpls, err := fileTemplates(reg, pc, squidLog, "squid (bench/squidgen -n 50000)", "")
		if err != nil {
			return nil, err
		}
		add("squid", tpls)
	}

	var postfix []template
	for _, f := range []string{"postfix/postfix-maillog-dump/maillog", "postfix/postfix-maillog-dump/mailog2"} {
		tpls, err := fileTemplates(reg, pc, filepath.Join(datasets, f), f, "")
		if err != nil {
			return nil, err
		}
		postfix = append(postfix, tpls...)
	}
	add("postfix", postfix)

	// The Wazuh rule tests hold single real lines of many devices; keep
	// those a kizuki parser reads, by the parser that sniffs each.
	byParser := map[string][]template{}
	for _, f := range []string{
		"firewall/wazuh-ruleset/netscreen.ini", "firewall/wazuh-ruleset/firewalld.ini",
		"firewall/wazuh-ruleset/junos.ini", "firewall/wazuh-ruleset/SonicWall.ini",
		"firewall/wazuh-ruleset/paloalto.ini", "firewall/wazuh-ruleset/cisco_asa.ini",
		"bind/wazuh-ruleset/named.ini",
	} {
		tpls, err := iniTemplates(reg, pc, datasets, f)
		if err != nil {
			return nil, err
		}
		for _, t := range tpls {
			byParser[t.p.Name()] = append(byParser[t.p.Name()], t)
		}
	}
	// The parsers' fixtures: real lines published in the JPCERT/CC guide
	// and other projects' tests (see each testdata/README.md).
	repo := filepath.Join("..", "..")
	fixtures := func(force string, rels ...string) []template {
		var out []template
		for _, rel := range rels {
			path := filepath.Join(datasets, rel)
			if strings.HasPrefix(rel, "internal/") {
				path = filepath.Join(repo, rel)
			}
			tpls, err := fileTemplates(reg, pc, path, rel, force)
			if err != nil {
				fmt.Fprintf(os.Stderr, "skipping %s: %v\n", rel, err)
				continue
			}
			out = append(out, tpls...)
		}
		return out
	}
	bindTpls := append(byParser["bind"], fixtures("bind", "bind/fail2ban/named-refused",
		"internal/parse/bind/testdata/jpcert.log", "internal/parse/bind/testdata/variants.log")...)
	fwTpls := append(append(byParser["netscreen"], byParser["iptables"]...), fixtures("netscreen",
		"internal/parse/netscreen/testdata/jpcert.log", "internal/parse/netscreen/testdata/variants.log")...)
	fwTpls = append(fwTpls, fixtures("iptables", "internal/parse/iptables/testdata/netfilter.log")...)
	add("firewall", fwTpls)
	add("bind", bindTpls)
	if len(c.sources) == 0 {
		return nil, errors.New("no source left: check -mix and -datasets")
	}
	return c, nil
}

// fileTemplates keeps every line of path that its format (sniffed, or
// forced) parses into an event.
func fileTemplates(reg *parse.Registry, pc *parse.Context, path, name, force string) ([]template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := bytes.Split(data, []byte("\n"))
	var p parse.Parser
	if force != "" {
		p, _ = reg.Lookup(force)
	} else {
		sample := lines[:min(64, len(lines))]
		d, err := reg.Detect(sample)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		p = d.Parser
	}
	var out []template
	for i, l := range lines {
		l = bytes.TrimRight(l, "\r")
		if t, ok := newTemplate(p, pc, string(l), name, int64(i+1)); ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// iniTemplates reads the "log N pass = LINE" lines of a Wazuh test file.
func iniTemplates(reg *parse.Registry, pc *parse.Context, datasets, rel string) ([]template, error) {
	f, err := os.Open(filepath.Join(datasets, rel))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []template
	sc := bufio.NewScanner(f)
	n := int64(0)
	for sc.Scan() {
		n++
		l := sc.Text()
		if !strings.HasPrefix(l, "log ") {
			continue
		}
		_, rest, ok := strings.Cut(l, " pass = ")
		if !ok {
			continue
		}
		d, err := reg.Detect([][]byte{[]byte(rest)})
		if err != nil || d.Parser.Name() == "kv" {
			continue
		}
		if t, ok := newTemplate(d.Parser, pc, rest, rel, n); ok {
			out = append(out, t)
		}
	}
	return out, sc.Err()
}

func newTemplate(p parse.Parser, pc *parse.Context, raw, file string, line int64) (template, bool) {
	if strings.TrimSpace(raw) == "" {
		return template{}, false
	}
	var ev event.Event
	ev.Raw, ev.Source = raw, p.Name()
	if err := p.Parse([]byte(raw), &ev, pc); err != nil {
		return template{}, false
	}
	t := template{raw: raw, p: p, file: file, line: line, host: ev.Host, qid: ev.Get(event.QueueID)}
	b := []byte(raw)
	if len(b) > 0 && b[0] == '<' {
		if i := bytes.IndexByte(b, '>'); i > 0 && i < 5 {
			t.pre = i + 1
		}
	}
	rest := b[t.pre:]
	t.tsEnd = t.pre
	switch {
	case len(rest) > 10 && rest[0] >= '1' && rest[0] <= '9' && bytes.IndexByte(rest[:min(16, len(rest))], '.') == 10:
		sp := bytes.IndexByte(rest, ' ')
		if sp > 0 {
			t.ts, t.tsEnd = tsEpoch, t.pre+sp
		}
	case len(rest) > 20 && rest[2] == '-' && rest[6] == '-' && rest[11] == ' ':
		t.ts, t.tsEnd = tsBind, t.pre+20
		if len(rest) > 24 && rest[20] == '.' {
			t.tsEnd += 4
		}
	default:
		if _, after, ok := syslog.ParseTime(rest, pc); ok {
			t.tsEnd = len(raw) - len(after)
			if rest[0] >= '0' && rest[0] <= '9' {
				t.ts = tsISO
			} else {
				t.ts = ts3164
			}
		}
	}
	if t.host != "" && !strings.Contains(raw[t.tsEnd:], t.host) {
		t.host = "" // the host is not in the text: the rewrite leaves it
	}
	return t, true
}

// Gen produces the events of one run, the same for every engine.
type Gen struct {
	c        *Corpus
	n        int
	i        int
	rng      *rand.Rand
	pc       *parse.Context
	start    time.Time
	step     time.Duration
	hosts    int
	needle   string
	needleAt []int // event numbers that get the needle, ascending
	pending  int   // needles due but not yet placed

	// Filled as events are produced.
	RawBytes    int64 // sum of len(raw)+1: the size of the lines as a log file
	NeedleRaw   int64 // events whose raw holds the needle (case-insensitive)
	NeedleSrcIP int64 // events whose src_ip is the needle
	PrefixSrcIP int64 // events whose src_ip starts with Prefix
	Prefix      string
	PerSource   map[string]int64
	First, Last time.Time
	buf         []byte
}

// NewGen returns a generator of n events over days days from start, with
// needles copies of needle as src_ip spread evenly.
func NewGen(c *Corpus, n int, seed uint64, start time.Time, days float64, hosts int, needle string, needles int, prefix string) *Gen {
	for _, s := range c.sources {
		s.next, s.rep = 0, 0
	}
	g := &Gen{
		c: c, n: n, rng: rand.New(rand.NewPCG(seed, 0x6b697a756b69)),
		pc:    parse.NewContext(time.UTC, start.Add(time.Duration(days*24*float64(time.Hour)))),
		start: start, step: time.Duration(days * 24 * float64(time.Hour) / float64(n)),
		hosts: hosts, needle: strings.ToLower(needle), Prefix: prefix,
		PerSource: map[string]int64{},
	}
	for k := 0; k < needles; k++ {
		g.needleAt = append(g.needleAt, int((float64(k)+0.5)*float64(n)/float64(needles)))
	}
	return g
}

// Next fills ev with the next event; false when all n were made.
func (g *Gen) Next(ev *event.Event) bool {
	if g.i >= g.n {
		return false
	}
	t := g.start.Add(time.Duration(g.i) * g.step)
	for len(g.needleAt) > 0 && g.needleAt[0] <= g.i {
		g.needleAt = g.needleAt[1:]
		g.pending++
	}
	for {
		s := g.pick()
		tpl := &s.tpls[s.next]
		rep := s.rep
		s.next++
		if s.next == len(s.tpls) {
			s.next, s.rep = 0, s.rep+1
		}
		raw := g.rewrite(tpl, rep, t)
		if !g.parse(ev, tpl, raw, t) {
			continue
		}
		if g.pending > 0 {
			if ip := ev.Get(event.SrcIP); ip != "" && !strings.Contains(raw, g.needle) {
				if i := strings.Index(raw, ip); i >= 0 {
					nr := raw[:i] + g.needle + raw[i+len(ip):]
					var probe event.Event
					if g.parse(&probe, tpl, nr, t) && probe.Get(event.SrcIP) == g.needle {
						g.parse(ev, tpl, nr, t)
						g.pending--
					}
				}
			}
		}
		if ev.Host == "" {
			// A proxy's or firewall's lines without a syslog header: the
			// host is the sending device, as kizuki serve records it.
			ev.Host = fmt.Sprintf("%s-gw%02d", s.name, g.rng.IntN(g.hosts))
		}
		g.account(ev, s.name)
		g.i++
		return true
	}
}

func (g *Gen) account(ev *event.Event, src string) {
	g.RawBytes += int64(len(ev.Raw)) + 1
	if containsFold(ev.Raw, g.needle) {
		g.NeedleRaw++
	}
	ip := ev.Get(event.SrcIP)
	if ip == g.needle {
		g.NeedleSrcIP++
	}
	if g.Prefix != "" && strings.HasPrefix(ip, g.Prefix) {
		g.PrefixSrcIP++
	}
	g.PerSource[src]++
	if g.First.IsZero() {
		g.First = ev.Time
	}
	g.Last = ev.Time
}

func containsFold(s, lowerNeedle string) bool {
	if strings.Contains(s, lowerNeedle) {
		return true
	}
	return strings.Contains(strings.ToLower(s), lowerNeedle)
}

func (g *Gen) pick() *source {
	x := g.rng.IntN(g.c.total)
	for _, s := range g.c.sources {
		if x < s.weight {
			return s
		}
		x -= s.weight
	}
	return g.c.sources[len(g.c.sources)-1]
}

func (g *Gen) parse(ev *event.Event, tpl *template, raw string, t time.Time) bool {
	ev.Reset()
	ev.Raw = raw
	ev.Source = tpl.p.Name()
	ev.Origin = event.Origin{File: tpl.file, Line: tpl.line}
	if err := tpl.p.Parse([]byte(raw), ev, g.pc); err != nil {
		return false
	}
	ev.Time = t.Truncate(time.Millisecond)
	return true
}

// rewrite makes replay rep of tpl at time t.
func (g *Gen) rewrite(tpl *template, rep int, t time.Time) string {
	b := g.buf[:0]
	b = append(b, tpl.raw[:tpl.pre]...)
	switch tpl.ts {
	case tsEpoch:
		ms := t.UnixMilli()
		b = strconv.AppendInt(b, ms/1000, 10)
		b = append(b, '.')
		b = append(b, byte('0'+ms%1000/100), byte('0'+ms%100/10), byte('0'+ms%10))
	case ts3164:
		b = t.UTC().AppendFormat(b, time.Stamp)
	case tsISO:
		b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	case tsBind:
		b = t.UTC().AppendFormat(b, "02-Jan-2006 15:04:05.000")
	default:
		b = append(b, tpl.raw[tpl.pre:tpl.tsEnd]...)
	}
	rest := tpl.raw[tpl.tsEnd:]
	if tpl.host != "" {
		// A fleet of devices of each kind: the template's host and its
		// siblings host-1, host-2...
		if h := g.rng.IntN(g.hosts); h > 0 {
			rest = strings.ReplaceAll(rest, tpl.host, tpl.host+"-"+strconv.Itoa(h))
		}
	}
	b = shiftIPv4(b, rest, rep%16)
	s := string(b)
	if tpl.qid != "" && rep > 0 {
		s = strings.ReplaceAll(s, tpl.qid, newQID(tpl.qid, rep))
	}
	g.buf = b
	return s
}

// newQID derives a queue id of the same shape for replay rep.
func newQID(q string, rep int) string {
	h := fnv.New64a()
	h.Write([]byte(q))
	h.Write([]byte{byte(rep), byte(rep >> 8), byte(rep >> 16)})
	x := h.Sum64()
	const hexd = "0123456789ABCDEF"
	out := []byte(q)
	for i := range out {
		c := out[i]
		if c >= '0' && c <= '9' || c >= 'A' && c <= 'F' {
			out[i] = hexd[x&15]
			x >>= 4
			if x == 0 {
				x = h.Sum64() ^ uint64(i)*0x9e3779b97f4a7c15
			}
		}
	}
	return string(out)
}

// shiftIPv4 appends s to b with the third octet of each dotted-quad IPv4
// address increased by k (mod 256).
func shiftIPv4(b []byte, s string, k int) []byte {
	if k == 0 {
		return append(b, s...)
	}
	i := 0
	for i < len(s) {
		c := s[i]
		if c < '0' || c > '9' || (i > 0 && (isDigitOrDot(s[i-1]))) {
			b = append(b, c)
			i++
			continue
		}
		// Try to read a.b.c.d here.
		var oct [4]int
		j, ok := i, true
		var starts [4]int
		for o := 0; o < 4 && ok; o++ {
			if o > 0 {
				if j >= len(s) || s[j] != '.' {
					ok = false
					break
				}
				j++
			}
			starts[o] = j
			n, d := 0, 0
			for j < len(s) && s[j] >= '0' && s[j] <= '9' && d < 4 {
				n = n*10 + int(s[j]-'0')
				j++
				d++
			}
			if d == 0 || d > 3 || n > 255 {
				ok = false
			}
			oct[o] = n
		}
		if !ok || (j < len(s) && isDigitOrDot(s[j]) && !(s[j] == '.' && (j+1 >= len(s) || s[j+1] < '0' || s[j+1] > '9'))) {
			b = append(b, c)
			i++
			continue
		}
		b = append(b, s[i:starts[2]]...)
		b = strconv.AppendInt(b, int64((oct[2]+k)%256), 10)
		b = append(b, s[starts[3]-1:j]...)
		i = j
	}
	return b
}

func isDigitOrDot(c byte) bool { return c == '.' || c >= '0' && c <= '9' }
