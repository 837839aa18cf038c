package cuedefs

import "cuelang.org/go/cue"

func mustPath(p string) cue.Path { return cue.ParsePath(p) }
