package translator

// Source is an input given as data rather than read from a file: an
// object read from a cluster. Name stands for the file in errors.
type Source struct {
	Name string
	Data []byte
}

// TranslateSources is TranslateAll for inputs given as data: the
// WorkflowRuns in runs, with the Workflows and WorkflowStepDefinitions in
// definitions (later ones replace earlier ones of the same name) and the
// built-ins.
func TranslateSources(runs, definitions []Source) (*Result, error) {
	in := newInputs()
	var errs Errors
	for _, s := range definitions {
		errs = append(errs, in.readData(s.Name, s.Data, false)...)
	}
	for _, s := range runs {
		errs = append(errs, in.readData(s.Name, s.Data, true)...)
	}
	return in.translate(errs, sourceNames(runs))
}

func sourceNames(ss []Source) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
	}
	return out
}
