package main

import (
	"archive/tar"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The image holds a static velaflow that runs, the CA certificates, and
// runs as non-root; building it twice gives the same digest.
func TestImage(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "velaflow")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "../../cmd/velaflow")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	certs := filepath.Join(dir, "ca.crt")
	require.NoError(t, os.WriteFile(certs, []byte("-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n"), 0o644))
	one, two := filepath.Join(dir, "one.tar"), filepath.Join(dir, "two.tar")
	require.NoError(t, build_(bin, certs, one))
	require.NoError(t, build_(bin, certs, two))

	img := openImage(t, one)
	cfg, err := img.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, []string{"/velaflow"}, cfg.Config.Entrypoint)
	assert.Equal(t, []string{"worker"}, cfg.Config.Cmd)
	assert.Equal(t, User, cfg.Config.User)
	assert.Equal(t, "linux", cfg.OS)
	d1, err := img.Digest()
	require.NoError(t, err)
	d2, err := openImage(t, two).Digest()
	require.NoError(t, err)
	assert.Equal(t, d1, d2, "reproducible")

	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 1)
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		files[h.Name] = b
	}
	assert.Contains(t, string(files["etc/ssl/certs/ca-certificates.crt"]), "BEGIN CERTIFICATE")
	require.Contains(t, files, "velaflow")

	inImage := filepath.Join(dir, "from-image")
	require.NoError(t, os.WriteFile(inImage, files["velaflow"], 0o755))
	f, err := elf.Open(inImage)
	require.NoError(t, err)
	assert.Nil(t, f.Section(".interp"), "statically linked: no dynamic loader")
	f.Close()
	out, err = exec.Command(inImage, "def", "list").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.True(t, strings.Contains(string(out), "apply-object"), "%s", out)
}

func build_(bin, certs, out string) error { return build(bin, certs, out, "velaflow:test", "amd64") }

// openImage reads the one image of an OCI layout tar.
func openImage(t *testing.T, tarPath string) v1.Image {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(tarPath)
	require.NoError(t, err)
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		path := filepath.Join(dir, h.Name)
		if h.Typeflag == tar.TypeDir {
			require.NoError(t, os.MkdirAll(path, 0o755))
			continue
		}
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, b, 0o644))
	}
	idx, err := layout.ImageIndexFromPath(dir)
	require.NoError(t, err)
	m, err := idx.IndexManifest()
	require.NoError(t, err)
	require.Len(t, m.Manifests, 1)
	assert.Equal(t, "velaflow:test", m.Manifests[0].Annotations["org.opencontainers.image.ref.name"])
	img, err := idx.Image(m.Manifests[0].Digest)
	require.NoError(t, err)
	return img
}
