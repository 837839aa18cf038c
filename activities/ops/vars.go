package ops

import (
	"strings"
	"sync"

	"github.com/velaflow/velaflow/stepio"
)

// Vars are the variables of one run (#DoVar), as one step execution sees
// them: the run's values when it started, plus what it put since.
type Vars struct {
	mu   sync.Mutex
	data map[string]any
	puts map[string]any
}

// NewVars starts from the run's variables.
func NewVars(data map[string]any) *Vars {
	if data == nil {
		data = map[string]any{}
	}
	return &Vars{data: data, puts: map[string]any{}}
}

// Get reads the value at a dotted path.
func (v *Vars) Get(path string) (any, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var cur any = v.data
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// Put sets the value at a dotted path.
func (v *Vars) Put(path string, value any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	stepio.SetPath(v.data, path, value)
	v.puts[path] = value
}

// Puts are the values put, by path.
func (v *Vars) Puts() map[string]any {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.puts) == 0 {
		return nil
	}
	out := make(map[string]any, len(v.puts))
	for k, x := range v.puts {
		out[k] = x
	}
	return out
}
