package main

// DuckDB as the index: one database file, one table, rows added with the
// Appender. Two variants differ only in where the format-specific fields go:
//
//	duckdb-map   extra MAP(VARCHAR, VARCHAR)
//	duckdb-json  extra JSON (text)
//
// The common fields (event.Key names) are VARCHAR columns of their own:
// most are NULL for most formats, and a NULL costs almost nothing once
// compressed.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/kizuki-dev/kizuki/internal/event"
)

func init() {
	register("duckdb-map", func(o Options) (Engine, error) { return openDuckDB(o, duckVariant{name: "duckdb-map", extra: "map"}) })
	register("duckdb-json", func(o Options) (Engine, error) { return openDuckDB(o, duckVariant{name: "duckdb-json", extra: "json"}) })
	register("duckdb-zstd", func(o Options) (Engine, error) {
		return openDuckDB(o, duckVariant{name: "duckdb-zstd", extra: "json", zstd: true})
	})
}

// duckVariant says how the table is made.
type duckVariant struct {
	name  string
	extra string // "map" or "json"
	// zstd: the file in the newest storage format
	// (storage_compatibility_version=latest: older DuckDB releases cannot
	// open it) and raw and extra compressed with zstd instead of DuckDB's
	// default choice (dictionary/FSST), which keeps about half of raw.
	zstd bool
}

type duckEngine struct {
	o     Options
	v     duckVariant
	extra string // "map" or "json"
	path  string
	db    *sql.DB
	conn  *sql.Conn
	app   *duckdb.Appender
	args  []driver.Value
	jbuf  []byte
}

// columns of the events table, in order.
func eventColumns(extraType string, zstd bool) string {
	z := ""
	if zstd {
		z = " USING COMPRESSION zstd"
	}
	var b strings.Builder
	b.WriteString(`"time" TIMESTAMP, "seq" UBIGINT, "source" VARCHAR, "host" VARCHAR, "origin" VARCHAR, "raw" VARCHAR` + z)
	for k := event.Key(0); int(k) < event.NumKeys; k++ {
		fmt.Fprintf(&b, `, %q VARCHAR`, k.String())
	}
	fmt.Fprintf(&b, `, "extra" %s%s`, extraType, z)
	return b.String()
}

func openDuckDB(o Options, v duckVariant) (Engine, error) {
	e := &duckEngine{o: o, v: v, extra: v.extra, path: filepath.Join(o.Dir, "events.duckdb")}
	if err := e.open(); err != nil {
		return nil, err
	}
	typ := "MAP(VARCHAR, VARCHAR)"
	if v.extra == "json" {
		typ = "JSON"
	}
	if _, err := e.db.Exec(`CREATE TABLE IF NOT EXISTS events (` + eventColumns(typ, v.zstd) + `)`); err != nil {
		e.Close()
		return nil, err
	}
	e.args = make([]driver.Value, 6+event.NumKeys+1)
	return e, nil
}

func (e *duckEngine) open() error {
	dsn := e.path
	if e.v.zstd {
		dsn += "?storage_compatibility_version=latest"
	}
	db, err := sql.Open("duckdb", dsn)
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(4)
	for _, s := range []string{
		fmt.Sprintf("SET threads = %d", e.o.Threads),
		fmt.Sprintf("SET memory_limit = '%s'", e.o.MemoryLimit),
	} {
		if _, err := db.Exec(s); err != nil {
			db.Close()
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	e.db = db
	return nil
}

func (e *duckEngine) Name() string { return e.v.name }

func (e *duckEngine) appender() error {
	if e.app != nil {
		return nil
	}
	conn, err := e.db.Conn(context.Background())
	if err != nil {
		return err
	}
	err = conn.Raw(func(c any) error {
		a, err := duckdb.NewAppenderFromConn(c.(driver.Conn), "", "events")
		e.app = a
		return err
	})
	if err != nil {
		conn.Close()
		return err
	}
	e.conn = conn
	return nil
}

func (e *duckEngine) Ingest(evs []*event.Event, seqs []uint64) error {
	if err := e.appender(); err != nil {
		return err
	}
	args := e.args
	for i, ev := range evs {
		args[0] = ev.Time
		args[1] = seqs[i]
		args[2] = ev.Source
		args[3] = ev.Host
		args[4] = ev.Origin.String()
		args[5] = ev.Raw
		for k := 0; k < event.NumKeys; k++ {
			if v := ev.Get(event.Key(k)); v != "" {
				args[6+k] = v
			} else {
				args[6+k] = nil
			}
		}
		args[6+event.NumKeys] = e.extraValue(ev)
		if err := e.app.AppendRow(args...); err != nil {
			return err
		}
	}
	// One commit per batch, as a server flushing every so often would.
	return e.app.Flush()
}

func (e *duckEngine) extraValue(ev *event.Event) driver.Value {
	n := 0
	ev.EachExtra(func(_, _ string) { n++ })
	if n == 0 {
		return nil
	}
	if e.extra == "map" {
		var m duckdb.OrderedMap
		ev.EachExtra(func(k, v string) { m.Set(k, v) })
		return m
	}
	b := append(e.jbuf[:0], '{')
	first := true
	ev.EachExtra(func(k, v string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, v)
	})
	b = append(b, '}')
	e.jbuf = b
	return string(b)
}

func appendJSONString(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\t':
				b = append(b, '\\', 't')
			case '\r':
				b = append(b, '\\', 'r')
			default:
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&15])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

func (e *duckEngine) closeAppender() error {
	if e.app == nil {
		return nil
	}
	err := e.app.Close()
	err = errors.Join(err, e.conn.Close())
	e.app, e.conn = nil, nil
	return err
}

func (e *duckEngine) Flush() error {
	if err := e.closeAppender(); err != nil {
		return err
	}
	_, err := e.db.Exec("CHECKPOINT")
	return err
}

func (e *duckEngine) Reopen() error {
	if err := e.Close(); err != nil {
		return err
	}
	return e.open()
}

func (e *duckEngine) DiskBytes() (int64, error) {
	var n int64
	for _, p := range []string{e.path, e.path + ".wal"} {
		st, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		n += st.Size()
	}
	return n, nil
}

func (e *duckEngine) Needle(tok string) (int64, error)     { return duckNeedle(e.db, tok, "ILIKE") }
func (e *duckEngine) NeedleCase(tok string) (int64, error) { return duckNeedle(e.db, tok, "LIKE") }
func (e *duckEngine) NeedleLower(tok string) (int64, error) {
	return duckNeedle(e.db, tok, "lower")
}
func (e *duckEngine) FieldEquals(f, v string) (int64, error) {
	return duckCount(e.db, fmt.Sprintf(`SELECT count(*) FROM events WHERE %q = ?`, f), v)
}
func (e *duckEngine) FieldPrefix(f, p string) (int64, error) {
	return duckCount(e.db, prefixQuery(f, p))
}
func (e *duckEngine) TopHosts(limit int) ([]Count, error) { return duckTopHosts(e.db, limit) }
func (e *duckEngine) Timeline(b time.Duration) ([]Count, error) {
	return duckTimeline(e.db, b)
}

func (e *duckEngine) Close() error {
	err := e.closeAppender()
	if e.db != nil {
		err = errors.Join(err, e.db.Close())
		e.db = nil
	}
	return err
}

// The queries, shared with the Parquet variant (which names its view
// "events" too).

// duckNeedle fetches the events whose raw holds tok. op is ILIKE, LIKE
// or "lower" (contains(lower(raw), lower(tok))). No ESCAPE clause unless
// tok needs one: with it DuckDB does not turn LIKE '%x%' into contains()
// and a scan takes 3-5 times longer.
func duckNeedle(db *sql.DB, tok, op string) (int64, error) {
	var where string
	switch {
	case op == "lower":
		where = `contains(lower("raw"), ` + sqlString(strings.ToLower(tok)) + `)`
	case strings.ContainsAny(tok, `%_\`):
		where = `"raw" ` + op + ` ` + sqlString("%"+likeEscape(tok)+"%") + ` ESCAPE '\'`
	default:
		where = `"raw" ` + op + ` ` + sqlString("%"+tok+"%")
	}
	rows, err := db.Query(`SELECT "time", "raw" FROM events WHERE ` + where + ` ORDER BY "time" DESC LIMIT 1000`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	var t time.Time
	var raw string
	for rows.Next() {
		if err := rows.Scan(&t, &raw); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

func duckCount(db *sql.DB, q string, args ...any) (int64, error) {
	var n int64
	err := db.QueryRow(q, args...).Scan(&n)
	return n, err
}

func duckTopHosts(db *sql.DB, limit int) ([]Count, error) {
	rows, err := db.Query(`SELECT "host", count(*) AS n FROM events GROUP BY "host" ORDER BY n DESC, "host" LIMIT ` + strconv.Itoa(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Count
	for rows.Next() {
		var c Count
		var h sql.NullString
		if err := rows.Scan(&h, &c.N); err != nil {
			return nil, err
		}
		c.Key = h.String
		out = append(out, c)
	}
	return out, rows.Err()
}

func duckTimeline(db *sql.DB, b time.Duration) ([]Count, error) {
	rows, err := db.Query(fmt.Sprintf(`SELECT time_bucket(INTERVAL '%d milliseconds', "time") AS b, count(*) FROM events GROUP BY b ORDER BY b`, b.Milliseconds()))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Count
	for rows.Next() {
		var t time.Time
		var c Count
		if err := rows.Scan(&t, &c.N); err != nil {
			return nil, err
		}
		c.Key = t.UTC().Format(time.RFC3339)
		out = append(out, c)
	}
	return out, rows.Err()
}

// prefixQuery counts the rows whose field f starts with p.
func prefixQuery(f, p string) string {
	return fmt.Sprintf(`SELECT count(*) FROM events WHERE starts_with(%q, %s)`, f, sqlString(p))
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

func duckVersion() string {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return "?"
	}
	defer db.Close()
	var v string
	if err := db.QueryRow("SELECT version()").Scan(&v); err != nil {
		return "?"
	}
	return v
}
