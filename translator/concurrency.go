package translator

import (
	"encoding/json"
	"fmt"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
)

// concurrency evaluates spec.concurrency for the run: the key is the
// content of a CUE string, so "release-\(context.app)" interpolates the
// run's context (with context.name and context.namespace, as templates
// see them).
func concurrency(spec *ConcurrencySpec, p *Plan, doc *document, field string, c *collector) *Concurrency {
	if spec == nil {
		return nil
	}
	policy := spec.Policy
	switch policy {
	case "":
		policy = ConcurrencyQueue
	case ConcurrencyQueue, ConcurrencyReplace, ConcurrencyReject:
	default:
		c.add(doc, field+".policy", "%q is not one of Queue, Replace, Reject", spec.Policy)
		return nil
	}
	if strings.TrimSpace(spec.Key) == "" {
		c.add(doc, field+".key", "missing: the key runs that must not overlap share, e.g. release-\\(context.app)")
		return nil
	}
	key, err := evalKey(spec.Key, p)
	if err != nil {
		c.add(doc, field+".key", "%s", err)
		return nil
	}
	return &Concurrency{Key: p.Namespace + "/" + key, Policy: policy}
}

func evalKey(key string, p *Plan) (string, error) {
	ctx := map[string]any{"name": p.Name, "namespace": p.Namespace}
	for k, v := range p.Context {
		ctx[k] = v
	}
	data, err := json.Marshal(ctx)
	if err != nil {
		return "", err
	}
	src := "context: " + string(data) + "\nkey: \"" + strings.ReplaceAll(key, `"`, `\"`) + "\"\n"
	v := cuecontext.New().CompileString(src).LookupPath(cue.ParsePath("key"))
	s, err := v.String()
	if err != nil {
		why := strings.TrimPrefix(cueerrors.Errors(err)[0].Error(), "key: ")
		why = strings.TrimPrefix(why, "invalid interpolation: ")
		return "", fmt.Errorf("%s cannot be evaluated with the run's context: %s", key, why)
	}
	if s == "" {
		return "", fmt.Errorf("%s evaluates to an empty string", key)
	}
	return s, nil
}
