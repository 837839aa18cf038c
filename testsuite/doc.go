// Package testsuite holds velaflow's end-to-end tests: they run against a
// real Temporal dev server (bin/temporal, built by `make temporal`) with a
// real worker, and drive runs through the velaflow CLI binary.
package testsuite
