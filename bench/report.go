package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// report is a sitting's figures: medians, with the ratio of velaflow's
// to the baseline it is compared with.
type report struct {
	Started    time.Time `json:"started"`
	Commit     string    `json:"commit"`
	CPUs       int       `json:"cpus"`
	ServerArgs []string  `json:"serverArgs,omitempty"`
	MemoryDB   bool      `json:"memoryDB,omitempty"`
	Rows       []row     `json:"rows"`
}

type row struct {
	Workload   string   `json:"workload"`
	Unit       string   `json:"unit"`
	Velaflow   float64  `json:"velaflow"`
	Activities *float64 `json:"baselineActivities,omitempty"`
	Local      *float64 `json:"baselineLocal,omitempty"`
	// Ratio is velaflow's median over the baseline named by Against.
	Against string   `json:"against,omitempty"`
	Ratio   *float64 `json:"ratio,omitempty"`
	Target  string   `json:"target,omitempty"`
	Samples int      `json:"samples"`
	Note    string   `json:"note,omitempty"`
}

func newReport(s settings) *report {
	commit, _ := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	return &report{Started: time.Now().UTC(), Commit: strings.TrimSpace(string(commit)), CPUs: runtime.NumCPU(),
		ServerArgs: s.serverArgs, MemoryDB: s.memoryDB}
}

func (r *report) add(x row) { r.Rows = append(r.Rows, x) }

// compare adds a row of medians; against names the baseline of the ratio
// ("" for none).
func (r *report) compare(workload, unit string, samples map[variant][]float64, against variant, target string) {
	x := row{Workload: workload, Unit: unit, Velaflow: median(samples[velaflow]), Target: target, Samples: len(samples[velaflow])}
	if s, ok := samples[activities]; ok {
		m := median(s)
		x.Activities = &m
	}
	if s, ok := samples[local]; ok {
		m := median(s)
		x.Local = &m
	}
	if base, ok := samples[against]; ok && median(base) != 0 {
		ratio := x.Velaflow / median(base)
		x.Against, x.Ratio = string(against), &ratio
	}
	r.add(x)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nvelaflow-bench %s, commit %s, %d CPUs; medians\n\n", r.Started.Format(time.RFC3339), r.Commit, r.CPUs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tunit\tvelaflow\tbare: activities\tbare: local activities\tratio\ttarget\t")
	for _, x := range r.Rows {
		ratio := ""
		if x.Ratio != nil {
			ratio = fmt.Sprintf("%.2f× %s", *x.Ratio, x.Against)
		}
		target := x.Target
		if x.Note != "" {
			target = strings.TrimSpace(target + " " + x.Note)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", x.Workload, x.Unit, num(&x.Velaflow), num(x.Activities), num(x.Local), ratio, target)
	}
	_ = tw.Flush()
}

func num(f *float64) string {
	switch {
	case f == nil:
		return "—"
	case *f >= 100:
		return fmt.Sprintf("%.0f", *f)
	case *f >= 10:
		return fmt.Sprintf("%.1f", *f)
	default:
		return fmt.Sprintf("%.3g", *f)
	}
}

// save writes the report as JSON into dir and returns the file's path.
func (r *report) save(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, r.Started.Format("20060102-150405")+".json")
	return path, os.WriteFile(path, append(data, '\n'), 0o644)
}
