// Command velaflow-bench (`make bench`) measures velaflow side by side
// with bare-Temporal baselines, in one sitting, on one dev server started
// as `velaflow dev` tunes it: one run of 20 print steps, bursts of runs,
// the wake-up of a waiting step, the CUE evaluation of step types, and the
// CPU and memory of the workers and the server. It prints a table of
// medians with the ratios velaflow/baseline and writes it as JSON under
// bench/results/, so a regression shows as a ratio, not as a timed test.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// settings of one bench run.
type settings struct {
	reps       int // repetitions of the single run, interleaved
	burstReps  int // repetitions of the small burst
	burst, big int // runs in the small and the big burst
	steps      int // steps of each run of a burst
	waits      []time.Duration
	wakeRuns   int // runs woken after each wait
	waiting    int // runs waiting at once for the memory figure
	serverArgs []string
	memoryDB   bool
	out        string
	workloads  map[string]bool // which to sit through
}

// workloadNames are the workloads in the order they are sat through.
var workloadNames = []string{"cue", "one", "bursts", "wake", "waiting"}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "baseline-worker" {
		os.Exit(baselineWorkerMain(os.Args[2:]))
	}
	var s settings
	var waits, serverArgs, workloads string
	var quick bool
	flag.IntVar(&s.reps, "reps", 7, "repetitions of the one-run workload")
	flag.IntVar(&s.burstReps, "burst-reps", 5, "repetitions of the small burst")
	flag.IntVar(&s.burst, "burst", 200, "runs in the small burst")
	flag.IntVar(&s.big, "big", 1000, "runs in the big burst (0: none)")
	flag.IntVar(&s.steps, "steps", 5, "steps of each run in a burst")
	flag.StringVar(&waits, "waits", "5s,40s", "how long steps wait before their object turns ready")
	flag.IntVar(&s.wakeRuns, "wake-runs", 11, "runs woken after each wait")
	flag.IntVar(&s.waiting, "waiting", 1000, "runs waiting at once for the worker-memory figure (0: none)")
	flag.StringVar(&serverArgs, "server-args", "", "more `temporal server start-dev` arguments, space-separated (to compare tunings)")
	flag.BoolVar(&s.memoryDB, "memory-db", false, "keep the server's state in memory instead of a SQLite file as velaflow dev does")
	flag.StringVar(&s.out, "out", "bench/results", "folder of the JSON results")
	flag.StringVar(&workloads, "workloads", strings.Join(workloadNames, ","), "the workloads to sit through")
	flag.BoolVar(&quick, "quick", false, "a short sitting: 3 reps, one burst of 200, one 5 s wait, no 1000s")
	flag.Parse()
	for _, w := range strings.Split(waits, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(w))
		if err != nil {
			fatal(fmt.Errorf("-waits: %w", err))
		}
		s.waits = append(s.waits, d)
	}
	s.serverArgs = strings.Fields(serverArgs)
	s.workloads = map[string]bool{}
	for _, w := range strings.Split(workloads, ",") {
		if !slices.Contains(workloadNames, w) {
			fatal(fmt.Errorf("-workloads: no workload %q (there are %s)", w, strings.Join(workloadNames, ", ")))
		}
		s.workloads[w] = true
	}
	if quick {
		s.reps, s.burstReps, s.big, s.waiting, s.waits = 3, 1, 0, 0, s.waits[:1]
	}
	ctx := context.Background()
	b, err := setUp(ctx, s)
	if err != nil {
		fatal(err)
	}
	report, err := b.sit(ctx)
	b.tearDown()
	if err != nil {
		fatal(err)
	}
	report.print(os.Stdout)
	path, err := report.save(s.out)
	if err != nil {
		fatal(err)
	}
	fmt.Printf("\nwritten to %s\n", path)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "velaflow-bench:", err)
	os.Exit(1)
}

// repoRoot is the folder with go.mod above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("run the bench inside the velaflow repository (no go.mod above %s)", dir)
		}
		dir = parent
	}
}
