// Command image builds velaflow's container image without a Docker
// engine: a static binary and the CA certificates TLS needs, in one layer
// on an empty base, run as a non-root user, written as an OCI image
// layout in a tar file (push it with `crane push --index`, `skopeo copy
// oci-archive:...`, or load it with `podman load`). `make image` runs it.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// User is the image's user: not root, no home, as distroless' nonroot.
const User = "65532:65532"

func main() {
	binary := flag.String("binary", "", "the static velaflow binary (linux)")
	certs := flag.String("certs", "/etc/ssl/certs/ca-certificates.crt", "CA certificates to include")
	out := flag.String("out", "velaflow-image.tar", "the OCI image layout tar file to write")
	ref := flag.String("tag", "velaflow:dev", "the reference name recorded in the layout")
	arch := flag.String("arch", "amd64", "the binary's architecture")
	flag.Parse()
	if err := build(*binary, *certs, *out, *ref, *arch); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func build(binary, certs, out, ref, arch string) error {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(certs)
	if err != nil {
		return fmt.Errorf("CA certificates: %w", err)
	}
	layer, err := tarLayer([]entry{
		{name: "etc/", mode: 0o755},
		{name: "etc/ssl/", mode: 0o755},
		{name: "etc/ssl/certs/", mode: 0o755},
		{name: "tmp/", mode: 0o1777},
		{name: "etc/passwd", mode: 0o644, data: []byte("nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n")},
		{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: ca},
		{name: "velaflow", mode: 0o755, data: bin},
	})
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: arch, OS: "linux", Created: v1.Time{Time: time.Unix(0, 0)},
		Config: v1.Config{
			Entrypoint: []string{"/velaflow"}, Cmd: []string{"worker"}, User: User, WorkingDir: "/",
			Env:    []string{"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
			Labels: map[string]string{"org.opencontainers.image.title": "velaflow", "org.opencontainers.image.source": "https://github.com/velaflow/velaflow"},
		},
	})
	if err != nil {
		return err
	}
	return writeLayout(img, out, ref)
}

// entry is a file of the layer, or a folder when its name ends in /.
type entry struct {
	name string
	mode int64
	data []byte
}

// tarLayer is the entries as one layer, owned by root and dated at the
// epoch, so that builds of the same binary give the same image.
func tarLayer(entries []entry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: e.name, Mode: e.mode, Size: int64(len(e.data)), ModTime: time.Unix(0, 0)}
		if strings.HasSuffix(e.name, "/") {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}

// writeLayout writes img as an OCI image layout and tars it into out.
func writeLayout(img v1.Image, out, ref string) error {
	dir, err := os.MkdirTemp("", "velaflow-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: 0o755, ModTime: time.Unix(0, 0)})
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: 0o644, Size: int64(len(b)), ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
