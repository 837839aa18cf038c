package cuedefs

import (
	"encoding/json"
	"testing"
)

// Checking any properties against a built-in step type's parameter ends
// without a panic, and every problem it reports says what is wrong and,
// unless the whole properties object is, where.
func FuzzCheckParameters(f *testing.F) {
	seeds := []struct{ typ, props string }{
		{"request", `{}`},
		{"request", `{"url": 5}`},
		{"request", `{"url": "http://x", "method": "FETCH"}`},
		{"request", `{"url": "http://x", "header": {"a": [1]}}`},
		{"print-message-in-status", `{"message": ["a"]}`},
		{"suspend", `{"duration": 5}`},
		{"webhook", `{"url": {"value": "http://x", "secretRef": {"name": "a"}}}`},
		{"webhook", `{"url": {"secretRef": {"name": 1, "key": null}}}`},
		{"notification", `{"slack": {"url": {"value": 3}}}`},
		{"apply-object", `{"value": [], "cluster": {}}`},
		{"read-object", `{"name": "x", "apiVersion": 1.5}`},
		{"export2config", `{"configName": "", "data": "x"}`},
		{"chat-gpt", `{"token": {"value": "t"}, "prompt": {"type": "nope"}}`},
		{"step-group", `{"x": 1}`},
	}
	for _, s := range seeds {
		f.Add(s.typ, []byte(s.props))
	}
	defs := Builtins()
	f.Fuzz(func(t *testing.T, typ string, props []byte) {
		d, ok := defs[typ]
		if !ok {
			return
		}
		var m map[string]any
		if json.Unmarshal(props, &m) != nil {
			return
		}
		for _, e := range CheckParameters(d, m, map[string]any{"name": "r", "namespace": "default", "stepName": "s"}) {
			if e.Msg == "" {
				t.Errorf("a problem without a message at %v", e.Path)
			}
		}
	})
}
