package instance

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/unixsock"
)

// TestCleanupGroups: every group under the parent, in any hierarchy, is
// killed and its processes reported with their names; groups elsewhere
// are not touched.
func TestCleanupGroups(t *testing.T) {
	f := newFake(t)
	f.group("pv", "os", 101, 102)
	f.group("pv", "app", 103)
	f.group("pv", "empty")
	f.write("cg/unified/pv/onlyv2/cgroup.procs", "") // a group in one hierarchy only
	f.group("other", "os", 201)
	f.group("", "lonely", 301)

	r, err := Cleanup(context.Background(), f.options("pv"))
	require.NoError(t, err)
	assert.Equal(t, []Process{{"app", 103, "cmd103"}, {"os", 101, "cmd101"}, {"os", 102, "cmd102"}}, r.Processes)
	assert.Equal(t, []string{"app", "empty", "onlyv2", "os"}, r.Groups)
	assert.Equal(t, []string{"app", "empty", "onlyv2", "os"}, f.killed)
	assert.DirExists(t, f.path("cg/pids/pv"), "the parent stays")
	assert.NoDirExists(t, f.path("cg/unified/pv/os"))
	assert.DirExists(t, f.path("cg/pids/other/os"), "another parent is not ours")
	assert.DirExists(t, f.path("cg/pids/lonely"), "the hierarchy root's groups are not ours")
	assert.Contains(t, r.String(), "3 processes killed [app:103(cmd103) os:101(cmd101) os:102(cmd102)]")
}

// TestCleanupGroupsAtRoot: with no parent only the named groups are
// cleaned (the root holds groups that are not containers'); a named group
// that does not exist is no error.
func TestCleanupGroupsAtRoot(t *testing.T) {
	f := newFake(t)
	f.group("", "os", 101)
	f.group("", "system", 1)
	o := f.options("")
	o.Groups = []string{"os", "gone"}
	r, err := Cleanup(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, []string{"os"}, r.Groups)
	assert.Equal(t, []Process{{"os", 101, "cmd101"}}, r.Processes)
	assert.DirExists(t, f.path("cg/pids/system"))

	o.Groups = nil
	r, err = Cleanup(context.Background(), o)
	require.NoError(t, err)
	assert.True(t, r.Empty(), "no parent, no names: nothing is ours: %s", r)
	assert.DirExists(t, f.path("cg/pids/system"))
}

// TestCleanupMounts: the mounts strictly below the engine's dirs go,
// deepest first, the later of a stack first, a busy one lazily; the dirs
// themselves and mounts elsewhere stay.
func TestCleanupMounts(t *testing.T) {
	f := newFake(t)
	vol := f.path("volumes")
	f.mount(300, vol, "tmpfs", "rw") // the dir itself: not ours
	f.mount(301, vol+"/os/root.squashfs", "squashfs", "ro")
	f.mount(302, vol+"/os/lxc-overlay", "tmpfs", "rw")
	f.mount(303, vol+"/os/lxc-overlay/upper", "tmpfs", "rw")
	f.mount(304, vol+"/os/lxc-overlay", "tmpfs", "rw") // stacked
	f.mount(305, f.path("run")+"/bin/pantavisor", "ext4", "rw")
	f.mount(306, f.path("state")+"/a b/rootfs", "overlay", "rw")
	f.mount(307, f.path("storage")+"/disks", "ext4", "rw")
	f.mount(308, f.path("volumes2")+"/x", "tmpfs", "rw")
	f.busy[vol+"/os/root.squashfs"] = true

	r, err := Cleanup(context.Background(), f.options("pv"))
	require.NoError(t, err)
	assert.Equal(t, []string{
		vol + "/os/lxc-overlay/upper",
		f.path("state") + "/a b/rootfs",
		f.path("run") + "/bin/pantavisor",
		vol + "/os/lxc-overlay",
		vol + "/os/lxc-overlay",
		vol + "/os/root.squashfs",
	}, r.Mounts, "deepest first, then the latest mount first")
	assert.Contains(t, f.umounts, vol+"/os/root.squashfs 0")
	assert.Contains(t, f.umounts, vol+"/os/root.squashfs 2", "busy: detached (MNT_DETACH)")
	left, err := MountsBelow(openFile(t, f.path("mountinfo")), []string{f.dir})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{vol, f.path("storage") + "/disks", f.path("volumes2") + "/x",
		f.path("cg/pids"), f.path("cg/freezer"), f.path("cg/unified")}, left)
}

// TestCleanupMountsSymlinkedDir: a dir given through a symbolic link
// matches the real path mountinfo shows.
func TestCleanupMountsSymlinkedDir(t *testing.T) {
	f := newFake(t)
	require.NoError(t, os.Symlink(f.path("volumes"), f.path("vlink")))
	f.mount(301, f.path("volumes")+"/os/root.squashfs", "squashfs", "ro")
	o := f.options("pv")
	o.MountDirs = []string{f.path("vlink")}
	r, err := Cleanup(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, []string{f.path("volumes") + "/os/root.squashfs"}, r.Mounts)
}

// TestCleanupMountsStuck: a mount that does not go is an error naming
// it, and the other steps still run.
func TestCleanupMountsStuck(t *testing.T) {
	f := newFake(t)
	f.mount(301, f.path("volumes")+"/os/root.squashfs", "squashfs", "ro")
	f.write("run/pv-ctrl", "")
	o := f.options("pv")
	o.Unmount = func(string, int) error { return unix.EPERM }
	f.group("pv", "os", 101)
	r, err := Cleanup(context.Background(), o)
	require.ErrorIs(t, err, unix.EPERM)
	assert.Empty(t, r.Mounts)
	assert.Equal(t, []string{"os"}, r.Groups, "the other steps ran")

	o.Unmount = func(string, int) error { return nil } // "succeeds" and leaves it
	_, err = Cleanup(context.Background(), o)
	require.ErrorIs(t, err, ErrLeftover)
	assert.Contains(t, err.Error(), "root.squashfs")
}

// TestCleanupLoops: loop devices backed by a file of the storage's
// objects/ or trails/ are detached, deleted backing files included;
// others stay.
func TestCleanupLoops(t *testing.T) {
	f := newFake(t)
	st := f.path("storage")
	f.write("sys/block/loop0/loop/backing_file", st+"/objects/abc\n")
	f.write("sys/block/loop1/loop/backing_file", "/elsewhere/root.squashfs\n")
	f.write("sys/block/loop2/loop/backing_file", st+"/trails/0/os/root.squashfs (deleted)\n")
	f.write("sys/block/loop3/loop/backing_file", st+"/objects-old/abc\n")
	f.write("sys/block/loop4/loop/backing_file", st+"/disks/x\n")
	f.mkdir("sys/block/loop5") // free: no loop/ directory
	r, err := Cleanup(context.Background(), f.options("pv"))
	require.NoError(t, err)
	assert.Equal(t, []string{f.path("dev") + "/loop0 (" + st + "/objects/abc)",
		f.path("dev") + "/loop2 (" + st + "/trails/0/os/root.squashfs)"}, r.Loops)
	assert.Equal(t, []string{f.path("dev/loop0"), f.path("dev/loop2")}, f.dets)
	assert.Contains(t, r.String(), "2 loop devices detached")

	o := f.options("pv")
	o.Detach = func(string) error { return unix.EBUSY }
	f.write("sys/block/loop0/loop/backing_file", st+"/objects/abc\n")
	_, err = Cleanup(context.Background(), o)
	require.ErrorIs(t, err, unix.EBUSY)
}

// TestCleanupSockets: a socket nobody listens on is removed; one that
// answers is left with ErrSocketInUse; a file that is not a socket, and a
// missing one, are left alone.
func TestCleanupSockets(t *testing.T) {
	f := newFake(t)
	run := f.path("run")
	stale, err := unixsock.Listen(filepath.Join(run, "pv-ctrl"), 0o600)
	require.NoError(t, err)
	require.NoError(t, stale.Close()) // the file stays, nobody listens
	live, err := unixsock.Listen(filepath.Join(run, "pv-ctrl-log"), 0o600)
	require.NoError(t, err)
	defer live.Close()
	f.write("run/pv-fd-log", "not a socket")
	o := f.options("pv")
	o.Sockets = []string{run + "/pv-ctrl", run + "/pv-ctrl-log", run + "/pv-fd-log", run + "/missing"}
	r, err := Cleanup(context.Background(), o)
	require.ErrorIs(t, err, ErrSocketInUse)
	assert.Contains(t, err.Error(), "pv-ctrl-log")
	assert.Equal(t, []string{run + "/pv-ctrl"}, r.Sockets)
	assert.NoFileExists(t, run+"/pv-ctrl")
	assert.FileExists(t, run+"/pv-ctrl-log")
	assert.FileExists(t, run+"/pv-fd-log")
}

// TestCleanupNothing: a clean host gives an empty report and no error,
// and so does a host without cgroups.
func TestCleanupNothing(t *testing.T) {
	f := newFake(t)
	r, err := Cleanup(context.Background(), f.options("pv"))
	require.NoError(t, err)
	assert.True(t, r.Empty())
	assert.Equal(t, "nothing left by a previous instance", r.String())

	o := f.options("pv")
	require.NoError(t, os.WriteFile(o.Mountinfo, []byte("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"), 0o644))
	r, err = Cleanup(context.Background(), o)
	require.NoError(t, err)
	assert.True(t, r.Empty())
}

// TestReportString: every kind of leftover is counted and named.
func TestReportString(t *testing.T) {
	r := Report{Processes: []Process{{"os", 5, "init"}}, Groups: []string{"os"}, Mounts: []string{"/v/os/a", "/v/os/b"},
		Loops: []string{"/dev/loop1 (/s/objects/x)"}, Sockets: []string{"/run/pv-ctrl"}}
	assert.Equal(t, "left by a previous instance: 1 processes killed [os:5(init)], 1 cgroups removed [os], "+
		"2 mounts removed [/v/os/a /v/os/b], 1 loop devices detached [/dev/loop1 (/s/objects/x)], "+
		"1 stale sockets removed [/run/pv-ctrl]", r.String())
}

func openFile(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}
