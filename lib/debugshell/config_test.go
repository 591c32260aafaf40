package debugshell

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/config"
)

// TestFromConfigOffByDefault: without PV_DEBUG_SHELL the device has no
// shell and never opens the console.
func TestFromConfigOffByDefault(t *testing.T) {
	sh, err := FromConfig(config.New(), &View{}, nil)
	require.NoError(t, err)
	assert.Nil(t, sh)
	cfg := config.New()
	require.NoError(t, cfg.Set(config.LevelPVConf, "PV_DEBUG_SHELL", "0"))
	sh, err = FromConfig(cfg, &View{}, nil)
	require.NoError(t, err)
	assert.Nil(t, sh)
}
