package device

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/config"
	"pantavisor/lib/engine"
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
	d, err := New(Options{Storage: st.Root, RunDir: filepath.Join(dir, "run"), Config: cfg}, nil)
	require.NoError(t, err)
	_, m := d.metaStores()
	require.NoError(t, m.Load())
	assert.Equal(t, 5, cfg.Int("PV_LOG_LEVEL"))
	assert.Equal(t, config.LevelMeta, cfg.Level("PV_LOG_LEVEL"))
	got, err := os.ReadFile(filepath.Join(dir, "run", "user-meta", "PV_LOG_LEVEL"))
	require.NoError(t, err)
	assert.Equal(t, "5", string(got))
	require.NoError(t, m.Delete("PV_LOG_LEVEL"))
	assert.Equal(t, config.LevelDefault, cfg.Level("PV_LOG_LEVEL"), "deleting the key drops the override")
}

// TestHooks: system-start runs before the revision and its failure means
// a reboot (nothing starts); system-done runs once the revision is READY.
func TestHooks(t *testing.T) {
	dir := t.TempDir()
	st, err := storage.Open(filepath.Join(dir, "storage"), storage.Options{})
	require.NoError(t, err)
	_, err = st.Install("0", []byte(`{"#spec":"pantavisor-service-system@1"}`), nil)
	require.NoError(t, err)
	hooksDir := filepath.Join(dir, "hooks")
	require.NoError(t, os.Mkdir(hooksDir, 0o755))
	marks := filepath.Join(dir, "marks")
	require.NoError(t, os.WriteFile(filepath.Join(hooksDir, "10-mark"),
		[]byte("#!/bin/sh\necho \"$PV_OP $PV_REV $PV_STATUS\" >> "+marks+"\n"), 0o755))

	o := Options{Storage: st.Root, RunDir: filepath.Join(dir, "run"), Hooks: hooksDir}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	out, err := run(t, ctx, o)
	require.NoError(t, err)
	assert.Equal(t, engine.Exit, out.Action)
	got, err := os.ReadFile(marks)
	require.NoError(t, err)
	assert.Equal(t, "system-start 0 \nsystem-done 0 READY\n", string(got))

	require.NoError(t, os.WriteFile(filepath.Join(hooksDir, "20-fail"), []byte("#!/bin/sh\nexit 1\n"), 0o755))
	out, err = run(t, context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, engine.Reboot, out.Action)
	assert.Contains(t, out.Reason, "20-fail (system-start): exit status 1")
}

// run builds a device from o and runs it.
func run(t *testing.T, ctx context.Context, o Options) (engine.Outcome, error) {
	t.Helper()
	d, err := New(o, nil)
	require.NoError(t, err)
	return d.Run(ctx)
}
