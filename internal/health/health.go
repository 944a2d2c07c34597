// Package health watches the sources sending to kizuki serve: who sent,
// how much, when first and last. A source that has gone silent is often
// the first sign of trouble (a stopped agent, a changed route, or an
// attacker who turned logging off), so silence is reported, not only
// volume (ASD: timely ingestion; JPCERT: logs are useless when missing).
package health

import (
	"context"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kizuki-dev/kizuki/internal/journal"
)

// Sink makes records durable (*journal.Journal).
type Sink interface {
	Append(ctx context.Context, recs []journal.Record) (journal.Seq, error)
}

// MaxSources bounds the sources tracked: past it, new ones are counted
// under one "other" entry, so a flood of spoofed UDP senders cannot grow
// memory without bound.
const MaxSources = 10_000

// Source is what is known of one sender.
type Source struct {
	// Name is "LISTENER HOST", e.g. "syslog-tcp 10.0.0.5" or "https 10.0.0.7".
	Name      string    `json:"name"`
	Listener  string    `json:"listener"`
	Host      string    `json:"host"`
	Messages  uint64    `json:"messages"`
	Bytes     uint64    `json:"bytes"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Silent: nothing received for longer than the tracker's threshold.
	Silent bool `json:"silent"`
	// ClockOffset is the median, over the source's recent events, of
	// event time minus arrival time, in seconds (ObserveTime): positive when
	// its clock runs ahead; negative when it runs behind, or when its logs
	// arrive late (a shipper's backlog). ClockSamples is how many events
	// that is; ClockSkewed says the offset is past the tolerance.
	ClockOffset  float64 `json:"clock_offset_seconds"`
	ClockSamples int     `json:"clock_samples"`
	ClockSkewed  bool    `json:"clock_skewed"`
}

// Tracker counts what each source sent; safe for concurrent use.
type Tracker struct {
	mu        sync.Mutex
	sources   map[string]*Source
	clocks    map[string]*clock
	tolerance time.Duration
	now       func() time.Time
}

// DefaultClockTolerance is how far a source's clock may be off before it
// is reported skewed: wide enough for a shipper's batching, narrow enough
// that a wrong time zone (hours) or a stopped NTP client (minutes a week)
// shows.
const DefaultClockTolerance = 2 * time.Minute

// NewTracker returns an empty tracker.
func NewTracker() *Tracker {
	return &Tracker{sources: map[string]*Source{}, clocks: map[string]*clock{}, tolerance: DefaultClockTolerance, now: time.Now}
}

// SetClockTolerance sets how far a source's clock offset may be before it
// is reported skewed (0 = never).
func (t *Tracker) SetClockTolerance(d time.Duration) {
	t.mu.Lock()
	t.tolerance = d
	t.mu.Unlock()
}

// Wrap returns a Sink that appends to s and, once the records are durable,
// counts them for their sources.
func (t *Tracker) Wrap(s Sink) Sink { return wrapped{t, s} }

type wrapped struct {
	t *Tracker
	s Sink
}

func (w wrapped) Append(ctx context.Context, recs []journal.Record) (journal.Seq, error) {
	seq, err := w.s.Append(ctx, recs)
	if err == nil {
		w.t.Observe(recs)
	}
	return seq, err
}

// Observe counts stored records for their sources.
func (t *Tracker) Observe(recs []journal.Record) {
	now := t.now().UTC()
	t.mu.Lock()
	defer t.mu.Unlock()
	var last *Source
	var lastOrigin string
	for i := range recs {
		r := &recs[i]
		if last == nil || r.Origin != lastOrigin {
			listener, host := ParseOrigin(r.Origin)
			name := listener + " " + host
			last = t.sources[name]
			if last == nil {
				if len(t.sources) >= MaxSources {
					listener, host, name = "other", "*", "other *"
					last = t.sources[name]
				}
				if last == nil {
					last = &Source{Name: name, Listener: listener, Host: host, FirstSeen: now}
					t.sources[name] = last
				}
			}
			lastOrigin = r.Origin
		}
		last.Messages++
		last.Bytes += uint64(len(r.Raw))
		last.LastSeen = now
	}
}

// ParseOrigin returns the listener and the sending host of a journal
// origin: "syslog-tcp 127.0.0.1:5514 <- 10.0.0.5:51234 cn=x" gives
// ("syslog-tcp", "10.0.0.5"); "https 10.0.0.7:4242 token=shipper" gives
// ("https", "10.0.0.7").
func ParseOrigin(origin string) (listener, host string) {
	listener, rest, _ := strings.Cut(origin, " ")
	if _, peer, ok := strings.Cut(rest, "<- "); ok {
		rest = peer
	}
	peer, _, _ := strings.Cut(rest, " ")
	if h, _, err := net.SplitHostPort(peer); err == nil {
		peer = h
	}
	if peer == "" {
		peer = "-"
	}
	return listener, peer
}

// Sources returns every source, silent ones (nothing for longer than
// silentAfter; 0: never silent) first, then by name.
func (t *Tracker) Sources(silentAfter time.Duration) []Source {
	now := t.now()
	t.mu.Lock()
	out := make([]Source, 0, len(t.sources))
	for name, s := range t.sources {
		c := *s
		c.Silent = silentAfter > 0 && now.Sub(c.LastSeen) > silentAfter
		if ck := t.clocks[name]; ck != nil && ck.n > 0 {
			off := ck.median()
			c.ClockOffset, c.ClockSamples = off.Seconds(), ck.n
			c.ClockSkewed = t.tolerance > 0 && (off > t.tolerance || off < -t.tolerance)
		}
		out = append(out, c)
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Silent != out[j].Silent {
			return out[i].Silent
		}
		return out[i].Name < out[j].Name
	})
	return out
}
