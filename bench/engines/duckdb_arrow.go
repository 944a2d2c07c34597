//go:build duckdb_arrow

package main

// duckdb-arrow: the duckdb-zstd table, filled a batch at a time through
// Arrow instead of the Appender. The Appender crosses cgo once per value
// (and once per NULL: 38 columns, most NULL), which the profile shows as
// most of its time; Arrow hands DuckDB whole columns built in Go memory
// and scanned in place (INSERT INTO events SELECT * FROM arrow view).
// duckdb-go builds its Arrow support only with -tags duckdb_arrow.

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/kizuki-dev/kizuki/internal/event"
)

func init() {
	register("duckdb-arrow", func(o Options) (Engine, error) {
		e, err := openDuckDB(o, duckVariant{name: "duckdb-arrow", extra: "json", zstd: true})
		if err != nil {
			return nil, err
		}
		return &duckArrow{duckEngine: e.(*duckEngine)}, nil
	})
}

type duckArrow struct {
	*duckEngine
	schema *arrow.Schema
	rb     *array.RecordBuilder
	n      int
}

func (e *duckArrow) builder() *array.RecordBuilder {
	if e.rb != nil {
		return e.rb
	}
	fields := []arrow.Field{
		{Name: "time", Type: &arrow.TimestampType{Unit: arrow.Millisecond}},
		{Name: "seq", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "source", Type: arrow.BinaryTypes.String},
		{Name: "host", Type: arrow.BinaryTypes.String},
		{Name: "origin", Type: arrow.BinaryTypes.String},
		{Name: "raw", Type: arrow.BinaryTypes.String},
	}
	for k := event.Key(0); int(k) < event.NumKeys; k++ {
		fields = append(fields, arrow.Field{Name: k.String(), Type: arrow.BinaryTypes.String, Nullable: true})
	}
	fields = append(fields, arrow.Field{Name: "extra", Type: arrow.BinaryTypes.String, Nullable: true})
	e.schema = arrow.NewSchema(fields, nil)
	e.rb = array.NewRecordBuilder(memory.DefaultAllocator, e.schema)
	return e.rb
}

func (e *duckArrow) Ingest(evs []*event.Event, seqs []uint64) error {
	if err := e.appenderConn(); err != nil {
		return err
	}
	rb := e.builder()
	rb.Reserve(len(evs))
	ts := rb.Field(0).(*array.TimestampBuilder)
	seq := rb.Field(1).(*array.Uint64Builder)
	str := func(i int) *array.StringBuilder { return rb.Field(i).(*array.StringBuilder) }
	for i, ev := range evs {
		ts.Append(arrow.Timestamp(ev.Time.UnixMilli()))
		seq.Append(seqs[i])
		str(2).Append(ev.Source)
		str(3).Append(ev.Host)
		str(4).Append(ev.Origin.String())
		str(5).Append(ev.Raw)
		for k := 0; k < event.NumKeys; k++ {
			if v := ev.Get(event.Key(k)); v != "" {
				str(6 + k).Append(v)
			} else {
				str(6 + k).AppendNull()
			}
		}
		if x, ok := e.extraValue(ev).(string); ok {
			str(6 + event.NumKeys).Append(x)
		} else {
			str(6 + event.NumKeys).AppendNull()
		}
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	rdr, err := array.NewRecordReader(e.schema, []arrow.RecordBatch{rec})
	if err != nil {
		return err
	}
	defer rdr.Release()
	e.n++
	view := fmt.Sprintf("arrow_batch_%d", e.n)
	ctx := context.Background()
	var release func()
	err = e.conn.Raw(func(c any) error {
		ar, err := duckdb.NewArrowFromConn(c.(driver.Conn))
		if err != nil {
			return err
		}
		release, err = ar.RegisterView(rdr, view)
		return err
	})
	if err != nil {
		return err
	}
	defer release()
	if _, err := e.conn.ExecContext(ctx, `INSERT INTO events SELECT * FROM `+view); err != nil {
		return err
	}
	_, err = e.conn.ExecContext(ctx, `DROP VIEW `+view)
	return err
}

// appenderConn holds one connection for the views and inserts (an Arrow
// view lives on the connection that registered it).
func (e *duckArrow) appenderConn() error {
	if e.conn != nil {
		return nil
	}
	c, err := e.db.Conn(context.Background())
	e.conn = c
	return err
}

func (e *duckArrow) Flush() error {
	if e.conn != nil {
		e.conn.Close()
		e.conn = nil
	}
	_, err := e.db.Exec("CHECKPOINT")
	return err
}

func (e *duckArrow) Close() error {
	if e.rb != nil {
		e.rb.Release()
		e.rb = nil
	}
	if e.conn != nil {
		e.conn.Close()
		e.conn = nil
	}
	return e.duckEngine.Close()
}
