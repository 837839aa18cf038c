// Package translator turns WorkflowRun YAML (with Workflow templates and
// WorkflowStepDefinitions) into a Plan: a self-contained description of one
// run that the workflow interprets. Everything that can be checked before a
// run starts is checked here, and every error names its file, line and field.
//
// It reads the files it is given and nothing else: no Temporal, no network.
package translator
