package query

import (
	"errors"
	"go/ast"
	goparser "go/parser"
	gotoken "go/token"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// testQueries returns every string literal the package's tests pass as
// the first argument of f, mustParse, Parse or aggregate (or the second of
// aggregate): the fuzz seeds are then every query of the tests, without a
// list to keep in step.
func testQueries(t testing.TB) []string {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := gotoken.NewFileSet()
	for _, name := range files {
		file, err := goparser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			id, ok := call.Fun.(*ast.Ident)
			if !ok {
				return true
			}
			arg := 0
			switch id.Name {
			case "f", "mustParse", "Parse":
			case "aggregate":
				arg = 1
			default:
				return true
			}
			if id.Name == "mustParse" {
				arg = 1 // mustParse(t, query)
			}
			if len(call.Args) > arg {
				if lit, ok := call.Args[arg].(*ast.BasicLit); ok && lit.Kind == gotoken.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil {
						out = append(out, s)
					}
				}
			}
			return true
		})
	}
	return out
}

func FuzzParse(f *testing.F) {
	seeds := testQueries(f)
	if len(seeds) < 300 {
		f.Fatalf("only %d seed queries found in the tests", len(seeds))
	}
	for _, s := range seeds {
		f.Add(s)
	}
	evs := fixedEvents(f)
	rows := make([]Row, len(evs))
	toks := make([]map[string]bool, len(evs))
	for i, ev := range evs {
		rows[i] = EventRow(ev)
		toks[i] = rowTokens(rows[i])
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q): %T %v is not a *SyntaxError", s, err, err)
			}
			if se.Column != 0 && (se.Offset < 0 || se.Offset > len(s) || se.Column != column(s, se.Offset)) {
				t.Fatalf("Parse(%q): offset %d, column %d", s, se.Offset, se.Column)
			}
			return
		}
		roundTrip(t, q)
		q.Fields()
		cnf := q.Prefilter()
		for i, r := range rows {
			if q.Match(r) && !satisfies(cnf, toks[i]) {
				t.Fatalf("%q matches %s but its prefilter %v excludes it", s, evs[i].Source, cnf)
			}
		}
		if a := q.Aggregation(time.Time{}, time.Time{}); a != nil {
			for _, r := range rows {
				a.Add(r)
			}
			a.Result()
		}
	})
}
