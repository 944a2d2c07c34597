package ioc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/formats"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// parseLine parses one real log line with the format kizuki detects for it
// (or the one named), as live detection does.
func parseLine(t testing.TB, line, format string) *event.Event {
	t.Helper()
	reg := formats.Registry()
	var p parse.Parser
	if format != "" {
		var ok bool
		if p, ok = reg.Lookup(format); !ok {
			t.Fatalf("no format %s", format)
		}
	} else {
		det, err := reg.Detect([][]byte{[]byte(line)})
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		p = det.Parser
	}
	ev := &event.Event{Raw: line, Source: p.Name(), Origin: event.Origin{File: "test", Line: 1}}
	loc, _ := time.LoadLocation("Asia/Tokyo")
	if err := p.Parse([]byte(line), ev, parse.NewContext(loc, time.Date(2015, 2, 17, 0, 0, 0, 0, time.UTC))); err != nil {
		t.Fatalf("%s %q: %v", p.Name(), line, err)
	}
	return ev
}

// firstLine returns the first line of a file that contains sub.
func firstLine(t testing.TB, path, sub string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), sub) {
			return sc.Text()
		}
	}
	t.Fatalf("no line with %q in %s", sub, path)
	return ""
}

func compileText(t testing.TB, name, text string) *Matcher {
	t.Helper()
	l, rep, err := ParseText(name, strings.NewReader(text), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ProblemCount > 0 {
		t.Fatalf("%s", rep)
	}
	m, err := Compile([]*List{l}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func hits(m *Matcher, ev *event.Event) []Hit {
	var out []Hit
	m.Match(ev, func(h Hit) { out = append(out, h) })
	return out
}

const examples = "../../../examples/logs"

// Each kind matched on the example scenario's real log lines, placed on
// the kill chain as J5 places them.
func TestMatchExampleLogs(t *testing.T) {
	m := compileText(t, "partner", `
evil-cdn.example
203.0.113.80
attacker@evil.example
apt.example.com/blog/
`)
	type want struct {
		file, sub, indicator, host, via string
		dir                             Direction
		stages                          []alert.Stage
		sev                             alert.Severity
	}
	for _, w := range []want{
		// Subdomain of a domain indicator, in the proxy log: outbound, critical.
		{"proxy/access_combined.log", "dl.evil-cdn.example", "evil-cdn.example", "192.168.100.23", ViaProxy, Outbound,
			[]alert.Stage{alert.Delivery, alert.Installation, alert.CommandAndControl, alert.ActionsOnObjectives}, alert.Critical},
		// The same in the DNS query log: a lookup, high.
		{"dns/queries.log", "dl.evil-cdn.example", "evil-cdn.example", "192.168.100.23", ViaDNS, Outbound, nil, alert.High},
		// The address in the firewall log, from the proxy (egress host).
		{"firewall/netscreen.log", "dst=203.0.113.80", "203.0.113.80", "192.168.1.5", ViaFirewall, Outbound, nil, alert.Critical},
		// The sender of the spoofed mail: delivery to the recipient.
		{"mail/maillog", "from=<attacker@evil.example>", "attacker@evil.example", "tanaka@example.co.jp", ViaMail, Mail,
			[]alert.Stage{alert.Delivery}, alert.High},
		// A URL indicator without query matches the beacon POSTs.
		{"proxy/access_combined.log", "POST http://apt.example.com/blog/", "http://apt.example.com/blog", "192.168.100.23", ViaProxy, Outbound, nil, alert.Critical},
	} {
		ev := parseLine(t, firstLine(t, filepath.Join(examples, w.file), w.sub), "")
		hs := hits(m, ev)
		if len(hs) != 1 {
			t.Errorf("%s %q: %d hits %+v", w.file, w.sub, len(hs), hs)
			continue
		}
		h := hs[0]
		if h.Entry.Indicator.Value != w.indicator || h.Host != w.host || h.Via != w.via || h.Direction != w.dir {
			t.Errorf("%s %q: hit %s host %s via %s dir %s", w.file, w.sub, h.Entry.Indicator.Value, h.Host, h.Via, h.Direction)
		}
		a := h.Alert(ev, false)
		if w.stages != nil && !equalStages(a.Stages, w.stages) {
			t.Errorf("%s: stages %v, want %v", w.file, a.Stages, w.stages)
		}
		if a.Severity != w.sev {
			t.Errorf("%s: severity %s, want %s", w.file, a.Severity, w.sev)
		}
		if a.Fields["list"] != "partner" || a.Fields["indicator"] != w.indicator || len(a.NextSteps.EN) == 0 || len(a.NextSteps.JA) == 0 ||
			a.Time != ev.Time || len(a.Evidence) != 1 || a.Evidence[0].Raw != ev.Raw {
			t.Errorf("%s: alert %+v", w.file, a)
		}
	}
	// Look-alikes of the scenario do not match: notevil-cdn.example.org is
	// not a subdomain of evil-cdn.example.
	ev := parseLine(t, firstLine(t, filepath.Join(examples, "dns/queries.log"), "notevil-cdn.example.org"), "")
	if hs := hits(m, ev); len(hs) != 0 {
		t.Errorf("look-alike matched: %+v", hs)
	}
}

func equalStages(a, b []alert.Stage) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Domains: a domain covers its subdomains; "*.d" only the subdomains; a
// name that merely ends with the same letters is not a subdomain.
func TestMatchDomain(t *testing.T) {
	m := compileText(t, "d", "proxy-listen.de\n*.biglobe.ne.jp\n")
	ds := testutil.Dataset(t, "squid/fail2ban/squid")
	for _, c := range []struct {
		sub  string
		want string
	}{
		{"www.proxy-listen.de", "proxy-listen.de"},
		{"www2t.biglobe.ne.jp", "*.biglobe.ne.jp"},
		{"pkfsp.ru", ""},
	} {
		ev := parseLine(t, firstLine(t, ds, c.sub), "")
		hs := hits(m, ev)
		switch {
		case c.want == "" && len(hs) != 0:
			t.Errorf("%s: unexpected %+v", c.sub, hs)
		case c.want != "" && (len(hs) != 1 || hs[0].Entry.Indicator.Value != c.want):
			t.Errorf("%s: hits %+v, want %s", c.sub, hs, c.want)
		case c.want != "" && !hs[0].Denied:
			t.Errorf("%s: TCP_DENIED not seen as refused", c.sub)
		}
	}
	exact := compileText(t, "d", "*.biglobe.ne.jp\nevil.example\n")
	for host, want := range map[string]bool{"biglobe.ne.jp": false, "a.b.biglobe.ne.jp": true, "EVIL.example.": true, "notevil.example": false, "evil.example.com": false} {
		ev := &event.Event{Source: "squid"}
		ev.Set(event.Domain, host)
		if got := len(hits(exact, ev)) == 1; got != want {
			t.Errorf("%s: match %v, want %v", host, got, want)
		}
	}
}

// Addresses and CIDR prefixes, IPv4 and IPv6, on real BIND and NetScreen
// lines; inbound and outbound.
func TestMatchCIDR(t *testing.T) {
	m := compileText(t, "nets", "194.145.196.0/24\n23.23.45.0/24\n2001:db8:bad::/48\n")
	bind := testutil.Dataset(t, "bind/fail2ban/named-refused")
	ev := parseLine(t, firstLine(t, bind, "client 194.145.196.18#4795"), "")
	// A DNS client address is not an indicator of the query: only the
	// query and answers are looked at in DNS logs.
	if hs := hits(m, ev); len(hs) != 0 {
		t.Errorf("DNS client address matched: %+v", hs)
	}
	ns := parseLine(t, firstLine(t, "../../analyze/testdata/jpcert-figures/netscreen.log", "dst=23.23.45.67 src_port=58461"), "")
	hs := hits(m, ns)
	if len(hs) != 1 || hs[0].Entry.Indicator.Value != "23.23.45.0/24" || hs[0].Direction != Outbound || hs[0].Host != "192.168.100.23" || !hs[0].Denied {
		t.Fatalf("NetScreen deny to 23.23.45.67: %+v", hs)
	}
	if a := hs[0].Alert(ns, false); a.Severity != alert.High || a.Fields["matched"] != "23.23.45.67" || !strings.Contains(a.Summary, "refused") {
		t.Errorf("alert %+v", a)
	}
	// Inbound: the known-bad address is the source.
	in := &event.Event{Source: "iptables"}
	in.Set(event.SrcIP, "2001:db8:bad:1::5")
	in.Set(event.DstIP, "192.168.1.5")
	in.Set(event.Action, "allow")
	hs = hits(m, in)
	if len(hs) != 1 || hs[0].Direction != Inbound || hs[0].Host != "192.168.1.5" || hs[0].Entry.Indicator.Value != "2001:db8:bad::/48" {
		t.Fatalf("inbound IPv6: %+v", hs)
	}
	if a := hs[0].Alert(in, false); !equalStages(a.Stages, []alert.Stage{alert.Delivery}) {
		t.Errorf("inbound stages %v", a.Stages)
	}
	out := &event.Event{Source: "iptables"}
	out.Set(event.SrcIP, "192.168.1.5")
	out.Set(event.DstIP, "2001:db8:bae::1")
	if hs := hits(m, out); len(hs) != 0 {
		t.Errorf("address outside the /48 matched: %+v", hs)
	}
}

func TestPrefixIndex(t *testing.T) {
	x := NewPrefixIndex[string]()
	for _, s := range []string{"10.0.0.0/8", "10.1.0.0/16", "10.1.2.3/32", "2001:db8::/32", "::ffff:192.0.2.0/120"} {
		x.Add(netip.MustParsePrefix(s), s)
	}
	for addr, want := range map[string]string{
		"10.9.9.9": "10.0.0.0/8", "10.1.9.9": "10.1.0.0/16", "10.1.2.3": "10.1.2.3/32",
		"2001:db8:1::1": "2001:db8::/32", "192.0.2.44": "::ffff:192.0.2.0/120", "::ffff:10.1.2.3": "10.1.2.3/32",
		"11.0.0.1": "", "2001:db9::1": "", "::a01:203": "",
	} {
		_, v, ok := x.Lookup(netip.MustParseAddr(addr))
		if v != want || ok != (want != "") {
			t.Errorf("Lookup(%s) = %q %v, want %q", addr, v, ok, want)
		}
	}
	if x.Len() != 5 {
		t.Errorf("Len %d", x.Len())
	}
}

// URLs: normalized comparison (case of scheme and host, default port,
// trailing slash), and an indicator without a query matches the URL with
// any query; the JPCERT figure's Squid lines.
func TestMatchURL(t *testing.T) {
	m := compileText(t, "u", "HTTP://APT.example.com:80/xxx/xxx/apt.zip\nhttp://apt.example.com/blog?id=1\n")
	f := "../../analyze/testdata/jpcert-figures/access.log"
	ev := parseLine(t, firstLine(t, f, "apt.zip"), "")
	if hs := hits(m, ev); len(hs) != 1 || hs[0].Field != "url" || hs[0].Host != "127.0.0.1" {
		t.Errorf("apt.zip: %+v", hs)
	}
	ev = parseLine(t, firstLine(t, f, "POST http://apt.example.com/blog/"), "")
	if hs := hits(m, ev); len(hs) != 0 {
		t.Errorf("an indicator with a query matched the URL without: %+v", hs)
	}
	q := &event.Event{Source: "squid"}
	q.Set(event.URL, "http://apt.example.com/xxx/xxx/apt.zip?session=42")
	if hs := hits(m, q); len(hs) != 1 {
		t.Errorf("URL with a query: %+v", hs)
	}
}

// Hashes: Sysmon's Hashes field ("MD5=...,SHA256=...,IMPHASH=...") of a
// real process creation (SigmaHQ regression data); the import hash is not
// a file hash and never matches an MD5 indicator.
func TestMatchHashSysmon(t *testing.T) {
	p := testutil.Dataset(t, "sigma/regression_data/rules-emerging-threats/2025/Malware/Grixba/proc_creation_win_malware_grixba_recon/af688c76-4ce4-4309-bfdd-e896f01acf27.json")
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		t.Fatal(err)
	}
	ev := parseLine(t, compact.String(), "winjson")
	if !strings.Contains(ev.Extra("Hashes"), "IMPHASH=F34D5F2D4577ED6D9CEEC516C1F5A744") {
		t.Fatalf("Hashes %q", ev.Extra("Hashes"))
	}
	m := compileText(t, "h", "f8810179ab033a9b79cd7006c1a74fbcde6ed0451c92fbb8c7ce15b52499353a dropper\n")
	hs := hits(m, ev)
	if len(hs) != 1 || hs[0].Field != "Hashes" || hs[0].Host != "swachchhanda" || hs[0].Direction != File || hs[0].Via != ViaEndpoint {
		t.Fatalf("SHA256 in Hashes: %+v", hs)
	}
	a := hs[0].Alert(ev, false)
	if a.Severity != alert.Critical || !equalStages(a.Stages, []alert.Stage{alert.Installation}) || a.Fields["algo"] != "sha256" {
		t.Errorf("alert %+v", a)
	}
	if hs := hits(compileText(t, "i", "F34D5F2D4577ED6D9CEEC516C1F5A744\n"), ev); len(hs) != 0 {
		t.Errorf("IMPHASH matched as an MD5: %+v", hs)
	}
	if hs := hits(compileText(t, "m", "88DF27B6E794E3FD5F93F28B1CA1D3D0\n"), ev); len(hs) != 1 {
		t.Errorf("MD5 in Hashes: %+v", hs)
	}
	// A field that is exactly a hash.
	plain := &event.Event{Source: "json"}
	plain.SetExtra("sha256", "F8810179AB033A9B79CD7006C1A74FBCDE6ED0451C92FBB8C7CE15B52499353A")
	if hs := hits(m, plain); len(hs) != 1 || hs[0].Field != "sha256" {
		t.Errorf("exact hash field: %+v", hs)
	}
}

// Keys of hits: the same indicator for the same host the same way is one
// finding; live and retro findings differ.
func TestDedupKey(t *testing.T) {
	m := compileText(t, "d", "evil-cdn.example\n")
	a := parseLine(t, firstLine(t, filepath.Join(examples, "proxy/access_combined.log"), "dl.evil-cdn.example"), "")
	b := parseLine(t, firstLine(t, filepath.Join(examples, "dns/queries.log"), "dl.evil-cdn.example"), "")
	ha, hb := hits(m, a)[0], hits(m, b)[0]
	if DedupKey(ha, false) == DedupKey(hb, false) {
		t.Error("proxy and DNS hits share a key")
	}
	if DedupKey(ha, false) == DedupKey(ha, true) {
		t.Error("live and retro hits share a key")
	}
	if ha.Alert(a, true).Fields["retro"] != "true" || !strings.Contains(ha.Alert(a, true).Summary, "retro-hunt") {
		t.Error("a retro alert does not say so")
	}
}
