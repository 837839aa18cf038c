// Package codec keeps what runs carry secret in Temporal: every payload
// (run inputs, step results, statuses, signals, error messages) is
// encrypted with AES-256-GCM before it leaves the process, under a key
// whose ID travels in the payload's metadata so keys can be rotated.
// The CLI, the worker and the codec server (which decodes for the Web UI)
// share it.
package codec

import (
	"crypto/rand"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// The metadata of an encrypted payload, as Temporal's encryption samples
// name it (other tools that know them can tell such a payload).
const (
	MetadataEncoding = "encoding"
	MetadataKeyID    = "encryption-key-id"
	Encoding         = "binary/encrypted"
)

// Codec encrypts payloads with the current key and decrypts them with the
// key they name. Payloads that are not encrypted decode as they are, so
// runs started before encryption was turned on stay readable.
type Codec struct {
	Keys *Keys
}

var _ converter.PayloadCodec = (*Codec)(nil)

// Encode encrypts each payload whole (data and metadata).
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	id := c.Keys.current
	aead := c.Keys.aeads[id]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encrypt payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("encrypt payload: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{MetadataEncoding: []byte(Encoding), MetadataKeyID: []byte(id)},
			Data:     aead.Seal(nonce, nonce, plain, []byte(id)),
		}
	}
	return out, nil
}

// Decode decrypts the encrypted payloads and passes the others through.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		plain, err := c.open(p)
		if err != nil {
			return nil, err
		}
		out[i] = &commonpb.Payload{}
		if err := proto.Unmarshal(plain, out[i]); err != nil {
			return nil, fmt.Errorf("decrypt payload: %w", err)
		}
	}
	return out, nil
}

func (c *Codec) open(p *commonpb.Payload) ([]byte, error) {
	id := string(p.Metadata[MetadataKeyID])
	aead := c.Keys.aeads[id]
	if aead == nil {
		return nil, fmt.Errorf("decrypt payload: it was encrypted with key %q, which the codec keys from %s do not hold", id, c.Keys.source)
	}
	if len(p.Data) < aead.NonceSize() {
		return nil, fmt.Errorf("decrypt payload: %d bytes, too short", len(p.Data))
	}
	nonce, sealed := p.Data[:aead.NonceSize()], p.Data[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, sealed, []byte(id))
	if err != nil {
		return nil, fmt.Errorf("decrypt payload with key %q: %w", id, err)
	}
	return plain, nil
}

// DataConverter is the SDK's default converter with payloads encrypted.
func DataConverter(keys *Keys) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), &Codec{Keys: keys})
}

// Apply makes opts encrypt every payload, error messages and stack traces
// of failures included (they name what a step read or was answered).
func Apply(opts *client.Options, keys *Keys) {
	dc := DataConverter(keys)
	opts.DataConverter = dc
	opts.FailureConverter = temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
}
