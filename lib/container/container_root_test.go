package container

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/loop"
	"pantavisor/lib/mount"
	"pantavisor/lib/testenv"
)

// TestMain lets the test binary play the in-namespace stage, as the
// pv-container applet does in the real binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == StageArg {
		os.Exit(StageMain())
	}
	os.Exit(m.Run())
}

// busyboxImage builds the busybox squashfs rootfs of lib/testenv.
func busyboxImage(t *testing.T) string { return testenv.BusyboxRootfs(t) }

// mountImage loop-mounts img read-only (as the volume code does on the host).
func mountImage(t *testing.T, img string) string {
	t.Helper()
	dev, err := loop.Attacher{}.Attach(img, true)
	require.NoError(t, err)
	defer dev.Close()
	dir := t.TempDir()
	require.NoError(t, mount.Mount(dev.Path, dir, "squashfs", unix.MS_RDONLY, ""))
	t.Cleanup(func() { mount.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// testSpec is a container over the busybox image with an overlay in a
// temp dir and /proc mounted.
func testSpec(t *testing.T, lower string, args ...string) *Spec {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"rootfs", "upper", "work"} {
		require.NoError(t, os.Mkdir(filepath.Join(dir, d), 0o755))
	}
	return &Spec{
		Name: "c1", Root: filepath.Join(dir, "rootfs"), Lower: []string{lower},
		Upper: filepath.Join(dir, "upper"), Work: filepath.Join(dir, "work"),
		Mounts:  []Mount{{Source: "proc", Target: "proc", FSType: "proc", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, Create: "dir"}},
		Autodev: true, Hostname: "c1", Env: []string{"PATH=/bin"}, Args: args,
	}
}

func testOptions(console *bytes.Buffer) Options {
	return Options{Exe: os.Args[0], Args: []string{os.Args[0], StageArg}, Cloneflags: DefaultCloneflags, Console: console}
}

func run(t *testing.T, spec *Spec) (int, string) {
	t.Helper()
	var console bytes.Buffer
	p, err := Start(spec, testOptions(&console))
	require.NoError(t, err)
	code := p.Wait()
	return code, strings.ReplaceAll(console.String(), "\r\n", "\n")
}

func TestContainerBasics(t *testing.T) {
	lower := mountImage(t, busyboxImage(t))
	spec := testSpec(t, lower, "/bin/sh", "-c",
		`hostname; echo pid=$$; grep CapBnd /proc/self/status; ls -1 /dev; readlink /proc/1/exe; `+
			`touch /newfile && echo wrote; exit 7`)
	spec.Caps = []int{unix.CAP_CHOWN, unix.CAP_NET_ADMIN}
	code, out := run(t, spec)
	assert.Equal(t, 7, code, out)
	assert.Contains(t, out, "c1\n", "hostname is the container name")
	assert.Contains(t, out, "pid=1\n", "init is pid 1 of its pid namespace")
	assert.Contains(t, out, "CapBnd:\t0000000000001001\n", "only CAP_CHOWN (0) and CAP_NET_ADMIN (12) remain")
	for _, n := range []string{"null", "zero", "full", "random", "urandom", "tty", "pts", "ptmx", "shm", "fd", "console"} {
		assert.Regexp(t, "(?m)^"+n+"$", out, "/dev/%s", n)
	}
	assert.Contains(t, out, "wrote", "the overlay is writable")
	assert.FileExists(t, filepath.Join(filepath.Dir(spec.Upper), "upper", "newfile"), "writes land in the upper dir")
	assert.NoFileExists(t, filepath.Join(lower, "newfile"))
}

func TestContainerMountEntries(t *testing.T) {
	lower := mountImage(t, busyboxImage(t))
	shared := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(shared, "data"), []byte("from host\n"), 0o644))
	spec := testSpec(t, lower, "/bin/sh", "-c", `cat /mnt/vol/data; cat /tmp/data; ls /etc/x; cat /proc/mounts | grep -c ' /mnt/vol '`)
	spec.Mounts = append(spec.Mounts,
		Mount{Source: shared, Target: "mnt/vol", Flags: unix.MS_BIND | unix.MS_RDONLY, Create: "dir"},
		Mount{Source: shared, Target: "app/up", Flags: unix.MS_BIND, Create: "dir"},    // ../tmp, inside root
		Mount{Source: shared, Target: "app/abs/x", Flags: unix.MS_BIND, Create: "dir"}, // /etc/x in the container
		Mount{Source: "/nonexistent", Target: "opt", Flags: unix.MS_BIND, Create: "dir", Optional: true},
	)
	code, out := run(t, spec)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "from host\nfrom host\ndata\n1\n")
	_, err := os.Stat(filepath.Join("/etc", "x", "data"))
	assert.True(t, os.IsNotExist(err), "an absolute symlink resolves inside the container, not on the host")
}

func TestContainerEscapesRefused(t *testing.T) {
	lower := mountImage(t, busyboxImage(t))
	for _, target := range []string{"../../etc", "app/../../x", "app/up/../../.."} {
		spec := testSpec(t, lower, "/bin/true")
		spec.Mounts = append(spec.Mounts, Mount{Source: t.TempDir(), Target: target, Flags: unix.MS_BIND, Create: "dir"})
		_, err := Start(spec, testOptions(&bytes.Buffer{}))
		require.Error(t, err, target)
		assert.ErrorContains(t, err, "path escapes the container root", target)
	}
}

func TestContainerInitErrors(t *testing.T) {
	lower := mountImage(t, busyboxImage(t))
	_, err := Start(testSpec(t, lower, "/app/missing"), testOptions(&bytes.Buffer{}))
	assert.ErrorContains(t, err, "c1: init not found in the container rootfs: /app/missing")
	_, err = Start(testSpec(t, lower, "nosuchcmd"), testOptions(&bytes.Buffer{}))
	assert.ErrorContains(t, err, "init not found in the container rootfs: nosuchcmd (PATH /bin)")
	spec := testSpec(t, lower, "/bin/true")
	spec.Mounts = append(spec.Mounts, Mount{Source: "/nonexistent", Target: "mnt", Flags: unix.MS_BIND, Create: "dir"})
	_, err = Start(spec, testOptions(&bytes.Buffer{}))
	assert.ErrorContains(t, err, `c1: mounting: mount /nonexistent on `)
	assert.ErrorContains(t, err, "no such file or directory")
}

func TestContainerStop(t *testing.T) {
	lower := mountImage(t, busyboxImage(t))
	var console bytes.Buffer
	// sh as pid 1 ignores SIGTERM without a trap: the stop must escalate.
	p, err := Start(testSpec(t, lower, "/bin/sh", "-c", "echo up; while true; do sleep 1; done"), testOptions(&console))
	require.NoError(t, err)
	start := time.Now()
	code, err := p.Stop(unix.SIGTERM, 500*time.Millisecond)
	require.NoError(t, err)
	assert.Equal(t, 128+int(unix.SIGKILL), code)
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Equal(t, code, p.Wait(), "Wait after Stop returns the same code")
}

// TestDevNodes: the autodev nodes are character devices with the host
// node's numbers and mode (mknod, or a bind where mknod is refused), and
// they work.
func TestDevNodes(t *testing.T) {
	lower := mountImage(t, busyboxImage(t))
	script := `for n in null zero full random urandom tty; do stat -c '%n %F %t:%T %a' /dev/$n; done; ` +
		`echo x > /dev/null && echo null-writes; head -c 3 /dev/zero | wc -c`
	code, out := run(t, testSpec(t, lower, "/bin/sh", "-c", script))
	require.Equal(t, 0, code, out)
	for _, n := range devNodes {
		var st unix.Stat_t
		require.NoError(t, unix.Stat("/dev/"+n, &st))
		want := fmt.Sprintf("/dev/%s character special file %x:%x %o\n", n, unix.Major(st.Rdev), unix.Minor(st.Rdev), st.Mode&0o7777)
		assert.Contains(t, out, want)
	}
	assert.Contains(t, out, "null-writes\n")
	assert.Contains(t, out, "3\n", "/dev/zero reads zeros")
}

// TestSpawnedStageSeesLaterMounts: a stage spawned before the container's
// volumes are mounted sees them, because the stage creates the mount
// namespace when it is released, not at the clone. The volume is mounted
// under a private tmpfs: no propagation could carry it into a namespace
// made earlier. A Stage starts once.
func TestSpawnedStageSeesLaterMounts(t *testing.T) {
	img := busyboxImage(t)
	priv := t.TempDir()
	require.NoError(t, mount.Mount("pvtest", priv, "tmpfs", 0, "mode=755"))
	t.Cleanup(func() { mount.Unmount(priv, unix.MNT_DETACH) })
	require.NoError(t, mount.Mount("", priv, "", unix.MS_PRIVATE, ""))

	var console bytes.Buffer
	opts := testOptions(&console)
	s, err := Spawn(opts)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Ready(), "the stage is up and waits for its spec")

	lower := filepath.Join(priv, "lower")
	require.NoError(t, os.Mkdir(lower, 0o755))
	dev, err := loop.Attacher{}.Attach(img, true)
	require.NoError(t, err)
	defer dev.Close()
	require.NoError(t, mount.Mount(dev.Path, lower, "squashfs", unix.MS_RDONLY, ""))
	t.Cleanup(func() { mount.Unmount(lower, unix.MNT_DETACH) })

	spec := testSpec(t, lower, "/bin/sh", "-c", "echo up from the later mount")
	p, err := s.Start(spec, opts)
	require.NoError(t, err, console.String())
	assert.Equal(t, 0, p.Wait(), console.String())
	assert.Contains(t, console.String(), "up from the later mount")

	_, err = s.Start(spec, opts)
	assert.ErrorIs(t, err, errStageUsed)
}

// TestStageClose: a stage closed unused, up or not yet, is gone (killed
// and reaped), and cannot be started afterwards.
func TestStageClose(t *testing.T) {
	testenv.RequireRoot(t)
	for _, waitUp := range []bool{true, false} {
		opts := testOptions(&bytes.Buffer{})
		s, err := Spawn(opts)
		require.NoError(t, err)
		if waitUp {
			require.NoError(t, s.Ready())
		}
		pid := s.p.Pid
		s.Close()
		assert.ErrorIs(t, unix.Kill(pid, 0), unix.ESRCH, "the stage process is reaped (up: %v)", waitUp)
		s.Close() // twice is harmless
		_, err = s.Start(testSpec(t, t.TempDir(), "/bin/true"), opts)
		assert.ErrorIs(t, err, errStageUsed)
	}
}

// TestStageGone: a stage that waits is not gone; killed, it is, and
// Close still collects it.
func TestStageGone(t *testing.T) {
	testenv.RequireRoot(t)
	s, err := Spawn(testOptions(&bytes.Buffer{}))
	require.NoError(t, err)
	require.NoError(t, s.Ready())
	assert.False(t, s.Gone())
	require.NoError(t, unix.Kill(s.Pid(), unix.SIGKILL))
	require.Eventually(t, s.Gone, 5*time.Second, time.Millisecond, "a killed stage is gone")
	pid := s.Pid()
	s.Close()
	assert.ErrorIs(t, unix.Kill(pid, 0), unix.ESRCH, "reaped by Close")
}
