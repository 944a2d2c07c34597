package jpcert

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
)

// Pairs are told apart by their strings, whatever their hashes: equal
// hashes, equal high halves, long strings kept out of line, growth.
func TestWPPairs(t *testing.T) {
	type val struct{ n int }
	s := newWPPairs[val]()
	long := strings.Repeat("x", 60)
	type key struct{ client, host string }
	var keys []key
	for i := 0; i < 3000; i++ {
		keys = append(keys, key{fmt.Sprintf("192.168.%d.%d", i/250, i%250), fmt.Sprintf("h%d.example.com", i%7)})
	}
	keys = append(keys, key{long, "a.example"}, key{"10.0.0.1", long}, key{"", "only-host.example"})
	hash := func(k key, i int) uint64 {
		switch i % 3 {
		case 0:
			return 42 // all collide
		case 1:
			return 42<<32 | uint64(i) // same high half
		}
		return s.hash(k.client, k.host)
	}
	for i, k := range keys {
		if s.get(hash(k, i), k.client, k.host) != nil {
			t.Fatalf("%v found before add", k)
		}
		s.add(hash(k, i), k.client, k.host).n = i
	}
	if s.len() != len(keys) {
		t.Fatalf("len %d", s.len())
	}
	for i, k := range keys {
		v := s.get(hash(k, i), k.client, k.host)
		if v == nil || v.n != i {
			t.Fatalf("%v: %v", k, v)
		}
		if s.get(hash(k, i), k.client+"x", k.host) != nil || s.get(hash(k, i), k.client, k.host+"x") != nil {
			t.Fatalf("%v: other strings found", k)
		}
	}
	byHost := s.sorted(true, func(*val) bool { return true })
	byClient := s.sorted(false, func(v *val) bool { return v.n%2 == 0 })
	if len(byHost) != len(keys) || len(byClient) != (len(keys)+1)/2 {
		t.Fatalf("sorted: %d %d", len(byHost), len(byClient))
	}
	for i := 1; i < len(byHost); i++ {
		a, b := byHost[i-1], byHost[i]
		if a.host > b.host || a.host == b.host && a.client >= b.client {
			t.Fatalf("host order: %q %q then %q %q", a.host, a.client, b.host, b.client)
		}
	}
	for i := 1; i < len(byClient); i++ {
		a, b := byClient[i-1], byClient[i]
		if a.client > b.client || a.client == b.client && a.host >= b.host {
			t.Fatalf("client order: %q %q then %q %q", a.client, a.host, b.client, b.host)
		}
	}
	// The filter has no false negatives.
	var f wpSeen
	r := rand.New(rand.NewPCG(1, 1))
	var hs []uint64
	for i := 0; i < 10000; i++ {
		h := r.Uint64()
		hs = append(hs, h)
		f.add(h)
	}
	for _, h := range hs {
		if !f.has(h) {
			t.Fatalf("%x added but not seen", h)
		}
	}
}

// A kept record gives back the evidence alert.EvidenceOf gives.
func TestWPRec(t *testing.T) {
	var c wpSrcs
	for i, ev := range []*event.Event{
		{Source: "squid", Time: time.Unix(1424227775, 972e6), Origin: event.Origin{File: "a.log", Line: 3}, Raw: "line 3"},
		{Source: "squid", Time: time.Unix(1424227776, 0).In(time.FixedZone("X", 3600)), Origin: event.Origin{File: "b.log", Line: 1}, Raw: "b"},
		{Source: "squid-combined", Origin: event.Origin{File: "a.log", Line: 4}},
		{Source: "squid", Origin: event.Origin{File: "a.log", Line: 5}, Raw: "line 5"},
	} {
		r := c.rec(ev)
		if got, want := r.evidence(), alert.EvidenceOf(ev); !reflect.DeepEqual(got, want) {
			t.Errorf("%d: %+v, want %+v", i, got, want)
		}
	}
	if len(c.all) != 3 {
		t.Errorf("%d sources interned, want 3", len(c.all))
	}
}

// J8's and J10's findings for a pair do not depend on the records of other
// pairs in between (their records wait in a pipeline and share an index).
func TestWPPairsIndependent(t *testing.T) {
	m := bModel(t, nil)
	r := rand.New(rand.NewPCG(3, 4))
	start := bJST(t, "2015-02-16 09:00:00")
	type rec struct {
		pair int
		ev   *event.Event
	}
	var all []rec
	for p := 0; p < 40; p++ {
		client := fmt.Sprintf("192.168.1.%d", 10+p%13)
		host := fmt.Sprintf("c%d.example.net", p%17)
		tm := start.Add(time.Duration(p) * time.Minute)
		for i := 0; i < 30+p; i++ {
			switch r.IntN(4) {
			case 0:
				all = append(all, rec{p, bProxy(tm, client, "POST", "http://"+host+"/u", bOut(int64(r.IntN(60_000_000))))})
			case 1:
				all = append(all, rec{p, bProxy(tm, client, "CONNECT", host+":443", bIn(int64(r.IntN(60_000_000))))})
			default:
				all = append(all, rec{p, bProxy(tm, client, "GET", "http://"+host+"/", bIn(100))})
			}
			// Beacon-like gaps within a day, and whole days between bursts.
			tm = tm.Add(time.Duration(290+r.IntN(20)) * time.Second)
			if r.IntN(8) == 0 {
				tm = tm.Add(24 * time.Hour)
			}
		}
	}
	// Interleave the pairs (each pair's records end up out of time order
	// too, which both runs below see alike).
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	perPair := map[int][]*event.Event{}
	for i, x := range all {
		x.ev.Origin.Line = int64(i + 1)
		perPair[x.pair] = append(perPair[x.pair], x.ev)
	}
	key := func(as []*alert.Alert) map[string]string {
		out := map[string]string{}
		for _, a := range as {
			out[a.ID] = fmt.Sprintf("%s|%s|%d|%v|%v", a.Summary, a.Severity, a.Count, a.Fields, a.Evidence)
		}
		return out
	}
	for _, mk := range []func() detect.Detector{func() detect.Detector { return NewJ8(m) }, func() detect.Detector { return NewJ10(m) }} {
		d := mk()
		for _, x := range all {
			d.Observe(x.ev)
		}
		var together []*alert.Alert
		d.Flush(context.Background(), func(a *alert.Alert) { together = append(together, a) })
		var alone []*alert.Alert
		for p := 0; p < 40; p++ {
			d := mk()
			for _, ev := range perPair[p] {
				d.Observe(ev)
			}
			d.Flush(context.Background(), func(a *alert.Alert) { alone = append(alone, a) })
		}
		t.Logf("%s: %d findings", d.Info().ID, len(together))
		if len(together) == 0 {
			t.Fatalf("%s: no findings to compare", d.Info().ID)
		}
		if got, want := key(together), key(alone); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %d findings together, %d alone\n%v\n%v", d.Info().ID, len(got), len(want), got, want)
		}
	}
}
