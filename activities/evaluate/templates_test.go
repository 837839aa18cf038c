package evaluate

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/translator"
)

// A compiled template is reused by later executions, one at a time, and
// each sees only its own parameters, however many run at once.
func TestReusedTemplatesKeepExecutionsApart(t *testing.T) {
	var templates cuedefs.Templates
	d := builtin(t, "print-message-in-status")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				msg := fmt.Sprintf("message %d-%d", g, i)
				res, err := Run(context.Background(), Request{Definition: d, Templates: &templates,
					Parameter: map[string]any{"message": msg}, Context: map[string]any{"name": "r", "namespace": "default"}})
				if assert.NoError(t, err) {
					assert.Equal(t, msg, res.Message)
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkPrintStep is the CUE evaluation of one print step: with the
// compiled template reused (cached), and compiled each time (cold).
func BenchmarkPrintStep(b *testing.B) {
	d := cuedefs.Builtins()["print-message-in-status"]
	outputs := []translator.Output{{Name: "m", ValueFrom: "parameter.message"}}
	for _, c := range []struct {
		name      string
		templates func() *cuedefs.Templates
	}{
		{"cached", func() *cuedefs.Templates { return &cuedefs.Templates{} }},
		{"cold", func() *cuedefs.Templates { return nil }},
	} {
		b.Run(c.name, func(b *testing.B) {
			templates := c.templates()
			for b.Loop() {
				_, err := Run(context.Background(), Request{Definition: d, Templates: templates, Outputs: outputs,
					Parameter: map[string]any{"message": "hello"}, Context: map[string]any{"name": "r", "namespace": "default"}})
				require.NoError(b, err)
			}
		})
	}
}
