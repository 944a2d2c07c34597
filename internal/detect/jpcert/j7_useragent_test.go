package jpcert

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
)

const (
	bChrome  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	bIE11    = "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko"
	bFirefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
)

// JPCERT figure 4-8: a POST with Wget/1.12 from an internal PC; the
// organization's browsers are listed, another PC browsing with the
// standard browser stays quiet.
func TestJ7DocExampleWget(t *testing.T) {
	cfg := bCfg()
	cfg.Allowlists.UserAgents = []string{"Mozilla/5.0 (Windows NT *) AppleWebKit/* Chrome/*", "*Trident/7.0*"}
	m := bModel(t, cfg)
	tm := bJST(t, "2015-02-12 13:53:00")
	got := bRun(NewJ7(m),
		bProxy(tm, "192.168.100.21", "GET", "http://www.example.org/", bUA(bChrome)),
		bProxy(tm, "192.168.100.22", "GET", "http://www.example.org/", bUA(bIE11)),
		bProxy(tm, "192.168.100.10", "POST", "http://apt.example.com/control/apt.zip", bUA("Wget/1.12 (linux-gnu)"), bIn(851)),
		bProxy(tm.Add(time.Minute), "192.168.100.10", "POST", "http://apt.example.com/control/apt.zip", bUA("Wget/1.12 (linux-gnu)"), bIn(851)),
	)
	bWant(t, got, 1)
	a := got[0]
	bCheck(t, a, "J7", "192.168.100.10", alert.High, bStages567,
		`"Wget/1.12 (linux-gnu)"`, "known tool: Wget", "apt.example.com", "2 requests")
	if a.Fields["user_agent"] != "Wget/1.12 (linux-gnu)" || a.Fields["domain"] != "apt.example.com" || a.Fields["requests"] != "2" {
		t.Errorf("fields %v", a.Fields)
	}
	if !reflect.DeepEqual(bOrigins(a), []int64{3, 4}) || a.Evidence[0].Origin.File != "access.log" {
		t.Errorf("evidence origins %v", bOrigins(a))
	}
	if a.Count != 2 || !a.Time.Equal(tm) || !a.LastTime.Equal(tm.Add(time.Minute)) {
		t.Errorf("count %d time %v–%v", a.Count, a.Time, a.LastTime)
	}
}

// Without an allowlist the learned baseline decides: a browser used by most
// clients and a Windows component used everywhere are standard; a rare
// browser string is medium; Notes says the allowlist is missing.
func TestJ7LearnedBaseline(t *testing.T) {
	m := bModel(t, nil)
	d := NewJ7(m)
	tm := bJST(t, "2015-02-12 10:00:00")
	var evs []*event.Event
	for i := 1; i <= 10; i++ {
		c := fmt.Sprintf("192.168.1.%d", i)
		evs = append(evs,
			bProxy(tm, c, "GET", "http://news.example.jp/", bUA(bChrome)),
			bProxy(tm, c, "GET", "http://crl.example.com/ca.crl", bUA("Microsoft-CryptoAPI/10.0")),
		)
	}
	// Firefox on 2 of 10 clients: below max(3, 20%) = 3.
	evs = append(evs,
		bProxy(tm, "192.168.1.1", "GET", "http://www.example.net/", bUA(bFirefox)),
		bProxy(tm, "192.168.1.2", "GET", "http://www.example.net/", bUA(bFirefox)),
		bProxy(tm, "192.168.1.3", "GET", "http://odd.example.biz/x", bUA("Mozilla/5.0 (Windows NT 6.1) OddAgent/0.9")),
	)
	got := bRun(d, evs...)
	bWant(t, got, 3)
	for _, a := range got {
		if a.Severity != alert.Medium {
			t.Errorf("%s: severity %s", a.Summary, a.Severity)
		}
		if a.Fields["baseline_clients"] != "3" || a.Fields["clients_total"] != "10" {
			t.Errorf("fields %v", a.Fields)
		}
	}
	bCheck(t, got[2], "J7", "192.168.1.3", alert.Medium, bStages567, "OddAgent/0.9", "odd.example.biz", "used by 1 of 10 clients")
	if l := d.(*j7).learnedUAs(); !reflect.DeepEqual(l, []string{"Microsoft-CryptoAPI/10.0", bChrome}) {
		t.Errorf("learned %q", l)
	}
	n := bNote(t, d.Notes(), detect.Degraded, "allowlists.user_agents")
	if !strings.Contains(n.Message, "learned baseline only") {
		t.Errorf("note %q", n.Message)
	}
}

// The allowlist is authoritative even for a tool: Java updaters listed
// explicitly stay quiet (JPCERT caveat); an unlisted Java client is high.
func TestJ7AllowlistedTool(t *testing.T) {
	cfg := bCfg()
	cfg.Allowlists.UserAgents = []string{"JavaUpdate/*"}
	m := bModel(t, cfg)
	tm := bJST(t, "2015-02-12 10:00:00")
	d := NewJ7(m)
	got := bRun(d,
		bProxy(tm, "192.168.1.5", "GET", "http://javadl-esd-secure.oracle.com/update/", bUA("JavaUpdate/1.8")),
		bProxy(tm, "192.168.1.6", "GET", "http://c2.example.net/a", bUA("Java/1.8.0_151")),
	)
	bWant(t, got, 1)
	bCheck(t, got[0], "J7", "192.168.1.6", alert.High, bStages567, "Java")
	bNoNote(t, d.Notes(), "allowlists.user_agents")
}

// Internal destinations are out of scope: curl to an intranet server by IP
// or by a single-label name stays quiet.
func TestJ7InternalDestinationQuiet(t *testing.T) {
	m := bModel(t, nil)
	tm := bJST(t, "2015-02-12 10:00:00")
	got := bRun(NewJ7(m),
		bProxy(tm, "192.168.1.5", "GET", "http://10.1.2.3/status", bUA("curl/7.68.0")),
		bProxy(tm, "192.168.1.5", "GET", "http://intranet/portal", bUA("curl/7.68.0")),
		bProxy(tm, "192.168.1.5", "CONNECT", "192.168.10.2:8089", bUA("curl/7.68.0")),
		bProxy(tm, "192.168.1.5", "GET", "http://printer.local/", bUA("curl/7.68.0")),
	)
	bWant(t, got, 0)
}

// Squid's native log has no User-Agent: the analysis is skipped with the
// document's logformat advice.
func TestJ7NativeSquidSkipped(t *testing.T) {
	d := NewJ7(bModel(t, nil))
	got := bRun(d, bProxy(bJST(t, "2015-02-12 10:00:00"), "192.168.1.5", "GET", "http://apt.example.com/"))
	bWant(t, got, 0)
	notes := d.Notes()
	n := bNote(t, notes, detect.Skipped, "Squid: logformat combined (JPCERT table 4-19)")
	if !strings.Contains(n.Message, "Squid native access.log has no User-Agent; configure logformat combined (JPCERT table 4-19)") {
		t.Errorf("note %q", n.Message)
	}
	if len(notes) != 1 {
		t.Errorf("notes %+v", notes)
	}
}

// Many requests: one finding per (client, User-Agent), evidence capped,
// domains listed with "and others".
func TestJ7EvidenceCapped(t *testing.T) {
	d := NewJ7(bModel(t, nil))
	tm := bJST(t, "2015-02-12 10:00:00")
	var evs []*event.Event
	for i := 0; i < 50; i++ {
		evs = append(evs, bProxy(tm.Add(time.Duration(i)*time.Second), "192.168.1.7", "GET",
			fmt.Sprintf("http://h%d.example.com/p", i%5), bUA("python-requests/2.31.0")))
	}
	got := bRun(d, evs...)
	bWant(t, got, 1)
	a := got[0]
	bCheck(t, a, "J7", "192.168.1.7", alert.High, bStages567, "50 requests", "h0.example.com, h1.example.com, h2.example.com and others")
	if a.Count != 50 || a.EvidenceTotal != 50 || len(a.Evidence) != j7KeepFirst+1 {
		t.Errorf("count %d total %d evidence %d", a.Count, a.EvidenceTotal, len(a.Evidence))
	}
	if last := a.Evidence[len(a.Evidence)-1].Origin.Line; last != 50 {
		t.Errorf("latest evidence line %d", last)
	}
}

func TestJ7ToolClassification(t *testing.T) {
	for ua, want := range map[string]bool{
		"Wget/1.12 (linux-gnu)":    true,
		"curl/8.4.0":               true,
		"python-requests/2.31.0":   true,
		"Python-urllib/3.11":       true,
		"Go-http-client/1.1":       true,
		"libwww-perl/6.67":         true,
		"Java/1.8.0_151":           true,
		"-":                        true,
		"Microsoft-CryptoAPI/10.0": true,
		"Microsoft BITS/7.8":       true,
		"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)":                        true,
		"Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.1": true,
		"Mozilla/4.0 (compatible; Win32; WinHttp.WinHttpRequest.5)":                      true,
		"Mozilla/5.0": true,
		bChrome:       false,
		bIE11:         false,
		bFirefox:      false,
		"Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)": false,
	} {
		if got := j7Tool(ua) != ""; got != want {
			t.Errorf("j7Tool(%q) = %q, want tool=%v", ua, j7Tool(ua), want)
		}
	}
}

func TestJ7Threshold(t *testing.T) {
	for n, want := range map[int]int{0: 3, 1: 3, 10: 3, 15: 3, 16: 4, 20: 4, 100: 20, 101: 21} {
		if got := j7Threshold(n); got != want {
			t.Errorf("j7Threshold(%d) = %d, want %d", n, got, want)
		}
	}
}

func BenchmarkJ7Observe(b *testing.B) {
	cfg := bCfg()
	cfg.Allowlists.UserAgents = []string{"Mozilla/5.0 (Windows NT *) AppleWebKit/* Chrome/*"}
	m := bModel(b, cfg)
	tm := bJST(b, "2015-02-12 10:00:00")
	b.Run("allowlisted", func(b *testing.B) {
		d := NewJ7(m)
		ev := bProxy(tm, "192.168.1.5", "GET", "http://www.example.org/", bUA(bChrome))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			d.Observe(ev)
		}
	})
	b.Run("no-user-agent", func(b *testing.B) {
		d := NewJ7(m)
		ev := bProxy(tm, "192.168.1.5", "GET", "http://www.example.org/")
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			d.Observe(ev)
		}
	})
	b.Run("tracked-pair", func(b *testing.B) {
		d := NewJ7(m)
		ev := bProxy(tm, "192.168.1.5", "GET", "http://apt.example.com/", bUA("Wget/1.12 (linux-gnu)"))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			d.Observe(ev)
		}
	})
}

func TestJ7ExternalHost(t *testing.T) {
	m := bModel(t, nil)
	for host, want := range map[string]bool{
		"apt.example.com": true,
		"23.23.1.1":       true,
		"2001:db8::1":     true,
		"[2001:db8::1]":   true,
		"cafe.be":         true,
		"1password.com":   true,
		"192.168.10.2":    false,
		"10.1.2.3":        false,
		"127.0.0.1":       false,
		"::1":             false,
		"[fe80::1]":       false,
		"169.254.1.1":     false,
		"intranet":        false,
		"localhost":       false,
		"printer.local":   false,
		"nas.home.arpa":   false,
		"svc.internal":    false,
		"fileserver.lan.": false,
	} {
		if got := wpExternalHost(m, host); got != want {
			t.Errorf("wpExternalHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// A combined-format record whose User-Agent column is "-" (the parser drops
// it, the %Ss:%Sh column is still there) is a request without any
// User-Agent: high. A common-format record (no such column) is not judged.
func TestJ7EmptyUserAgent(t *testing.T) {
	d := NewJ7(bModel(t, nil))
	tm := bJST(t, "2015-02-12 13:53:00")
	empty := bProxy(tm, "192.168.100.10", "GET", "http://apt.example.com/x")
	empty.Source = "squid-combined"
	empty.SetExtra("hierarchy", "DIRECT")
	common := bProxy(tm, "192.168.100.11", "GET", "http://apt.example.com/x")
	common.Source = "squid-combined"
	got := bRun(d, empty, common)
	bWant(t, got, 1)
	bCheck(t, got[0], "J7", "192.168.100.10", alert.High, bStages567, `User-Agent "-" (empty User-Agent)`)
	bNote(t, d.Notes(), detect.Degraded, "Squid: logformat combined (JPCERT table 4-19)")
}
