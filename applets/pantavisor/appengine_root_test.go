package pantavisor

import (
	"bytes"
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

// TestAppengineRunsRevision: the engine as a normal process runs the
// real pvwificonnect revision, publishes device-meta, and on SIGTERM
// stops it with exit 0 and nothing leaked.
func TestAppengineRunsRevision(t *testing.T) {
	testenv.RequireLoopDevices(t)
	bin := testenv.BuildDevice(t, filepath.Join(t.TempDir(), "pantavisor"), "")

	dir := t.TempDir()
	parent := "pvappengine-" + filepath.Base(filepath.Dir(dir))
	out, err := exec.Command(bin, "install", "--storage", dir+"/storage", resources+"pvwificonnect.tgz").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NoError(t, os.MkdirAll(dir+"/volumes/os/docker--pvrun-dbus", 0o755))
	before := testenv.TakeResources(t, dir, parent)

	// pvwificonnect is signed with upstream's development certificate,
	// which this host does not trust (and which expired in 2024): in the
	// default mode (lenient) the revision is refused before anything runs.
	args := []string{"--appengine", "--storage", dir + "/storage", "--rundir", dir + "/run",
		"--volumes", dir + "/volumes", "--configs", dir + "/configs", "--statedir", dir + "/state", "--cgroup-parent", parent}
	refused := exec.Command(bin, args...)
	out, _ = refused.CombinedOutput()
	assert.Equal(t, ExitFailed, refused.ProcessState.ExitCode(), "%s", out)
	assert.Contains(t, string(out), "pantavisor: secureboot: _sigs/pvwificonnect.json: signer not trusted")
	assert.Contains(t, string(out), "pantavisor: poweroff: Signature validation failed: revision 0:")
	assert.NotContains(t, string(out), "container pvwificonnect started")
	assert.Equal(t, before, testenv.TakeResources(t, dir, parent), "nothing was set up")

	var stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "PV_SECUREBOOT_MODE=disabled")
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	status := filepath.Join(dir, "run", "device-meta", "pantavisor.status")
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(status)
		return string(b) == "READY"
	}, 30*time.Second, 50*time.Millisecond, "device-meta pantavisor.status becomes READY")
	rev, err := os.ReadFile(filepath.Join(dir, "run", "device-meta", "pantavisor.revision"))
	require.NoError(t, err)
	assert.Equal(t, "0", string(rev))
	cur, err := os.Readlink(filepath.Join(dir, "storage", "trails", "current"))
	require.NoError(t, err)
	assert.Equal(t, "0", cur)

	require.NoError(t, cmd.Process.Signal(unix.SIGTERM))
	require.NoError(t, cmd.Wait(), stderr.String())
	log := stderr.String()
	assert.Contains(t, log, "container pvwificonnect started (group platform)")
	assert.Contains(t, log, "pantavisor: stopped")
	after := testenv.TakeResources(t, dir, parent)
	assert.Equal(t, before, after, "nothing leaked")
	console, err := os.ReadFile(filepath.Join(dir, "storage", "logs", "0", "pvwificonnect", "lxc", "console.log"))
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(console), "Waiting for system dbus"), "the app ran: %s", console)
	pvlog, err := os.ReadFile(filepath.Join(dir, "storage", "logs", "0", "pantavisor", "pantavisor.log"))
	require.NoError(t, err, "the log server wrote pantavisor's own log")
	assert.Contains(t, string(pvlog), "container pvwificonnect started (group platform)")
	_, err = os.Lstat(filepath.Join(dir, "run", "pv-ctrl-log"))
	assert.True(t, os.IsNotExist(err), "the log socket is removed at stop")

	// watchdog_pinger is an ARM binary: it cannot start here, it has no
	// auto_recovery, so the engine asks for a reboot: exit 3.
	dir2 := t.TempDir()
	out, err = exec.Command(bin, "install", "--storage", dir2+"/storage", resources+"watchdog_pinger.tar").CombinedOutput()
	require.NoError(t, err, "%s", out)
	reboot := exec.Command(bin, "--appengine", "--storage", dir2+"/storage", "--rundir", dir2+"/run",
		"--volumes", dir2+"/volumes", "--configs", dir2+"/configs", "--statedir", dir2+"/state", "--cgroup-parent", parent)
	out, _ = reboot.CombinedOutput()
	assert.Equal(t, ExitReboot, reboot.ProcessState.ExitCode(), "%s", out)
	assert.Contains(t, string(out), "exec format error")
	assert.Contains(t, string(out), "reboot: container watchdog_pinger could not be started and has no auto_recovery policy")
	assert.Equal(t, testenv.Resources{}, testenv.TakeResources(t, dir2, parent), "nothing leaked")
	for _, d := range []string{"pids", "memory"} {
		os.Remove(filepath.Join("/sys/fs/cgroup", d, parent))
	}
}

// TestAppengineExitCodes: a revision that does not exist fails (exit 1).
func TestAppengineExitCodes(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := Main([]string{"pantavisor", "--appengine", "--storage", dir + "/storage", "--rev", "7", "--rundir", dir + "/run"},
		strings.NewReader(""), &out, &errb)
	assert.Equal(t, ExitFailed, code)
	assert.Contains(t, errb.String(), "no such revision: 7")
}
