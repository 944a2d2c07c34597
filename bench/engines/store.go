package main

// The adapter for kizuki's own index (package internal/store): the same
// events, queries and timing as the DuckDB and Parquet variants.
//
//	cd bench/engines && go run . -engines null,kizuki,duckdb-zstd,parquet-json

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/query"
	"github.com/kizuki-dev/kizuki/internal/store"
)

func init() {
	register("kizuki", openKizuki)
}

type kizukiEngine struct {
	o Options
	x *store.Index
}

func openKizuki(o Options) (Engine, error) {
	x, err := store.Open(o.Dir, store.Options{})
	if err != nil {
		return nil, err
	}
	return &kizukiEngine{o: o, x: x}, nil
}

func (e *kizukiEngine) Name() string { return "kizuki" }

func (e *kizukiEngine) Ingest(evs []*event.Event, seqs []uint64) error {
	for i, ev := range evs {
		// The store must copy what it keeps: the harness reuses ev.
		if err := e.x.Add(seqs[i], ev); err != nil {
			return err
		}
	}
	return nil
}

func (e *kizukiEngine) Flush() error { return e.x.Flush(context.Background()) }

func (e *kizukiEngine) Reopen() error {
	if err := e.x.Close(); err != nil {
		return err
	}
	x, err := store.Open(e.o.Dir, store.Options{})
	e.x = x
	return err
}

func (e *kizukiEngine) DiskBytes() (int64, error) {
	var n int64
	err := filepath.Walk(e.o.Dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return err
	})
	return n, err
}

// search runs q over all time.
func (e *kizukiEngine) search(q string, limit int) (*store.Result, error) {
	pq, err := query.Parse(q)
	if err != nil {
		return nil, err
	}
	return e.x.Search(context.Background(), store.Request{Query: pq, Limit: limit})
}

// Needle: kizuki's free text is a token (phrase) search that ignores case,
// not a substring search: for an address the answers agree. It fetches
// the newest 1000 matches, as the DuckDB needle does.
func (e *kizukiEngine) Needle(tok string) (int64, error) {
	r, err := e.search(`"`+tok+`"`, 1000)
	if err != nil {
		return 0, err
	}
	return int64(len(r.Events)), nil
}

// NeedleCase, NeedleLower: kizuki folds case always; the same query.
func (e *kizukiEngine) NeedleCase(tok string) (int64, error)  { return e.Needle(tok) }
func (e *kizukiEngine) NeedleLower(tok string) (int64, error) { return e.Needle(tok) }

func (e *kizukiEngine) FieldEquals(f, v string) (int64, error) {
	return e.total(f + `:"` + v + `"`)
}

// FieldPrefix turns a dotted IPv4 prefix ("10.", "192.168.") into the
// CIDR it means (src_ip:10.0.0.0/8), which kizuki compares as addresses.
func (e *kizukiEngine) FieldPrefix(f, p string) (int64, error) {
	parts := strings.Split(strings.TrimSuffix(p, "."), ".")
	bits := 8 * len(parts)
	for len(parts) < 4 {
		parts = append(parts, "0")
	}
	return e.total(fmt.Sprintf("%s:%s/%d", f, strings.Join(parts, "."), bits))
}

func (e *kizukiEngine) total(q string) (int64, error) {
	r, err := e.search(q, 1)
	if err != nil {
		return 0, err
	}
	return r.Total, nil
}

func (e *kizukiEngine) TopHosts(limit int) ([]Count, error) {
	r, err := e.search("| stats count by host", limit)
	if err != nil {
		return nil, err
	}
	var out []Count
	switch a := r.Aggregation.(type) {
	case *query.StatsResult:
		for _, row := range a.Rows {
			out = append(out, Count{Key: strings.Join(row.Values, ","), N: row.Count})
		}
	case query.StatsResult:
		for _, row := range a.Rows {
			out = append(out, Count{Key: strings.Join(row.Values, ","), N: row.Count})
		}
	default:
		return nil, fmt.Errorf("stats: unexpected result %T", r.Aggregation)
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (e *kizukiEngine) Timeline(b time.Duration) ([]Count, error) {
	span := fmt.Sprintf("%dm", int(b.Minutes()))
	if b%time.Hour == 0 {
		span = fmt.Sprintf("%dh", int(b.Hours()))
	}
	r, err := e.search("| timeline span="+span, 0)
	if err != nil {
		return nil, err
	}
	var bs []query.Bucket
	switch a := r.Aggregation.(type) {
	case *query.TimelineResult:
		bs = a.Buckets
	case query.TimelineResult:
		bs = a.Buckets
	default:
		return nil, fmt.Errorf("timeline: unexpected result %T", r.Aggregation)
	}
	out := make([]Count, 0, len(bs))
	for _, bk := range bs {
		out = append(out, Count{Key: bk.Time, N: bk.Count})
	}
	return out, nil
}

func (e *kizukiEngine) Close() error { return e.x.Close() }
