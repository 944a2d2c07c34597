package hunt

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/detect/sigma"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/formats"
	"github.com/kizuki-dev/kizuki/internal/input"
	"github.com/kizuki-dev/kizuki/internal/pipeline"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// regressionRow is one SigmaHQ regression test (regression_index.tsv).
type regressionRow struct {
	rule, evtx, json string
	matchCount       int // 0: none given, at least one match is the bar
}

func regressionRows(t *testing.T) (string, []regressionRow) {
	root := testutil.Dataset(t, "sigma")
	f, err := os.Open(filepath.Join(root, "regression_index.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []regressionRow
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		if first {
			continue
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 8 {
			t.Fatalf("short row %q", sc.Text())
		}
		n, _ := strconv.Atoi(c[7])
		rows = append(rows, regressionRow{rule: c[0], evtx: c[5], json: c[6], matchCount: n})
	}
	return root, rows
}

// readEvents parses one file with kizuki's format detection, as `kizuki
// hunt` does, and returns copies of its events.
func readEvents(t *testing.T, path string) ([]*event.Event, *pipeline.FileReport) {
	t.Helper()
	files, err := input.Expand([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	var evs []*event.Event
	reps, err := pipeline.Run(context.Background(), files, pipeline.Options{Registry: formats.Registry(), Workers: 1},
		func(ev *event.Event) { evs = append(evs, ev.Clone()) })
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return evs, reps[0]
}

// matchedRecords runs one rule over events and returns the EventRecordIDs
// it fired on, sorted.
func matchedRecords(rs *sigma.Ruleset, evs []*event.Event) []string {
	m := rs.NewMatcher()
	var out []string
	for _, ev := range evs {
		m.Match(ev, func(*sigma.Rule) { out = append(out, ev.Extra("EventRecordID")) })
	}
	sort.Strings(out)
	return out
}

// All 202 SigmaHQ regression tests, end to end through kizuki's readers:
// each rule fires at least match_count times (once when none is given) on
// its .evtx, read by kizuki's EVTX reader with format detection, and on the
// .json twin (evtx_dump's rendering of the same records) it fires on
// exactly the same records.
func TestSigmaHQRegressionEVTX(t *testing.T) {
	root, rows := regressionRows(t)
	if len(rows) != 202 {
		t.Fatalf("%d regression rows, want 202", len(rows))
	}
	var pass, events int
	for _, row := range rows {
		rs, errs := sigma.LoadPaths([]string{filepath.Join(root, row.rule)}, sigma.Options{})
		if len(errs) > 0 || rs == nil || len(rs.Rules()) != 1 {
			t.Errorf("%s: does not load: %v", row.rule, errs)
			continue
		}
		evtxEvs, rep := readEvents(t, filepath.Join(root, row.evtx))
		if rep.Format != "evtx" || rep.Malformed != 0 || rep.Error != "" {
			t.Errorf("%s: read as %q, %d damaged, %s", row.evtx, rep.Format, rep.Malformed, rep.Error)
		}
		jsonEvs, jrep := readEvents(t, filepath.Join(root, row.json))
		if jrep.Malformed != 0 || len(jsonEvs) != len(evtxEvs) {
			t.Errorf("%s: %d events from the .json (%d malformed), %d from the .evtx", row.rule, len(jsonEvs), jrep.Malformed, len(evtxEvs))
		}
		events += len(evtxEvs)
		fromEVTX, fromJSON := matchedRecords(rs, evtxEvs), matchedRecords(rs, jsonEvs)
		want := max(row.matchCount, 1)
		ok := true
		if len(fromEVTX) < want {
			t.Errorf("%s: fired %d times on the .evtx, want at least %d", row.rule, len(fromEVTX), want)
			ok = false
		}
		if strings.Join(fromEVTX, ",") != strings.Join(fromJSON, ",") {
			t.Errorf("%s: fired on records %v of the .evtx but %v of the .json", row.rule, fromEVTX, fromJSON)
			ok = false
		}
		if ok {
			pass++
		}
	}
	t.Logf("%d of %d regression tests pass on .evtx and .json (%d events)", pass, len(rows), events)
}
