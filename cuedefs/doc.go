// Package cuedefs owns the CUE side of velaflow: the op packages templates
// import (vela/op, vela/builtin, vela/http, ...), the built-in step
// definitions, loading user definitions from YAML or .cue files, and compiling
// a template with those packages available.
//
// It does no I/O beyond reading the definition files it is asked to load, and
// it knows nothing of Temporal or of how operations are carried out.
package cuedefs
