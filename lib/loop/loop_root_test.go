package loop

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/testenv"
)

func squashfs(t *testing.T) string {
	t.Helper()
	testenv.RequireCommand(t, "mksquashfs", "make deps installs squashfs-tools")
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "hello"), []byte("world"), 0o644))
	img := filepath.Join(t.TempDir(), "root.squashfs")
	out, err := exec.Command("mksquashfs", src, img, "-noappend", "-quiet").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return img
}

// TestAttachMountAutoclear: a squashfs attached read-only mounts, and its
// loop device is freed by the kernel at unmount (autoclear).
func TestAttachMountAutoclear(t *testing.T) {
	testenv.RequireLoopDevices(t)
	img := squashfs(t)
	d, err := Attacher{}.Attach(img, true)
	require.NoError(t, err)
	dev := d.Path
	back, err := BackingFile(dev)
	require.NoError(t, err)
	assert.Equal(t, img, back)

	mnt := t.TempDir()
	require.NoError(t, unix.Mount(dev, mnt, "squashfs", unix.MS_RDONLY, ""))
	require.NoError(t, d.Close())
	back, err = BackingFile(dev)
	require.NoError(t, err)
	assert.Equal(t, img, back, "the mount keeps the device")
	got, err := os.ReadFile(filepath.Join(mnt, "hello"))
	require.NoError(t, err)
	assert.Equal(t, "world", string(got))
	assert.Error(t, os.WriteFile(filepath.Join(mnt, "new"), nil, 0o644), "read-only")
	require.NoError(t, unix.Unmount(mnt, 0))

	back, err = BackingFile(dev)
	require.NoError(t, err)
	assert.Empty(t, back, "autoclear freed the device at unmount")
}

func TestCloseWithoutMountFrees(t *testing.T) {
	testenv.RequireLoopDevices(t)
	d, err := Attacher{}.Attach(squashfs(t), true)
	require.NoError(t, err)
	require.NoError(t, d.Close())
	back, err := BackingFile(d.Path)
	require.NoError(t, err)
	assert.Empty(t, back, "autoclear frees an unmounted device at last close")
}

func TestAttachDetachWithoutMount(t *testing.T) {
	testenv.RequireLoopDevices(t)
	img := squashfs(t)
	d, err := Attacher{}.Attach(img, true)
	require.NoError(t, err)
	dev := d.Path
	require.NoError(t, Detach(dev), "clearing an open device defers to its last close")
	require.NoError(t, d.Close())
	back, err := BackingFile(dev)
	require.NoError(t, err)
	assert.Empty(t, back)
	assert.NoError(t, Detach(dev), "detaching a free device is fine")
}

func TestCorruptImageFailsToMount(t *testing.T) {
	testenv.RequireLoopDevices(t)
	img := filepath.Join(t.TempDir(), "bad.squashfs")
	require.NoError(t, os.WriteFile(img, make([]byte, 8192), 0o644))
	d, err := Attacher{}.Attach(img, true)
	require.NoError(t, err)
	defer d.Close()
	err = unix.Mount(d.Path, t.TempDir(), "squashfs", unix.MS_RDONLY, "")
	assert.Error(t, err, "a zeroed image is not a squashfs")
}

func TestAttachErrors(t *testing.T) {
	_, err := Attacher{}.Attach("/nonexistent/file", true)
	assert.ErrorIs(t, err, os.ErrNotExist)
	f := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(f, nil, 0o644))
	_, err = Attacher{Dev: t.TempDir()}.Attach(f, true)
	assert.ErrorContains(t, err, "loop-control")
}
