// Package workflows holds velaflow's one workflow type, WorkflowRun: a
// deterministic interpreter of a translator.Plan. It orders steps
// (StepByStep or DAG), applies `if` rules, passes inputs and outputs, waits
// on durable timers, suspends and resumes, and keeps a KubeVela-shaped
// status that the `status` query answers.
//
// Workflow code does no I/O, reads no clock but workflow.Now and uses no
// randomness: everything that touches the world is an activity.
package workflows
