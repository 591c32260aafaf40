package instance

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/cgroup"
	"pantavisor/lib/loop"
	"pantavisor/lib/mount"
	"pantavisor/lib/testenv"
	"pantavisor/lib/unixsock"
)

// holdEnv makes the test binary a lock holder (see TestHelperHold).
const holdEnv = "PV_INSTANCE_TEST_HOLD"

// TestHelperHold is not a test: run with holdEnv set to "storage
// parent", it takes the lock, prints "locked" and sleeps until killed.
func TestHelperHold(t *testing.T) {
	spec := os.Getenv(holdEnv)
	if spec == "" {
		t.Skip("helper process for TestLockAcrossProcesses")
	}
	st, parent, _ := strings.Cut(spec, " ")
	if _, err := Acquire(LockOptions{Storage: st, CgroupParent: parent}); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	time.Sleep(time.Hour)
}

// uniqueParent is a cgroup parent no concurrent test uses; its
// directories are removed at the end.
func uniqueParent(t *testing.T) string {
	parent := "pvtest-instance-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10)
	t.Cleanup(func() {
		m := cgroup.Manager{}
		if l, err := m.Layout(); err == nil {
			for _, h := range l.V1 {
				os.Remove(filepath.Join(h.Path, parent))
			}
			if l.Unified != "" {
				os.Remove(filepath.Join(l.Unified, parent))
			}
		}
	})
	return parent
}

// TestLockAcrossProcesses: an engine (a child holding the storage and the
// cgroup parent) keeps a second one out, on the same storage or on
// another storage with the same parent, with its pid in the error; once
// it is SIGKILLed the kernel has dropped its locks and Acquire succeeds.
func TestLockAcrossProcesses(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	parent := uniqueParent(t)
	st := filepath.Join(dir, "storage")
	holder := exec.Command(os.Args[0], "-test.run=^TestHelperHold$")
	holder.Env = append(os.Environ(), holdEnv+"="+st+" "+parent)
	out, err := holder.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, holder.Start())
	defer holder.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)

	_, err = Acquire(LockOptions{Storage: st, CgroupParent: parent})
	require.ErrorIs(t, err, ErrLocked)
	assert.Contains(t, err.Error(), fmt.Sprintf("storage %s: locked by another engine (pid %d)", st, holder.Process.Pid))
	_, err = Acquire(LockOptions{Storage: filepath.Join(dir, "other"), CgroupParent: parent})
	require.ErrorIs(t, err, ErrLocked)
	assert.Contains(t, err.Error(), fmt.Sprintf("cgroup parent /sys/fs/cgroup/unified/%s: locked by another engine (pid %d)", parent, holder.Process.Pid))

	require.NoError(t, holder.Process.Signal(unix.SIGKILL))
	holder.Wait()
	l, err := Acquire(LockOptions{Storage: st, CgroupParent: parent})
	require.NoError(t, err, "a killed holder blocks nothing")
	require.NoError(t, l.Release())
}

// leftovers makes what a killed engine leaves: processes (one forked
// below another) in container cgroup "os" under parent, a squashfs of
// the storage's objects/ loop-mounted at volumes/os/root.squashfs, a
// tmpfs and an overlay-like stack in the volumes, the binary bound in the
// run dir, a loop device on a trails/ file that nothing mounts (attached
// without autoclear, as losetup does), and a stale pv-ctrl socket.
func leftovers(t *testing.T, dir, parent string) (cmds []*exec.Cmd) {
	t.Helper()
	st := filepath.Join(dir, "storage")
	for _, d := range []string{"objects", "trails/0/os", "../volumes/os/root.squashfs", "../volumes/os/lxc-overlay", "../run/bin"} {
		require.NoError(t, os.MkdirAll(filepath.Join(st, d), 0o755))
	}
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "hello"), []byte("world"), 0o644))
	img := filepath.Join(st, "objects", "0123abcd")
	out, err := exec.Command("mksquashfs", src, img, "-noappend", "-quiet").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NoError(t, os.Link(img, filepath.Join(st, "trails/0/os/root.squashfs")))

	dev, err := loop.Attacher{}.Attach(img, true)
	require.NoError(t, err)
	vol := filepath.Join(dir, "volumes/os")
	require.NoError(t, mount.Mount(dev.Path, vol+"/root.squashfs", "squashfs", unix.MS_RDONLY, ""))
	require.NoError(t, dev.Close())
	require.NoError(t, mount.Mount("tmpfs", vol+"/lxc-overlay", "tmpfs", 0, ""))
	require.NoError(t, os.MkdirAll(vol+"/lxc-overlay/upper", 0o755))
	require.NoError(t, mount.Mount("tmpfs", vol+"/lxc-overlay/upper", "tmpfs", 0, ""))
	require.NoError(t, mount.Mount("tmpfs", vol+"/lxc-overlay", "tmpfs", 0, "")) // stacked
	bin := filepath.Join(dir, "run/bin/pantavisor")
	require.NoError(t, os.WriteFile(bin, nil, 0o755))
	exe, err := os.Executable()
	require.NoError(t, err)
	require.NoError(t, mount.Mount(exe, bin, "", unix.MS_BIND, ""))
	out, err = exec.Command("losetup", "--find", "--show", "--read-only", filepath.Join(st, "trails/0/os/root.squashfs")).CombinedOutput()
	require.NoError(t, err, "%s", out)

	g, err := (&cgroup.Manager{Parent: parent}).Create("os")
	require.NoError(t, err)
	t.Cleanup(func() { // a failed test leaks nothing either
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		g.Kill(ctx)
		g.Remove()
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
		}
		Cleanup(ctx, Options{Storage: st, MountDirs: []string{filepath.Join(dir, "volumes"), filepath.Join(dir, "run")}})
	})
	for i := 0; i < 2; i++ {
		// It forks once it is in the group (the line on stdin).
		c := exec.Command("/bin/sh", "-c", "read go; sleep 1000 & exec sleep 1001")
		c.Dir = vol + "/root.squashfs" // the processes keep the volume busy
		in, err := c.StdinPipe()
		require.NoError(t, err)
		require.NoError(t, c.Start())
		cmds = append(cmds, c)
		require.NoError(t, g.Add(c.Process.Pid))
		_, err = in.Write([]byte("go\n"))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { p, _ := g.Procs(); return len(p) == 4 }, 5*time.Second, 10*time.Millisecond,
		"the forked sleeps are in the group")

	sock, err := unixsock.Listen(filepath.Join(dir, "run", "pv-ctrl"), 0o600)
	require.NoError(t, err)
	require.NoError(t, sock.Close())
	return cmds
}

// TestCleanupRealLeftovers: Cleanup on a real killed engine's leftovers
// kills its processes, removes its cgroup, unmounts its mounts, detaches
// its loop devices and removes the stale socket; the leak check is clean
// and a second Cleanup finds nothing.
func TestCleanupRealLeftovers(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "mksquashfs", "make deps installs squashfs-tools")
	testenv.RequireCommand(t, "losetup", "util-linux")
	testenv.RequireLoopDevices(t)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	parent := uniqueParent(t)
	cmds := leftovers(t, dir, parent)
	before := testenv.TakeResources(t, dir, parent)
	require.Len(t, before.Mounts, 5)
	require.Len(t, before.Loops, 2)
	require.NotEmpty(t, before.Cgroups)

	o := Options{Storage: filepath.Join(dir, "storage"), CgroupParent: parent,
		MountDirs: []string{filepath.Join(dir, "volumes"), filepath.Join(dir, "run"), filepath.Join(dir, "state")},
		Sockets:   []string{filepath.Join(dir, "run", "pv-ctrl"), filepath.Join(dir, "run", "pv-ctrl-log")}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := Cleanup(ctx, o)
	require.NoError(t, err, "%s", r)
	t.Log(r)
	assert.Len(t, r.Processes, 4)
	for _, p := range r.Processes {
		assert.Equal(t, "os", p.Group)
		assert.Contains(t, []string{"sh", "sleep"}, p.Comm) // sh until it has exec'd sleep
	}
	assert.Equal(t, []string{"os"}, r.Groups)
	assert.Len(t, r.Mounts, 5)
	assert.Len(t, r.Loops, 1, "the autoclear device went with its mount; the other was detached")
	assert.Equal(t, []string{filepath.Join(dir, "run", "pv-ctrl")}, r.Sockets)

	for _, c := range cmds {
		err := c.Wait()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
		assert.Equal(t, unix.SIGKILL, ee.Sys().(syscall.WaitStatus).Signal())
	}
	require.Eventually(t, func() bool {
		return len(testenv.TakeResources(t, dir, parent).Loops) == 0
	}, 5*time.Second, 20*time.Millisecond, "loop devices detached")
	assert.Equal(t, testenv.Resources{}, testenv.TakeResources(t, dir, parent), "nothing left")
	assert.NoFileExists(t, filepath.Join(dir, "run", "pv-ctrl"))

	r, err = Cleanup(ctx, o)
	require.NoError(t, err)
	assert.True(t, r.Empty(), "%s", r)
}
