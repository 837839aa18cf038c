package activities

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestExcerpt(t *testing.T) {
	short, cut := excerpt("request to http://x failed with status 404: not found")
	assert.False(t, cut)
	assert.Equal(t, "request to http://x failed with status 404: not found", short)

	page := "request to http://x failed with status 502: <!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title><style>body{color:red}</style></head>\n<body><h1>Bad Gateway</h1>\n<p>The upstream   did not answer.</p></body></html>"
	short, cut = excerpt(page)
	assert.True(t, cut)
	assert.Equal(t, "request to http://x failed with status 502: 502 Bad Gateway Bad Gateway The upstream did not answer.", short)

	long := "failed: " + strings.Repeat("x", 500)
	short, cut = excerpt(long)
	assert.True(t, cut)
	assert.True(t, strings.HasPrefix(short, "failed: xxx"))
	assert.Contains(t, short, "… (308 characters more: velaflow debug shows all)")
}
