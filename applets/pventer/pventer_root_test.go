package pventer

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/cgroup"
	"pantavisor/lib/container"
	"pantavisor/lib/enter"
	"pantavisor/lib/launch"
	"pantavisor/lib/testenv"
)

// mainEnv makes the test binary play pventer (see TestMain): Main moves
// its whole process into the container's cgroups, so it cannot run inside
// the test process.
const mainEnv = "PVENTER_TEST_MAIN"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == container.StageArg {
		os.Exit(container.StageMain())
	}
	if os.Getenv(mainEnv) == "1" {
		os.Exit(Main(append([]string{"pventer"}, os.Args[1:]...), os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const boxConf = `lxc.rootfs.path = overlayfs:/volumes/box/root.squashfs:/volumes/box/lxc-overlay/upper
lxc.init.cmd = /bin/sh /app/init
lxc.environment = PATH=/bin
lxc.environment = PVENTER_TEST=from-init
lxc.uts.name = boxhost
lxc.mount.auto = proc sys:rw cgroup
`

// box is a running busybox container "box" in a test-owned cgroup parent.
type box struct {
	in     *launch.Instance
	parent string
	init   int
}

// startBox starts box: its _config layer adds an init that says "up" and
// sleeps, an /etc/profile that says so and an /etc/passwd whose root
// lives in /app/home and whose app user in /tmp.
func startBox(t *testing.T) *box {
	t.Helper()
	testenv.RequireLoopDevices(t)
	dir := t.TempDir()
	parent := "pventer-" + filepath.Base(filepath.Dir(dir))
	cfg := filepath.Join(dir, "configs", "box")
	require.NoError(t, os.MkdirAll(filepath.Join(cfg, "app", "home"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(cfg, "etc"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(cfg, "app", "init"),
		[]byte("echo up\nwhile true; do sleep 1; done\n"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(cfg, "etc", "profile"), []byte("echo profile read\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(cfg, "etc", "passwd"),
		[]byte("root:x:0:0:root:/app/home:/bin/sh\napp:x:1000:1000::/tmp:/bin/nosuchshell\nghost:x:1001:1001::/nonexistent:/bin/sh\n"), 0o644))
	conf := filepath.Join(dir, "box.conf")
	require.NoError(t, os.WriteFile(conf, []byte(boxConf), 0o644))
	img := filepath.Join(dir, "root.squashfs")
	data, err := os.ReadFile(testenv.BusyboxRootfs(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(img, data, 0o644))

	var console testenv.Buffer
	in, err := launch.StartLoose(conf, img, "box", launch.Options{
		Host:     container.Host{VolumesDir: dir + "/volumes", RunDir: dir + "/run", ConfigsDir: dir + "/configs"},
		StateDir: dir + "/state", CgroupParent: parent, Console: &console,
		Stage: container.Options{Exe: os.Args[0], Args: []string{os.Args[0], container.StageArg}},
		Exe:   "/bin/busybox",
	})
	require.NoError(t, err)
	b := &box{in: in, parent: parent, init: in.Pid()}
	t.Cleanup(func() {
		b.stop(t)
		testenv.RemoveCgroupParent(parent)
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(console.String(), "up") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	require.Contains(t, console.String(), "up", "the container's init runs")
	return b
}

func (b *box) stop(t *testing.T) {
	if b.in == nil {
		return
	}
	_, err := b.in.Stop(200 * time.Millisecond)
	assert.NoError(t, err)
	assert.NoError(t, b.in.Close())
	b.in = nil
}

// pventer returns the test binary as pventer with args, in b's cgroup
// parent, with env added to ours.
func (b *box) pventer(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{"--cgroup-parent", b.parent}, args...)...)
	cmd.Env = append(append(os.Environ(), mainEnv+"=1", "TERM=pventer-term", "PVUSER="), env...)
	return cmd
}

// enter runs pventer -c box with args; it returns stdout+stderr and the
// exit code.
func (b *box) enter(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	out, err := b.pventer(env, append([]string{"-c", "box"}, args...)...).CombinedOutput()
	if err != nil {
		_, ok := err.(*exec.ExitError)
		require.True(t, ok, "%v", err)
	}
	return string(out), exitOf(err)
}

func exitOf(err error) int {
	if e, ok := err.(*exec.ExitError); ok {
		return e.ExitCode()
	}
	return 0
}

func nsOf(t *testing.T, pid string, names ...string) string {
	t.Helper()
	s, err := nsLinks(pid, names...)
	require.NoError(t, err)
	return s
}

// nsLinks reads /proc/<pid>/ns/<name> for each name, one a line.
func nsLinks(pid string, names ...string) (string, error) {
	var lines []string
	for _, n := range names {
		l, err := os.Readlink("/proc/" + pid + "/ns/" + n)
		if err != nil {
			return "", err
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n") + "\n", nil
}

// TestEnterContainer: what runs through pventer sees the container's
// namespaces, rootfs, hostname, cgroups and environment, and its exit
// code comes back.
func TestEnterContainer(t *testing.T) {
	b := startBox(t)
	init := strconv.Itoa(b.init)
	kinds := []string{"cgroup", "ipc", "mnt", "net", "pid", "uts"}
	require.NotEqual(t, nsOf(t, "self", kinds...), nsOf(t, init, kinds...), "the box has namespaces of its own")

	out, code := b.enter(t, nil, "for n in cgroup ipc mnt net pid uts; do readlink /proc/self/ns/$n; done")
	assert.Equal(t, 0, code, out)
	assert.Equal(t, nsOf(t, init, kinds...), out, "every namespace is the init's")

	out, code = b.enter(t, nil, "hostname")
	assert.Equal(t, "boxhost\n", out, "uts")
	assert.Equal(t, 0, code)

	out, _ = b.enter(t, nil, "ls", "/")
	assert.Regexp(t, `(?m)^app$`, out, "mnt: the container's rootfs")
	assert.NotRegexp(t, `(?m)^usr$`, out, "not the host's")
	out, _ = b.enter(t, nil, "echo $$; cat /proc/1/cmdline")
	first, cmdline, _ := strings.Cut(out, "\n")
	assert.Equal(t, "/bin/sh\x00/app/init\x00", cmdline, "pid 1 is the container's init")
	pid, err := strconv.Atoi(first)
	require.NoError(t, err, out)
	assert.Less(t, pid, 1000, "the shell's pid is one of the container's pid namespace")

	out, _ = b.enter(t, nil, "cat", "/proc/self/cgroup", ";", "echo", "--", ";", "cat", "/proc/1/cgroup")
	self, initCg, ok := strings.Cut(out, "--\n")
	require.True(t, ok, out)
	assert.Equal(t, initCg, self, "cgroup: the same cgroups as the init (seen through its cgroup namespace)")
	assert.NotContains(t, self, "..", "not outside the container's cgroup namespace root")

	out, _ = b.enter(t, nil, "echo $PVENTER_TEST $USER $HOME $SHELL $TERM $PATH; pwd")
	assert.Equal(t, "from-init root /app/home /bin/sh pventer-term /bin\n/app/home\n", out,
		"the init's environment, root's passwd entry, our TERM, the home as working directory")
	for _, tc := range []struct{ user, want, why string }{
		{"app", "app /tmp /bin/sh\n/tmp\n", "PVUSER picks the entry; a missing shell falls back to /bin/sh"},
		{"ghost", "ghost / /bin/sh\n/\n", "a missing home falls back to /"},
		{"nobody", "nobody / /bin/sh\n/\n", "a user not in passwd: / and /bin/sh"},
	} {
		out, _ = b.enter(t, []string{"PVUSER=" + tc.user}, "echo $USER $HOME $SHELL; pwd")
		assert.Equal(t, tc.want, out, tc.why)
	}

	out, code = b.enter(t, nil, "echo", "a b", "|", "wc", "-w")
	assert.Equal(t, "2\n", strings.TrimLeft(out, " "), "the words are joined and run by the shell (-c)")
	assert.Equal(t, 0, code)
	_, code = b.enter(t, nil, "exit 7")
	assert.Equal(t, 7, code, "the exit code propagates")
	_, code = b.enter(t, nil, "kill -KILL $$")
	assert.Equal(t, 128+9, code, "killed by a signal: 128+N")

	cmd := b.pventer(nil, "-c", "box")
	cmd.Stdin = strings.NewReader("echo $0; exit 3\n")
	o, err := cmd.CombinedOutput()
	assert.Equal(t, 3, exitOf(err), "%s", o)
	assert.Equal(t, "profile read\n/bin/sh\n", string(o), "no command: a login shell (it reads /etc/profile), here on stdin")
}

// TestCgroupIdentity: while pventer runs, it and its command are in the
// container's cgroups, named after it as pv-ctrl and the log server see it.
func TestCgroupIdentity(t *testing.T) {
	b := startBox(t)
	cmd := b.pventer(nil, "-c", "box", "echo ready; read x; echo bye")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(stdout)
	require.True(t, sc.Scan())
	require.Equal(t, "ready", sc.Text())

	m := cgroup.Manager{Parent: b.parent}
	name, err := m.NameOf(cmd.Process.Pid)
	require.NoError(t, err)
	assert.Equal(t, "box", name, "pventer itself joined the container's cgroups")
	g, err := m.Group("box")
	require.NoError(t, err)
	procs, err := g.Procs()
	require.NoError(t, err)
	assert.Contains(t, procs, cmd.Process.Pid)
	assert.GreaterOrEqual(t, len(procs), 3, "init, pventer and the shell: %v", procs)
	for _, p := range procs {
		n, err := m.NameOf(p)
		if err == nil {
			assert.Equal(t, "box", n, "pid %d", p)
		}
	}
	init, err := enter.FindInit("/proc", b.parent, "box")
	require.NoError(t, err)
	assert.Equal(t, b.init, init, "the init is still found while a pventer is in the group")

	stdin.Close()
	require.True(t, sc.Scan())
	assert.Equal(t, "bye", sc.Text())
	require.NoError(t, cmd.Wait())
}

// TestSignalForwarded: SIGTERM to pventer reaches the command.
func TestSignalForwarded(t *testing.T) {
	b := startBox(t)
	cmd := b.pventer(nil, "-c", "box", "echo ready; exec sleep 30")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(stdout)
	require.True(t, sc.Scan())
	require.Equal(t, "ready", sc.Text())
	time.Sleep(100 * time.Millisecond) // let the shell exec sleep
	start := time.Now()
	require.NoError(t, cmd.Process.Signal(unix.SIGTERM))
	err = cmd.Wait()
	assert.Equal(t, 128+int(unix.SIGTERM), exitOf(err), "the command died of the forwarded SIGTERM")
	assert.Less(t, time.Since(start), 10*time.Second)
}

// TestStoppedContainer: a container that has stopped is not found.
func TestStoppedContainer(t *testing.T) {
	b := startBox(t)
	b.stop(t)
	out, code := b.enter(t, nil, "true")
	assert.Equal(t, 1, code)
	assert.Equal(t, "pventer: no container found: box\n", out)
	o, err := b.pventer(nil, "-c", "nobox", "true").CombinedOutput()
	assert.Equal(t, 1, exitOf(err))
	assert.Equal(t, "pventer: no container found: nobox\n", string(o))
}

// TestHost: -c _pv_ and -c / run on the host, in pid 1's namespaces and
// with cgroups untouched.
func TestHost(t *testing.T) {
	testenv.RequireRoot(t)
	for _, name := range []string{"_pv_", "/"} {
		o := enter.Options{Container: name, Parent: "pantavisor", User: "root", Proc: "/proc", Self: os.Getpid(),
			HostPid: 1, Args: []string{"for n in mnt net uts; do readlink /proc/self/ns/$n; done; cat /proc/self/cgroup"}}
		if _, err := os.Readlink("/proc/1/ns/mnt"); err != nil {
			// A sandbox whose pid 1 holds capabilities we lack (ptrace
			// access is denied): the test process stands in for pid 1.
			t.Logf("LOUD: /proc/1/ns not readable here (%v): the host is pid %d for this test", err, os.Getpid())
			o.HostPid = os.Getpid()
		}
		hostNS := nsOf(t, strconv.Itoa(o.HostPid), "mnt", "net", "uts")
		var out, errb testenv.Buffer
		o.Stdin, o.Stdout, o.Stderr = strings.NewReader(""), &out, &errb
		code, err := enter.Run(o)
		require.NoError(t, err, name)
		assert.Equal(t, 0, code, errb.String())
		own, err := os.ReadFile("/proc/self/cgroup")
		require.NoError(t, err)
		assert.Equal(t, hostNS+string(own), out.String(), "%s: host namespaces, our cgroups", name)
	}
}

// TestStartInsideLeavesCallerOnHost: StartInside runs in-process; the
// command is in the container while no thread of ours stays there (the
// locked thread ends with its goroutine).
func TestStartInsideLeavesCallerOnHost(t *testing.T) {
	b := startBox(t)
	kinds := []string{"cgroup", "ipc", "mnt", "net", "pid", "uts"}
	host := nsOf(t, "self", kinds...)
	var out testenv.Buffer
	cmd, err := enter.StartInside("/proc", b.init, func() (*exec.Cmd, error) {
		return &exec.Cmd{Path: "/bin/hostname", Args: []string{"hostname"}, Stdout: &out}, nil
	})
	require.NoError(t, err)
	require.NoError(t, cmd.Wait())
	assert.Equal(t, "boxhost\n", out.String())

	seen := make(chan string)
	for range 64 {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			s, err := nsLinks("thread-self", kinds...)
			if err != nil {
				s = err.Error()
			}
			seen <- s
		}()
	}
	for range 64 {
		assert.Equal(t, host, <-seen, "every thread of ours is still on the host")
	}
	wd, err := os.Getwd()
	require.NoError(t, err)
	assert.DirExists(t, wd, "our working directory is untouched")
}
