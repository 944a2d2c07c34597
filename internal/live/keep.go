package live

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/journal"
)

// MaxKeys bounds the finding keys remembered to tell a new finding from
// one already raised (16 bytes each, about 10 MB at most); the oldest are
// forgotten first, so a finding last raised more than MaxKeys findings ago
// may be raised again.
const MaxKeys = 1 << 18

// keySet remembers finding keys (as digests) in arrival order.
type keySet struct {
	set   map[[16]byte]struct{}
	order [][16]byte // ring of the keys in set, oldest at next once full
	next  int
}

func keyDigest(k string) [16]byte {
	h := sha256.Sum256([]byte(k))
	var out [16]byte
	copy(out[:], h[:16])
	return out
}

func (s *keySet) has(h [16]byte) bool {
	_, ok := s.set[h]
	return ok
}

func (s *keySet) add(h [16]byte) {
	if s.set == nil {
		s.set = map[[16]byte]struct{}{}
	}
	if _, ok := s.set[h]; ok {
		return
	}
	if len(s.order) < MaxKeys {
		s.order = append(s.order, h)
	} else {
		delete(s.set, s.order[s.next])
		s.order[s.next] = h
		s.next = (s.next + 1) % MaxKeys
	}
	s.set[h] = struct{}{}
}

// keep makes alerts durable in the alerts journal, then lists them in
// memory, counts them and calls OnAlert. Alerts with a Key already kept
// (now or by an earlier run) are dropped: a JPCERT finding made again over
// the next window, or over a window replayed after a restart, and an
// indicator met again by the same host, are raised once. It returns the
// alerts raised. Every producer (the Sigma and indicator loop, the
// analysis windows, the retro-hunt) goes through here, one at a time, so
// that two of them cannot raise the same key.
func (d *Detector) keep(ctx context.Context, alerts []Alert) ([]Alert, error) {
	if len(alerts) == 0 {
		return nil, nil
	}
	d.keepMu.Lock()
	defer d.keepMu.Unlock()
	fresh := make([]Alert, 0, len(alerts))
	var digests [][16]byte
	batch := map[[16]byte]bool{}
	for _, a := range alerts {
		if a.Key != "" {
			h := keyDigest(a.Key)
			if d.keys.has(h) || batch[h] {
				continue
			}
			batch[h] = true
			digests = append(digests, h)
		}
		fresh = append(fresh, a)
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	if d.opt.Alerts != nil {
		recs := make([]journal.Record, 0, len(fresh))
		for _, a := range fresh {
			b, err := json.Marshal(a)
			if err != nil {
				return nil, fmt.Errorf("encoding an alert of %s: %w", a.RuleID, err)
			}
			recs = append(recs, journal.Record{Origin: "live", Source: "kizuki-alert", Raw: b})
		}
		if _, err := d.opt.Alerts.Append(ctx, recs); err != nil {
			return nil, fmt.Errorf("keeping %d alerts: %w", len(recs), err)
		}
	}
	for _, h := range digests {
		d.keys.add(h)
	}
	d.mu.Lock()
	for _, a := range fresh {
		d.stats.Alerts++
		*d.stats.kindCount(a.Kind)++
		d.remember(a)
	}
	d.mu.Unlock()
	if d.opt.OnAlert != nil {
		for _, a := range fresh {
			d.opt.OnAlert(a)
		}
	}
	return fresh, nil
}

// now is the detection time stamp of new alerts.
func (d *Detector) now() string { return d.clock().UTC().Format(event.TimeFormat) }

// clock is Options.Now, or the wall clock.
func (d *Detector) clock() time.Time {
	if d.opt.Now != nil {
		return d.opt.Now()
	}
	return time.Now()
}
