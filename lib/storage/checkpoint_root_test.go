package storage_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/storage"
	"pantavisor/lib/testenv"
)

// TestCheckpoint: on a real ext4 (an image mounted through a loop device)
// the checkpoint ioctl is accepted; on tmpfs, which has no journal and no
// ioctl, Checkpoint only syncs and succeeds.
func TestCheckpoint(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "mkfs.ext4", "Debian package e2fsprogs")
	dir := t.TempDir()
	img := filepath.Join(dir, "fs.img")
	out, err := exec.Command("mkfs.ext4", "-q", "-F", img, "8M").CombinedOutput()
	require.NoError(t, err, "%s", out)
	mnt := filepath.Join(dir, "mnt")
	require.NoError(t, os.Mkdir(mnt, 0o755))
	out, err = exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput()
	testenv.Require(t, err == nil, "mount -o loop of an ext4 image: "+string(out))
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	st, err := storage.Open(mnt, storage.Options{})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "trails", "f"), []byte("x"), 0o644))
	done, err := st.Checkpoint()
	require.NoError(t, err)
	require.True(t, done, "EXT4_IOC_CHECKPOINT on ext4")

	tmp := filepath.Join(dir, "tmp")
	require.NoError(t, os.Mkdir(tmp, 0o755))
	require.NoError(t, unix.Mount("tmpfs", tmp, "tmpfs", 0, "size=1m"))
	t.Cleanup(func() { unix.Unmount(tmp, unix.MNT_DETACH) })
	st, err = storage.Open(tmp, storage.Options{})
	require.NoError(t, err)
	done, err = st.Checkpoint()
	require.NoError(t, err)
	require.False(t, done, "tmpfs: sync only")
}
