// Package webhook sends alerts to the URLs an operator names (chat, SOAR,
// ticketing): one JSON POST per alert, from a bounded queue, with retries.
// A webhook that is down never slows detection: past the queue, alerts are
// counted as dropped for it, and every alert stays listed by the API.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// QueueSize bounds the alerts waiting to be sent.
const QueueSize = 1000

// Attempts is how often one alert is tried before it is counted as failed.
const Attempts = 3

// Stats counts deliveries.
type Stats struct{ Sent, Failed, Dropped uint64 }

// Sender posts to one URL.
type Sender struct {
	url                   string
	host                  string // for logs: never the path or query, which may hold a secret
	client                *http.Client
	queue                 chan []byte
	logf                  func(string, ...any)
	sent, failed, dropped atomic.Uint64
	backoff               time.Duration
}

// New checks raw (http or https, with a host) and returns its sender.
func New(raw string, logf func(string, ...any)) (*Sender, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// Not echoed: the text may hold a token.
		return nil, errors.New("webhook: not a URL (check --webhook)")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook: %q is not an http(s) URL", u.Redacted())
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Sender{url: raw, host: u.Scheme + "://" + u.Host, client: &http.Client{Timeout: 10 * time.Second},
		queue: make(chan []byte, QueueSize), logf: logf, backoff: time.Second}, nil
}

// Send queues v (marshalled to JSON) without waiting; a full queue drops it
// (counted).
func (s *Sender) Send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.failed.Add(1)
		return
	}
	select {
	case s.queue <- b:
	default:
		s.dropped.Add(1)
	}
}

// Run posts the queued alerts until ctx ends.
func (s *Sender) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-s.queue:
			s.post(ctx, b)
		}
	}
}

func (s *Sender) post(ctx context.Context, b []byte) {
	var last error
	for attempt := range Attempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				s.failed.Add(1)
				return
			case <-time.After(s.backoff << (attempt - 1)):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(b))
		if err != nil {
			last = err
			break
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "kizuki")
		resp, err := s.client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 300 {
				s.sent.Add(1)
				return
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		last = err
	}
	s.failed.Add(1)
	// The URL's path and query may hold a token: only the host is logged.
	s.logf("webhook %s: an alert was not delivered after %d attempts: %v", s.host, Attempts, redact(last, s.url, s.host))
}

// redact removes the full URL from an error's text.
func redact(err error, full, host string) string {
	if err == nil {
		return ""
	}
	return string(bytes.ReplaceAll([]byte(err.Error()), []byte(full), []byte(host+"/…")))
}

// Stats returns the delivery counts.
func (s *Sender) Stats() Stats {
	return Stats{Sent: s.sent.Load(), Failed: s.failed.Load(), Dropped: s.dropped.Load()}
}
