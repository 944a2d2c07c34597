package live

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/analyze"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/formats"
	"github.com/kizuki-dev/kizuki/internal/journal"
	"github.com/kizuki-dev/kizuki/internal/org"
	"github.com/kizuki-dev/kizuki/internal/parse"
)

// examplesDir is the repository's generated attack scenario (examples/
// README.md): two weeks of Postfix, NetScreen, Squid, BIND and Windows
// Security logs of a 40-host organization, with a planted targeted attack.
const examplesDir = "../../examples"

func testKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

func openJournal(t testing.TB, dir string) *journal.Journal {
	t.Helper()
	j, err := journal.Open(dir, journal.Options{SigningKey: testKey(), CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// exampleSource is one file of the scenario and how it would reach kizuki
// serve: the syslog sender's address, or an HTTPS ingest with ?type=.
type exampleSource struct {
	file, sender, typ string
}

var exampleSources = []exampleSource{
	{"logs/mail/maillog", "192.168.1.6", ""},
	{"logs/firewall/netscreen.log", "192.168.1.1", ""},
	{"logs/proxy/access_combined.log", "192.168.1.5", ""},
	{"logs/dns/queries.log", "192.168.1.53", ""},
	{"logs/ad/security.xml", "192.168.200.5", "winxml"},
}

// exampleRecords returns every line of the scenario as the journal record
// kizuki serve would have stored, received when the line was written (its
// event time), in order of arrival: the live stream of those two weeks.
func exampleRecords(t testing.TB, m *org.Model) []journal.Record {
	t.Helper()
	reg := formats.Registry()
	type timed struct {
		rec journal.Record
		at  time.Time
	}
	var all []timed
	for _, src := range exampleSources {
		f, err := os.Open(filepath.Join(examplesDir, src.file))
		if err != nil {
			t.Fatal(err)
		}
		var lines [][]byte
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if len(sc.Bytes()) > 0 {
				lines = append(lines, bytes.Clone(sc.Bytes()))
			}
		}
		f.Close()
		det, err := reg.Detect(lines[:min(64, len(lines))])
		if err != nil {
			t.Fatal(err)
		}
		pc := parse.NewContext(m.Location, time.Date(2015, 2, 16, 0, 0, 0, 0, time.UTC))
		origin := "syslog-tcp 0.0.0.0:5514 <- " + src.sender + ":514"
		if src.typ != "" {
			origin = "https 0.0.0.0:8443 <- " + src.sender + ":50000 token=shipper"
		}
		var last time.Time
		for _, l := range lines {
			var ev event.Event
			if err := det.Parser.Parse(l, &ev, pc); err == nil && !ev.Time.IsZero() {
				last = ev.Time
			}
			all = append(all, timed{journal.Record{Received: last, Origin: origin, Source: src.typ, Raw: l}, last})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	out := make([]journal.Record, len(all))
	for i, x := range all {
		out[i] = x.rec
	}
	return out
}

func exampleModel(t testing.TB) *org.Model {
	t.Helper()
	m, err := analyze.LoadModel(filepath.Join(examplesDir, "org.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func appendAll(t testing.TB, j *journal.Journal, recs []journal.Record) {
	t.Helper()
	for i := 0; i < len(recs); i += 500 {
		if _, err := j.Append(context.Background(), recs[i:min(i+500, len(recs))]); err != nil {
			t.Fatal(err)
		}
	}
}

// keptAlerts reads the alerts journal in dir (closed).
func keptAlerts(t testing.TB, dir string) []Alert {
	t.Helper()
	var out []Alert
	err := journal.Iterate(context.Background(), dir, 0, func(r journal.Record) error {
		var a Alert
		if err := json.Unmarshal(r.Raw, &a); err != nil {
			return err
		}
		out = append(out, a)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitFor polls cond until it holds, failing after a minute.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// caughtUp reports whether every follower of d has read the whole journal
// (and, when closed is set, finished every window).
func caughtUp(d *Detector, closed bool) bool {
	st := d.Stats()
	end := d.j.Stats().NextSeq
	if st.Next != end {
		return false
	}
	for _, ts := range st.JPCERT {
		if ts.Next != end || (closed && ts.Open) {
			return false
		}
	}
	return !st.Retro.Running && st.Retro.Jobs == 0
}

// running starts d.Run and returns its stop function.
func running(t testing.TB, d *Detector) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx, 5*time.Millisecond)
	}()
	return func() {
		cancel()
		<-done
	}
}

// ruleHosts returns the "rule host" pairs of alerts of kind.
func ruleHosts(alerts []Alert, kind string) map[string]int {
	out := map[string]int{}
	for _, a := range alerts {
		if a.Kind == kind {
			out[a.RuleID+" "+a.Host]++
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// noDuplicateKeys fails when two kept alerts have the same key.
func noDuplicateKeys(t testing.TB, alerts []Alert) {
	t.Helper()
	seen := map[string]bool{}
	for _, a := range alerts {
		if a.Key == "" {
			continue
		}
		if seen[a.Key] {
			t.Errorf("alert raised twice: %s %s %s", a.RuleID, a.Host, strings.ReplaceAll(a.Key, "\x00", " | "))
		}
		seen[a.Key] = true
	}
}
