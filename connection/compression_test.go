package connection

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.temporal.io/sdk/client"
)

// Connections to this machine go uncompressed; others keep the SDK's gzip.
func TestCompressionOnlyOffTheMachine(t *testing.T) {
	for _, local := range []string{"127.0.0.1:7233", "localhost:7233", "[::1]:7233", ":7233", "127.0.0.2:7233"} {
		assert.IsType(t, &client.GrpcCompressionNone{}, Compression(local), local)
	}
	for _, remote := range []string{"temporal.example.com:7233", "10.0.0.5:7233", "my-ns.tmprl.cloud:7233"} {
		assert.IsType(t, &client.GrpcCompressionGzip{}, Compression(remote), remote)
	}
}
