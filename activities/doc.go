// Package activities holds velaflow's Temporal activities: executing one
// step's template, and evaluating an `if` expression. They do the I/O the
// workflow must not do; the template work is in evaluate, the operations in
// ops.
package activities
