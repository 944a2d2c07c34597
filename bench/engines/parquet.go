package main

// Parquet parts as the index (DESIGN.md's alternative): events are written
// by parquet-go into immutable zstd-compressed part files of PartRows rows
// (write *.tmp, fsync, rename), and queried by an in-memory DuckDB through
// read_parquet over all parts. The same table shape as the DuckDB
// variants; extra is a MAP (parquet-map) or JSON text (parquet-json).

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/kizuki-dev/kizuki/internal/event"
)

func init() {
	register("parquet-map", func(o Options) (Engine, error) {
		return openParquet(o, "map", func(r *pqMapRow, ev *event.Event, seq uint64, _ []byte) []byte {
			fillCommon(r, ev, seq)
			if r.Extra == nil {
				r.Extra = map[string]string{}
			}
			clear(r.Extra)
			ev.EachExtra(func(k, v string) { r.Extra[k] = v })
			return nil
		})
	})
	register("parquet-json", func(o Options) (Engine, error) {
		return openParquet(o, "json", func(r *pqJSONRow, ev *event.Event, seq uint64, buf []byte) []byte {
			fillCommon(r, ev, seq)
			r.Extra, buf = jsonExtra(ev, buf)
			return buf
		})
	})
}

// pqRow is the table's row; X is the type of extra. Optional strings: ""
// is NULL. (Not an embedded struct: parquet-go v0.32.0 miscounts the
// definition levels of an embedded struct's optional columns and panics.)
type pqRow[X any] struct {
	Time        time.Time `parquet:"time,timestamp(millisecond),delta"`
	Seq         uint64    `parquet:"seq,delta"`
	Source      string    `parquet:"source,dict"`
	Host        string    `parquet:"host,dict"`
	Origin      string    `parquet:"origin"`
	Raw         string    `parquet:"raw"`
	SrcIP       string    `parquet:"src_ip,optional,dict"`
	SrcPort     string    `parquet:"src_port,optional,dict"`
	DstIP       string    `parquet:"dst_ip,optional,dict"`
	DstPort     string    `parquet:"dst_port,optional,dict"`
	SrcZone     string    `parquet:"src_zone,optional,dict"`
	DstZone     string    `parquet:"dst_zone,optional,dict"`
	Proto       string    `parquet:"proto,optional,dict"`
	Action      string    `parquet:"action,optional,dict"`
	User        string    `parquet:"user,optional,dict"`
	Domain      string    `parquet:"domain,optional,dict"`
	URL         string    `parquet:"url,optional"`
	Method      string    `parquet:"method,optional,dict"`
	Status      string    `parquet:"status,optional,dict"`
	BytesIn     string    `parquet:"bytes_in,optional"`
	BytesOut    string    `parquet:"bytes_out,optional"`
	UserAgent   string    `parquet:"user_agent,optional,dict"`
	ContentType string    `parquet:"content_type,optional,dict"`
	Query       string    `parquet:"query,optional,dict"`
	QType       string    `parquet:"qtype,optional,dict"`
	EventID     string    `parquet:"event_id,optional,dict"`
	Channel     string    `parquet:"channel,optional,dict"`
	Process     string    `parquet:"process,optional,dict"`
	CommandLine string    `parquet:"command_line,optional"`
	MailFrom    string    `parquet:"mail_from,optional,dict"`
	MailTo      string    `parquet:"mail_to,optional,dict"`
	HeaderFrom  string    `parquet:"header_from,optional,dict"`
	Attachment  string    `parquet:"attachment,optional,dict"`
	QueueID     string    `parquet:"queue_id,optional"`
	LogonType   string    `parquet:"logon_type,optional,dict"`
	Service     string    `parquet:"service,optional,dict"`
	DurationMS  string    `parquet:"duration_ms,optional"`
	Extra       X         `parquet:"extra,optional"`
}

type pqMapRow = pqRow[map[string]string]
type pqJSONRow = pqRow[string]

func fillCommon[X any](r *pqRow[X], ev *event.Event, seq uint64) {
	r.Time, r.Seq, r.Source, r.Host, r.Origin, r.Raw = ev.Time, seq, ev.Source, ev.Host, ev.Origin.String(), ev.Raw
	g := ev.Get
	r.SrcIP, r.SrcPort, r.DstIP, r.DstPort = g(event.SrcIP), g(event.SrcPort), g(event.DstIP), g(event.DstPort)
	r.SrcZone, r.DstZone, r.Proto, r.Action = g(event.SrcZone), g(event.DstZone), g(event.Proto), g(event.Action)
	r.User, r.Domain, r.URL, r.Method, r.Status = g(event.User), g(event.Domain), g(event.URL), g(event.Method), g(event.Status)
	r.BytesIn, r.BytesOut, r.UserAgent, r.ContentType = g(event.BytesIn), g(event.BytesOut), g(event.UserAgent), g(event.ContentType)
	r.Query, r.QType, r.EventID, r.Channel = g(event.Query), g(event.QType), g(event.EventID), g(event.Channel)
	r.Process, r.CommandLine, r.MailFrom, r.MailTo = g(event.Process), g(event.CommandLine), g(event.MailFrom), g(event.MailTo)
	r.HeaderFrom, r.Attachment, r.QueueID, r.LogonType = g(event.HeaderFrom), g(event.Attachment), g(event.QueueID), g(event.LogonType)
	r.Service, r.DurationMS = g(event.Service), g(event.Duration)
}

func jsonExtra(ev *event.Event, b []byte) (string, []byte) {
	b = b[:0]
	ev.EachExtra(func(k, v string) {
		if len(b) == 0 {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, v)
	})
	if len(b) == 0 {
		return "", b
	}
	b = append(b, '}')
	return string(b), b
}

type pqEngine[T any] struct {
	o      Options
	extra  string
	fill   func(*T, *event.Event, uint64, []byte) []byte
	rows   []T
	buf    []byte
	f      *os.File
	w      *parquet.GenericWriter[T]
	inPart int
	parts  int
	db     *sql.DB
}

func openParquet[T any](o Options, extra string, fill func(*T, *event.Event, uint64, []byte) []byte) (Engine, error) {
	return &pqEngine[T]{o: o, extra: extra, fill: fill}, nil
}

func (e *pqEngine[T]) Name() string { return "parquet-" + e.extra }

func (e *pqEngine[T]) partPath(n int) string {
	return filepath.Join(e.o.Dir, fmt.Sprintf("part-%06d.parquet", n))
}

func (e *pqEngine[T]) Ingest(evs []*event.Event, seqs []uint64) error {
	for len(evs) > 0 {
		if e.w == nil {
			f, err := os.Create(e.partPath(e.parts) + ".tmp")
			if err != nil {
				return err
			}
			e.f = f
			e.w = parquet.NewGenericWriter[T](f,
				parquet.Compression(&zstd.Codec{Level: zstd.DefaultLevel}),
				parquet.MaxRowsPerRowGroup(int64(e.o.RowGroup)),
			)
			e.inPart = 0
		}
		n := min(len(evs), e.o.PartRows-e.inPart)
		if cap(e.rows) < n {
			e.rows = make([]T, n)
		}
		rows := e.rows[:n]
		for i := range rows {
			e.buf = e.fill(&rows[i], evs[i], seqs[i], e.buf)
		}
		if _, err := e.w.Write(rows); err != nil {
			return err
		}
		e.inPart += n
		evs, seqs = evs[n:], seqs[n:]
		if e.inPart == e.o.PartRows {
			if err := e.closePart(); err != nil {
				return err
			}
		}
	}
	return nil
}

// closePart finishes the part being written: footer, fsync, rename.
func (e *pqEngine[T]) closePart() error {
	if e.w == nil {
		return nil
	}
	err := e.w.Close()
	err = errors.Join(err, e.f.Sync(), e.f.Close())
	if err == nil {
		err = os.Rename(e.f.Name(), e.partPath(e.parts))
	}
	e.w, e.f = nil, nil
	e.parts++
	if err == nil {
		if d, derr := os.Open(e.o.Dir); derr == nil {
			err = d.Sync()
			d.Close()
		}
	}
	return err
}

func (e *pqEngine[T]) Flush() error { return e.closePart() }

func (e *pqEngine[T]) query() (*sql.DB, error) {
	if e.db != nil {
		return e.db, nil
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	for _, s := range []string{
		fmt.Sprintf("SET threads = %d", e.o.Threads),
		fmt.Sprintf("SET memory_limit = '%s'", e.o.MemoryLimit),
		"SET TimeZone = 'UTC'",
		fmt.Sprintf("CREATE VIEW events AS SELECT * FROM read_parquet(%s)", sqlString(filepath.Join(e.o.Dir, "part-*.parquet"))),
	} {
		if _, err := db.Exec(s); err != nil {
			db.Close()
			return nil, fmt.Errorf("%s: %w", s, err)
		}
	}
	e.db = db
	return db, nil
}

func (e *pqEngine[T]) Reopen() error {
	if e.db != nil {
		err := e.db.Close()
		e.db = nil
		return err
	}
	return nil
}

func (e *pqEngine[T]) DiskBytes() (int64, error) {
	ms, err := filepath.Glob(filepath.Join(e.o.Dir, "part-*.parquet"))
	if err != nil {
		return 0, err
	}
	var n int64
	for _, m := range ms {
		st, err := os.Stat(m)
		if err != nil {
			return 0, err
		}
		n += st.Size()
	}
	return n, nil
}

func (e *pqEngine[T]) Needle(tok string) (int64, error) {
	db, err := e.query()
	if err != nil {
		return 0, err
	}
	return duckNeedle(db, tok, "ILIKE")
}

func (e *pqEngine[T]) NeedleLower(tok string) (int64, error) {
	db, err := e.query()
	if err != nil {
		return 0, err
	}
	return duckNeedle(db, tok, "lower")
}

func (e *pqEngine[T]) NeedleCase(tok string) (int64, error) {
	db, err := e.query()
	if err != nil {
		return 0, err
	}
	return duckNeedle(db, tok, "LIKE")
}

func (e *pqEngine[T]) FieldEquals(f, v string) (int64, error) {
	db, err := e.query()
	if err != nil {
		return 0, err
	}
	return duckCount(db, fmt.Sprintf(`SELECT count(*) FROM events WHERE %q = ?`, f), v)
}

func (e *pqEngine[T]) FieldPrefix(f, p string) (int64, error) {
	db, err := e.query()
	if err != nil {
		return 0, err
	}
	return duckCount(db, prefixQuery(f, p))
}

func (e *pqEngine[T]) TopHosts(limit int) ([]Count, error) {
	db, err := e.query()
	if err != nil {
		return nil, err
	}
	return duckTopHosts(db, limit)
}

func (e *pqEngine[T]) Timeline(b time.Duration) ([]Count, error) {
	db, err := e.query()
	if err != nil {
		return nil, err
	}
	return duckTimeline(db, b)
}

func (e *pqEngine[T]) Close() error {
	err := e.closePart()
	if e.db != nil {
		err = errors.Join(err, e.db.Close())
		e.db = nil
	}
	return err
}
