package store

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/query"
)

var update = flag.Bool("update", false, "rewrite testdata/v2 (the version this build writes) and its golden output")

// TestFormatV1 reads a part written by format version 1 (testdata/v1: its
// filters hold tokens but no pairs) and checks every event against the
// golden JSON, and that queries whose prefilter asks for pairs still find
// every match: the pair clauses must be left out for such a part.
func TestFormatV1(t *testing.T) { testFormat(t, "v1", 1, false) }

// TestFormatV2 is the same for version 2, the version this build writes
// (-update regenerates it).
func TestFormatV2(t *testing.T) { testFormat(t, "v2", 2, *update) }

// testFormat reads the part in testdata/<name> (made by -update from
// synthetic events) and checks every event against the golden JSON: a
// change to the writer that would make old parts read differently fails
// here. Regenerate only for a deliberate format change, together with
// docs/formats/index.md and the version number.
func testFormat(t *testing.T, name string, version uint32, regen bool) {
	src := filepath.Join("testdata", name)
	golden := filepath.Join("testdata", name+".golden.jsonl")
	synth := synthEvents(250, t0)
	if regen {
		os.RemoveAll(src)
		x := openTest(t, src, Options{NoMerge: true, BlockEvents: 100})
		addAll(t, x, 1000, synth)
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		copyFile(t, filepath.Join(src, e.Name()), filepath.Join(dir, e.Name()))
	}
	x := openTest(t, dir, Options{NoMerge: true})
	defer x.Close()
	for _, p := range x.parts {
		if p.pairs != (version >= 2) {
			t.Fatalf("%s: part %s: pairs %v for format version %d", name, p.name, p.pairs, version)
		}
	}
	res, err := x.Search(context.Background(), Request{Limit: maxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, ev := range res.Events {
		out = ev.AppendJSON(out)
		out = append(out, '\n')
	}
	if regen {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) || len(res.Events) != 250 || x.Next() != 1250 {
		t.Fatalf("testdata/%s reads differently (%d events, Next %d): run with -update only for a deliberate format change", name, len(res.Events), x.Next())
	}
	// The needle filter and the columns work on the part too; counts are
	// checked against Match over the events the part was made from.
	checkCount := func(q string, want int64) {
		t.Helper()
		res, err := x.Search(context.Background(), Request{Query: mustParse(t, q)})
		if err != nil || res.Total != want {
			t.Fatalf("%q: total %v, err %v; want %d", q, res.Total, err, want)
		}
	}
	checkCount("u007", 3)
	checkCount("repeated", 42)
	checkCount("zone:trust", 42)
	checkCount("policy_id:3", 6)
	for _, q := range []string{`10.0.3.17`, `src_ip:10.0.3.17`, `"action=deny user=u007"`, `dst=192.0.2.5`,
		`dc01.corp.local`, `host:mail.example.jp`, `"session id" OR fw01`, `raw:*src=10.0.4.*`} {
		n := int64(0)
		pq := mustParse(t, q)
		for _, ev := range synth {
			if pq.Match(query.EventRow(ev)) {
				n++
			}
		}
		checkCount(q, n)
	}
}
