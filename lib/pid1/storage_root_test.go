package pid1

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/testenv"
)

// TestUnmountStorage: a mounted storage is unmounted; one still in use
// (an open file) is detached.
func TestUnmountStorage(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	require.NoError(t, unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"))
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	var out bytes.Buffer
	RecordCrashes(&out, dir) // released by UnmountStorage
	UnmountStorage(&out, dir)
	assert.Equal(t, "pantavisor: storage unmounted\n", out.String())
	assert.NoFileExists(t, filepath.Join(dir, "logs"), "the tmpfs is gone")

	require.NoError(t, unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"))
	busy, err := os.Create(filepath.Join(dir, "busy"))
	require.NoError(t, err)
	defer busy.Close()
	out.Reset()
	UnmountStorage(&out, dir)
	assert.Equal(t, "pantavisor: unmounting "+dir+": umount "+dir+": device or resource busy; detaching it\n", out.String())
	_, err = os.Stat(filepath.Join(dir, "busy"))
	assert.ErrorIs(t, err, os.ErrNotExist, "detached: the path no longer shows the tmpfs")
	_, err = busy.Write([]byte("x"))
	assert.NoError(t, err, "the open file still works on the detached tmpfs")
}
