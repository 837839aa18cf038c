package kube

import (
	"fmt"
	"os"
	"path"

	"sigs.k8s.io/yaml"
)

// Reach is which namespaces a run may apply, patch and delete objects in
// and read Secrets from: always its own, and those its rules allow. A
// worker holds credentials for every namespace its clusters let it
// reach; Reach keeps whoever can start a run from using all of them.
// Cluster-scoped objects (Namespaces, ClusterRoles ...) are reached only
// with "*". The zero Reach allows each run its own namespace alone.
type Reach struct {
	Rules []ReachRule `json:"rules"`
}

// ReachRule lets runs in the namespaces Runs (globs, "*" for any) reach
// the namespaces Reach (globs; "*" is every namespace and cluster-scoped
// objects too).
type ReachRule struct {
	Runs  []string `json:"runs"`
	Reach []string `json:"reach"`
}

// AllowNamespaces is the rule of --allow-namespaces: every run reaches
// the namespaces given.
func AllowNamespaces(namespaces []string) ReachRule {
	return ReachRule{Runs: []string{"*"}, Reach: namespaces}
}

// LoadReach reads a policy file:
//
//	rules:
//	  - runs: [platform]      # runs in these namespaces ...
//	    reach: ["*"]          # ... may reach these
//	  - runs: ["team-*"]
//	    reach: [shared, vela-system]
func LoadReach(file string) (Reach, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Reach{}, fmt.Errorf("namespace policy: %w", err)
	}
	var r Reach
	if err := yaml.UnmarshalStrict(b, &r); err != nil {
		return Reach{}, fmt.Errorf("namespace policy %s: %w", file, err)
	}
	if err := r.Validate(); err != nil {
		return Reach{}, fmt.Errorf("namespace policy %s: %w", file, err)
	}
	return r, nil
}

// Validate checks that every rule has runs and reach, and that every
// pattern is a valid glob.
func (r *Reach) Validate() error {
	for i, rule := range r.Rules {
		if len(rule.Runs) == 0 || len(rule.Reach) == 0 {
			return fmt.Errorf("rules[%d]: want runs and reach, each a list of namespaces", i)
		}
		for _, p := range append(append([]string{}, rule.Runs...), rule.Reach...) {
			if _, err := path.Match(p, ""); err != nil {
				return fmt.Errorf("rules[%d]: pattern %q: %w", i, p, err)
			}
		}
	}
	return nil
}

// Allows tells whether a run in runNS may reach namespace ns ("" for a
// cluster-scoped object).
func (r *Reach) Allows(runNS, ns string) bool {
	if ns != "" && ns == runNS {
		return true
	}
	if r == nil {
		return false
	}
	for _, rule := range r.Rules {
		if !matchAny(rule.Runs, runNS) {
			continue
		}
		for _, p := range rule.Reach {
			if p == "*" || (ns != "" && match(p, ns)) {
				return true
			}
		}
	}
	return false
}

// Check is Allows as an error that says what the run tried (what: "apply
// Deployment web in namespace prod") and what to change.
func (r *Reach) Check(runNS, ns, what string) error {
	if r.Allows(runNS, ns) {
		return nil
	}
	return Final(fmt.Errorf("a run in namespace %s may not %s: the worker lets runs reach their own namespace and what --allow-namespaces or --namespace-policy allow (\"*\": every namespace, and cluster-scoped objects)",
		runNS, what))
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if match(p, s) {
			return true
		}
	}
	return false
}

func match(pattern, s string) bool {
	ok, _ := path.Match(pattern, s)
	return ok
}
