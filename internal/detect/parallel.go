package detect

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/kizuki-dev/kizuki/internal/event"
)

// Parallel runs the engine's detectors in groups, one goroutine per group.
// Every group sees every batch, in order, so each detector observes exactly
// the event sequence it would in Engine.Observe: findings are identical,
// only spread over cores. Detectors of different groups never share state;
// events are read-only while groups run.
type Parallel struct {
	eng   *Engine
	lanes []*lane
	wg    sync.WaitGroup
}

type lane struct {
	byCat map[string][]Detector
	in    chan *batch
}

type batch struct {
	evs     []event.Event
	pending atomic.Int32
	release func()
}

// laneDepth bounds the batches queued per group (memory and backpressure).
const laneDepth = 4

// Partition splits dets into n groups of similar total weight (greedy,
// heaviest first). weight estimates a detector's cost per event.
func Partition(dets []Detector, n int, weight func(Detector) float64) [][]Detector {
	if n < 1 {
		n = 1
	}
	if n > len(dets) {
		n = len(dets)
	}
	idx := make([]int, len(dets))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return weight(dets[idx[a]]) > weight(dets[idx[b]]) })
	groups := make([][]Detector, n)
	load := make([]float64, n)
	for _, i := range idx {
		best := 0
		for g := 1; g < n; g++ {
			if load[g] < load[best] {
				best = g
			}
		}
		groups[best] = append(groups[best], dets[i])
		load[best] += weight(dets[i])
	}
	// Keep registration order inside a group: annotators run last anyway.
	pos := map[Detector]int{}
	for i, d := range dets {
		pos[d] = i
	}
	for _, g := range groups {
		sort.SliceStable(g, func(a, b int) bool { return pos[g[a]] < pos[g[b]] })
	}
	return groups
}

// StartParallel starts one goroutine per group. Call ObserveBatch for each
// batch of events and Wait before Engine.Finish.
func (e *Engine) StartParallel(groups [][]Detector) *Parallel {
	p := &Parallel{eng: e}
	for _, g := range groups {
		l := &lane{byCat: map[string][]Detector{}, in: make(chan *batch, laneDepth)}
		for _, d := range g {
			for _, c := range d.Info().Categories {
				l.byCat[c] = append(l.byCat[c], d)
			}
		}
		p.lanes = append(p.lanes, l)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			// Consecutive events mostly come from the same source: the
			// detectors of the last one are kept, saving two map
			// lookups per event and lane.
			var lastSrc string
			var ds []Detector
			for b := range l.in {
				for i := range b.evs {
					ev := &b.evs[i]
					if ev.Source != lastSrc || ds == nil {
						lastSrc, ds = ev.Source, l.byCat[categoryOf[ev.Source]]
					}
					for _, d := range ds {
						d.Observe(ev)
					}
				}
				if b.pending.Add(-1) == 0 && b.release != nil {
					b.release()
				}
			}
		}()
	}
	return p
}

// ObserveBatch hands evs to every group; release is called once all groups
// are done with them (the caller may then reuse the events). It blocks when
// the groups are behind, which throttles the readers.
func (p *Parallel) ObserveBatch(evs []event.Event, release func()) {
	for i := range evs {
		c := categoryOf[evs[i].Source]
		if c == "" {
			p.eng.unrouted++
			continue
		}
		p.eng.seenCat[c]++
	}
	if len(p.lanes) == 0 {
		if release != nil {
			release()
		}
		return
	}
	b := &batch{evs: evs, release: release}
	b.pending.Store(int32(len(p.lanes)))
	for _, l := range p.lanes {
		l.in <- b
	}
}

// Wait closes the groups' inputs and waits until every batch is observed.
func (p *Parallel) Wait() {
	for _, l := range p.lanes {
		close(l.in)
	}
	p.wg.Wait()
}
