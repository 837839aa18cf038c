package ops

import (
	"encoding/base64"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Redacted stands in for a value read from a Secret in what a step says.
const Redacted = "[redacted]"

// minSecretLen is the shortest value redacted: shorter ones ("true", a
// port, "admin") would blank out ordinary words of messages, and guess
// nothing a reader could not.
const minSecretLen = 6

// Secrets are the values an execution read from Kubernetes Secrets (a
// URL or header from a Secret, TLS material, configs, Secrets a template
// read): its message, error and logs show none of them.
type Secrets struct {
	mu     sync.Mutex
	values []string
}

// Add notes the values of a Secret's data.
func (s *Secrets) Add(values ...string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		for _, form := range []string{v, strings.TrimSpace(v)} {
			if len(form) >= minSecretLen && !slices.Contains(s.values, form) {
				s.values = append(s.values, form)
			}
		}
	}
}

// AddData notes every value of a Secret's decoded data.
func (s *Secrets) AddData(data map[string][]byte) {
	for _, v := range data {
		s.Add(string(v))
	}
}

// AddObject notes the data of obj when it is a Secret.
func (s *Secrets) AddObject(obj map[string]any) {
	if s == nil || obj["kind"] != "Secret" || obj["apiVersion"] != "v1" {
		return
	}
	data, _ := obj["data"].(map[string]any)
	for _, v := range data {
		if enc, ok := v.(string); ok {
			if b, err := base64.StdEncoding.DecodeString(enc); err == nil {
				s.Add(string(b))
			}
		}
	}
	s.AddStrings(obj["stringData"])
}

// AddStrings notes every string in v (maps and lists walked).
func (s *Secrets) AddStrings(v any) {
	switch x := v.(type) {
	case string:
		s.Add(x)
	case map[string]any:
		for _, e := range x {
			s.AddStrings(e)
		}
	case []any:
		for _, e := range x {
			s.AddStrings(e)
		}
	}
}

// Redact replaces every value noted in text, longest first (a value may
// contain another).
func (s *Secrets) Redact(text string) string {
	if s == nil || text == "" {
		return text
	}
	s.mu.Lock()
	values := append([]string(nil), s.values...)
	s.mu.Unlock()
	sort.Slice(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
	for _, v := range values {
		text = strings.ReplaceAll(text, v, Redacted)
	}
	return text
}

// RedactAll redacts each of lines in place.
func (s *Secrets) RedactAll(lines []string) {
	for i, l := range lines {
		lines[i] = s.Redact(l)
	}
}
