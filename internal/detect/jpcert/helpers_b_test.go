package jpcert

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Tokyo on machines without zoneinfo

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// Test helpers of the web proxy analyses J7–J10 (the "b" prefix keeps them
// apart from the other analyses' helpers).

// bCfg returns a configuration in the JPCERT document's time zone.
func bCfg() *org.Config { return &org.Config{Timezone: "Asia/Tokyo"} }

func bModel(t testing.TB, cfg *org.Config) *org.Model {
	t.Helper()
	if cfg == nil {
		cfg = bCfg()
	}
	m, err := org.New(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// bJST parses "2015-02-12 13:53:00" as Japan time.
func bJST(t testing.TB, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	tm, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UTC()
}

// bUnix converts a Squid timestamp ("1424227775.972") to a time.
func bUnix(s string) time.Time {
	sec, frac, _ := strings.Cut(s, ".")
	n, _ := strconv.ParseInt(sec, 10, 64)
	ms, _ := strconv.ParseInt((frac + "000")[:3], 10, 64)
	return time.Unix(n, ms*int64(time.Millisecond)).UTC()
}

// bOpt modifies a proxy event.
type bOpt func(*event.Event)

// bUA sets the User-Agent (and makes the record a squid-combined one).
func bUA(ua string) bOpt {
	return func(ev *event.Event) { ev.Source = "squid-combined"; ev.Set(event.UserAgent, ua) }
}

// bIn sets the bytes delivered to the client (Squid %<st).
func bIn(n int64) bOpt {
	return func(ev *event.Event) { ev.Set(event.BytesIn, strconv.FormatInt(n, 10)) }
}

// bOut sets the request (upload) bytes.
func bOut(n int64) bOpt {
	return func(ev *event.Event) { ev.Set(event.BytesOut, strconv.FormatInt(n, 10)) }
}

// bLine sets the origin line.
func bLine(n int64) bOpt { return func(ev *event.Event) { ev.Origin.Line = n } }

// bProxy builds a proxy event as the Squid parsers do: Domain is the URL
// host (CONNECT: host of host:port), lowercase, without port.
func bProxy(tm time.Time, client, method, url string, opts ...bOpt) *event.Event {
	ev := &event.Event{Source: "squid", Time: tm, Origin: event.Origin{File: "access.log"}}
	ev.Set(event.SrcIP, client)
	ev.Set(event.Method, method)
	ev.Set(event.URL, url)
	ev.Set(event.Status, "200")
	host := url
	port := "80"
	if method == "CONNECT" {
		port = "443"
	} else {
		if i := strings.Index(host, "://"); i >= 0 {
			if strings.HasPrefix(host, "https") {
				port = "443"
			}
			host = host[i+3:]
		}
		if i := strings.IndexByte(host, '/'); i >= 0 {
			host = host[:i]
		}
	}
	if h, p, ok := strings.Cut(host, ":"); ok && !strings.Contains(p, ":") {
		host, port = h, p
	}
	ev.Set(event.Domain, strings.ToLower(host))
	ev.Set(event.DstPort, port)
	for _, o := range opts {
		o(ev)
	}
	ms := ev.Time.UnixMilli()
	ev.Raw = strconv.FormatInt(ms/1000, 10) + "." + strconv.FormatInt(1000+ms%1000, 10)[1:] +
		" 21 " + client + " TCP_MISS/200 " + orDash(ev.Get(event.BytesIn)) + " " + method + " " + url +
		" - HIER_DIRECT/" + ev.Get(event.Domain) + " text/html"
	if ua := ev.Get(event.UserAgent); ua != "" {
		ev.Raw += " \"" + ua + "\""
	}
	return ev
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// bRun feeds evs to d, numbering lines that have none, and returns its
// findings.
func bRun(d detect.Detector, evs ...*event.Event) []*alert.Alert {
	for i, ev := range evs {
		if ev.Origin.Line == 0 {
			ev.Origin.Line = int64(i + 1)
		}
		d.Observe(ev)
	}
	var out []*alert.Alert
	d.Flush(context.Background(), func(a *alert.Alert) { out = append(out, a) })
	return out
}

// bWant asserts n findings and logs them on failure.
func bWant(t *testing.T, got []*alert.Alert, n int) {
	t.Helper()
	if len(got) != n {
		for _, a := range got {
			t.Logf("alert: %s %s %s %q %v", a.Rule, a.Host, a.Severity, a.Summary, a.Fields)
		}
		t.Fatalf("want %d alerts, got %d", n, len(got))
	}
}

// bCheck asserts a finding's identity, placement and summary fragments.
func bCheck(t *testing.T, a *alert.Alert, rule, host string, sev alert.Severity, stages []alert.Stage, summary ...string) {
	t.Helper()
	if a.Rule != rule || a.Host != host || a.Severity != sev {
		t.Errorf("got rule %s host %q severity %s, want %s %q %s (summary %q)", a.Rule, a.Host, a.Severity, rule, host, sev, a.Summary)
	}
	if !reflect.DeepEqual(a.Stages, stages) {
		t.Errorf("stages %v, want %v", a.Stages, stages)
	}
	if !reflect.DeepEqual(a.Techniques, []string{"B", "D", "H"}) {
		t.Errorf("techniques %v", a.Techniques)
	}
	if !reflect.DeepEqual(a.Requirements, []string{rule}) {
		t.Errorf("requirements %v", a.Requirements)
	}
	if !strings.HasPrefix(a.ID, rule+"-") {
		t.Errorf("id %q not finalized", a.ID)
	}
	if len(a.NextSteps.EN) == 0 || len(a.NextSteps.JA) == 0 || len(a.Caveats.EN) == 0 || len(a.Caveats.JA) == 0 {
		t.Errorf("guidance missing")
	}
	if len(a.Evidence) == 0 || len(a.Evidence) > alert.MaxEvidence {
		t.Errorf("evidence %d records", len(a.Evidence))
	}
	for _, s := range summary {
		if !strings.Contains(a.Summary, s) {
			t.Errorf("summary %q lacks %q", a.Summary, s)
		}
	}
}

// bOrigins lists the evidence lines of a.
func bOrigins(a *alert.Alert) []int64 {
	var out []int64
	for _, e := range a.Evidence {
		out = append(out, e.Origin.Line)
	}
	return out
}

// bNote returns the note whose Enable is enable, or fails.
func bNote(t *testing.T, notes []detect.Note, level detect.NoteLevel, enable string) detect.Note {
	t.Helper()
	for _, n := range notes {
		if n.Level == level && n.Enable == enable {
			return n
		}
	}
	t.Fatalf("no %s note enabled by %q in %+v", level, enable, notes)
	return detect.Note{}
}

// bNoNote fails when a note names enable.
func bNoNote(t *testing.T, notes []detect.Note, enable string) {
	t.Helper()
	for _, n := range notes {
		if n.Enable == enable {
			t.Fatalf("unexpected note %+v", n)
		}
	}
}

// bStages are the kill-chain stages used by the assertions.
var (
	bStages567  = []alert.Stage{alert.Installation, alert.CommandAndControl, alert.ActionsOnObjectives}
	bStages67   = []alert.Stage{alert.CommandAndControl, alert.ActionsOnObjectives}
	bStages3567 = []alert.Stage{alert.Delivery, alert.Installation, alert.CommandAndControl, alert.ActionsOnObjectives}
)
