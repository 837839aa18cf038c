package evaluate

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/velaflow/velaflow/translator"
)

func TestTimeConversions(t *testing.T) {
	for name, src := range map[string]string{
		"new style": `
import "vela/time"
ts: time.#DateToTimestamp & {$params: date: "2024-03-01T10:00:00Z"}
day: time.#TimestampToDate & {$params: {timestamp: ts.$returns.timestamp + 86400, layout: "2006-01-02"}}
out: {stamp: ts.$returns.timestamp, date: day.$returns.date}
`,
		"legacy": `
import "vela/op"
ts: op.#DateToTimestamp & {date: "2024-03-01T10:00:00Z"}
day: op.#TimestampToDate & {timestamp: ts.timestamp + 86400, layout: "2006-01-02"}
out: {stamp: ts.timestamp, date: day.date}
`,
	} {
		t.Run(name, func(t *testing.T) {
			res, err := Run(context.Background(), Request{Definition: def(src), Outputs: []translator.Output{{Name: "out", ValueFrom: "out"}}})
			require.NoError(t, err)
			assert.Equal(t, map[string]any{"stamp": int64(1709287200), "date": "2024-03-02"}, res.Outputs["out"])
		})
	}
	_, err := Run(context.Background(), Request{Definition: def(`
import "vela/time"
ts: time.#DateToTimestamp & {$params: date: "yesterday"}
`)})
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, ReasonRendering, e.Reason)
	assert.Contains(t, e.Error(), `date "yesterday"`)
}
