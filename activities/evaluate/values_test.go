package evaluate

import (
	"encoding/json"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Data becomes the value CUE makes of its JSON text: whole numbers are
// ints (however they were decoded), the rest floats, and values of other
// Go types go through their JSON form.
func TestDataBecomesWhatItsJSONWouldBe(t *testing.T) {
	cctx := cuecontext.New()
	type labelled struct {
		Name string `json:"name"`
	}
	for name, data := range map[string]any{
		"scalars":      map[string]any{"s": "x", "b": true, "n": nil, "i": int64(3), "f": 2.5, "whole": 3.0},
		"json numbers": map[string]any{"i": json.Number("7"), "f": json.Number("1.5"), "e": json.Number("1e3"), "big": json.Number("123456789012345678901234")},
		"large floats": []any{1e20, 1e21, -0.0},
		"nested":       map[string]any{"items": []any{map[string]any{"k": "v", "n": map[string]any{"deep": 1}}}},
		"go types":     map[string]any{"typed": []labelled{{"a"}}, "strings": map[string]string{"x": "y"}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := fromJSON(cctx, data)
			require.NoError(t, err)
			text, err := json.Marshal(data)
			require.NoError(t, err)
			want := cctx.CompileBytes(text)
			require.NoError(t, want.Err())
			assert.True(t, got.Equals(want), "%v and %v", got, want)
			assert.NoError(t, got.Subsume(want, cue.Raw()), "kinds differ: %v and %v", got, want)
			assert.NoError(t, want.Subsume(got, cue.Raw()), "kinds differ: %v and %v", got, want)
		})
	}
}

// A valueFrom that is a plain path is looked up; anything else, or a path
// that is not there, is left to the expression compiler.
func TestPlainPathsAreLookedUp(t *testing.T) {
	v := cuecontext.New().CompileString(`a: {b: 1, $returns: {c: "x"}}, true: 2`)
	x, ok := lookupPlain(v, "a.b")
	require.True(t, ok)
	n, _ := x.Int64()
	assert.Equal(t, int64(1), n)
	x, ok = lookupPlain(v, "a.$returns.c")
	require.True(t, ok)
	s, _ := x.String()
	assert.Equal(t, "x", s)
	for _, expr := range []string{"a.missing", "true", "a.b + 1", `a["b"]`, "strings.ToUpper(a.$returns.c)"} {
		_, ok := lookupPlain(v, expr)
		assert.False(t, ok, expr)
	}
}

// Data of strings, booleans and nulls goes through Encode instead of a
// syntax tree; the value is the same, open as a literal is.
func TestPlainDataEncodesAsTheLiteralWould(t *testing.T) {
	cctx := cuecontext.New()
	data := map[string]any{"name": "web", "quoted": `a "b" \(c)`, "on": true, "none": nil, "meta": map[string]any{"team": "platform"}, "empty": map[string]any{}}
	require.True(t, plainData(data))
	encoded, err := fromJSON(cctx, data)
	require.NoError(t, err)
	expr, err := literal(data)
	require.NoError(t, err)
	built := cctx.BuildExpr(expr)
	a, _ := encoded.MarshalJSON()
	b, _ := built.MarshalJSON()
	assert.JSONEq(t, string(b), string(a))
	open := cctx.CompileString(`{meta: {team: string, extra: *"x" | string}, ...}`)
	assert.NoError(t, open.Unify(encoded).Validate(), "structs stay open to the template's fields")
	assert.False(t, plainData(map[string]any{"n": float64(3)}), "numbers take the literal path (whole ones are ints)")
	assert.False(t, plainData(map[string]any{"l": []any{"a"}}), "lists take the literal path")
}
