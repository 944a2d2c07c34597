package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/kizuki-dev/kizuki/internal/detect/ioc"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/journal"
)

// A retro-hunt searches the stored history for indicators the live
// matching did not have when that history was checked (requirement R2,
// JPCERT §4.1.2: an indicator published today finds last month's
// callbacks). When the Sigma loop installs new lists at record P, the
// indicators never searched for before become a job: search records
// [first, P) for them. Records from P on are matched live, so together
// every record meets every indicator once.
//
// One goroutine runs the jobs one after the other, reading the journal
// and matching only the job's indicators; its alerts are marked retro and
// carry the original event's time and origin. What was searched for is
// remembered (retroState: a 64-bit fingerprint per indicator, and the
// unfinished jobs with their progress), so a restart resumes a job where
// it stopped and never repeats a finished one.

// RetroStats says what the retro-hunt is doing.
type RetroStats struct {
	Running    bool        // a job is being searched
	Jobs       int         // jobs waiting, the running one included
	Indicators int         // indicators the running job searches for
	From       journal.Seq // where the running job started (this run)
	Next       journal.Seq // next record it reads
	To         journal.Seq // it ends before this record
	Checked    uint64      // records read by retro-hunts since start
	Hits       uint64      // alerts raised by retro-hunts since start
	Done       uint64      // jobs finished since start
	Hunted     int         // indicators whose search of the history is done
}

// retroJob is one search: these indicators, over records [Next, To).
type retroJob struct {
	fps     []uint64 // sorted fingerprints
	next    journal.Seq
	to      journal.Seq
	started bool
}

type retro struct {
	d      *Detector
	file   string
	wake   chan struct{}
	saveMu sync.Mutex // one write of the file at a time, newest last

	mu     sync.Mutex
	hunted []uint64 // sorted fingerprints searched for over the history
	jobs   []*retroJob
	st     RetroStats
	saved  time.Time
}

func newRetro(d *Detector, file string) (*retro, error) {
	r := &retro{d: d, file: file, wake: make(chan struct{}, 1)}
	hunted, jobs, err := loadRetroState(file)
	if err != nil {
		return nil, err
	}
	r.hunted, r.jobs = hunted, jobs
	r.st.Hunted, r.st.Jobs = len(hunted), len(jobs)
	return r, nil
}

// retroStateFile is IndicatorOptions.StateFile or its default.
func (d *Detector) retroStateFile() string {
	if f := d.opt.Indicators.StateFile; f != "" {
		return f
	}
	if d.opt.PositionFile != "" {
		return siblingFile(d.opt.PositionFile, "retro-hunt.json")
	}
	return ""
}

// fingerprints returns the sorted distinct fingerprints of lists'
// indicators.
func fingerprints(lists []*ioc.List) []uint64 {
	var out []uint64
	for _, l := range lists {
		for i := range l.Indicators {
			out = append(out, l.Indicators[i].Fingerprint())
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// has reports whether sorted fps holds fp.
func has(fps []uint64, fp uint64) bool {
	_, ok := slices.BinarySearch(fps, fp)
	return ok
}

// known reports whether fp was searched for or is in a job (caller holds
// mu).
func (r *retro) known(fp uint64) bool {
	if has(r.hunted, fp) {
		return true
	}
	for _, j := range r.jobs {
		if has(j.fps, fp) {
			return true
		}
	}
	return false
}

// countNew is how many of l's indicators no search covers yet.
func (r *retro) countNew(l *ioc.List) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for i := range l.Indicators {
		if !r.known(l.Indicators[i].Fingerprint()) {
			n++
		}
	}
	return n
}

// enqueue makes a job of the indicators of lists not searched for yet,
// over the records before to. Fingerprints of indicators no list holds any
// more are forgotten, so that a list removed and added again is searched
// again.
func (r *retro) enqueue(lists []*ioc.List, to journal.Seq) {
	cur := fingerprints(lists)
	r.mu.Lock()
	r.hunted = slices.DeleteFunc(r.hunted, func(fp uint64) bool { return !has(cur, fp) })
	var fresh []uint64
	for _, fp := range cur {
		if !r.known(fp) {
			fresh = append(fresh, fp)
		}
	}
	if len(fresh) > 0 {
		// A job not started yet over the same records takes the new
		// indicators too: one search for both. Over other records it may
		// not: each list is searched only up to where live matching of it
		// began, or a hit after that would be raised twice (live and
		// retro).
		if n := len(r.jobs); n > 0 && !r.jobs[n-1].started && r.jobs[n-1].to == to {
			last := r.jobs[n-1]
			last.fps = slices.Compact(slices.Sorted(slices.Values(append(last.fps, fresh...))))
		} else {
			r.jobs = append(r.jobs, &retroJob{fps: fresh, to: to})
		}
	}
	r.st.Hunted, r.st.Jobs = len(r.hunted), len(r.jobs)
	r.mu.Unlock()
	r.save(true)
	if len(fresh) > 0 {
		r.d.logf("retro-hunt: %d new indicators to search for in the records before %d", len(fresh), to)
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// run works through the jobs until ctx ends.
func (r *retro) run(ctx context.Context, interval time.Duration) {
	defer r.save(true)
	for ctx.Err() == nil {
		r.mu.Lock()
		var job *retroJob
		if len(r.jobs) > 0 {
			job = r.jobs[0]
			job.started = true
		}
		r.mu.Unlock()
		if job == nil {
			select {
			case <-ctx.Done():
				return
			case <-r.wake:
			}
			continue
		}
		if err := r.hunt(ctx, job); err != nil {
			if ctx.Err() != nil {
				return
			}
			r.d.logf("retro-hunt: %v (retrying)", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(max(interval, time.Second)):
			}
			continue
		}
		r.mu.Lock()
		r.hunted = slices.Compact(slices.Sorted(slices.Values(append(r.hunted, job.fps...))))
		r.jobs = r.jobs[1:]
		r.st.Running = false
		r.st.Done++
		r.st.Hunted, r.st.Jobs = len(r.hunted), len(r.jobs)
		r.mu.Unlock()
		r.save(true)
		r.d.logf("retro-hunt: done searching the records before %d for %d indicators", job.to, len(job.fps))
	}
}

// hunt searches records [job.next, job.to) for the job's indicators, as the
// current lists hold them (an indicator removed meanwhile is not searched
// for).
func (r *retro) hunt(ctx context.Context, job *retroJob) error {
	var lists []*ioc.List
	for _, l := range r.d.ind.lists() {
		sub := &ioc.List{Name: l.Name, Format: l.Format, Digest: l.Digest}
		for i := range l.Indicators {
			if has(job.fps, l.Indicators[i].Fingerprint()) {
				sub.Indicators = append(sub.Indicators, l.Indicators[i])
			}
		}
		if len(sub.Indicators) > 0 {
			lists = append(lists, sub)
		}
	}
	m, err := ioc.Compile(lists, 0)
	if err != nil {
		return err
	}
	from := max(job.next, r.d.j.Stats().FirstSeq)
	r.mu.Lock()
	r.st.Running, r.st.Indicators, r.st.From, r.st.Next, r.st.To = true, m.Len(), from, from, job.to
	r.mu.Unlock()
	if m.Len() == 0 || from >= job.to {
		return nil
	}
	rd, err := r.d.j.NewReader(from)
	if err != nil {
		return err
	}
	defer rd.Close()
	p := newRecordParser(r.d.reg, r.d.opt.Location)
	var ev event.Event
	for ctx.Err() == nil {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) || (err == nil && rec.Seq >= job.to) {
			return nil
		}
		if err != nil {
			return err
		}
		var alerts []Alert
		if p.parse(rec, &ev, nil) {
			m.Match(&ev, func(h ioc.Hit) { alerts = append(alerts, r.d.iocAlert(h, &ev, true)) })
		}
		kept, err := r.d.keep(ctx, alerts)
		if err != nil {
			return fmt.Errorf("record %d: %w", rec.Seq, err)
		}
		r.mu.Lock()
		job.next = rec.Seq + 1
		r.st.Next = job.next
		r.st.Checked++
		r.st.Hits += uint64(len(kept))
		r.mu.Unlock()
		r.save(false)
	}
	return ctx.Err()
}

func (r *retro) stats() RetroStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}

// save writes the state (at most every two seconds unless force).
func (r *retro) save(force bool) {
	if r.file == "" {
		return
	}
	r.saveMu.Lock()
	defer r.saveMu.Unlock()
	r.mu.Lock()
	if !force && time.Since(r.saved) < 2*time.Second {
		r.mu.Unlock()
		return
	}
	r.saved = time.Now()
	b := encodeRetroState(r.hunted, r.jobs)
	r.mu.Unlock()
	if err := writeStateFile(r.file, b); err != nil {
		r.d.logf("retro-hunt: saving its state: %v", err)
	}
}
