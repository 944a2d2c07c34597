package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSend(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	fail := 1 // the first attempt fails: retried
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if fail > 0 {
			fail--
			w.WriteHeader(503)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &m) != nil {
			t.Errorf("bad post: %s %s", r.Header.Get("Content-Type"), b)
		}
		got = append(got, m)
	}))
	defer srv.Close()
	var logs []string
	s, err := New(srv.URL+"/hook?token=SECRET", func(f string, a ...any) { logs = append(logs, f) })
	if err != nil {
		t.Fatal(err)
	}
	s.backoff = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	s.Send(map[string]any{"rule_title": "Security Event Log Cleared"})
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && s.Stats().Sent == 0; time.Sleep(5 * time.Millisecond) {
	}
	mu.Lock()
	defer mu.Unlock()
	if st := s.Stats(); st.Sent != 1 || len(got) != 1 || got[0]["rule_title"] != "Security Event Log Cleared" {
		t.Fatalf("stats %+v, got %v", st, got)
	}
}

// A dead endpoint: failures are counted and logged without the URL's path
// or query (they may hold a secret).
func TestFailureRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	var mu sync.Mutex
	var logs []string
	s, err := New(srv.URL+"/hook?token=SECRET", func(f string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		b, _ := json.Marshal(a)
		logs = append(logs, f+string(b))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.backoff = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	s.Send("x")
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && s.Stats().Failed == 0; time.Sleep(5 * time.Millisecond) {
	}
	mu.Lock()
	defer mu.Unlock()
	if s.Stats().Failed != 1 || len(logs) != 1 || strings.Contains(logs[0], "SECRET") {
		t.Fatalf("stats %+v logs %q", s.Stats(), logs)
	}
}

// A full queue drops and counts; detection is never held up.
func TestQueueFull(t *testing.T) {
	s, err := New("http://127.0.0.1:1/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	for range QueueSize + 5 {
		s.Send("x")
	}
	if st := s.Stats(); st.Dropped != 5 {
		t.Fatalf("dropped %d, want 5", st.Dropped)
	}
	for _, bad := range []string{"ftp://x/y", "not a url", "http:///nohost", "file:///etc/passwd", "http://a b/%zz"} {
		if _, err := New(bad, nil); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
}
