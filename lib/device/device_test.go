package device

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/config"
	"pantavisor/lib/storage"
)

// TestUserMetaOverridesConfig: persisted user-meta keys are loaded at
// start into the run dir and applied to the configuration at META level.
func TestUserMetaOverridesConfig(t *testing.T) {
	dir := t.TempDir()
	st, err := storage.Open(filepath.Join(dir, "storage"), storage.Options{})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(st.Root, "cache", "meta", "PV_LOG_LEVEL"), []byte("5"), 0o644))
	cfg := config.New()
	o := Options{RunDir: filepath.Join(dir, "run"), OnUserMeta: func(k, v string, deleted bool) {
		if !deleted {
			cfg.Set(config.LevelMeta, k, v)
		}
	}}
	m := userMeta(o, st)
	require.NoError(t, m.Load())
	assert.Equal(t, 5, cfg.Int("PV_LOG_LEVEL"))
	assert.Equal(t, config.LevelMeta, cfg.Level("PV_LOG_LEVEL"))
	got, err := os.ReadFile(filepath.Join(dir, "run", "user-meta", "PV_LOG_LEVEL"))
	require.NoError(t, err)
	assert.Equal(t, "5", string(got))
}
