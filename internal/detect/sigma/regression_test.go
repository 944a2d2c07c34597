package sigma

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/parse/evtx"
	"github.com/kizuki-dev/kizuki/internal/parse/winjson"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// SigmaHQ's regression tests: each of the 202 rows of regression_index.tsv
// names a rule, a recording of the events it must fire on (.evtx and its
// evtx_dump .json twin) and, for most, how many times. The rule is loaded
// alone and compiled with the logsource routing active, so a routing or
// field-mapping mistake fails here as surely as a matching one.

// regressionCase is one row of regression_index.tsv.
type regressionCase struct {
	rulePath  string
	ruleID    string
	evtxPath  string
	jsonPath  string
	wantCount int // 0: at least one match
}

func readRegressionIndex(t *testing.T, root string) []regressionCase {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "regression_index.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []regressionCase
	sc := bufio.NewScanner(f)
	col := map[string]int{}
	for sc.Scan() {
		cells := strings.Split(sc.Text(), "\t")
		if len(col) == 0 {
			for i, c := range cells {
				col[c] = i
			}
			for _, need := range []string{"rule_path", "rule_id", "evtx_path", "json_path", "match_count"} {
				if _, ok := col[need]; !ok {
					t.Fatalf("regression_index.tsv: no column %s", need)
				}
			}
			continue
		}
		rc := regressionCase{
			rulePath: cells[col["rule_path"]],
			ruleID:   cells[col["rule_id"]],
			evtxPath: cells[col["evtx_path"]],
			jsonPath: cells[col["json_path"]],
		}
		if s := cells[col["match_count"]]; s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("regression_index.tsv: match_count %q: %v", s, err)
			}
			rc.wantCount = n
		}
		out = append(out, rc)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// eventSource reads the recorded events of one regression case and calls fn
// for each: the evtx_dump JSON twin through winjson, or the .evtx itself
// through kizuki's EVTX reader.
type eventSource func(rc regressionCase, root string, fn func(ev *event.Event)) error

// evtxSource reads a case's .evtx with the evtx reader.
func evtxSource(rc regressionCase, root string, fn func(ev *event.Event)) error {
	var problems []error
	_, err := evtx.ReadFile(context.Background(), filepath.Join(root, rc.evtxPath), evtx.Options{Workers: 1},
		func(ev *event.Event) error { fn(ev); return nil },
		func(p evtx.Problem) { problems = append(problems, p) })
	if err != nil {
		return err
	}
	return errors.Join(problems...)
}

// winjsonSource reads a case's .json twin with the winjson reader.
func winjsonSource(rc regressionCase, root string, fn func(ev *event.Event)) error {
	return readWinJSON(filepath.Join(root, rc.jsonPath), fn)
}

func readWinJSON(path string, fn func(ev *event.Event)) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	p := winjson.New()
	pc := parse.NewContext(time.UTC, time.Time{})
	var perr error
	err = p.(parse.Framer).Split(bytes.NewReader(data), func(rec []byte, line int64) error {
		ev := &event.Event{Source: p.Name(), Raw: string(rec), Origin: event.Origin{File: path, Line: line}}
		if err := p.Parse(rec, ev, pc); err != nil {
			if errors.Is(err, parse.ErrSkip) {
				return nil
			}
			perr = fmt.Errorf("%s:%d: %w", path, line, err)
			return perr
		}
		fn(ev)
		return nil
	})
	if perr != nil {
		return perr
	}
	return err
}

// knownRegressionGaps lists the cases whose recorded events cannot satisfy
// the rule, each with the reason. Empty: every case passes.
var knownRegressionGaps = map[string]string{}

func TestRegressionJSON(t *testing.T) {
	runRegression(t, winjsonSource)
}

// TestRegressionEVTX runs the same cases on the binary .evtx recordings.
func TestRegressionEVTX(t *testing.T) {
	runRegression(t, evtxSource)
}

func runRegression(t *testing.T, src eventSource) {
	root := testutil.Dataset(t, "sigma")
	cases := readRegressionIndex(t, root)
	if len(cases) < 200 {
		t.Fatalf("regression_index.tsv has %d cases, want 202", len(cases))
	}
	pass := 0
	for _, rc := range cases {
		ok := t.Run(rc.ruleID, func(t *testing.T) {
			rs, errs := LoadPaths([]string{filepath.Join(root, rc.rulePath)}, Options{})
			for _, e := range errs {
				t.Fatalf("load: %v", e)
			}
			if len(rs.Rules()) != 1 || rs.Rules()[0].ID != rc.ruleID {
				t.Fatalf("loaded %d rules, want rule %s", len(rs.Rules()), rc.ruleID)
			}
			r := rs.Rules()[0]
			if r.NoSource != "" || r.Degraded != "" {
				t.Fatalf("rule cannot run: %s%s", r.NoSource, r.Degraded)
			}
			m := rs.NewMatcher()
			got, events := 0, 0
			err := src(rc, root, func(ev *event.Event) {
				events++
				m.Match(ev, func(*Rule) { got++ })
			})
			if err != nil {
				t.Fatal(err)
			}
			if events == 0 {
				t.Fatal("no events read")
			}
			if reason, gap := knownRegressionGaps[rc.ruleID]; gap {
				t.Logf("known gap (%s): %d matches", reason, got)
				return
			}
			want := rc.wantCount
			if want == 0 {
				want = 1
			}
			if got < want {
				t.Errorf("%s fired %d times on %d events, want at least %d", rc.rulePath, got, events, want)
			}
		})
		if ok {
			pass++
		}
	}
	t.Logf("%d of %d regression cases pass", pass, len(cases))
}
