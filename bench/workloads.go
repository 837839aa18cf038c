package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/workflows"
)

// variant is one way of doing a workload: velaflow, or a baseline.
type variant string

const (
	velaflow   variant = "velaflow"
	activities variant = "activities" // bare Temporal, one activity per step
	local      variant = "local"      // bare Temporal, one local activity per step
)

var allVariants = []variant{velaflow, activities, local}

// start starts one run of n steps (velaflow: the workload's plan) and
// returns a function waiting for its end.
// It may be called from many goroutines.
func (b *bench) start(ctx context.Context, v variant, workload string, n int) (func() error, error) {
	seq := b.next()
	if v == velaflow {
		plan := b.plan(workload, seq)
		run, err := b.runs.Start(ctx, plan)
		if err != nil {
			return nil, err
		}
		return func() error { return succeeded(runs.FinalStatus(ctx, run)) }, nil
	}
	name := baselineActivitiesName
	if v == local {
		name = baselineLocalName
	}
	run, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("%s-%s-%d", v, workload, seq), TaskQueue: baselineQueue}, name, n)
	if err != nil {
		return nil, err
	}
	return func() error { return run.Get(ctx, nil) }, nil
}

func succeeded(st *workflows.Status, err error) error {
	if err != nil {
		return err
	}
	if st.Phase != workflows.RunSucceeded {
		return fmt.Errorf("run ended %s", st.Phase)
	}
	return nil
}

// oneRun is the time from starting one run of n steps to seeing its end.
func (b *bench) oneRun(ctx context.Context, v variant, n int) (time.Duration, error) {
	began := time.Now()
	wait, err := b.start(ctx, v, "print20", n)
	if err != nil {
		return 0, err
	}
	if err := wait(); err != nil {
		return 0, err
	}
	return time.Since(began), nil
}

// burstResult is one burst: runs per second from the first start to the
// last end, how many did not succeed, and what the worker and the server
// spent on it.
type burstResult struct {
	perSecond float64
	lost      int
	worker    spent
	server    spent
}

// spent is a process's CPU time over a workload and its peak memory.
type spent struct {
	cpu  time.Duration
	peak int64
}

// burst starts n runs at once and waits for all of them.
func (b *bench) burst(ctx context.Context, v variant, n int) (burstResult, error) {
	worker := b.velaflow.pid()
	if v != velaflow {
		worker = b.baseline.pid()
	}
	var res burstResult
	var mu sync.Mutex
	b.settle()
	took, ws, ss, err := b.measured(worker, func() error {
		waits := make([]func() error, n)
		// Started from many goroutines at once, as many clients would.
		if err := parallel(n, 50, func(i int) (err error) {
			waits[i], err = b.start(ctx, v, "burst", b.s.steps)
			return err
		}); err != nil {
			return err
		}
		_ = parallel(n, n, func(i int) error {
			if err := waits[i](); err != nil {
				mu.Lock()
				res.lost++
				mu.Unlock()
			}
			return nil
		})
		return nil
	})
	if err != nil {
		return res, err
	}
	res.perSecond = float64(n) / took.Seconds()
	res.worker, res.server = ws, ss
	return res, nil
}

// measured runs f and returns how long it took and what the worker (by
// pid) and the server spent meanwhile.
func (b *bench) measured(worker int, f func() error) (time.Duration, spent, spent, error) {
	for _, pid := range []int{worker, b.serverPID} {
		if err := resetPeak(pid); err != nil {
			return 0, spent{}, spent{}, err
		}
	}
	w0, err := readUsage(worker)
	if err != nil {
		return 0, spent{}, spent{}, err
	}
	s0, err := readUsage(b.serverPID)
	if err != nil {
		return 0, spent{}, spent{}, err
	}
	began := time.Now()
	if err := f(); err != nil {
		return 0, spent{}, spent{}, err
	}
	took := time.Since(began)
	w1, err := readUsage(worker)
	if err != nil {
		return 0, spent{}, spent{}, err
	}
	s1, err := readUsage(b.serverPID)
	if err != nil {
		return 0, spent{}, spent{}, err
	}
	return took, spent{w1.cpu - w0.cpu, w1.peak}, spent{s1.cpu - s0.cpu, s1.peak}, nil
}

// settle waits until the server and both workers are idle: the previous
// workload's trailing work (visibility updates, task clean-up) is done,
// so a burst is measured from a quiet machine and pays for its own work
// only. It gives up after 15 s.
func (b *bench) settle() {
	const every, idle = 250 * time.Millisecond, 12 * time.Millisecond // under 5% of a core
	busy := func() time.Duration {
		var sum time.Duration
		for _, pid := range []int{b.serverPID, b.velaflow.pid(), b.baseline.pid()} {
			if u, err := readUsage(pid); err == nil {
				sum += u.cpu
			}
		}
		return sum
	}
	prev := busy()
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); {
		time.Sleep(every) // sampling the processes' CPU time
		cur := busy()
		if cur-prev < idle {
			return
		}
		prev = cur
	}
}

// parallel calls f(0..n-1) with at most limit calls at once and returns
// the first error.
func parallel(n, limit int, f func(i int) error) error {
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := f(i); err != nil {
				once.Do(func() { first = err })
			}
		}()
	}
	wg.Wait()
	return first
}
