package translator

// StepContext is a template's `context`: the built-in fields KubeVela
// gives a step, then the run's spec.context overriding them. Validation
// and execution both use it, so a parameter default such as
// `*context.namespace | string` is judged with the values the step will
// really see.
func StepContext(runName, runNamespace, stepName, sessionID, groupName string, spec map[string]any) map[string]any {
	c := map[string]any{
		"name":          runName,
		"namespace":     runNamespace,
		"stepName":      stepName,
		"stepSessionID": sessionID,
		"spanID":        sessionID,
	}
	if groupName != "" {
		c["stepGroupName"] = groupName
	}
	for k, v := range spec {
		c[k] = v
	}
	return c
}
