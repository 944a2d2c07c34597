package evtx

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/parse/winjson"
	"github.com/kizuki-dev/kizuki/internal/parse/winxml"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// readAll reads an EVTX file into cloned events, failing the test on any
// problem.
func readAll(t *testing.T, path string, opt Options) ([]*event.Event, Stats) {
	t.Helper()
	var evs []*event.Event
	st, err := ReadFile(context.Background(), path, opt, func(ev *event.Event) error {
		evs = append(evs, ev.Clone())
		return nil
	}, func(p Problem) { t.Errorf("%s: %v", path, p) })
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return evs, st
}

// readTwin parses an evtx_dump JSON file (concatenated pretty-printed
// documents) with winjson.
func readTwin(t *testing.T, path string) []*event.Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pc := parse.NewContext(time.UTC, time.Now())
	var evs []*event.Event
	p := winjson.Parser{}
	err = p.Split(f, func(rec []byte, line int64) error {
		ev := &event.Event{}
		switch err := p.Parse(rec, ev, pc); {
		case errors.Is(err, parse.ErrSkip):
		case err != nil:
			t.Errorf("%s:%d: %v", path, line, err)
		default:
			evs = append(evs, ev)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// twinValue normalizes one of our values for comparison with the value
// evtx_dump wrote for the same field, where evtx_dump renders differently
// from Windows. Each rule says which rendering is Windows'.
func twinValue(ours, theirs string) string {
	// GUIDs: Windows writes {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX} (see
	// TimeCreated, Provider Guid and Sysmon's ProcessGuid in any `wevtutil
	// qe /f:xml` output); evtx_dump drops the braces.
	if len(ours) == 38 && ours[0] == '{' && ours[37] == '}' && len(theirs) == 36 {
		return ours[1:37]
	}
	// White space at either end: Windows keeps it (Sysmon's ParentCommandLine
	// `"C:\Windows\system32\cmd.exe" `, Security 4624's LogonProcessName
	// "Advapi  ": see winxml/testdata/openwec-4624-pretty.xml, rendered by
	// Windows); evtx_dump trims it since its 0.8.5 (omerbenamram/evtx#249).
	if t := strings.TrimSpace(ours); t != ours && t == theirs {
		return theirs
	}
	// Times: Windows writes FILETIMEs with the 7 digits of the 100 ns tick
	// ("2022-09-23T11:53:47.9077543Z"); evtx_dump truncates to
	// microseconds. Compare at microsecond precision.
	if a, ok := parseISO(ours); ok {
		if b, ok := parseISO(theirs); ok && a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond)) {
			return theirs
		}
	}
	return ours
}

func parseISO(s string) (time.Time, bool) {
	if len(s) < 20 || s[4] != '-' || s[10] != 'T' || !strings.HasSuffix(s, "Z") {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// Every .evtx of the SigmaHQ regression data yields exactly the events of its
// evtx_dump .json twin: same records in the same order, same EventRecordID
// and time, every field present in one present in the other with the same
// value (after twinValue).
func TestDatasetSigmaTwins(t *testing.T) {
	root := testutil.Dataset(t, "sigma")
	idx, err := os.Open(filepath.Join(root, "regression_index.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	sc := bufio.NewScanner(idx)
	var cols map[string]int
	var files, records, fields int
	for sc.Scan() {
		row := strings.Split(sc.Text(), "\t")
		if cols == nil {
			cols = map[string]int{}
			for i, c := range row {
				cols[c] = i
			}
			continue
		}
		evtxPath := filepath.Join(root, row[cols["evtx_path"]])
		jsonPath := filepath.Join(root, row[cols["json_path"]])
		ours, _ := readAll(t, evtxPath, Options{})
		theirs := readTwin(t, jsonPath)
		files++
		rel := row[cols["evtx_path"]]
		if len(ours) != len(theirs) {
			t.Errorf("%s: %d events, twin has %d", rel, len(ours), len(theirs))
			continue
		}
		for i := range ours {
			a, b := ours[i], theirs[i]
			records++
			if a.Extra("EventRecordID") != b.Extra("EventRecordID") || a.Origin.Line == 0 {
				t.Errorf("%s #%d: EventRecordID %s (origin %v), twin %s", rel, i, a.Extra("EventRecordID"), a.Origin, b.Extra("EventRecordID"))
			}
			if !a.Time.Truncate(time.Microsecond).Equal(b.Time.Truncate(time.Microsecond)) {
				t.Errorf("%s #%d: time %v, twin %v", rel, i, a.Time, b.Time)
			}
			if a.Host != b.Host {
				t.Errorf("%s #%d: host %q, twin %q", rel, i, a.Host, b.Host)
			}
			fields += compareFields(t, rel+" #"+strconv.Itoa(i), a, b)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if files != 202 || records < 238 {
		t.Errorf("compared %d files, %d records; want 202 files, at least 238 records", files, records)
	}
	t.Logf("%d files, %d records, %d field values compared", files, records, fields)
}

// twinEdits are the values where a twin .json does not hold what its .evtx
// holds (checked against the UTF-16 text of the .evtx with `strings -el`): the
// value we must read instead, by "evtx_path field".
var twinEdits = map[string]string{
	// The twin says "C:\Windows\Explorer.exe": edited by hand.
	"regression_data/rules/windows/process_creation/proc_creation_win_susp_right_to_left_override/ad691d92-15f2-4181-9aa4-723c74f9ddc3.evtx ParentCommandLine": `C:\Windows\Explorer.EXE`,
}

// compareFields compares every field of ours and theirs and returns how many
// values were compared.
func compareFields(t *testing.T, where string, ours, theirs *event.Event) int {
	t.Helper()
	n := 0
	seen := map[string]bool{}
	file, _, _ := strings.Cut(where, " #")
	ours.Fields(func(k, v string) {
		seen[k] = true
		n++
		w, ok := theirs.LookupOK(k)
		if want, edited := twinEdits[file+" "+k]; edited {
			if v != want {
				t.Errorf("%s: %s=%q, want %q (the twin is edited)", where, k, v, want)
			}
			return
		}
		switch {
		case !ok:
			t.Errorf("%s: %s=%q, absent from twin", where, k, v)
		case twinValue(v, w) != w:
			t.Errorf("%s: %s=%q, twin %q", where, k, v, w)
		}
	})
	theirs.Fields(func(k, v string) {
		if !seen[k] {
			t.Errorf("%s: %s absent, twin has %q", where, k, v)
		}
	})
	return n
}

// knownProblems reads testdata/known-problems.tsv: the dataset files that
// have damage, by path under the datasets root, with the reason.
func knownProblems(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "known-problems.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		path, reason, ok := strings.Cut(line, "\t")
		if !ok || reason == "" {
			t.Fatalf("known-problems.tsv: %q has no reason", line)
		}
		out[path] = reason
	}
	return out
}

// hasIllegalXMLChar reports whether s holds a character XML 1.0 cannot
// carry, even as a character reference.
func hasIllegalXMLChar(s string) bool {
	for _, r := range s {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF {
			return true
		}
	}
	return false
}

// Every .evtx of the Windows samples (EVTX-ATTACK-SAMPLES, EVTX-to-MITRE-
// Attack, DeepBlueCLI) reads without problem, unless testdata/known-
// problems.tsv lists it with the reason; every event's XML (RenderXML) parses
// back with winxml to the same fields, except events whose values hold
// characters XML cannot carry; sharing templates between chunks changes no
// event.
func TestDatasetWindows(t *testing.T) {
	root := testutil.Datasets(t)
	dir := testutil.Dataset(t, "windows")
	known := knownProblems(t)
	// One Reader for all files: templates and field programs kept from file
	// to file must give what fresh reads give.
	shared := NewReader(Options{Workers: 2})
	// And one reading the files from memory as the pipeline maps them.
	mapped := NewReader(Options{Workers: 2})
	var files, records, roundTrips, illegal int
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".evtx") {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		files++
		var probs []string
		var evs []*event.Event
		st, err := ReadFile(context.Background(), path, Options{Workers: 2, RenderXML: true}, func(ev *event.Event) error {
			evs = append(evs, ev.Clone())
			return nil
		}, func(p Problem) { probs = append(probs, p.Error()) })
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		switch reason, listed := known[rel]; {
		case len(probs) > 0 && !listed:
			t.Errorf("%s: unexplained problems (list them in testdata/known-problems.tsv with the reason): %v", rel, probs)
		case len(probs) == 0 && listed:
			t.Errorf("%s: listed in known-problems.tsv (%s) but read without problem", rel, reason)
		}
		seen[rel] = true
		records += st.Records
		if st.Records != len(evs) || st.Records == 0 {
			t.Errorf("%s: %d events, stats %+v", rel, len(evs), st)
		}
		for _, ev := range evs {
			back := &event.Event{}
			perr := (winxml.Parser{}).Parse([]byte(ev.Raw), back, parse.NewContext(time.UTC, time.Time{}))
			if perr != nil {
				ctrl := false
				ev.Fields(func(_, v string) { ctrl = ctrl || hasIllegalXMLChar(v) })
				if !ctrl {
					t.Errorf("%s record %d: XML does not parse back: %v", rel, ev.Origin.Line, perr)
				}
				// Else a control character, written as a character
				// reference that strict XML readers refuse.
				illegal++
				continue
			}
			roundTrips++
			if d := fieldDiff(ev, back); d != "" {
				t.Errorf("%s record %d: XML parses back to other fields: %s", rel, ev.Origin.Line, d)
			}
		}
		// The same without templates shared between chunks (and so with
		// field programs recorded per chunk), and with the shared Reader.
		for _, how := range []struct {
			name string
			read func(fn func(*event.Event) error) error
		}{
			{"templates compiled per chunk", func(fn func(*event.Event) error) error {
				_, err := ReadFile(context.Background(), path, Options{Workers: 1, noSharedTemplates: true}, fn, nil)
				return err
			}},
			{"one Reader for all files", func(fn func(*event.Event) error) error {
				_, err := shared.ReadFile(context.Background(), path, fn, nil)
				return err
			}},
			{"mapped, one Reader", func(fn func(*event.Event) error) error {
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				var evs []*event.Event
				_, err = mapped.Read(context.Background(), mappedFile{bytes.NewReader(data), data}, int64(len(data)), path,
					func(ev *event.Event) error { evs = append(evs, ev.Clone()); return nil }, nil)
				// As unmapping the file would: no event may change.
				for i := range data {
					data[i] = 0xAA
				}
				for _, ev := range evs {
					if err := fn(ev); err != nil {
						return err
					}
				}
				return err
			}},
		} {
			i := 0
			err := how.read(func(ev *event.Event) error {
				if i < len(evs) {
					if d := fieldDiff(ev, evs[i]); d != "" || !ev.Time.Equal(evs[i].Time) || ev.Host != evs[i].Host || ev.Origin != evs[i].Origin {
						t.Errorf("%s record %d: %s: %s (time %v, host %q, origin %v)", rel, ev.Origin.Line, how.name, d, ev.Time, ev.Host, ev.Origin)
					}
				}
				i++
				return nil
			})
			if err != nil || i != len(evs) {
				t.Errorf("%s: %s: %d events, %v", rel, how.name, i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel := range known {
		if !seen[rel] {
			t.Errorf("known-problems.tsv lists %s, which is not in the datasets", rel)
		}
	}
	if files < 500 || records < 14000 {
		t.Errorf("read %d files, %d records; want at least 500 files and 14,000 records", files, records)
	}
	replayed := 0
	for _, d := range shared.decs {
		replayed += d.w.nReplayed
	}
	if replayed < records/2 {
		t.Errorf("%d of %d records replayed by field programs", replayed, records)
	}
	t.Logf("%d files, %d records (%d by field programs with one Reader); %d XML round trips, %d events with control characters XML cannot carry",
		files, records, replayed, roundTrips, illegal)
}

// DeepBlueCLI's wmi-event-filter-persistance.evtx was copied while its log
// was open: its header is flagged dirty and counts 12 chunks, but 13 are in
// use (then 3 preallocated blank ones). The 13th is read too: records 1 to
// 901 follow each other without a gap.
func TestDatasetDirtyFile(t *testing.T) {
	path := testutil.Dataset(t, "windows/DeepBlueCLI/wmi-event-filter-persistance.evtx")
	var ids []int64
	st, err := ReadFile(context.Background(), path, Options{}, func(ev *event.Event) error {
		ids = append(ids, ev.Origin.Line)
		return nil
	}, func(p Problem) { t.Error(p) })
	if err != nil {
		t.Fatal(err)
	}
	if !st.Dirty || st.Chunks != 13 || st.Records != len(ids) || st.BadChunks != 0 {
		t.Errorf("stats %+v", st)
	}
	for i, id := range ids {
		if id != int64(i+1) {
			t.Fatalf("record %d has id %d", i, id)
		}
	}
	t.Logf("%d records in %d chunks, record ids %d..%d", st.Records, st.Chunks, ids[0], ids[len(ids)-1])
}
