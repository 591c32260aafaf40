package volume

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/testenv"
)

// TestSharedOnePerObject: two containers whose root volumes are two links
// of one object share one loop device and mount; it outlives their
// unmounts (idle, for a restart) until Retire, and nothing leaks.
func TestSharedOnePerObject(t *testing.T) {
	testenv.RequireLoopDevices(t)
	data, err := os.ReadFile(testenv.BusyboxRootfs(t))
	require.NoError(t, err)
	dir := t.TempDir()
	images := filepath.Join(dir, "images")
	require.NoError(t, os.MkdirAll(images, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(images, "a.squashfs"), data, 0o644))
	require.NoError(t, os.Link(filepath.Join(images, "a.squashfs"), filepath.Join(images, "b.squashfs")))
	before := testenv.TakeResources(t, dir, "none")

	sh := &Shared{Dir: filepath.Join(dir, "shared")}
	set := func(c, img string) Set {
		return Set{Container: c, Dir: filepath.Join(dir, "volumes", c), ImageDir: images, Images: []string{img}, Shared: sh}
	}
	ma, err := Mount(set("a", "a.squashfs"))
	require.NoError(t, err)
	mb, err := Mount(set("b", "b.squashfs"))
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(dir, "volumes", "a", "a.squashfs", "bin", "busybox"))
	assert.FileExists(t, filepath.Join(dir, "volumes", "b", "b.squashfs", "bin", "busybox"))
	in := testenv.TakeResources(t, dir, "none")
	assert.Len(t, in.Loops, len(before.Loops)+1, "one loop device for the object")
	assert.Equal(t, 1, sh.Mounted())

	require.NoError(t, ma.Unmount())
	require.NoError(t, mb.Unmount())
	idle := testenv.TakeResources(t, dir, "none")
	assert.Len(t, idle.Loops, len(before.Loops)+1, "the idle mount stays for the next start")
	assert.Len(t, idle.Mounts, len(before.Mounts)+1, "only the shared mount: the binds are gone")

	// Another Shared on the same Dir (a revision swapped back to while
	// its earlier mounts are in use) gets a point of its own.
	other := &Shared{Dir: sh.Dir}
	p1, err := sh.Acquire(filepath.Join(images, "a.squashfs"), "squashfs")
	require.NoError(t, err)
	p2, err := other.Acquire(filepath.Join(images, "a.squashfs"), "squashfs")
	require.NoError(t, err)
	assert.Equal(t, p1+"-1", p2)
	require.NoError(t, other.Release(p2))
	require.NoError(t, other.Retire())
	assert.DirExists(t, sh.Dir, "still used by sh")
	require.NoError(t, sh.Release(p1))

	require.NoError(t, sh.Retire())
	assert.Equal(t, 0, sh.Mounted())
	assert.NoDirExists(t, sh.Dir)
	after := testenv.TakeResources(t, dir, "none")
	assert.Equal(t, before, after, "nothing left after Retire")
	assert.ErrorContains(t, sh.Release(filepath.Join(dir, "x")), "not a shared volume mount")
}
