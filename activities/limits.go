package activities

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/velaflow/velaflow/activities/ops"
	"github.com/velaflow/velaflow/stepio"
)

// What an execution keeps goes into the run's history, into every later
// execution's input (inputs, variables) and into the run's status, and
// Temporal refuses payloads above 2 MB. These limits keep a run of
// hundreds of steps far below that.
const (
	// MaxResultBytes caps one execution's result: outputs, memo, logs and
	// the variables it puts.
	MaxResultBytes = 256 << 10
	// MaxVarsBytes caps all the run's variables together, which every
	// execution receives.
	MaxVarsBytes = 256 << 10
)

// checkSizes fails an execution whose result, or the run's variables
// after it, are above the limits, naming the largest parts.
func checkSizes(in stepio.Input, res *stepio.Result) error {
	parts := map[string]int{
		"outputs": jsonSize(res.Outputs), "memo": jsonSize(res.Memo),
		"logs": jsonSize(res.Logs), "variables": jsonSize(res.Vars),
		"message": len(res.Message), "reads": jsonSize(res.Reads),
	}
	total := 0
	for _, n := range parts {
		total += n
	}
	if total > MaxResultBytes {
		return tooLarge(fmt.Sprintf("the step's result is %s, above the limit of %s (%s): keep large data such as response bodies out of outputs, variables and logs, and output the fields needed",
			ops.Size(total), ops.Size(MaxResultBytes), largest(parts)))
	}
	if len(res.Vars) == 0 {
		return nil
	}
	vars := deepCopy(in.Vars)
	for path, v := range res.Vars {
		stepio.SetPath(vars, path, v)
	}
	if n := jsonSize(vars); n > MaxVarsBytes {
		return tooLarge(fmt.Sprintf("the run's variables would be %s after this step, above the limit of %s", ops.Size(n), ops.Size(MaxVarsBytes)))
	}
	return nil
}

func tooLarge(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, stepio.ReasonOutput, nil)
}

func jsonSize(v any) int {
	b, _ := json.Marshal(v)
	switch string(b) {
	case "null", "{}", "[]":
		return 0
	}
	return len(b)
}

// largest lists the non-empty parts, largest first.
func largest(parts map[string]int) string {
	names := make([]string, 0, len(parts))
	for name, n := range parts {
		if n > 0 {
			names = append(names, name)
		}
	}
	sort.Slice(names, func(i, j int) bool { return parts[names[i]] > parts[names[j]] })
	out := make([]string, len(names))
	for i, name := range names {
		out[i] = name + " " + ops.Size(parts[name])
	}
	return strings.Join(out, ", ")
}
