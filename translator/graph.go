package translator

import (
	"fmt"
	"strings"
)

// checkGraph validates names, dependsOn and inputs across the whole run.
func (v *validator) checkGraph(steps []Step, field string) {
	outputs := map[string]bool{}
	for _, s := range steps {
		for _, o := range s.Outputs {
			outputs[o.Name] = true
		}
		for _, sub := range s.SubSteps {
			for _, o := range sub.Outputs {
				outputs[o.Name] = true
			}
		}
	}
	v.checkLevel(steps, field, outputs)
	for i, s := range steps {
		if len(s.SubSteps) > 0 {
			v.checkLevel(s.SubSteps, fmt.Sprintf("%s[%d].subSteps", field, i), outputs)
		}
	}
	// Names are unique across the run: status, inputs and `if` refer to
	// steps by name alone.
	seen := map[string]string{}
	walk(steps, field, func(s Step, f string) {
		if prev, dup := seen[s.Name]; dup {
			v.c.add(v.doc, f+".name", "duplicate step name %q (also at %s)", s.Name, prev)
			return
		}
		seen[s.Name] = f
	})
}

// checkLevel checks dependsOn (within one level) and inputs of a step list.
func (v *validator) checkLevel(steps []Step, field string, outputs map[string]bool) {
	index := map[string]int{}
	for i, s := range steps {
		index[s.Name] = i
	}
	for i, s := range steps {
		f := fmt.Sprintf("%s[%d]", field, i)
		for j, d := range s.DependsOn {
			if _, ok := index[d]; !ok {
				v.c.add(v.doc, fmt.Sprintf("%s.dependsOn[%d]", f, j), "no step named %q at this level (steps: %s)", d, strings.Join(names(steps), ", "))
			} else if d == s.Name {
				v.c.add(v.doc, fmt.Sprintf("%s.dependsOn[%d]", f, j), "a step cannot depend on itself")
			}
		}
		for j, in := range s.Inputs {
			if in.From != "" && !outputs[in.From] {
				v.c.add(v.doc, fmt.Sprintf("%s.inputs[%d].from", f, j), "no step outputs %q", in.From)
			}
		}
	}
	if cycle := findCycle(steps, index); cycle != nil {
		v.c.add(v.doc, fmt.Sprintf("%s[%d].dependsOn", field, index[cycle[0]]), "dependency cycle: %s", strings.Join(cycle, " -> "))
	}
}

// findCycle returns the steps of one dependsOn cycle, or nil.
func findCycle(steps []Step, index map[string]int) []string {
	const (
		unseen = iota
		active
		done
	)
	state := make([]int, len(steps))
	var stack []string
	var visit func(i int) []string
	visit = func(i int) []string {
		state[i] = active
		stack = append(stack, steps[i].Name)
		for _, d := range steps[i].DependsOn {
			j, ok := index[d]
			if !ok || j == i {
				continue
			}
			switch state[j] {
			case active:
				for k, n := range stack {
					if n == d {
						return append(append([]string{}, stack[k:]...), d)
					}
				}
			case unseen:
				if c := visit(j); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
		return nil
	}
	for i := range steps {
		if state[i] == unseen {
			if c := visit(i); c != nil {
				return c
			}
		}
	}
	return nil
}

func names(steps []Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.Name
	}
	return out
}

// walk visits every step and sub-step with its field path.
func walk(steps []Step, field string, fn func(Step, string)) {
	for i, s := range steps {
		f := fmt.Sprintf("%s[%d]", field, i)
		fn(s, f)
		walk(s.SubSteps, f+".subSteps", fn)
	}
}
