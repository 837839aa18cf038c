package cuedefs

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Idle copies are bounded per digest and in all; the least recently used
// digests' copies go first.
func TestTemplatesKeepABoundedNumberOfCopies(t *testing.T) {
	var tpl Templates
	defs := make([]Definition, 12)
	for i := range defs {
		defs[i] = NewDefinition(fmt.Sprintf("t%d", i), "", fmt.Sprintf("x: %d", i), "t.cue", 1)
		copies := make([]*Compiled, idlePerTemplate+2)
		for j := range copies { // taken at once: each a copy of its own
			c, err := tpl.Take(defs[i])
			require.NoError(t, err)
			copies[j] = c
		}
		for _, c := range copies {
			tpl.Put(defs[i], c)
		}
		assert.LessOrEqual(t, len(tpl.idle[defs[i].Digest]), idlePerTemplate)
		assert.LessOrEqual(t, tpl.count, idleCopies)
	}
	total := 0
	for _, copies := range tpl.idle {
		total += len(copies)
	}
	assert.Equal(t, tpl.count, total)
	assert.Len(t, tpl.idle[defs[len(defs)-1].Digest], idlePerTemplate, "the latest digest keeps its copies")
	assert.Empty(t, tpl.idle[defs[0].Digest], "the oldest digest's copies went")
}
