package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/query"
	"github.com/kizuki-dev/kizuki/internal/store"
)

// DefaultSearchTimeout bounds one search: a query that would scan more than
// this is stopped with an error telling to narrow it, so that one caller
// cannot keep the server's cores busy.
const DefaultSearchTimeout = 30 * time.Second

// MaxSearchLimit is the most events one search returns (the index's cap).
const MaxSearchLimit = 10_000

// SearchRequest is a search as the API and `kizuki search` take it.
type SearchRequest struct {
	Query    string
	From, To time.Time // zero: unbounded
	Limit    int
}

// SearchResponse is the answer of GET /api/v1/search: the events are the
// objects `kizuki parse --format json` prints.
type SearchResponse struct {
	Total       int64             `json:"total"`
	Events      []json.RawMessage `json:"events"`
	Aggregation any               `json:"aggregation,omitempty"`
	TookMillis  int64             `json:"took_ms"`
	Scanned     Scanned           `json:"scanned"`
}

// Scanned is how much of the index a search read: parts and blocks whose
// time range met the request's, blocks skipped by time or token filter,
// and rows evaluated.
type Scanned struct {
	Parts         int   `json:"parts"`
	Blocks        int   `json:"blocks"`
	BlocksSkipped int   `json:"blocks_skipped"`
	Rows          int64 `json:"rows"`
}

// Search runs req against x: the one implementation behind the API and
// `kizuki search --data`.
func Search(ctx context.Context, x *store.Index, req SearchRequest) (*SearchResponse, error) {
	start := time.Now()
	q, err := query.Parse(req.Query)
	if err != nil {
		return nil, err
	}
	res, err := x.Search(ctx, store.Request{Query: q, From: req.From, To: req.To, Limit: req.Limit})
	if err != nil {
		return nil, err
	}
	out := &SearchResponse{Total: res.Total, Events: make([]json.RawMessage, 0, len(res.Events)),
		Aggregation: res.Aggregation, Scanned: Scanned(res.Scanned)}
	for _, ev := range res.Events {
		out.Events = append(out.Events, ev.AppendJSON(nil))
	}
	out.TookMillis = time.Since(start).Milliseconds()
	return out, nil
}

// ParseTime reads a search bound: RFC 3339 / ISO 8601 ("2024-07-25T20:54:59Z",
// with or without fraction or zone, UTC when none), a date ("2024-07-25",
// midnight UTC), "now", or a time relative to now ("-15m", "-24h", "-7d").
// "" is the zero time (unbounded).
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return time.Time{}, nil
	case s == "now":
		return now.UTC(), nil
	case strings.HasPrefix(s, "-"):
		d, err := parseAgo(s[1:])
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(-d).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 (2024-07-25T20:54:59Z), a date (2024-07-25), now, or -DURATION (-15m, -24h, -7d)", s)
}

// parseAgo reads a Go duration or a number of days ("7d").
func parseAgo(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*365 {
			return 0, fmt.Errorf("time -%s: want a number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("time -%s: want -DURATION such as -15m, -24h or -7d", s)
	}
	return d, nil
}

// search serves GET /api/v1/search?q=&from=&to=&limit=.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	c := s.beginGet(w, r)
	if c == nil {
		return
	}
	if s.Index == nil {
		c.fail(http.StatusServiceUnavailable, "this server keeps no search index")
		return
	}
	v := r.URL.Query()
	req := SearchRequest{Query: v.Get("q"), Limit: 100}
	now := time.Now()
	var err error
	if req.From, err = ParseTime(v.Get("from"), now); err != nil {
		c.fail(http.StatusBadRequest, "from: "+err.Error())
		return
	}
	if req.To, err = ParseTime(v.Get("to"), now); err != nil {
		c.fail(http.StatusBadRequest, "to: "+err.Error())
		return
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 || n > MaxSearchLimit {
			c.fail(http.StatusBadRequest, "limit must be 0 to "+strconv.Itoa(MaxSearchLimit))
			return
		}
		req.Limit = n
	}
	timeout := s.SearchTimeout
	if timeout <= 0 {
		timeout = DefaultSearchTimeout
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	res, err := Search(ctx, s.Index, req)
	var qerr *query.SyntaxError
	switch {
	case errors.As(err, &qerr), errors.Is(err, query.ErrLimit):
		c.fail(http.StatusBadRequest, err.Error())
		return
	case errors.Is(err, context.DeadlineExceeded):
		c.fail(http.StatusServiceUnavailable, fmt.Sprintf("the search took longer than %s: narrow it (a time range with from/to, a field:value)", timeout))
		return
	case err != nil:
		c.fail(http.StatusInternalServerError, "search: "+err.Error())
		return
	}
	c.detail = fmt.Sprintf("%d matches, %d ms", res.Total, res.TookMillis)
	c.reply(http.StatusOK, res)
}
