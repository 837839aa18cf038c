package main

import (
	"context"
	"fmt"
	"time"
)

// sit runs every workload, velaflow and baselines interleaved, and
// returns the report.
func (b *bench) sit(ctx context.Context) (*report, error) {
	r := newReport(b.s)
	steps := map[string]func(context.Context, *report) error{"cue": b.sitCUE, "one": b.sitOneRun, "bursts": b.sitBursts, "wake": b.sitWakeUps, "waiting": b.sitWaiting}
	for _, name := range workloadNames {
		if !b.s.workloads[name] {
			continue
		}
		if err := steps[name](ctx, r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (b *bench) sitCUE(_ context.Context, r *report) error {
	fmt.Println("CUE evaluation per step type ...")
	cases, err := cueCases()
	if err != nil {
		return err
	}
	for _, c := range cases {
		warm, err := evaluateStep(c, true)
		if err != nil {
			return err
		}
		cold, err := evaluateStep(c, false)
		if err != nil {
			return err
		}
		row := row{Workload: "CUE: " + c.name + ", warm (cold)", Unit: "ms", Velaflow: ms(warm), Note: fmt.Sprintf("cold %.2f ms", ms(cold))}
		if c.name == "print-message-in-status" {
			row.Target = "≤ 0.2 ms"
		}
		r.add(row)
	}
	return nil
}

func (b *bench) sitOneRun(ctx context.Context, r *report) error {
	fmt.Printf("one run of 20 steps, %d times each ...\n", b.s.reps)
	took := map[variant][]float64{}
	for rep := -1; rep < b.s.reps; rep++ { // rep -1 warms up
		for _, v := range allVariants {
			d, err := b.oneRun(ctx, v, 20)
			if err != nil {
				return fmt.Errorf("one run (%s): %w", v, err)
			}
			if rep >= 0 {
				took[v] = append(took[v], d.Seconds())
			}
		}
	}
	r.compare("one run of 20 print steps", "s", took, local, "≤ 2× local")
	return nil
}

func (b *bench) sitBursts(ctx context.Context, r *report) error {
	rate, lost := map[variant][]float64{}, map[variant][]float64{}
	wcpu, scpu, wpeak, speak := map[variant][]float64{}, map[variant][]float64{}, map[variant][]float64{}, map[variant][]float64{}
	for rep := range b.s.burstReps {
		// Each repetition starts with the next variant, so none always
		// follows the same one.
		for i := range allVariants {
			v := allVariants[(rep+i)%len(allVariants)]
			fmt.Printf("burst %d/%d of %d runs × %d steps: %s ...\n", rep+1, b.s.burstReps, b.s.burst, b.s.steps, v)
			res, err := b.burst(ctx, v, b.s.burst)
			if err != nil {
				return fmt.Errorf("burst (%s): %w", v, err)
			}
			rate[v] = append(rate[v], res.perSecond)
			lost[v] = append(lost[v], float64(res.lost))
			wcpu[v] = append(wcpu[v], ms(res.worker.cpu)/float64(b.s.burst))
			scpu[v] = append(scpu[v], ms(res.server.cpu)/float64(b.s.burst))
			wpeak[v] = append(wpeak[v], mib(res.worker.peak))
			speak[v] = append(speak[v], mib(res.server.peak))
		}
	}
	name := fmt.Sprintf("%d runs × %d steps at once", b.s.burst, b.s.steps)
	r.compare(name, "runs/s", rate, local, "≥ 0.8× local")
	r.compare(name+": not succeeded", "runs", lost, "", "0")
	r.compare(name+": worker CPU per run", "ms", wcpu, local, "")
	r.compare(name+": server CPU per run", "ms", scpu, local, "")
	r.compare(name+": worker peak memory", "MiB", wpeak, local, "")
	r.compare(name+": server peak memory", "MiB", speak, local, "")
	if b.s.big == 0 {
		return nil
	}
	rate, lost = map[variant][]float64{}, map[variant][]float64{}
	for _, v := range allVariants {
		fmt.Printf("burst of %d runs × %d steps: %s ...\n", b.s.big, b.s.steps, v)
		res, err := b.burst(ctx, v, b.s.big)
		if err != nil {
			return fmt.Errorf("big burst (%s): %w", v, err)
		}
		rate[v], lost[v] = []float64{res.perSecond}, []float64{float64(res.lost)}
	}
	name = fmt.Sprintf("%d runs × %d steps at once", b.s.big, b.s.steps)
	r.compare(name, "runs/s", rate, local, "")
	r.compare(name+": not succeeded", "runs", lost, "", "0")
	return nil
}

// sitWakeUps measures, after each wait, how long a waiting velaflow step
// takes to end its run once its ConfigMap turns ready, against a bare
// workflow that ends with one activity once signalled.
func (b *bench) sitWakeUps(ctx context.Context, r *report) error {
	for _, wait := range b.s.waits {
		fmt.Printf("wake-up after %s, %d runs each ...\n", wait, b.s.wakeRuns)
		ws := map[variant][]*waiter{}
		for _, v := range []variant{velaflow, activities} {
			w, err := b.startWaiters(ctx, v, b.s.wakeRuns)
			if err != nil {
				return fmt.Errorf("wake-up (%s): %w", v, err)
			}
			ws[v] = w
		}
		time.Sleep(wait) // the workload: steps that have waited this long
		took := map[variant][]float64{}
		stages := make([][]float64, len(stageNames))
		for i := range b.s.wakeRuns {
			for _, v := range []variant{velaflow, activities} {
				changed, d, err := b.wakeOne(ctx, ws[v][i])
				if err != nil {
					return fmt.Errorf("wake-up (%s): %w", v, err)
				}
				took[v] = append(took[v], d.Seconds())
				if v != velaflow {
					continue
				}
				st, err := b.wakeStages(ctx, ws[v][i].id, changed)
				if err != nil {
					return err
				}
				for k, d := range st {
					stages[k] = append(stages[k], ms(d))
				}
			}
		}
		name := fmt.Sprintf("wake-up after a %s wait", wait)
		r.compare(name, "s", took, activities, "≤ 1.5× signal + activity")
		for k, name := range stageNames {
			r.compare("  "+name, "ms", map[variant][]float64{velaflow: stages[k]}, "", "")
		}
	}
	return nil
}

// sitWaiting has many runs wait at once and reads the workers' memory
// (its peak while the runs started, and once they have waited a while),
// then wakes them all: none may be lost.
func (b *bench) sitWaiting(ctx context.Context, r *report) error {
	if b.s.waiting == 0 {
		return nil
	}
	mem, peak, lost, took := map[variant][]float64{}, map[variant][]float64{}, map[variant][]float64{}, map[variant][]float64{}
	// Fresh workers: their memory is the waiting runs', not what earlier
	// workloads left.
	if err := b.restartWorkers(); err != nil {
		return err
	}
	for _, v := range []variant{velaflow, activities} {
		fmt.Printf("%d runs waiting at once: %s ...\n", b.s.waiting, v)
		ws, err := b.startWaiters(ctx, v, b.s.waiting)
		if err != nil {
			return fmt.Errorf("waiting runs (%s): %w", v, err)
		}
		pid := b.velaflow.pid()
		if v != velaflow {
			pid = b.baseline.pid()
		}
		u, err := readUsage(pid)
		if err != nil {
			return err
		}
		peak[v] = []float64{mib(u.peak)}
		time.Sleep(settle) // the workload: runs that have been waiting a while
		if u, err = readUsage(pid); err != nil {
			return err
		}
		mem[v] = []float64{mib(u.rss)}
		began := time.Now()
		var n int
		_ = parallel(len(ws), 50, func(i int) error {
			if _, _, err := b.wakeOne(ctx, ws[i]); err != nil {
				b.mu.Lock()
				n++
				b.mu.Unlock()
			}
			return nil
		})
		lost[v], took[v] = []float64{float64(n)}, []float64{time.Since(began).Seconds()}
	}
	name := fmt.Sprintf("%d runs waiting at once", b.s.waiting)
	r.compare(name+": worker memory, peak while starting them", "MiB", peak, activities, "")
	r.compare(fmt.Sprintf("%s: worker memory after %s", name, settle), "MiB", mem, activities, "< 150 MiB")
	r.compare(name+": all woken", "s", took, activities, "")
	r.compare(name+": not succeeded", "runs", lost, "", "0")
	return nil
}

// settle is how long the waiting runs wait before the workers' memory is
// read: past the start-up's garbage, which the Go runtime returns to the
// system within minutes.
const settle = 30 * time.Second

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mib(b int64) float64        { return float64(b) / (1 << 20) }
