package translator

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"cuelang.org/go/cue/parser"

	"github.com/velaflow/velaflow/cuedefs"
)

// validator checks and converts the steps of one run.
type validator struct {
	in   *inputs
	doc  *document
	c    *collector
	plan *Plan
	// used collects the step types the runs use.
	used map[string]bool
}

// steps converts a list of steps; prefix names unnamed steps ("step" gives
// step-1, step-2; a group's prefix gives step-1-1 ...).
func (v *validator) steps(in []WorkflowStep, field, prefix string, inGroup bool) []Step {
	out := make([]Step, 0, len(in))
	for i, ws := range in {
		f := fmt.Sprintf("%s[%d]", field, i)
		name := ws.Name
		if name == "" {
			name = fmt.Sprintf("%s-%d", prefix, i+1)
		}
		s := Step{
			Name: name, Type: ws.Type, Properties: ws.Properties, If: strings.TrimSpace(ws.If),
			Timeout: ws.Timeout, DependsOn: ws.DependsOn, Inputs: ws.Inputs, Outputs: ws.Outputs, Mode: ws.Mode,
			Retry: ws.Retry,
		}
		if ws.Meta != nil {
			s.Alias = ws.Meta.Alias
		}
		if ws.Name != "" && strings.TrimSpace(ws.Name) == "" {
			v.c.add(v.doc, f+".name", "must not be blank")
		}
		group := ""
		if inGroup {
			group = prefix
		}
		v.checkStep(&s, f, group)
		if s.IsGroup() {
			if inGroup {
				v.c.add(v.doc, f+".type", "a step-group cannot hold another step-group (subSteps are one level deep)")
			}
			if s.Mode == "" {
				s.Mode = v.plan.Mode.SubSteps
			} else {
				checkMode(s.Mode, v.doc, f+".mode", v.c)
			}
			s.SubSteps = v.steps(ws.SubSteps, f+".subSteps", name, true)
		} else if len(ws.SubSteps) > 0 {
			v.c.add(v.doc, f+".subSteps", "only a step-group has subSteps, this step is of type %q", s.Type)
		}
		out = append(out, s)
	}
	return out
}

func (v *validator) checkStep(s *Step, f, group string) {
	if s.Timeout != "" {
		if d, err := time.ParseDuration(s.Timeout); err != nil || d <= 0 {
			v.c.add(v.doc, f+".timeout", "%q is not a positive duration such as 30s or 5m", s.Timeout)
		}
	}
	if r := s.Retry; r != nil {
		if r.Limit < 0 {
			v.c.add(v.doc, f+".retry.limit", "%d is not a number of executions (1 or more)", r.Limit)
		}
		for _, d := range []struct{ field, val string }{{"backoff", r.Backoff}, {"maxBackoff", r.MaxBackoff}} {
			if d.val == "" {
				continue
			}
			if n, err := time.ParseDuration(d.val); err != nil || n <= 0 {
				v.c.add(v.doc, f+".retry."+d.field, "%q is not a positive duration such as 2s or 1m", d.val)
			}
		}
		if s.IsGroup() {
			v.c.add(v.doc, f+".retry", "a step-group has no operations to retry; set retry on its sub-steps")
		}
	}
	if s.If != "" && s.If != "always" {
		if _, err := parser.ParseExpr("if", s.If); err != nil {
			v.c.add(v.doc, f+".if", "not a CUE expression: %s", firstLine(err))
		}
	}
	for i, o := range s.Outputs {
		of := fmt.Sprintf("%s.outputs[%d]", f, i)
		if o.Name == "" {
			v.c.add(v.doc, of+".name", "missing")
		}
		if _, err := parser.ParseFile("valueFrom", o.ValueFrom); strings.TrimSpace(o.ValueFrom) == "" || err != nil {
			v.c.add(v.doc, of+".valueFrom", "not a CUE expression: %q", o.ValueFrom)
		}
	}
	for i, in := range s.Inputs {
		if in.From == "" {
			v.c.add(v.doc, fmt.Sprintf("%s.inputs[%d].from", f, i), "missing")
		}
	}
	if s.Type == "" {
		v.c.add(v.doc, f+".type", "missing")
		return
	}
	v.used[s.Type] = true
	if broken, ok := v.in.broken[s.Type]; ok {
		v.c.add(v.doc, f+".type", "step type %q: its definition does not compile", s.Type)
		v.c.errs = append(v.c.errs, broken...)
		return
	}
	def, ok := v.in.definitions[s.Type]
	if !ok {
		msg := fmt.Sprintf("unknown step type %q (known: %s)", s.Type, strings.Join(sortedKeys(v.in.definitions), ", "))
		if near := nearbyDefinition(v.doc.file, s.Type); near != "" {
			msg += fmt.Sprintf("; %s defines it: pass --definitions %s", near, filepath.Dir(near))
		}
		v.c.add(v.doc, f+".type", "%s", msg)
		v.c.errs[len(v.c.errs)-1].UnknownType = s.Type
		return
	}
	if _, pinned := v.plan.Definitions[s.Type]; !pinned {
		v.plan.Definitions[s.Type] = cuedefs.WithOperations(def)
	}
	if !s.IsGroup() {
		ctx := StepContext(v.plan.Name, v.plan.Namespace, s.Name, validationSession, group, v.plan.Context)
		v.checkProperties(s, def, f, ctx)
		v.checkCluster(s, f)
	}
}

// validationSession stands for the step session ID, which exists only
// once the step runs.
const validationSession = "validation"

// checkProperties unifies the step's properties with the definition's
// parameter. Parameters an input fills are not required here.
func (v *validator) checkProperties(s *Step, def cuedefs.Definition, f string, ctx map[string]any) {
	fromInputs := map[string]bool{}
	for _, in := range s.Inputs {
		if in.ParameterKey != "" {
			fromInputs[strings.Join(SplitParameterKey(in.ParameterKey), ".")] = true
		}
	}
	for _, pe := range cuedefs.CheckParameters(def, s.Properties, ctx) {
		key := strings.Join(pe.Path, ".")
		if coveredBy(key, fromInputs) {
			continue
		}
		field := f + ".properties"
		if key != "" {
			field += "." + key
		}
		v.c.add(v.doc, field, "%s", pe.Msg)
	}
}

// coveredBy tells whether key is, or lies under, one of the input keys.
func coveredBy(key string, keys map[string]bool) bool {
	for k := range keys {
		if key == k || strings.HasPrefix(key, k+".") {
			return true
		}
	}
	return false
}

// SplitParameterKey splits an input's parameterKey (a.b, a["b"], a[0])
// into path elements.
func SplitParameterKey(k string) []string {
	r := strings.NewReplacer(`["`, ".", `"]`, "", "['", ".", "']", "", "[", ".", "]", "")
	var out []string
	for _, p := range strings.Split(r.Replace(k), ".") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// checkCluster refuses a step whose `cluster` property names a cluster the
// workers do not know (when they were asked).
func (v *validator) checkCluster(s *Step, f string) {
	name, ok := s.Properties["cluster"].(string)
	if v.in.clusters == nil || !ok || name == "" || name == "local" || slices.Contains(v.in.clusters, name) {
		return
	}
	known := "none"
	if len(v.in.clusters) > 0 {
		known = strings.Join(v.in.clusters, ", ")
	}
	v.c.add(v.doc, f+".properties.cluster", "unknown cluster %q: the workers of the task queue know %s", name, known)
}
