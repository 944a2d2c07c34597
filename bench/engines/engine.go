package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// Engine is one candidate search index. The harness times every call from
// outside (wall clock and the process's CPU time), so methods only do the
// work. An engine is used by one goroutine.
type Engine interface {
	// Name is the variant's name in the figures, e.g. "duckdb-map".
	Name() string
	// Ingest stores evs (seqs[i] is the journal sequence of evs[i]). It
	// must not keep evs or their strings' backing arrays: the harness
	// reuses the events for the next batch.
	Ingest(evs []*event.Event, seqs []uint64) error
	// Flush makes everything ingested so far durable and compact on disk
	// (DuckDB: close the appender, CHECKPOINT; Parquet: close the part).
	Flush() error
	// Reopen closes the engine and opens what it wrote again, with empty
	// caches of its own, so that the first query after it is cold-ish (the
	// OS page cache stays warm).
	Reopen() error
	// DiskBytes is the size of everything the engine keeps on disk.
	DiskBytes() (int64, error)
	// Needle counts the events whose raw text holds tok, ignoring case,
	// fetching (time, raw) of each as a search result page would.
	Needle(tok string) (int64, error)
	// NeedleCase is Needle matching case: what the engine costs when it
	// need not fold case (an address, a number).
	NeedleCase(tok string) (int64, error)
	// NeedleLower is Needle written another way where the engine has one
	// (DuckDB: contains(lower(raw), tok) instead of ILIKE); else Needle.
	NeedleLower(tok string) (int64, error)
	// FieldEquals counts the events whose field equals value.
	FieldEquals(field, value string) (int64, error)
	// FieldPrefix counts the events whose field starts with prefix (a
	// CIDR filter on an address column, /8 /16 /24 written as a prefix).
	FieldPrefix(field, prefix string) (int64, error)
	// TopHosts is `count(*) by host`, the limit largest.
	TopHosts(limit int) ([]Count, error)
	// Timeline is the count of events per bucket over the whole range.
	Timeline(bucket time.Duration) ([]Count, error)
	// Close releases everything; the files stay.
	Close() error
}

// Count is one row of an aggregation.
type Count struct {
	Key string
	N   int64
}

// Options are what every engine is opened with.
type Options struct {
	Dir         string // the engine's own folder, empty at start
	Threads     int    // DuckDB threads
	MemoryLimit string // DuckDB memory_limit, e.g. "1GB"
	PartRows    int    // Parquet: events per part file
	RowGroup    int    // Parquet: rows per row group
}

// engines maps a variant name to its constructor. duckdb.go, parquet.go
// (and store.go with -tags kizukistore) register themselves here.
var engines = map[string]func(Options) (Engine, error){}

func register(name string, open func(Options) (Engine, error)) {
	if _, dup := engines[name]; dup {
		panic("engine registered twice: " + name)
	}
	engines[name] = open
}

func engineNames() string {
	var ns []string
	for n := range engines {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return strings.Join(ns, ",")
}

func openEngine(name string, o Options) (Engine, error) {
	open, ok := engines[name]
	if !ok {
		return nil, fmt.Errorf("unknown engine %q (have %s)", name, engineNames())
	}
	return open(o)
}
