package ops

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSecretsRedact(t *testing.T) {
	s := &Secrets{}
	s.AddData(map[string][]byte{"url": []byte("https://hooks.example/T0/B0/xyzzy\n"), "flag": []byte("true")})
	s.AddObject(map[string]any{"apiVersion": "v1", "kind": "Secret",
		"data": map[string]any{"password": base64.StdEncoding.EncodeToString([]byte("hunter22"))}})
	s.AddObject(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"x": "not-a-secret"}})
	s.AddStrings(map[string]any{"registry": map[string]any{"auth": []any{"tok-abcdef"}}})

	assert.Equal(t, `POST [redacted]: dial tcp: connection refused`, s.Redact(`POST https://hooks.example/T0/B0/xyzzy: dial tcp: connection refused`))
	assert.Equal(t, "password [redacted], token [redacted]", s.Redact("password hunter22, token tok-abcdef"))
	assert.Equal(t, "true stays, not-a-secret stays", s.Redact("true stays, not-a-secret stays"), "short values and ConfigMaps are not secrets")

	lines := []string{"a hunter22", "b"}
	s.RedactAll(lines)
	assert.Equal(t, []string{"a [redacted]", "b"}, lines)

	var none *Secrets
	none.Add("whatever")
	assert.Equal(t, "whatever", none.Redact("whatever"))
}

// A value that contains another is replaced whole.
func TestSecretsRedactLongestFirst(t *testing.T) {
	s := &Secrets{}
	s.Add("abcdef", "abcdefghij")
	assert.Equal(t, "[redacted]", s.Redact("abcdefghij"))
}
