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

// TestDiskRefusedFailsRevision: a revision whose container volume is on
// a dm-crypt-dcp disk, on a device without DCP key hardware, fails with
// the reason before any container starts, and nothing is written to the
// volume's plain-storage place or the media dir.
func TestDiskRefusedFailsRevision(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	st, err := storage.Open(filepath.Join(dir, "storage"), storage.Options{})
	require.NoError(t, err)
	img, err := os.ReadFile(testenv.BusyboxRootfs(t))
	require.NoError(t, err)
	testenv.InstallRevision(t, st, "0", map[string][]byte{
		"app/lxc.container.conf": []byte(chattyConf), "app/root.squashfs": img,
	}, map[string]string{
		"device.json": `{"groups":[{"name":"app","status_goal":"STARTED","restart_policy":"system","timeout":30}],` +
			`"disks":[{"name":"secrets","type":"dm-crypt-dcp","mode":"mainline","path":"/x/dcp.img,2,k"}]}`,
		"app/run.json": `{"name":"app","type":"lxc","config":"lxc.container.conf","group":"app",` +
			`"root-volume":"root.squashfs","storage":{"data":{"persistence":"permanent","disk":"secrets"}}}`})
	media := filepath.Join(dir, "media")
	parent := "pvdisks-" + filepath.Base(filepath.Dir(dir))
	o := Options{Paths: config.Paths{Storage: st.Root, RunDir: dir + "/run"}, Rev: "0",
		Disks: disk.Options{MediaDir: media, StorageDir: st.Root},
		Launch: launch.Options{Host: container.Host{VolumesDir: dir + "/volumes", ConfigsDir: dir + "/configs"},
			StateDir: dir + "/state", CgroupParent: parent, Exe: "/bin/busybox",
			Stage: container.Options{Exe: os.Args[0], Args: []string{os.Args[0], container.StageArg}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := run(t, ctx, o)
	require.NoError(t, err)
	assert.NotEqual(t, engine.Exit, out.Action, "the revision does not run")
	assert.Contains(t, out.Reason, `disks: disk "secrets": dm-crypt-dcp needs NXP DCP key hardware, which this board does not have`)
	assert.NoDirExists(t, st.VolumePath("permanent", "0", "app", "data"), "never plain storage instead")
	assert.NoDirExists(t, media)
	assert.NoDirExists(t, filepath.Join(dir, "volumes", "app"), "no container was set up")
}

// TestFromConfigDisks: the disks go under PV_SYSTEM_MEDIADIR, their
// storage is the device's, and a host without the key-hardware file has
// no NXP key hardware.
func TestFromConfigDisks(t *testing.T) {
	cfg := config.New()
	require.NoError(t, cfg.Override(config.StorageMntpoint, "/x/storage"))
	o, err := FromConfig(cfg, Embedded, nil)
	require.NoError(t, err)
	assert.Equal(t, disk.Options{MediaDir: "/media", StorageDir: "/x/storage"}, o.Disks)
	require.NoError(t, cfg.Override(config.SystemMediadir, "/m"))
	o, err = FromConfig(cfg, AppEngine, nil)
	require.NoError(t, err)
	assert.Equal(t, "/m", o.Disks.MediaDir)
}
