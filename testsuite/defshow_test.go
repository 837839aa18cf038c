package testsuite

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files of testdata/golden")

// golden compares got with testdata/golden/name (-update rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *updateGolden {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./testsuite -run %s -update to write it", t.Name())
	assert.Equal(t, string(want), got)
}

// def show prints a step type's parameters as a table (descriptions from
// KubeVela's `// +usage=` comments) and its definition as valid CUE, in
// the form `vela def` files have; def doc writes a Markdown reference.
func TestDefShowAndDoc(t *testing.T) {
	def := filepath.Join("testdata", "golden", "deploy-notice.cue")
	out, errOut, code := shared.velaflow(t, "def", "show", "deploy-notice", "--definitions", def)
	require.Equal(t, 0, code, errOut)
	golden(t, "def-show.txt", strings.Replace(out, def, "DEFINITION-FILE", 1))

	// What it prints is a definition velaflow reads back.
	again := filepath.Join(t.TempDir(), "deploy-notice.cue")
	require.NoError(t, os.WriteFile(again, []byte(out), 0o644))
	vet, errOut, code := shared.velaflow(t, "def", "vet", again)
	require.Equal(t, 0, code, "%s %s", vet, errOut)
	assert.Contains(t, vet, "1 definitions compile, 0 do not")
	for _, typ := range []string{"request", "notification", "apply-object"} {
		out, errOut, code := shared.velaflow(t, "def", "show", typ)
		require.Equal(t, 0, code, errOut)
		f := filepath.Join(t.TempDir(), typ+".cue")
		require.NoError(t, os.WriteFile(f, []byte(out), 0o644))
		vet, errOut, code := shared.velaflow(t, "def", "vet", f)
		assert.Equal(t, 0, code, "def show %s is valid CUE: %s %s", typ, vet, errOut)
	}

	dir := t.TempDir()
	out, errOut, code = shared.velaflow(t, "def", "doc", dir, "--definitions", def)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "step types into "+dir)
	index, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	assert.Contains(t, string(index), "| [deploy-notice](deploy-notice.md) | Tell a channel that a deployment happened. |")
	assert.Contains(t, string(index), "| [request](request.md) |")
	page, err := os.ReadFile(filepath.Join(dir, "deploy-notice.md"))
	require.NoError(t, err)
	golden(t, "deploy-notice.md", string(page))
}
