package launch

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/testenv"
)

// TestSharedMountsAcrossRestartsAndSwap: with a Shared, a restarted
// container finds its root squashfs mounted (same loop device, same
// mount) while its boot volumes (lxc-overlay included) are fresh at each
// start; retiring the revision's Shared (revision change) unmounts its
// idle mounts and the one in use at its container's Close; retiring the
// last one (stop) leaves nothing behind.
func TestSharedMountsAcrossRestartsAndSwap(t *testing.T) {
	f := newFixture(t)
	script := `cat /marker /data/boot/f 2>&1; echo x > /marker; echo b > /data/boot/f; ls /volumes 2>&1; true`
	install(t, f, "0", script, "")
	install(t, f, "1", `while true; do sleep 1; done`, "")
	before := testenv.TakeResources(t, f.dir, f.parent)

	sh0 := f.opts.NewShared("0")
	f.opts.Shared = sh0
	code, out := f.run(t, "0")
	assert.Equal(t, 0, code, out)
	first := testenv.TakeResources(t, f.dir, f.parent)
	assert.Len(t, first.Loops, len(before.Loops)+1, "the root squashfs stays attached after the exit")
	assert.Equal(t, 1, sh0.Mounted())

	code, out = f.run(t, "0")
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "can't open '/marker': No such file", "the lxc-overlay (boot) upper is fresh at each start")
	assert.Contains(t, out, "can't open '/data/boot/f': No such file", "boot volumes are fresh at each start")
	again := testenv.TakeResources(t, f.dir, f.parent)
	assert.Equal(t, first, again, "the restart reused the loop device and mount")

	// Revision change: rev 1's container runs on its own Shared while
	// rev 0's is retired; the object is the same file, mounted once per
	// revision.
	sh1 := f.opts.NewShared("1")
	f.opts.Shared = sh1
	in, err := StartRevision(f.st, "1", "c1", f.opts)
	require.NoError(t, err)
	require.NoError(t, sh0.Retire())
	assert.Equal(t, 0, sh0.Mounted(), "rev 0's idle mount goes at its retirement")
	require.NoError(t, sh1.Retire())
	assert.Equal(t, 1, sh1.Mounted(), "a mount in use stays until its container is closed")
	mid := testenv.TakeResources(t, f.dir, f.parent)
	assert.Len(t, mid.Loops, len(before.Loops)+1)
	_, err = in.Stop(5 * time.Second)
	require.NoError(t, err)
	require.NoError(t, in.Close())
	assert.Equal(t, 0, sh1.Mounted())

	after := testenv.TakeResources(t, f.dir, f.parent)
	assert.Equal(t, before.Mounts, after.Mounts, "no mount leaked")
	assert.Equal(t, before.Loops, after.Loops, "no loop device leaked")
	assert.Empty(t, after.Cgroups, "no cgroup left")
	left, err := os.ReadDir(f.opts.sharedDir())
	require.NoError(t, err)
	assert.Empty(t, left, "the Shareds' directories are removed")
}
