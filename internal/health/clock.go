package health

import (
	"slices"
	"time"
)

// clockWindow is how many recent offsets a source keeps: enough for a
// median that one replayed or buffered event does not move.
const clockWindow = 63

// clock holds a source's recent offsets of event time against arrival.
type clock struct {
	samples [clockWindow]time.Duration
	n, next int
}

func (c *clock) add(d time.Duration) {
	c.samples[c.next] = d
	c.next = (c.next + 1) % clockWindow
	c.n = min(c.n+1, clockWindow)
}

func (c *clock) median() time.Duration {
	s := slices.Clone(c.samples[:c.n])
	slices.Sort(s)
	return s[len(s)/2]
}

// ObserveTime notes, for the source of a journal origin, the time an
// event says it happened against when it arrived (C6: sources whose
// clocks drift). Only sources already counted by Observe are tracked, so
// a replay of old records after a restart adds no entries.
func (t *Tracker) ObserveTime(origin string, eventTime, received time.Time) {
	if eventTime.IsZero() || received.IsZero() {
		return
	}
	listener, host := ParseOrigin(origin)
	name := listener + " " + host
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sources[name] == nil {
		return
	}
	c := t.clocks[name]
	if c == nil {
		c = &clock{}
		t.clocks[name] = c
	}
	c.add(eventTime.Sub(received))
}
