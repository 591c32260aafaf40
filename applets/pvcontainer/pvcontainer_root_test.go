package pvcontainer

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/testenv"
)

const wifiPackage = "../../testdata/conformance/pvtx/resources/pvwificonnect.tgz"

// dbusConfig is a system bus that lets anyone in: enough for the app to
// see the bus.
const dbusConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=SOCKET</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`

// TestPvwificonnect runs the real pvr-built x86-64 app: installed with
// pantavisor install, started with pv-container start. Its rootfs, mount
// entries (the os container's D-Bus volume), capabilities and init must
// all work for its log to go from waiting for the system bus to waiting
// for NetworkManager. Then SIGTERM stops it with nothing leaked.
func TestPvwificonnect(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "dbus-daemon", "make deps installs dbus-daemon")
	testenv.RequireLoopDevices(t)
	bin := testenv.BuildDevice(t, filepath.Join(t.TempDir(), "pantavisor"), "")
	dir := t.TempDir()
	parent := "pvtest-" + filepath.Base(filepath.Dir(dir)) // unique per test and run
	before := testenv.TakeResources(t, dir, parent)

	out, err := exec.Command(bin, "install", "--storage", dir+"/storage", wifiPackage).CombinedOutput()
	require.NoError(t, err, "%s", out)

	busDir := filepath.Join(dir, "volumes", "os", "docker--pvrun-dbus")
	require.NoError(t, os.MkdirAll(busDir, 0o755))
	conf := filepath.Join(dir, "bus.conf")
	require.NoError(t, os.WriteFile(conf, []byte(strings.Replace(dbusConfig, "SOCKET", busDir+"/system_bus_socket", 1)), 0o644))

	cmd := exec.Command(bin, "pv-container", "start", "--storage", dir+"/storage", "--rev", "0",
		"--volumes", dir+"/volumes", "--rundir", dir+"/run", "--configs", dir+"/configs",
		"--statedir", dir+"/state", "--cgroup-parent", parent, "--stop-timeout", "3s", "pvwificonnect")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expect(t, lines, "Waiting for system dbus to be ready", 30*time.Second)

	bus := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--nopidfile")
	bus.Stderr = os.Stderr
	require.NoError(t, bus.Start())
	t.Cleanup(func() { bus.Process.Kill(); bus.Wait() })
	expect(t, lines, "waiting for NetworkManager dbus to be ready", 60*time.Second)

	require.NoError(t, cmd.Process.Signal(unix.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("pv-container did not stop within 30 s of SIGTERM")
	}
	code := cmd.ProcessState.ExitCode()
	t.Logf("pvwificonnect exited with %d after SIGTERM", code)
	assert.NotEqual(t, ExitCannotStart, code)

	after := testenv.WaitResources(t, before, dir, parent) // loop autoclear is asynchronous
	assert.Equal(t, before.Mounts, after.Mounts, "no mount leaked")
	assert.Equal(t, before.Loops, after.Loops, "no loop device leaked")
	assert.Empty(t, after.Cgroups, "no container cgroup left")
	for _, d := range []string{"/sys/fs/cgroup/pids/" + parent, "/sys/fs/cgroup/memory/" + parent} {
		os.Remove(d)
	}
	log, err := os.ReadFile(filepath.Join(dir, "storage", "logs", "0", "pvwificonnect", "lxc", "console.log"))
	require.NoError(t, err)
	assert.Contains(t, string(log), "waiting for NetworkManager dbus to be ready", "the console log file has it too")
	if l := strings.Split(strings.TrimSpace(string(log)), "\n"); len(l) > 0 {
		t.Logf("last console line: %s", l[len(l)-1])
	}
}

// expect reads lines until one contains want.
func expect(t *testing.T, lines <-chan string, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before %q", want)
			}
			if strings.Contains(l, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no %q within %s", want, timeout)
		}
	}
}
