//go:build nohub

package device

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/config"
)

// TestNoHubOptions: the nohub build has no hub client to configure.
func TestNoHubOptions(t *testing.T) {
	o, err := FromConfig(config.New(), AppEngine, nil)
	require.NoError(t, err)
	assert.Nil(t, o.Hub)
}
