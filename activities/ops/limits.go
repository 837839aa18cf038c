package ops

import "fmt"

// MaxBodyBytes caps the body of an HTTP response a step reads: a step's
// data lives in memory while its template is evaluated, and what it keeps
// goes into the run's history, so an endless or huge response fails the
// step instead of the worker.
const MaxBodyBytes = 8 << 20

// Size prints a byte count the way limits are written (KiB, MiB).
func Size(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1000<<10:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
