package cuedefs

import (
	"embed"
	"fmt"
	"path"
	"sort"
)

//go:embed definitions/*.cue
var definitionFS embed.FS

// StepGroupType is the step type whose steps are its subSteps.
const StepGroupType = "step-group"

// Builtins returns the step definitions shipped with velaflow, by type.
func Builtins() map[string]Definition {
	return builtins
}

var builtins = mustLoadBuiltins()

func mustLoadBuiltins() map[string]Definition {
	entries, err := definitionFS.ReadDir("definitions")
	if err != nil {
		panic(fmt.Sprintf("cuedefs: reading built-in definitions: %v", err))
	}
	out := map[string]Definition{}
	for _, e := range entries {
		name := path.Join("definitions", e.Name())
		src, err := definitionFS.ReadFile(name)
		if err != nil {
			panic(err)
		}
		d, err := ParseCUEFile("builtin/"+e.Name(), src)
		if err != nil {
			panic(fmt.Sprintf("cuedefs: built-in %s: %v", e.Name(), err))
		}
		d.Builtin = true
		out[d.Type] = d
	}
	return out
}

// SortedTypes lists the keys of a catalogue in order.
func SortedTypes(defs map[string]Definition) []string {
	out := make([]string, 0, len(defs))
	for t := range defs {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
