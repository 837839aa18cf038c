package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/velaflow/velaflow/activities/evaluate"
	"github.com/velaflow/velaflow/cuedefs"
)

// cueCase is one step type evaluated in the worker's way: its compiled
// template reused from the cache, parameters filled, evaluated.
type cueCase struct {
	name      string
	def       cuedefs.Definition
	parameter map[string]any
}

// computeTemplate computes and waits on values already known, in
// KubeVela's idioms (a default from context, a conditional wait).
const computeTemplate = `
import (
	"strings"
	"vela/builtin"
)
parameter: {
	words: [...string]
	namespace: *context.namespace | string
}
joined: strings.Join([for w in parameter.words {strings.ToUpper(w)}], "-")
ok: builtin.#ConditionalWait & {$params: continue: len(joined) > 0}
msg: builtin.#Message & {$params: message: "\(joined) in \(parameter.namespace)"}
`

func cueCases() ([]cueCase, error) {
	builtins := cuedefs.Builtins()
	compute := cuedefs.NewDefinition("compute", "", computeTemplate, "bench", 1)
	if err := compute.Check(); err != nil {
		return nil, err
	}
	return []cueCase{
		{"print-message-in-status", builtins["print-message-in-status"], map[string]any{"message": "hello"}},
		{"suspend (duration)", builtins["suspend"], map[string]any{"duration": "1s"}},
		{"compute + wait on known values", compute, map[string]any{"words": []any{"pre", "warm", "done"}}},
	}, nil
}

// evaluateStep is the time of one evaluation of the case's template,
// warm (compiled template reused) or cold (compiled each time).
func evaluateStep(c cueCase, warm bool) (time.Duration, error) {
	var templates *cuedefs.Templates
	if warm {
		templates = &cuedefs.Templates{}
	}
	var failed error
	res := testing.Benchmark(func(tb *testing.B) {
		for tb.Loop() {
			_, err := evaluate.Run(context.Background(), evaluate.Request{Definition: c.def, Templates: templates,
				Parameter: c.parameter, Context: map[string]any{"name": "bench", "namespace": "default", "stepName": "s"}})
			if err != nil {
				failed = fmt.Errorf("evaluate %s: %w", c.name, err)
				tb.FailNow()
			}
		}
	})
	if failed != nil {
		return 0, failed
	}
	return time.Duration(res.NsPerOp()), nil
}
