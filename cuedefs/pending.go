package cuedefs

import (
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/errors"
)

// ValidatePending validates v, leaving out what an operation's result may
// still supply: CUE reports a reference to a field missing from a struct
// that an op package's definition closed (`apply.value.metadata.generation`
// before the apply ran) as an error, not as incomplete, yet the result
// adds the field. Conflicts and every other error are kept.
func ValidatePending(v cue.Value, opts ...cue.Option) error {
	return withoutPending(v.Validate(opts...))
}

func withoutPending(err error) error {
	if err == nil {
		return nil
	}
	var kept errors.Error
	for _, e := range errors.Errors(err) {
		format, _ := e.Msg()
		if strings.HasPrefix(format, "undefined field") {
			continue
		}
		kept = errors.Append(kept, e)
	}
	if kept == nil {
		return nil
	}
	return kept
}
