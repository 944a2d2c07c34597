package live

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/formats"
	"github.com/kizuki-dev/kizuki/internal/journal"
)

// liveRun is one start of the detector on the data folder dir, as kizuki
// serve would start it: journals reopened, positions and kept alerts
// reloaded.
type liveRun struct {
	j, aj *journal.Journal
	d     *Detector
	stop  func()
}

func startLive(t *testing.T, dir string, now *atomic.Int64, jo JPCERTOptions, io *IndicatorOptions) *liveRun {
	return startLiveFrom(t, dir, now, jo, io, false)
}

// startLiveFrom is startLive that, with fromEnd, checks only records stored
// from now on (what kizuki serve does at its first start), leaving the
// stored ones to the retro-hunt.
func startLiveFrom(t *testing.T, dir string, now *atomic.Int64, jo JPCERTOptions, io *IndicatorOptions, fromEnd bool) *liveRun {
	t.Helper()
	r := &liveRun{j: openJournal(t, filepath.Join(dir, "journal")), aj: openJournal(t, filepath.Join(dir, "alerts"))}
	jo.Model = exampleModel(t)
	opt := Options{Alerts: r.aj, PositionFile: filepath.Join(dir, "live-position"), Location: jo.Model.Location, Logf: t.Logf,
		Indicators: io, Now: func() time.Time { return time.Unix(0, now.Load()) }}
	if jo.Tiers != nil || jo.Window != 0 || io == nil {
		opt.JPCERT = &jo
	}
	var from journal.Seq
	if fromEnd {
		from = r.j.Stats().NextSeq
	}
	d, err := New(r.j, nil, formats.Registry(), from, opt)
	if err != nil {
		t.Fatal(err)
	}
	r.d = d
	return r
}

func (r *liveRun) run(t *testing.T) { r.stop = running(t, r.d) }

func (r *liveRun) close(t *testing.T) {
	t.Helper()
	if r.stop != nil {
		r.stop()
	}
	if err := r.j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.aj.Close(); err != nil {
		t.Fatal(err)
	}
}

func keysOf(alerts []Alert, kind string) map[string]int {
	out := map[string]int{}
	for _, a := range alerts {
		if a.Kind == kind {
			out[a.Key]++
		}
	}
	return out
}

// splitInside returns the index of the record right after the first one
// holding sub: a restart there cuts the window of that finding in two.
func splitInside(t *testing.T, recs []journal.Record, sub string) int {
	t.Helper()
	for i, r := range recs {
		if bytes.Contains(r.Raw, []byte(sub)) {
			return i + 1
		}
	}
	t.Fatalf("no record holds %q", sub)
	return 0
}

// A restart in the middle of an analysis window (stop, reopen, resume)
// neither loses nor duplicates a finding: the unfinished windows are read
// again from their first record, and what an earlier run raised is not
// raised again.
func TestJPCERTRestartMidWindow(t *testing.T) {
	recs := exampleRecords(t, exampleModel(t))
	ref, _ := runLive(t, recs, JPCERTOptions{})
	refKeys := keysOf(ref, KindJPCERT)

	// With the positions lost, everything is read again from the first
	// record: more than needed, and still nothing raised twice.
	for _, lose := range [][]string{nil, {"live-windows.json", "live-position"}} {
		name := "clean stop"
		if lose != nil {
			name = "positions lost"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			// The J5 finding of 02-03 09:47 (DNS, proxy and firewall
			// records within seconds) is cut by the restart.
			cut := splitInside(t, recs, "dl.evil-cdn.example")
			var now atomic.Int64
			now.Store(recs[cut-1].Received.Add(time.Second).UnixNano())

			first := startLive(t, dir, &now, JPCERTOptions{}, nil)
			appendAll(t, first.j, recs[:cut])
			first.run(t)
			waitFor(t, "the first half", func() bool { return caughtUp(first.d, false) })
			st := first.d.Stats()
			first.close(t)
			if !st.JPCERT[0].Open || st.JPCERT[0].Start >= journal.Seq(cut) || !st.JPCERT[1].Open {
				t.Fatalf("no window open at the stop: %+v", st.JPCERT)
			}
			var saved tierFile
			b, err := os.ReadFile(filepath.Join(dir, "live-windows.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &saved); err != nil {
				t.Fatal(err)
			}
			if s := saved.Tiers["short"]; s.Start != st.JPCERT[0].Start || s.Open < 0 {
				t.Fatalf("saved %+v, stats %+v", s, st.JPCERT[0])
			}
			for _, f := range lose {
				if err := os.Remove(filepath.Join(dir, f)); err != nil {
					t.Fatal(err)
				}
			}

			now.Store(time.Now().UnixNano())
			second := startLive(t, dir, &now, JPCERTOptions{}, nil)
			if lose == nil && second.d.Stats().JPCERT[0].Next != st.JPCERT[0].Start {
				t.Errorf("restart reads from %d, the open window starts at %d", second.d.Stats().JPCERT[0].Next, st.JPCERT[0].Start)
			}
			appendAll(t, second.j, recs[cut:])
			second.run(t)
			waitFor(t, "the rest", func() bool { return caughtUp(second.d, true) })
			second.close(t)

			got := keptAlerts(t, filepath.Join(dir, "alerts"))
			noDuplicateKeys(t, got)
			gotKeys := keysOf(got, KindJPCERT)
			var missing, extra []string
			for k := range refKeys {
				if gotKeys[k] == 0 {
					missing = append(missing, k)
				}
			}
			for k := range gotKeys {
				if refKeys[k] == 0 {
					extra = append(extra, k)
				}
			}
			sort.Strings(missing)
			sort.Strings(extra)
			if len(missing)+len(extra) > 0 {
				t.Errorf("after a restart: missing %q, extra %q", missing, extra)
			}
			if len(got) != len(ref) {
				t.Errorf("%d alerts kept, %d without a restart", len(got), len(ref))
			}
		})
	}
}
