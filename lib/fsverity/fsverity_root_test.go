package fsverity_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/fsverity"
	"pantavisor/lib/testenv"
)

// TestUnsupportedFilesystems: tmpfs and ext4 without the verity feature
// report fsverity.ErrUnsupported, not a bare errno.
func TestUnsupportedFilesystems(t *testing.T) {
	testenv.RequireRoot(t)
	tmp := filepath.Join(t.TempDir(), "tmpfs")
	require.NoError(t, os.Mkdir(tmp, 0o755))
	require.NoError(t, unix.Mount("tmpfs", tmp, "tmpfs", 0, "size=1m"))
	t.Cleanup(func() { unix.Unmount(tmp, unix.MNT_DETACH) })
	plain := testenv.MountExt4(t, 16<<20)
	for _, dir := range []string{tmp, plain.Mnt} {
		p := filepath.Join(dir, "f")
		require.NoError(t, os.WriteFile(p, []byte("data"), 0o644))
		err := fsverity.Enable(p)
		assert.ErrorIs(t, err, fsverity.ErrUnsupported, "%s", dir)
		assert.Contains(t, err.Error(), "FS_IOC_ENABLE_VERITY "+p)
		_, err = fsverity.Measure(p)
		assert.True(t, errors.Is(err, fsverity.ErrUnsupported) || errors.Is(err, fsverity.ErrNotEnabled), "%s: %v", dir, err)
	}
}

// TestEnableMeasure: on ext4 made with -O verity, Enable makes the file
// read-only to writers (EPERM), is idempotent, and Measure returns the
// same sha256 digest each time, different for other content; a file
// without verity measures as fsverity.ErrNotEnabled.
func TestEnableMeasure(t *testing.T) {
	fs := testenv.MountExt4(t, 32<<20, "verity")
	probe := filepath.Join(fs.Mnt, "probe")
	require.NoError(t, os.WriteFile(probe, []byte("x"), 0o644))
	err := fsverity.Enable(probe)
	testenv.RequireKernelFeature(t, !errors.Is(err, fsverity.ErrUnsupported), "fs-verity (CONFIG_FS_VERITY): "+errString(err),
		"boards/image TestQEMUVerityCorruptObject")
	require.NoError(t, err)

	a, b := filepath.Join(fs.Mnt, "a"), filepath.Join(fs.Mnt, "b")
	require.NoError(t, os.WriteFile(a, make([]byte, 3*fsverity.BlockSize+5), 0o644))
	require.NoError(t, os.WriteFile(b, []byte("other"), 0o644))
	_, err = fsverity.Measure(a)
	require.ErrorIs(t, err, fsverity.ErrNotEnabled)
	require.NoError(t, fsverity.Enable(a))
	require.NoError(t, fsverity.Enable(a), "again")
	require.NoError(t, fsverity.Enable(b))
	da, err := fsverity.Measure(a)
	require.NoError(t, err)
	assert.Equal(t, uint16(unix.FS_VERITY_HASH_ALG_SHA256), da.Algorithm)
	assert.Len(t, da.Sum, 32)
	da2, err := fsverity.Measure(a)
	require.NoError(t, err)
	assert.True(t, da.Equal(da2))
	db, err := fsverity.Measure(b)
	require.NoError(t, err)
	assert.False(t, da.Equal(db))
	_, err = os.OpenFile(a, os.O_WRONLY, 0)
	assert.ErrorIs(t, err, unix.EPERM, "a verity file refuses writers")
}

func errString(err error) string {
	if err == nil {
		return "supported"
	}
	return err.Error()
}
