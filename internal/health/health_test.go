package health

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/journal"
)

type sink struct{ err error }

func (s sink) Append(context.Context, []journal.Record) (journal.Seq, error) { return 0, s.err }

func TestParseOrigin(t *testing.T) {
	f := func(origin, listener, host string) {
		t.Helper()
		if l, h := ParseOrigin(origin); l != listener || h != host {
			t.Errorf("ParseOrigin(%q) = %q %q, want %q %q", origin, l, h, listener, host)
		}
	}
	f("syslog-tcp 127.0.0.1:5514 <- 10.0.0.5:51234", "syslog-tcp", "10.0.0.5")
	f("syslog-tls [::]:6514 <- [2001:db8::1]:40000 cn=fw1", "syslog-tls", "2001:db8::1")
	f("syslog-udp 0.0.0.0:5514 <- 192.0.2.9:514", "syslog-udp", "192.0.2.9")
	f("https 10.0.0.7:4242 token=shipper", "https", "10.0.0.7")
	f("retention", "retention", "-")
	f("", "", "-")
}

func TestTracker(t *testing.T) {
	tr := NewTracker()
	clock := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tr.now = func() time.Time { return clock }
	s := tr.Wrap(sink{})
	rec := func(origin, raw string) journal.Record { return journal.Record{Origin: origin, Raw: []byte(raw)} }
	s.Append(context.Background(), []journal.Record{
		rec("syslog-tcp :5514 <- 10.0.0.5:1", "abc"), rec("syslog-tcp :5514 <- 10.0.0.5:1", "de"),
		rec("syslog-udp :5514 <- 10.0.0.6:2", "x"),
	})
	clock = clock.Add(2 * time.Hour)
	s.Append(context.Background(), []journal.Record{rec("syslog-tcp :5514 <- 10.0.0.5:9", "f")})
	// A failed append counts nothing: those records are not stored.
	tr.Wrap(sink{err: errors.New("disk full")}).Append(context.Background(), []journal.Record{rec("syslog-udp :5514 <- 10.0.0.6:2", "lost")})

	got := tr.Sources(time.Hour)
	if len(got) != 2 {
		t.Fatalf("%d sources: %+v", len(got), got)
	}
	udp, tcp := got[0], got[1]
	if !udp.Silent || udp.Name != "syslog-udp 10.0.0.6" || udp.Messages != 1 || udp.Bytes != 1 {
		t.Errorf("silent source first: %+v", udp)
	}
	if tcp.Silent || tcp.Messages != 3 || tcp.Bytes != 6 || !tcp.LastSeen.Equal(clock) || !tcp.FirstSeen.Equal(clock.Add(-2*time.Hour)) {
		t.Errorf("tcp source: %+v", tcp)
	}
	if tr.Sources(0)[0].Silent {
		t.Error("silentAfter 0 still reports silence")
	}
}

// Past MaxSources, new senders share one entry: memory stays bounded.
func TestTrackerBounded(t *testing.T) {
	tr := NewTracker()
	var recs []journal.Record
	for i := range MaxSources + 50 {
		recs = append(recs, journal.Record{Origin: fmt.Sprintf("syslog-udp :5514 <- 10.%d.%d.%d:514", i>>16&255, i>>8&255, i&255), Raw: []byte("x")})
	}
	tr.Observe(recs)
	got := tr.Sources(0)
	if len(got) != MaxSources+1 {
		t.Fatalf("%d sources, want %d", len(got), MaxSources+1)
	}
	for _, s := range got {
		if s.Name == "other *" && s.Messages != 50 {
			t.Errorf("other: %+v", s)
		}
	}
}

// A source's clock offset is the median of its recent events' offsets: one
// replayed old event does not make it skewed; a source an hour ahead (a
// wrong time zone) is.
func TestClockOffset(t *testing.T) {
	tr := NewTracker()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tr.now = func() time.Time { return now }
	good, ahead := "syslog-tcp :5514 <- 10.0.0.5:1", "syslog-udp :5514 <- 10.0.0.6:2"
	tr.Observe([]journal.Record{{Origin: good, Raw: []byte("a")}, {Origin: ahead, Raw: []byte("b")}})
	for i := 0; i < 100; i++ {
		at := now.Add(time.Duration(i) * time.Second)
		tr.ObserveTime(good, at.Add(-300*time.Millisecond), at)
		tr.ObserveTime(ahead, at.Add(time.Hour), at)
	}
	tr.ObserveTime(good, now.Add(-48*time.Hour), now) // a replayed old event
	tr.ObserveTime("syslog-tcp :5514 <- 10.9.9.9:1", now, now.Add(time.Hour))
	got := tr.Sources(0)
	if len(got) != 2 {
		t.Fatalf("%d sources: %+v", len(got), got)
	}
	g, a := got[0], got[1]
	if g.ClockSkewed || g.ClockOffset != -0.3 || g.ClockSamples != clockWindow {
		t.Errorf("good clock: %+v", g)
	}
	if !a.ClockSkewed || a.ClockOffset != 3600 {
		t.Errorf("clock an hour ahead: %+v", a)
	}
	tr.SetClockTolerance(0)
	if tr.Sources(0)[1].ClockSkewed {
		t.Error("tolerance 0 still reports skew")
	}
}
