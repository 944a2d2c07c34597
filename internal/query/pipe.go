package query

import (
	"strconv"
	"strings"
	"time"
)

// Pipe commands: what follows the filter after '|'.
//
//	pipes    = "|" command { "|" command }        (one command is supported)
//	command  = "stats" "count" [ "by" name { "," name } ]
//	         | "timeline" [ "span" "=" span ]
//	span     = digits ( "s" | "m" | "h" | "d" )
//
// Command words are case-insensitive; field names are written as in the
// filter.

type pipeKind uint8

const (
	pipeStats pipeKind = iota + 1
	pipeTimeline
)

type pipe struct {
	kind pipeKind
	pos  int      // byte offset of the command word
	by   []string // stats: the group-by fields, in order
	// timeline: the bucket size asked for (0: chosen from the time
	// range) and how to write it back.
	span     time.Duration
	spanText string
}

func (p *pipe) name() string {
	if p.kind == pipeStats {
		return "stats"
	}
	return "timeline"
}

// Span limits: a second is the resolution of the buckets; a year is more
// than any search range needs.
const (
	minSpan = time.Second
	maxSpan = 365 * 24 * time.Hour
)

// ptok is a token of the pipe part: a word, or one of ",", "=", "|", or
// the end (kind 0).
type ptok struct {
	kind byte // 'w', ',', '=', '|' or 0
	pos  int
	text string
}

func (t ptok) describe() string {
	switch t.kind {
	case 0:
		return "the end of the query"
	case 'w':
		return strconvQuote(t.text)
	}
	return `"` + string(t.kind) + `"`
}

type pipeLexer struct {
	src string
	pos int
}

func (l *pipeLexer) next() ptok {
	s := l.src
	l.pos = skipSpace(s, l.pos)
	start := l.pos
	if start >= len(s) {
		return ptok{pos: len(s)}
	}
	switch c := s[start]; c {
	case ',', '=', '|':
		l.pos++
		return ptok{kind: c, pos: start}
	}
	i := start
	for i < len(s) && spaceAt(s, i) == 0 && s[i] != ',' && s[i] != '=' && s[i] != '|' {
		i++
	}
	l.pos = i
	return ptok{kind: 'w', pos: start, text: s[start:i]}
}

// parsePipes parses the commands after the '|' at byte bar of s.
func parsePipes(s string, bar int) ([]*pipe, error) {
	l := &pipeLexer{src: s, pos: bar + 1}
	var pipes []*pipe
	for {
		t := l.next()
		if t.kind != 'w' {
			return nil, errorAt(s, t.pos, `expected a command after "|" (stats or timeline), found %s`, t.describe())
		}
		var (
			p   *pipe
			end ptok
			err error
		)
		switch strings.ToLower(t.text) {
		case "stats":
			p, end, err = parseStats(l, t.pos)
		case "timeline":
			p, end, err = parseTimeline(l, t.pos)
		default:
			return nil, errorAt(s, t.pos, "unknown command %s after \"|\": expected stats or timeline", strconvQuote(t.text))
		}
		if err != nil {
			return nil, err
		}
		pipes = append(pipes, p)
		if end.kind == 0 {
			break
		}
		if end.kind != '|' {
			return nil, errorAt(s, end.pos, `unexpected %s after "%s"`, end.describe(), s[t.pos:end.pos-gapBefore(s, end.pos)])
		}
	}
	if len(pipes) > 1 {
		return nil, errorAt(s, pipes[1].pos, "only one command after the filter is supported (found %s after %s)", pipes[1].name(), pipes[0].name())
	}
	return pipes, nil
}

// gapBefore returns the length of the white space that ends at byte i.
func gapBefore(s string, i int) int {
	j := i
	for j > 0 && isSpaceByte(s[j-1]) {
		j--
	}
	return i - j
}

// parseStats parses "count [by f1, f2...]" after "stats" and returns the
// token that follows it.
func parseStats(l *pipeLexer, pos int) (*pipe, ptok, error) {
	s := l.src
	p := &pipe{kind: pipeStats, pos: pos}
	t := l.next()
	if t.kind != 'w' || !strings.EqualFold(t.text, "count") {
		return nil, t, errorAt(s, t.pos, `expected "count" after "stats", found %s`, t.describe())
	}
	t = l.next()
	if t.kind != 'w' || !strings.EqualFold(t.text, "by") {
		return p, t, nil
	}
	after := `"by"`
	for {
		f := l.next()
		if f.kind != 'w' || !validName(f.text) {
			return nil, f, errorAt(s, f.pos, "expected a field name after %s, found %s", after, f.describe())
		}
		if len(p.by) == MaxBy {
			e := errorAt(s, f.pos, "more than %d fields after \"by\"", MaxBy)
			e.Err = ErrLimit
			return nil, f, e
		}
		p.by = append(p.by, f.text)
		t = l.next()
		if t.kind != ',' {
			return p, t, nil
		}
		after = `","`
	}
}

// parseTimeline parses "[span=N(s|m|h|d)]" after "timeline" and returns
// the token that follows it.
func parseTimeline(l *pipeLexer, pos int) (*pipe, ptok, error) {
	s := l.src
	p := &pipe{kind: pipeTimeline, pos: pos}
	t := l.next()
	if t.kind != 'w' || !strings.EqualFold(t.text, "span") {
		return p, t, nil
	}
	if eq := l.next(); eq.kind != '=' {
		return nil, eq, errorAt(s, eq.pos, `expected "=" after "span", found %s`, eq.describe())
	}
	v := l.next()
	d, text, ok := parseSpan(v.text)
	if v.kind != 'w' || !ok {
		return nil, v, errorAt(s, v.pos, "expected a span from 1s to 365d such as 30s, 5m, 1h or 1d, found %s", v.describe())
	}
	p.span, p.spanText = d, text
	return p, l.next(), nil
}

// parseSpan reads N followed by s, m, h or d, and returns the duration
// and its canonical text (N without leading zeros).
func parseSpan(s string) (time.Duration, string, bool) {
	if len(s) < 2 || len(s) > 12 {
		return 0, "", false
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 's':
		unit = time.Second
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = 24 * time.Hour
	default:
		return 0, "", false
	}
	n, ok := parseInt(s[:len(s)-1])
	if !ok || s[0] == '+' || s[0] == '-' || n <= 0 || n > int64(maxSpan/unit) {
		return 0, "", false
	}
	d := time.Duration(n) * unit
	if d < minSpan {
		return 0, "", false
	}
	return d, strconv.FormatInt(n, 10) + s[len(s)-1:], true
}

// formatSpan writes a duration of whole seconds in the largest unit that
// divides it: 90s, 5m, 2h, 7d.
func formatSpan(d time.Duration) string {
	for _, u := range []struct {
		d time.Duration
		s string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}} {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.s
		}
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}
