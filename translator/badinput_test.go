package translator

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every file under testdata/bad is refused with the errors its .want file
// names (each line: ":LINE: FIELD: MESSAGE", after the file's path), and
// every error it gives names the file and a line. Adding a case adds two
// files.
func TestBadInputsAreRefusedWithFileLineAndField(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 100, "the bad-input corpus")
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			wants := wantedErrors(t, file)
			_, err := Translate(Options{Files: []string{file}})
			require.Error(t, err, "a bad input is refused")
			for _, w := range wants {
				assert.Contains(t, err.Error(), file+w)
			}
			assertLocated(t, file, err)
		})
	}
}

// wantedErrors reads the errors a bad input expects, from the .want file
// beside it.
func wantedErrors(t *testing.T, file string) []string {
	data, err := os.ReadFile(strings.TrimSuffix(file, ".yaml") + ".want")
	require.NoError(t, err, "each bad input has a .want file naming its errors")
	var wants []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			wants = append(wants, line)
		}
	}
	require.NotEmpty(t, wants)
	return wants
}

// assertLocated checks that each error names the file and a line.
func assertLocated(t *testing.T, file string, err error) {
	t.Helper()
	var errs Errors
	require.True(t, errors.As(err, &errs), "the error is a list of located errors: %v", err)
	for _, e := range errs {
		assert.Equal(t, file, e.File, "%v", e)
		assert.Positive(t, e.Line, "the error names a line: %v", e)
	}
}
