package codec

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
)

func newKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

func keys(t *testing.T, entries map[string]string) *Keys {
	t.Helper()
	k, err := New("test", entries)
	require.NoError(t, err)
	return k
}

func TestRoundTripHidesTheValue(t *testing.T) {
	k := keys(t, map[string]string{"2026-12": newKey(t)})
	dc := DataConverter(k)
	p, err := dc.ToPayload(map[string]string{"token": "hunter2-secret"})
	require.NoError(t, err)
	assert.Equal(t, Encoding, string(p.Metadata[MetadataEncoding]))
	assert.Equal(t, "2026-12", string(p.Metadata[MetadataKeyID]))
	assert.NotContains(t, string(p.Data), "hunter2")
	assert.NotContains(t, string(p.Data), "json/plain", "the original metadata is encrypted too")

	var back map[string]string
	require.NoError(t, dc.FromPayload(p, &back))
	assert.Equal(t, "hunter2-secret", back["token"])
}

func TestSameValueEncryptsDifferently(t *testing.T) {
	c := &Codec{Keys: keys(t, map[string]string{"a": newKey(t)})}
	plain := &commonpb.Payload{Data: []byte(`"x"`)}
	one, err := c.Encode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	two, err := c.Encode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	assert.NotEqual(t, one[0].Data, two[0].Data, "a fresh nonce each time")
}

// Rotation: a new key becomes current; payloads written under the old
// one still decrypt while the old key is listed, and say which key they
// need once it is not.
func TestRotation(t *testing.T) {
	oldKey, newKeyValue := newKey(t), newKey(t)
	before := DataConverter(keys(t, map[string]string{"old": oldKey}))
	p, err := before.ToPayload("written before the rotation")
	require.NoError(t, err)

	after := keys(t, map[string]string{"old": oldKey, "new": newKeyValue, CurrentEntry: "new"})
	var s string
	require.NoError(t, DataConverter(after).FromPayload(p, &s))
	assert.Equal(t, "written before the rotation", s)
	q, err := DataConverter(after).ToPayload("after")
	require.NoError(t, err)
	assert.Equal(t, "new", string(q.Metadata[MetadataKeyID]))

	dropped := DataConverter(keys(t, map[string]string{"new": newKeyValue}))
	err = dropped.FromPayload(p, &s)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `key "old"`)
}

func TestTamperedPayloadFails(t *testing.T) {
	c := &Codec{Keys: keys(t, map[string]string{"a": newKey(t)})}
	enc, err := c.Encode([]*commonpb.Payload{{Data: []byte(`"x"`)}})
	require.NoError(t, err)
	enc[0].Data[len(enc[0].Data)-1] ^= 1
	_, err = c.Decode(enc)
	assert.ErrorContains(t, err, "message authentication failed")

	// The key ID is bound to the ciphertext: relabelling fails too.
	two := &Codec{Keys: keys(t, map[string]string{"a": newKey(t), "b": newKey(t), CurrentEntry: "a"})}
	enc, err = two.Encode([]*commonpb.Payload{{Data: []byte(`"x"`)}})
	require.NoError(t, err)
	enc[0].Metadata[MetadataKeyID] = []byte("b")
	_, err = two.Decode(enc)
	assert.ErrorContains(t, err, `key "b"`)
}

func TestPlainPayloadsPassThrough(t *testing.T) {
	c := &Codec{Keys: keys(t, map[string]string{"a": newKey(t)})}
	plain, err := converter.GetDefaultDataConverter().ToPayload("from before encryption")
	require.NoError(t, err)
	out, err := c.Decode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	assert.Same(t, plain, out[0])
}

func TestLoadFileDirectoryAndErrors(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "keys")
	require.NoError(t, os.WriteFile(file, []byte("# velaflow codec keys\ncurrent = b\n\na="+k1+"\nb="+k2+"\n"), 0o600))
	k, err := Load(context.Background(), file)
	require.NoError(t, err)
	assert.Equal(t, "b", k.Current())
	assert.Equal(t, []string{"a", "b"}, k.IDs())

	// A Secret mounted as a volume: a file per entry, and Kubernetes' own
	// dot-names beside them.
	mount := filepath.Join(dir, "mount")
	require.NoError(t, os.MkdirAll(filepath.Join(mount, "..2026_12_01"), 0o700))
	for name, v := range map[string]string{"current": "a\n", "a": k1 + "\n", "b": k2} {
		require.NoError(t, os.WriteFile(filepath.Join(mount, name), []byte(v), 0o600))
	}
	require.NoError(t, os.Symlink("..2026_12_01", filepath.Join(mount, "..data")))
	k, err = Load(context.Background(), mount)
	require.NoError(t, err)
	assert.Equal(t, "a", k.Current())
	assert.Equal(t, []string{"a", "b"}, k.IDs())

	short := base64.StdEncoding.EncodeToString([]byte("sixteen bytes!!!"))
	for name, tc := range map[string]struct {
		entries map[string]string
		want    string
	}{
		"short key":         {map[string]string{"a": short}, `key "a": 16 bytes, want 32`},
		"not base64":        {map[string]string{"a": "not*base64"}, `key "a": not base64`},
		"no current of two": {map[string]string{"a": k1, "b": k2}, `no "current" entry`},
		"current unknown":   {map[string]string{"a": k1, "current": "z"}, "current=z names no key given (keys: a)"},
		"no key":            {map[string]string{"current": "a"}, "no key"},
		"bad ID":            {map[string]string{"a b": k1}, `key ID "a b"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New("keys.env", tc.entries)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "keys.env")
			assert.NotContains(t, err.Error(), k1, "an error never shows a key")
		})
	}

	require.NoError(t, os.WriteFile(file, []byte("a\n"), 0o600))
	_, err = Load(context.Background(), file)
	assert.ErrorContains(t, err, file+":1: want ENTRY=VALUE")
	_, err = Load(context.Background(), "secret:no-slash")
	assert.ErrorContains(t, err, "want secret:NAMESPACE/NAME")
}

func TestHandlerDecodesWithCORSAndToken(t *testing.T) {
	k := keys(t, map[string]string{"a": newKey(t)})
	enc, err := DataConverter(k).ToPayload("the response body")
	require.NoError(t, err)
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{enc}})
	require.NoError(t, err)

	srv := httptest.NewServer(Handler(k, ServerOptions{Origins: []string{"http://localhost:8233"}, Token: "t0ken"}))
	defer srv.Close()
	post := func(origin, auth string) *http.Response {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/decode", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Namespace", "default")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	resp := post("http://localhost:8233", "Bearer t0ken")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "http://localhost:8233", resp.Header.Get("Access-Control-Allow-Origin"))
	var out commonpb.Payloads
	var raw json.RawMessage
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&raw))
	require.NoError(t, protojson.Unmarshal(raw, &out))
	var s string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(out.Payloads[0], &s))
	assert.Equal(t, "the response body", s)

	assert.Equal(t, http.StatusUnauthorized, post("", "").StatusCode)
	assert.Equal(t, http.StatusUnauthorized, post("", "Bearer wrong").StatusCode)
	other := post("https://evil.example", "Bearer t0ken")
	assert.Empty(t, other.Header.Get("Access-Control-Allow-Origin"), "an origin not allowed gets no CORS headers")

	// The browser's preflight carries no token and must pass.
	req, err := http.NewRequest(http.MethodOptions, srv.URL+"/decode", nil)
	require.NoError(t, err)
	req.Header.Set("Origin", "http://localhost:8233")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace,authorization")
	pre, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer pre.Body.Close()
	assert.Equal(t, http.StatusOK, pre.StatusCode)
	assert.Equal(t, "http://localhost:8233", pre.Header.Get("Access-Control-Allow-Origin"))
	assert.True(t, strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "X-Namespace"))
}
