package live

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/detect/ioc"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/journal"
)

// iocAlerts returns the indicator alerts whose indicator is value.
func iocAlerts(alerts []Alert, value string) []Alert {
	var out []Alert
	for _, a := range alerts {
		if a.Kind == KindIOC && a.Fields["indicator"] == value {
			out = append(out, a)
		}
	}
	return out
}

// Indicators live and in retro-hunts, over the scenario's logs stored in
// three parts: history stored before the server starts, then records
// arriving while it runs, lists added by the API and dropped in the folder.
func TestIndicatorsLiveAndRetro(t *testing.T) {
	recs := exampleRecords(t, exampleModel(t))
	third := len(recs) / 3
	dir := t.TempDir()
	indDir := filepath.Join(dir, "indicators")
	if err := os.MkdirAll(indDir, 0o700); err != nil {
		t.Fatal(err)
	}
	feed, err := os.ReadFile(filepath.Join(examplesDir, "iocs.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(indDir, "partner.txt"), feed, 0o600); err != nil {
		t.Fatal(err)
	}
	io := &IndicatorOptions{Dir: indDir, Poll: 100 * time.Millisecond}
	var now atomic.Int64
	now.Store(time.Now().UnixNano())

	// History: stored before the first start.
	r := startLiveFrom(t, dir, &now, JPCERTOptions{}, io, false)
	appendAll(t, r.j, recs[:third])
	r.close(t)

	r = startLiveFrom(t, dir, &now, JPCERTOptions{}, io, true)
	start := r.d.Stats().Next
	if start != journal.Seq(third) {
		t.Fatalf("starts at %d", start)
	}
	r.run(t)
	// At first load, the lists are hunted for over the history.
	waitFor(t, "the first retro-hunt", func() bool { st := r.d.Stats().Retro; return st.Done == 1 && st.Jobs == 0 })
	appendAll(t, r.j, recs[third:2*third])
	waitFor(t, "the second part", func() bool { return caughtUp(r.d, false) })

	// A list added over the API: matched live from here on, and hunted
	// for in what came before.
	rep, err := r.d.AddIndicators("late", strings.NewReader("# beacon destination reported late\napt.example.com\n"))
	if err != nil || rep.Indicators != 1 || rep.New != 1 || rep.List != "late.txt" {
		t.Fatalf("AddIndicators: %v %+v", err, rep)
	}
	if _, err := r.d.AddIndicators("bad", strings.NewReader("nothing here\n")); err == nil {
		t.Error("a list without indicators was accepted")
	}
	waitFor(t, "the new list to be installed", func() bool { return r.d.Stats().Indicators.Since == journal.Seq(2*third) })
	appendAll(t, r.j, recs[2*third:])
	waitFor(t, "the last part", func() bool { return caughtUp(r.d, false) && r.d.Stats().Retro.Done == 2 })

	// A list dropped in the folder is seen by the poll and hunted for.
	if err := os.WriteFile(filepath.Join(indDir, "exfil.csv"), []byte("indicator,type,description\nupload.exfil.example,domain,exfiltration\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the dropped list", func() bool {
		st := r.d.Stats()
		return st.Indicators.Lists == 3 && st.Retro.Done == 3 && st.Retro.Jobs == 0
	})
	st := r.d.Stats()
	r.close(t)
	if st.Retro.Hunted != 5+1+1 || st.Indicators.Indicators != 7 {
		t.Errorf("stats %+v", st)
	}

	got := keptAlerts(t, filepath.Join(dir, "alerts"))
	noDuplicateKeys(t, got)
	byKey := map[string]bool{}
	for _, a := range got {
		byKey[a.Key] = true
	}
	// The history's hits are retro-hunt alerts with the original event's
	// time, origin and record.
	evil := iocAlerts(got, "evil-cdn.example")
	if len(evil) == 0 {
		t.Fatal("no alert for evil-cdn.example")
	}
	for _, a := range evil {
		rec := recs[a.Seq]
		if !a.Retro || a.Seq >= start || a.Origin != rec.Origin || a.Time != event.FormatTime(rec.Received) ||
			!bytes.Contains(rec.Raw, []byte("evil-cdn.example")) || a.Detected == a.Time || a.Fields["list"] != "partner.txt" {
			t.Errorf("retro alert %+v", a)
		}
		if len(a.Stages) == 0 || a.NextSteps == nil || a.Summary == "" || len(a.Evidence) != 1 || a.Evidence[0].Raw != string(bytes.TrimSpace(rec.Raw)) {
			t.Errorf("alert lacks its guidance or evidence: %+v", a)
		}
	}
	// The late list: the beacons before it arrived are retro, those after
	// it are live; none is both.
	var retro, live int
	for _, a := range iocAlerts(got, "apt.example.com") {
		switch {
		case a.Retro && a.Seq < journal.Seq(2*third):
			retro++
		case !a.Retro && a.Seq >= journal.Seq(2*third):
			live++
		default:
			t.Errorf("alert on the wrong side of the list's arrival: %+v", a)
		}
	}
	if retro == 0 || live == 0 {
		t.Errorf("apt.example.com: %d retro, %d live alerts", retro, live)
	}
	if ex := iocAlerts(got, "upload.exfil.example"); len(ex) == 0 || !ex[0].Retro || ex[0].Fields["description"] != "exfiltration" {
		t.Errorf("dropped list: %+v", ex)
	}

	// A restart hunts nothing again and raises nothing again.
	r = startLiveFrom(t, dir, &now, JPCERTOptions{}, io, true)
	if st := r.d.Stats().Retro; st.Jobs != 0 || st.Hunted != 7 {
		t.Errorf("after a restart: %+v", st)
	}
	r.run(t)
	time.Sleep(300 * time.Millisecond)
	st = r.d.Stats()
	r.close(t)
	if st.Retro.Done != 0 || st.Retro.Checked != 0 || st.Alerts != 0 {
		t.Errorf("after a restart: %+v", st)
	}
	if again := keptAlerts(t, filepath.Join(dir, "alerts")); len(again) != len(got) {
		t.Errorf("%d alerts after a restart, %d before", len(again), len(got))
	}
}

// A retro-hunt stopped half-way resumes where it stopped: it does not
// search again what it had searched, and finishes the rest.
func TestRetroResume(t *testing.T) {
	recs := exampleRecords(t, exampleModel(t))
	dir := t.TempDir()
	indDir := filepath.Join(dir, "indicators")
	os.MkdirAll(indDir, 0o700)
	list := "evil-cdn.example\napt.example.com\n"
	if err := os.WriteFile(filepath.Join(indDir, "l.txt"), []byte(list), 0o600); err != nil {
		t.Fatal(err)
	}
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	io := &IndicatorOptions{Dir: indDir}
	r := startLiveFrom(t, dir, &now, JPCERTOptions{}, io, false)
	appendAll(t, r.j, recs)
	r.close(t)

	// The state a stop half-way leaves: a job for the list's indicators,
	// searched up to record half.
	l, _, err := ioc.ParseText("l.txt", strings.NewReader(list), ioc.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	half := journal.Seq(len(recs) / 2)
	end := journal.Seq(len(recs))
	state := encodeRetroState(nil, []*retroJob{{fps: fingerprints([]*ioc.List{l}), next: half, to: end}})
	if err := os.WriteFile(filepath.Join(dir, "retro-hunt.json"), state, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "live-position"), []byte("4599\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	r = startLiveFrom(t, dir, &now, JPCERTOptions{}, io, true)
	r.run(t)
	waitFor(t, "the resumed hunt", func() bool { st := r.d.Stats().Retro; return st.Done == 1 && st.Jobs == 0 })
	st := r.d.Stats().Retro
	r.close(t)
	if st.From != half || st.Checked != uint64(end-half) || st.Hunted != 2 {
		t.Errorf("resumed hunt %+v, want it to read %d to %d", st, half, end)
	}
	got := keptAlerts(t, filepath.Join(dir, "alerts"))
	if len(got) == 0 {
		t.Fatal("no alerts")
	}
	for _, a := range got {
		if !a.Retro || a.Seq < half {
			t.Errorf("alert outside the resumed range: %+v", a)
		}
	}
}

// A list that would take all lists over the limit is refused before it is
// stored; the lists already matched stay.
func TestAddIndicatorsTotalLimit(t *testing.T) {
	dir := t.TempDir()
	j := openJournal(t, filepath.Join(dir, "journal"))
	defer j.Close()
	feed, err := os.ReadFile(filepath.Join(examplesDir, "iocs.txt"))
	if err != nil {
		t.Fatal(err)
	}
	indDir := filepath.Join(dir, "indicators")
	d, err := New(j, nil, nil, 0, Options{Indicators: &IndicatorOptions{Dir: indDir, Limits: ioc.Limits{MaxTotal: 6}}})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := d.AddIndicators("partner", bytes.NewReader(feed)); err != nil || rep.Indicators != 5 || rep.New != 5 {
		t.Fatalf("first list: %v %+v", err, rep)
	}
	if _, err := d.AddIndicators("more", strings.NewReader("a.example\nb.example\n")); err == nil || !strings.Contains(err.Error(), "too many") {
		t.Fatalf("over the limit: %v", err)
	}
	if _, err := os.Stat(filepath.Join(indDir, "more.txt")); !os.IsNotExist(err) {
		t.Error("the refused list was stored")
	}
	// Replacing the list by a larger one is judged without the old one.
	if rep, err := d.AddIndicators("partner", strings.NewReader("a.example\nb.example\nc.example\nd.example\ne.example\nf.example\n")); err != nil || rep.Indicators != 6 {
		t.Errorf("replacement within the limit: %v", err)
	}
	if st := d.Stats().Indicators; st.Indicators != 6 || st.Lists != 1 {
		t.Errorf("stats %+v", st)
	}
	if ls := d.IndicatorLists(); len(ls) != 1 || ls[0].Name != "partner.txt" || ls[0].Report.Indicators != 6 {
		t.Errorf("lists %+v", ls)
	}
	if err := d.RemoveIndicators("partner.txt"); err != nil || d.Stats().Indicators.Indicators != 0 {
		t.Errorf("remove: %v %+v", err, d.Stats().Indicators)
	}
}
