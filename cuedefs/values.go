package cuedefs

import (
	"encoding/json"
	"math"
)

// Numbers prepares decoded JSON or YAML data for CUE. Properties, inputs
// and outputs travel as JSON, where 3 and 3.0 are the same float64; CUE
// tells int from float, and a template's `int` parameter must accept the 3
// a user wrote. So whole numbers become int64 (as KubeVela, which hands
// CUE the JSON text, sees them); json.Numbers become int64 or float64. It
// converts maps and slices in place and returns v.
func Numbers(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = Numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = Numbers(e)
		}
	}
	return v
}
