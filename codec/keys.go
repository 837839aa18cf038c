package codec

import (
	"bufio"
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// CurrentEntry is the entry naming the key new payloads are encrypted
// with; every other entry is a key.
const CurrentEntry = "current"

// keyID is what a key may be named: a Kubernetes Secret's data key.
var keyID = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// Keys are the AES-256 keys payloads are encrypted with (the current one)
// and decrypted with (any of them, by the key ID a payload carries).
type Keys struct {
	source  string
	current string
	aeads   map[string]cipher.AEAD
}

// Current is the ID of the key new payloads are encrypted with.
func (k *Keys) Current() string { return k.current }

// IDs are the IDs of every key, sorted.
func (k *Keys) IDs() []string {
	ids := make([]string, 0, len(k.aeads))
	for id := range k.aeads {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Source says where the keys were read from.
func (k *Keys) Source() string { return k.source }

// Load reads keys from source: a file of ENTRY=VALUE lines, a directory
// with a file per entry (a Kubernetes Secret mounted as a volume), or
// secret:NAMESPACE/NAME, a Kubernetes Secret read through the kubeconfig
// ($KUBECONFIG, ~/.kube/config, or in-cluster). The entries are the same
// in each: `current` names the key to encrypt with, and every other entry
// is a key ID with the key as base64 of 32 random bytes
// (`openssl rand -base64 32`).
func Load(ctx context.Context, source string) (*Keys, error) {
	if ref, ok := strings.CutPrefix(source, "secret:"); ok {
		return loadSecret(ctx, source, ref)
	}
	info, err := os.Stat(source)
	if err != nil {
		return nil, fmt.Errorf("codec keys: %w", err)
	}
	if info.IsDir() {
		return loadDir(source)
	}
	text, err := os.ReadFile(source)
	if err != nil {
		return nil, fmt.Errorf("codec keys: %w", err)
	}
	entries, err := parseLines(source, text)
	if err != nil {
		return nil, err
	}
	return New(source, entries)
}

// parseLines reads ENTRY=VALUE lines; blank lines and lines starting with
// # are skipped.
func parseLines(source string, text []byte) (map[string]string, error) {
	entries := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("codec keys %s:%d: want ENTRY=VALUE (current=ID, or ID=base64 key)", source, n)
		}
		if _, dup := entries[name]; dup {
			return nil, fmt.Errorf("codec keys %s:%d: %q given twice", source, n, name)
		}
		entries[name] = strings.TrimSpace(value)
	}
	return entries, sc.Err()
}

// loadDir reads a mounted Secret: one file per entry; the names Kubernetes
// keeps for itself (..data and the like) start with a dot.
func loadDir(dir string) (*Keys, error) {
	files, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("codec keys: %w", err)
	}
	entries := map[string]string{}
	for _, f := range files {
		if strings.HasPrefix(f.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			return nil, fmt.Errorf("codec keys: %w", err)
		}
		entries[f.Name()] = strings.TrimSpace(string(b))
	}
	return New(dir, entries)
}

func loadSecret(ctx context.Context, source, ref string) (*Keys, error) {
	ns, name, ok := strings.Cut(ref, "/")
	if !ok || ns == "" || name == "" {
		return nil, fmt.Errorf("codec keys %s: want secret:NAMESPACE/NAME", source)
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("codec keys %s: kubeconfig: %w", source, err)
	}
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("codec keys %s: %w", source, err)
	}
	sec, err := kc.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("codec keys %s: %w", source, err)
	}
	entries := map[string]string{}
	for k, v := range sec.Data {
		entries[k] = strings.TrimSpace(string(v))
	}
	return New(source, entries)
}

// New makes keys from entries read from source (named in errors). A
// single key needs no `current` entry.
func New(source string, entries map[string]string) (*Keys, error) {
	k := &Keys{source: source, current: entries[CurrentEntry], aeads: map[string]cipher.AEAD{}}
	for id, value := range entries {
		if id == CurrentEntry {
			continue
		}
		if !keyID.MatchString(id) {
			return nil, fmt.Errorf("codec keys %s: key ID %q: use letters, digits, '-', '_' and '.'", source, id)
		}
		aead, err := newAEAD(value)
		if err != nil {
			return nil, fmt.Errorf("codec keys %s: key %q: %w", source, id, err)
		}
		k.aeads[id] = aead
	}
	switch {
	case len(k.aeads) == 0:
		return nil, fmt.Errorf("codec keys %s: no key (want ID=base64 of 32 random bytes)", source)
	case k.current == "" && len(k.aeads) == 1:
		k.current = k.IDs()[0]
	case k.current == "":
		return nil, fmt.Errorf("codec keys %s: %d keys and no %q entry naming the one to encrypt with", source, len(k.aeads), CurrentEntry)
	case k.aeads[k.current] == nil:
		return nil, fmt.Errorf("codec keys %s: %s=%s names no key given (keys: %s)", source, CurrentEntry, k.current, strings.Join(k.IDs(), ", "))
	}
	return k, nil
}

// newAEAD is AES-256-GCM with the key given as base64 (the value itself
// is never part of an error).
func newAEAD(value string) (cipher.AEAD, error) {
	key, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		if key, err = base64.RawStdEncoding.DecodeString(value); err != nil {
			return nil, fmt.Errorf("not base64")
		}
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("%d bytes, want 32 (AES-256): make one with `openssl rand -base64 32`", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
