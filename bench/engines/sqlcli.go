package main

import (
	"database/sql"
	"fmt"
	"io"
	"strings"
)

// runSQL runs ;-separated statements on the DuckDB database db ("" for an
// in-memory one) and prints each result tab-separated: for looking into
// what an engine wrote (kept with -keep), e.g.
//
//	go run . -db /tmp/engines-bench/run-duckdb-json/events.duckdb \
//	  -sql "SELECT compression, count(*) FROM pragma_storage_info('events') GROUP BY ALL"
func runSQL(w io.Writer, db, stmts string) error {
	d, err := sql.Open("duckdb", db)
	if err != nil {
		return err
	}
	defer d.Close()
	for _, q := range strings.Split(stmts, ";") {
		if strings.TrimSpace(q) == "" {
			continue
		}
		rows, err := d.Query(q)
		if err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		cols, _ := rows.Columns()
		fmt.Fprintln(w, strings.Join(cols, "\t"))
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return err
			}
			parts := make([]string, len(vals))
			for i, v := range vals {
				parts[i] = fmt.Sprint(v)
			}
			fmt.Fprintln(w, strings.Join(parts, "\t"))
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	return nil
}
