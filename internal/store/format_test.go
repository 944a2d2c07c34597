package store

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/v1 and its golden output")

// TestFormatV1 reads a part written by format version 1 (testdata/v1,
// made by -update from synthetic events) and checks every event against
// the golden JSON: a change to the writer that would make old parts read
// differently fails here. Regenerate only for a deliberate format change,
// together with FORMAT.md and the version number.
func TestFormatV1(t *testing.T) {
	src := filepath.Join("testdata", "v1")
	golden := filepath.Join("testdata", "v1.golden.jsonl")
	if *update {
		os.RemoveAll(src)
		x := openTest(t, src, Options{NoMerge: true, BlockEvents: 100})
		addAll(t, x, 1000, synthEvents(250, t0))
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
	res, err := x.Search(context.Background(), Request{Limit: maxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, ev := range res.Events {
		out = ev.AppendJSON(out)
		out = append(out, '\n')
	}
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) || len(res.Events) != 250 || x.Next() != 1250 {
		t.Fatalf("testdata/v1 reads differently (%d events, Next %d): run with -update only for a deliberate format change", len(res.Events), x.Next())
	}
	// The needle filter and the columns work on the old part too.
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
}
