package live

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/detect/sigma"
	"github.com/kizuki-dev/kizuki/internal/formats"
	"github.com/kizuki-dev/kizuki/internal/journal"
)

// sampleEvent returns the XML event line of a rule test sample.
func sampleEvent(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../rules/testdata/kizuki_security_log_cleared", name))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "<Event") {
			return l
		}
	}
	t.Fatalf("no event in %s", name)
	return ""
}

// A cleared Security log (event 1102) is both a Sigma rule's match, at
// once, and a J12 finding, when its window ends: two alerts of two kinds
// from one record, kept once each across a restart. Sigma alerts keep
// their JSON shape (plus "kind").
func TestSigmaAndJPCERTOnOneRecord(t *testing.T) {
	rs, errs := sigma.LoadPaths([]string{"../../rules/windows/security/kizuki_security_log_cleared.yml"}, sigma.Options{})
	if len(errs) > 0 || rs == nil {
		t.Fatalf("rules: %v", errs)
	}
	dir := t.TempDir()
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	start := func() (*journal.Journal, *journal.Journal, *Detector) {
		j := openJournal(t, filepath.Join(dir, "journal"))
		aj := openJournal(t, filepath.Join(dir, "alerts"))
		d, err := New(j, rs, formats.Registry(), 0, Options{Alerts: aj, PositionFile: filepath.Join(dir, "live-position"),
			JPCERT: &JPCERTOptions{}, Now: func() time.Time { return time.Unix(0, now.Load()) }})
		if err != nil {
			t.Fatal(err)
		}
		return j, aj, d
	}
	j, aj, d := start()
	recs := []journal.Record{
		{Received: time.Now(), Origin: "https 0.0.0.0:8443 <- 192.168.200.5:50000", Source: "winxml", Raw: []byte(sampleEvent(t, "negative.xml"))},
		{Received: time.Now(), Origin: "https 0.0.0.0:8443 <- 192.168.200.5:50000", Source: "winxml", Raw: []byte(sampleEvent(t, "positive.xml"))},
	}
	appendAll(t, j, recs)
	stop := running(t, d)
	waitFor(t, "the Sigma alert", func() bool { return d.Stats().SigmaAlerts == 1 })
	if d.Stats().JPCERTAlerts != 0 {
		t.Error("a JPCERT alert before its window ended")
	}
	now.Store(time.Now().Add(time.Hour).UnixNano()) // the window is over
	waitFor(t, "the J12 alert", func() bool { return d.Stats().JPCERTAlerts == 1 })
	if got := d.AlertsOf(KindSigma, 0); len(got) != 1 || got[0].Seq != 1 {
		t.Errorf("Sigma alerts %+v", got)
	}
	if got := d.AlertsOf(KindJPCERT, 0); len(got) != 1 || got[0].RuleID != "J12" || got[0].Seq != 1 || got[0].Host != "DC01.corp.example.jp" {
		t.Errorf("JPCERT alerts %+v", got)
	}
	stop()
	j.Close()
	aj.Close()

	kept := keptAlerts(t, filepath.Join(dir, "alerts"))
	if len(kept) != 2 {
		t.Fatalf("%d alerts kept", len(kept))
	}
	// The Sigma alert's JSON has every field of the first version, and
	// none of the JPCERT ones.
	var raw []map[string]any
	journal.Iterate(context.Background(), filepath.Join(dir, "alerts"), 0, func(r journal.Record) error {
		var m map[string]any
		json.Unmarshal(r.Raw, &m)
		raw = append(raw, m)
		return nil
	})
	for _, m := range raw {
		if m["kind"] != KindSigma {
			continue
		}
		for _, k := range []string{"seq", "time", "rule_title", "rule_id", "level", "author", "tags", "host", "source", "origin", "fields", "detected"} {
			if _, ok := m[k]; !ok {
				t.Errorf("Sigma alert without %q", k)
			}
		}
		for _, k := range []string{"key", "summary", "stages", "evidence", "window", "retro", "next_steps"} {
			if _, ok := m[k]; ok {
				t.Errorf("Sigma alert with %q", k)
			}
		}
	}

	// Restarted, neither is raised again.
	j, aj, d = start()
	if d.keptUpTo != 2 {
		t.Errorf("Sigma resumes keeping from %d", d.keptUpTo)
	}
	stop = running(t, d)
	time.Sleep(100 * time.Millisecond)
	stop()
	j.Close()
	aj.Close()
	if n := len(keptAlerts(t, filepath.Join(dir, "alerts"))); n != 2 {
		t.Errorf("%d alerts after a restart", n)
	}
}

// Alerts kept by the Sigma-only version (no kind) load as Sigma alerts, and
// only Sigma alerts say how far Sigma matching got: a JPCERT or retro-hunt
// alert about a later record must not stop Sigma alerts of the records
// before it from being raised.
func TestKeptAlertsCompat(t *testing.T) {
	dir := t.TempDir()
	aj := openJournal(t, filepath.Join(dir, "alerts"))
	old := `{"seq":3,"time":"2026-01-01T00:00:00.000Z","rule_title":"R","rule_id":"x","level":"high","author":"a","tags":null,"host":"h","source":"winxml","origin":"o","fields":{},"detected":"2026-01-01T00:00:01.000Z"}`
	retro := `{"kind":"ioc","seq":500,"key":"IOC\u0000retro\u0000domain:x\u0000h","retro":true,"rule_id":"IOC","fields":{}}`
	if _, err := aj.Append(context.Background(), []journal.Record{{Raw: []byte(old)}, {Raw: []byte(retro)}}); err != nil {
		t.Fatal(err)
	}
	j := openJournal(t, filepath.Join(dir, "journal"))
	defer j.Close()
	d, err := New(j, nil, formats.Registry(), 0, Options{Alerts: aj})
	if err != nil {
		t.Fatal(err)
	}
	aj.Close()
	if d.keptUpTo != 4 {
		t.Errorf("keptUpTo %d, want 4 (the Sigma alert's record + 1)", d.keptUpTo)
	}
	if a := d.AlertsOf(KindSigma, 0); len(a) != 1 || a[0].RuleID != "x" {
		t.Errorf("old alert: %+v", a)
	}
	if !d.keys.has(keyDigest("IOC\x00retro\x00domain:x\x00h")) {
		t.Error("the kept alert's key is not remembered")
	}
}

// Windows are counted from a Monday midnight in the organization's time
// zone: a week window is Monday to Sunday there.
func TestWindowBounds(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	tr := &tier{window: 7 * 24 * time.Hour, loc: tokyo}
	// Wednesday 2015-02-04 12:00 JST.
	idx := tr.index(time.Date(2015, 2, 4, 12, 0, 0, 0, tokyo))
	s, e := tr.bounds(idx)
	if !s.Equal(time.Date(2015, 2, 2, 0, 0, 0, 0, tokyo)) || !e.Equal(time.Date(2015, 2, 9, 0, 0, 0, 0, tokyo)) {
		t.Errorf("week of 2015-02-04: %s – %s", s.In(tokyo), e.In(tokyo))
	}
	if tr.index(time.Date(2015, 2, 8, 23, 59, 59, 0, tokyo)) != idx || tr.index(time.Date(2015, 2, 9, 0, 0, 0, 0, tokyo)) != idx+1 {
		t.Error("Sunday night / Monday midnight on the wrong side")
	}
	q := &tier{window: 15 * time.Minute, loc: tokyo}
	i := q.index(time.Date(2015, 2, 3, 9, 47, 11, 0, tokyo))
	s, e = q.bounds(i)
	if !s.Equal(time.Date(2015, 2, 3, 9, 45, 0, 0, tokyo)) || e.Sub(s) != 15*time.Minute {
		t.Errorf("15-minute window: %s – %s", s, e)
	}
	// Before the epoch Monday too (negative indexes round down).
	if i := q.index(time.Date(1969, 12, 31, 23, 59, 0, 0, time.UTC)); i >= 0 {
		t.Errorf("index %d", i)
	}
}

// Upgraded from Sigma-only detection (a position file, no window state),
// the windows start where Sigma matching resumes.
func TestWindowsStartAtSigmaPosition(t *testing.T) {
	dir := t.TempDir()
	j := openJournal(t, filepath.Join(dir, "journal"))
	defer j.Close()
	appendAll(t, j, exampleRecords(t, exampleModel(t))[:100])
	if err := os.WriteFile(filepath.Join(dir, "live-position"), []byte("40\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := New(j, nil, formats.Registry(), 100, Options{PositionFile: filepath.Join(dir, "live-position"), JPCERT: &JPCERTOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	if st := d.Stats(); st.Next != 40 || st.JPCERT[0].Next != 40 || st.JPCERT[1].Next != 40 {
		t.Errorf("stats %+v", st)
	}
	if !strings.Contains(d.Describe(), "J8 J13") || len(d.Notes()) == 0 {
		t.Errorf("describe %q, notes %+v", d.Describe(), d.Notes())
	}
}
