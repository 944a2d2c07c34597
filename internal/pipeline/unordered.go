package pipeline

import (
	"context"
	"runtime"
	"sync"

	"github.com/kizuki-dev/kizuki/internal/input"
)

// runUnordered reads files FileWorkers at a time, each with its own runner
// (and registry), each file opened once: recognized from its head, then
// read (a plain container file in place, through the same descriptor). Reports keep the order of files; events go to opt.Batch as they
// are parsed.
func runUnordered(ctx context.Context, files []input.File, opt Options, first *runner) ([]*FileReport, error) {
	workers := opt.FileWorkers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if opt.NewRegistry == nil {
		workers = 1
	}
	workers = min(workers, max(len(files), 1))
	runners := []*runner{first}
	for len(runners) < workers {
		rn, err := newRunner(opt.NewRegistry(), opt, nil)
		if err != nil {
			return nil, err
		}
		runners = append(runners, rn)
	}
	if opt.NewObserver != nil {
		for _, rn := range runners {
			rn.observe = opt.NewObserver()
			rn.opt.Batch = nil
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	reports := make([]*FileReport, len(files))
	next := make(chan int)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	for _, rn := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sniffBuf := make([]byte, sniffBytes)
			for i := range next {
				pp, err := rn.prepare(files[i], sniffBuf, true)
				reports[i] = pp.rep
				if err != nil {
					pp.close()
					fail(err)
					continue
				}
				if pp.rep.Error != "" {
					pp.close()
					continue
				}
				if err := rn.process(ctx, pp); err != nil {
					fail(err)
				}
			}
		}()
	}
feed:
	for i := range files {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	out := reports[:0]
	for _, r := range reports {
		if r != nil {
			out = append(out, r)
		}
	}
	if firstErr == nil {
		firstErr = ctx.Err() // the caller's context was cancelled
	}
	return out, firstErr
}
