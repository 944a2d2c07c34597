package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/auth"
	"github.com/kizuki-dev/kizuki/internal/journal"
)

// fakeSink keeps what it is given, or fails with err.
type fakeSink struct {
	mu   sync.Mutex
	recs []journal.Record
	err  error
}

func (f *fakeSink) Append(_ context.Context, recs []journal.Record) (journal.Seq, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return 0, f.err
	}
	first := journal.Seq(len(f.recs))
	for _, r := range recs {
		r.Raw = append([]byte(nil), r.Raw...)
		f.recs = append(f.recs, r)
	}
	return first, nil
}

func TestIngestErrors(t *testing.T) {
	store, err := auth.Open(filepath.Join(t.TempDir(), "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := store.Create("admin", auth.Admin)
	events, audit := &fakeSink{}, &fakeSink{}
	srv := httptest.NewServer((&Server{Tokens: store, Events: events, Audit: audit, MaxBody: 1024, MaxLine: 100,
		Formats: []string{"squid", "postfix"}}).Handler())
	defer srv.Close()
	do := func(method, query, body string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/api/v1/ingest"+query, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	f := func(method, query, body string, want int, wantIn string) {
		t.Helper()
		code, got, _ := do(method, query, body)
		if code != want || !strings.Contains(got, wantIn) {
			t.Errorf("%s %s %q: %d %s, want %d with %q", method, query, body, code, got, want, wantIn)
		}
	}
	f("GET", "", "", 405, "POST")
	f("POST", "?type=Bad/Type", "x\n", 400, "type")
	f("POST", "?type=syslog", "x\n", 400, "unknown type")
	f("POST", "", strings.Repeat("x", 2000), 413, "larger than 1024")
	f("POST", "", strings.Repeat("y", 150)+"\n", 413, "longer than 100")
	f("POST", "", "\n\n", 200, `"accepted":0`)
	f("POST", "?type=squid", "a\r\nb\n", 200, `"accepted":2`)
	if len(events.recs) != 2 || string(events.recs[0].Raw) != "a" || events.recs[1].Source != "squid" {
		t.Errorf("stored %+v", events.recs)
	}

	// A full disk: nothing stored, 503 with Retry-After.
	events.err = fmt.Errorf("%w: write: no space left on device", journal.ErrDiskFull)
	code, body, h := do("POST", "", "c\n")
	if code != 503 || h.Get("Retry-After") == "" || !strings.Contains(body, "disk is full") {
		t.Errorf("disk full: %d %s %v", code, body, h)
	}
	events.err = nil

	// Events stored but the audit trail failing: still a success (a
	// failure would make the sender send them again); a call that stored
	// nothing is refused.
	audit.err = errors.New("audit disk gone")
	f("POST", "", "d\n", 200, `"accepted":1`)
	f("POST", "", "\n", 503, "audit trail")
	audit.err = nil
	if n := len(audit.recs); n != 8 {
		t.Errorf("%d audit records, want 8 (every call but the two whose audit failed)", n)
	}
}

// Every line of a large body is stored as sent: the records must not alias
// a buffer that later lines overwrite (a bufio.Scanner did, and stored
// the body's later bytes in its early records).
func TestIngestLargeBodyExact(t *testing.T) {
	store, err := auth.Open(filepath.Join(t.TempDir(), "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := store.Create("admin", auth.Admin)
	events := &fakeSink{}
	srv := httptest.NewServer((&Server{Tokens: store, Events: events}).Handler())
	defer srv.Close()
	var lines []string
	for i := range 5000 {
		lines = append(lines, fmt.Sprintf("Aug 31 12:37:51 mx postfix/smtpd[%d]: connect from host%d.example[192.0.2.%d]", i, i, i%250))
	}
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/ingest", strings.NewReader(strings.Join(lines, "\r\n")+"\n"))
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(events.recs) != len(lines) {
		t.Fatalf("%d, %d records", resp.StatusCode, len(events.recs))
	}
	for i, r := range events.recs {
		if string(r.Raw) != lines[i] {
			t.Fatalf("record %d = %q, want %q", i, r.Raw, lines[i])
		}
	}
}
