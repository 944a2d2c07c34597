// Package api is kizuki serve's HTTPS interface. Every call is
// authenticated with a bearer token (package auth), checked against the
// token's role, and recorded in the audit trail: a journal of its own,
// hash-chained and signed like the events', so that who did what cannot be
// rewritten either.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/auth"
	"github.com/kizuki-dev/kizuki/internal/health"
	"github.com/kizuki-dev/kizuki/internal/journal"
	"github.com/kizuki-dev/kizuki/internal/live"
	"github.com/kizuki-dev/kizuki/internal/store"
)

// Sink makes events durable (*journal.Journal).
type Sink interface {
	Append(ctx context.Context, recs []journal.Record) (journal.Seq, error)
}

// DefaultMaxBody bounds one ingest request's body.
const DefaultMaxBody = 16 << 20

// Server serves the API.
type Server struct {
	Tokens *auth.Store
	Events Sink // where ingested events go
	Audit  Sink // the audit trail
	// MaxBody bounds a request body (default DefaultMaxBody); MaxLine a
	// line (default journal.DefaultMaxRecordSize).
	MaxBody, MaxLine int
	Logf             func(format string, args ...any)
	// Metrics gives the values /metrics exposes (listeners, journal).
	Metrics func() []Metric
	// Sources gives the senders seen, for /api/v1/sources.
	Sources func() []health.Source
	// Detector is live detection, for /api/v1/alerts (nil: none).
	Detector *live.Detector
	// Formats names the formats ?type= may name (nil: any name).
	Formats []string
	// Index is the search index, for /api/v1/search (nil: none), and
	// SearchTimeout bounds one search (default DefaultSearchTimeout).
	Index         *store.Index
	SearchTimeout time.Duration
}

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/ingest", s.ingest)
	mux.HandleFunc("/metrics", s.metrics)
	mux.HandleFunc("/api/v1/sources", s.sources)
	mux.HandleFunc("/api/v1/alerts", s.alerts)
	mux.HandleFunc("/api/v1/search", s.search)
	mux.HandleFunc("/api/v1/indicators", s.indicators)
	mux.HandleFunc("/api/v1/indicators/", s.indicators)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c := s.begin(w, r, auth.Read)
		if c == nil {
			return
		}
		c.fail(http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	return mux
}

// call is one API call being served, for its audit record.
type call struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	token  auth.Token
	start  time.Time
	detail string
	// stored: the call's events are durable; it is then answered as a
	// success even if its audit record cannot be written (a failure
	// answer would make the sender send them again).
	stored bool
}

// begin authenticates r and checks that its token may do p; on failure it
// answers (401 or 403), records it in the audit trail and returns nil.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, p auth.Permission) *call {
	c := &call{s: s, w: w, r: r, start: time.Now()}
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	tok, found := s.Tokens.Authenticate(strings.TrimSpace(secret))
	if !ok || !found {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kizuki"`)
		c.fail(http.StatusUnauthorized, "missing or unknown API token (Authorization: Bearer TOKEN)")
		return nil
	}
	c.token = tok
	if !tok.Role.Allows(p) {
		c.fail(http.StatusForbidden, fmt.Sprintf("token %q has role %s, which may not do this", tok.Name, tok.Role))
		return nil
	}
	return c
}

// beginGet is begin for the read-only endpoints: a token that may read,
// and GET (405 otherwise).
func (s *Server) beginGet(w http.ResponseWriter, r *http.Request) *call {
	c := s.begin(w, r, auth.Read)
	if c == nil {
		return nil
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		c.fail(http.StatusMethodNotAllowed, "use GET")
		return nil
	}
	return c
}

// fail answers with a JSON error and audits the call.
func (c *call) fail(status int, msg string) {
	c.detail = msg
	c.reply(status, map[string]any{"error": msg})
}

// reply answers with v as JSON; the call is audited first, so that a call
// the audit trail cannot record is not answered as a success.
func (c *call) reply(status int, v any) {
	if err := c.audit(status); err != nil && status < 300 && !c.stored {
		status, v = http.StatusServiceUnavailable, map[string]any{"error": "the audit trail cannot be written: " + err.Error()}
	}
	c.w.Header().Set("Content-Type", "application/json")
	c.w.WriteHeader(status)
	json.NewEncoder(c.w).Encode(v)
}

// auditRecord is one line of the audit trail.
type auditRecord struct {
	Time   string `json:"time"`
	Token  string `json:"token,omitempty"`
	Role   string `json:"role,omitempty"`
	Remote string `json:"remote"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query,omitempty"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Millis int64  `json:"ms"`
}

func (c *call) audit(status int) error {
	if c.s.Audit == nil {
		return nil
	}
	rec := auditRecord{
		Time: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), Token: c.token.Name, Role: string(c.token.Role),
		Remote: c.r.RemoteAddr, Method: c.r.Method, Path: c.r.URL.Path, Query: c.r.URL.RawQuery,
		Status: status, Detail: c.detail, Millis: time.Since(c.start).Milliseconds(),
	}
	b, _ := json.Marshal(rec)
	_, err := c.s.Audit.Append(context.WithoutCancel(c.r.Context()), []journal.Record{{Origin: "api", Source: "kizuki-audit", Raw: b}})
	if err != nil && c.s.Logf != nil {
		c.s.Logf("audit trail: %v", err)
	}
	return err
}

// validType is what ?type= may name: a format name.
func validType(t string) bool {
	if len(t) > 64 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ingest stores the lines of the body: NDJSON (each line a JSON value)
// when the content type says so, else plain log lines; ?type= names their
// format. It answers 200 only once every line is on disk.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request) {
	c := s.begin(w, r, auth.Ingest)
	if c == nil {
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		c.fail(http.StatusMethodNotAllowed, "use POST")
		return
	}
	typ := r.URL.Query().Get("type")
	if !validType(typ) || (typ != "" && s.Formats != nil && !slices.Contains(s.Formats, typ)) {
		msg := "type must be a format name (lower-case letters, digits, - and _)"
		if s.Formats != nil {
			msg = "unknown type " + strconv.Quote(typ) + ": one of " + strings.Join(s.Formats, ", ") + ", or none to detect it"
		}
		c.fail(http.StatusBadRequest, msg)
		return
	}
	maxBody, maxLine := s.MaxBody, s.MaxLine
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	if maxLine <= 0 {
		maxLine = journal.DefaultMaxRecordSize
	}
	ndjson := strings.Contains(r.Header.Get("Content-Type"), "json")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(maxBody)))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		c.fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes: send it in several requests", maxBody))
		return
	case err != nil:
		c.fail(http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	origin := "https " + r.RemoteAddr + " token=" + c.token.Name
	if len(origin) > journal.MaxOriginLen {
		origin = origin[:journal.MaxOriginLen]
	}
	// Lines are cut from the body itself (read whole above): each record's
	// Raw stays valid until Append has copied it.
	var recs []journal.Record
	now := time.Now()
	rest := body
	for n := 1; len(rest) > 0; n++ {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if len(line) > maxLine {
			c.fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("line %d is longer than %d bytes; nothing was stored", n, maxLine))
			return
		}
		if ndjson && !json.Valid(line) {
			c.fail(http.StatusBadRequest, "line "+strconv.Itoa(n)+" is not JSON (Content-Type says NDJSON); nothing was stored")
			return
		}
		recs = append(recs, journal.Record{Received: now, Origin: origin, Source: typ, Raw: line})
	}
	if len(recs) == 0 {
		c.reply(http.StatusOK, map[string]any{"accepted": 0})
		return
	}
	first, err := s.Events.Append(r.Context(), recs)
	switch {
	case errors.Is(err, journal.ErrDiskFull):
		w.Header().Set("Retry-After", "30")
		c.fail(http.StatusServiceUnavailable, "the disk is full: nothing was stored; retry later")
		return
	case errors.Is(err, journal.ErrTooLarge):
		c.fail(http.StatusRequestEntityTooLarge, err.Error())
		return
	case err != nil:
		c.fail(http.StatusServiceUnavailable, "nothing was stored: "+err.Error())
		return
	}
	c.stored = true
	c.detail = fmt.Sprintf("%d events, records %d..%d", len(recs), first, int64(first)+int64(len(recs))-1)
	c.reply(http.StatusOK, map[string]any{"accepted": len(recs), "first_seq": first})
}
