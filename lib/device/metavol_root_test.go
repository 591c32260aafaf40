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
	"pantavisor/lib/container"
	"pantavisor/lib/disk"
	"pantavisor/lib/engine"
	"pantavisor/lib/launch"
	"pantavisor/lib/storage"
	"pantavisor/lib/testenv"
)

// groups is device.json's groups (without them upstream ignores the rest
// of device.json).
const groups = `"groups":[{"name":"app","status_goal":"STARTED","restart_policy":"system","timeout":30}],`

// metaVolOptions are a device's options on st with its run, volumes and
// media dirs under dir.
func metaVolOptions(st *storage.Storage, dir, rev string, cfg *config.Config) Options {
	return Options{Paths: config.Paths{Storage: st.Root, RunDir: filepath.Join(dir, "run")}, Rev: rev, Config: cfg,
		Engine: engine.Options{Tick: 10 * time.Millisecond},
		Disks:  disk.Options{MediaDir: filepath.Join(dir, "media"), StorageDir: st.Root},
		Launch: launch.Options{Host: container.Host{VolumesDir: filepath.Join(dir, "volumes"), ConfigsDir: filepath.Join(dir, "configs")},
			StateDir: filepath.Join(dir, "state")}}
}

// TestMetaOnVolumes: a revision whose device.json declares pv--usrmeta
// and pv--devmeta keeps its metadata in those volumes: the user-meta
// keys are loaded from pv--usrmeta (and applied to the configuration),
// not from cache/meta, whose keys are left there unread (no migration,
// as upstream); keys set while it runs land in the volumes and never in
// cache/meta or cache/devmeta. A revision without them uses the cache
// again, which never saw the volume's keys.
func TestMetaOnVolumes(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	st, err := storage.Open(filepath.Join(dir, "storage"), storage.Options{})
	require.NoError(t, err)
	testenv.InstallRevision(t, st, "0", nil, map[string]string{"device.json": `{` + groups + `"volumes":{` +
		`"pv--usrmeta":{"persistence":"permanent"},"pv--devmeta":{"persistence":"permanent"}}}`})
	testenv.InstallRevision(t, st, "1", nil, map[string]string{"device.json": `{` + groups + `"volumes":{}}`})
	cacheUsr, cacheDev := filepath.Join(st.Root, "cache", "meta"), filepath.Join(st.Root, "cache", "devmeta")
	volUsr := st.VolumePath("permanent", "0", "bsp", usrMetaVolume)
	volDev := st.VolumePath("permanent", "0", "bsp", devMetaVolume)
	require.NoError(t, os.WriteFile(filepath.Join(cacheUsr, "old.key"), []byte("plain"), 0o644))
	require.NoError(t, os.MkdirAll(volUsr, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(volUsr, "PV_LOG_LEVEL"), []byte("5"), 0o644))

	cfg := config.New()
	rec := &recorder{}
	d, err := New(metaVolOptions(st, dir, "0", cfg), rec)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan engine.Outcome)
	go func() { out, _ := d.Run(ctx); done <- out }()
	require.Eventually(t, func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return len(rec.statuses) > 0 && rec.statuses[len(rec.statuses)-1] == engine.Ready
	}, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, d.usrmeta.Set("secret.key", "marker"))
	require.NoError(t, d.devmeta.Set("secret.dev", "marker"))

	run := filepath.Join(dir, "run")
	assert.Equal(t, 5, cfg.Get(config.LogLevel).Int(), "the volume's keys are loaded and applied")
	assert.FileExists(t, filepath.Join(run, "user-meta", "PV_LOG_LEVEL"))
	assert.NoFileExists(t, filepath.Join(run, "user-meta", "old.key"), "cache/meta is not read")
	for _, f := range []string{filepath.Join(volUsr, "secret.key"), filepath.Join(volDev, "secret.dev"),
		filepath.Join(dir, "volumes", "bsp", usrMetaVolume, "secret.key")} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.Equal(t, "marker", string(b), f)
	}
	assert.FileExists(t, filepath.Join(volDev, "pantavisor.revision"), "device-meta persists in pv--devmeta")
	cancel()
	assert.Equal(t, engine.Exit, (<-done).Action)
	assertNoFiles(t, cacheDev, "nothing is written to cache/devmeta")
	des, err := os.ReadDir(cacheUsr)
	require.NoError(t, err)
	require.Len(t, des, 1, "nothing is written to cache/meta")
	assert.Equal(t, "old.key", des[0].Name())

	d, err = New(metaVolOptions(st, dir, "1", config.New()), nil)
	require.NoError(t, err)
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	out, err := d.Run(ctx)
	require.NoError(t, err)
	assert.Equal(t, engine.Exit, out.Action)
	assert.FileExists(t, filepath.Join(run, "user-meta", "old.key"), "without the volume: cache/meta")
	assert.NoFileExists(t, filepath.Join(run, "user-meta", "secret.key"))
	assert.FileExists(t, filepath.Join(cacheDev, "pantavisor.revision"))
}

// TestMetaVolumeRefusedWritesNothing: a revision whose pv--usrmeta is on
// a disk that cannot be set up fails before any store is opened: no key
// reaches cache/meta, cache/devmeta or the run dir.
func TestMetaVolumeRefusedWritesNothing(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	st, err := storage.Open(filepath.Join(dir, "storage"), storage.Options{})
	require.NoError(t, err)
	testenv.InstallRevision(t, st, "0", nil, map[string]string{"device.json": `{` + groups +
		`"disks":[{"name":"secrets","type":"dm-crypt-dcp","mode":"mainline","path":"/x/dcp.img,2,k"}],` +
		`"volumes":{"pv--usrmeta":{"persistence":"permanent","disk":"secrets"}}}`})
	d, err := New(metaVolOptions(st, dir, "0", config.New()), nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := d.Run(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, engine.Exit, out.Action, "the revision does not run")
	assert.Contains(t, out.Reason, `disks: disk "secrets"`)
	assertNoFiles(t, filepath.Join(st.Root, "cache", "meta"), "no user-meta on plain storage")
	assertNoFiles(t, filepath.Join(st.Root, "cache", "devmeta"), "no device-meta on plain storage")
	assert.NoDirExists(t, filepath.Join(dir, "run", "user-meta"))
	assert.NoDirExists(t, st.VolumePath("permanent", "0", "bsp", usrMetaVolume), "never plain storage instead")
}

// assertNoFiles asserts that dir holds no entry (or does not exist).
func assertNoFiles(t *testing.T, dir, msg string) {
	t.Helper()
	des, err := os.ReadDir(dir)
	if !os.IsNotExist(err) {
		require.NoError(t, err)
	}
	names := make([]string, 0, len(des))
	for _, de := range des {
		names = append(names, de.Name())
	}
	assert.Empty(t, names, msg)
}
