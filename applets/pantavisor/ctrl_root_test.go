package pantavisor

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/storage"
	"pantavisor/lib/testenv"
)

// ctrlConf is the LXC config of the control test's containers: a busybox
// rootfs whose init loops on sleep.
const ctrlConf = `lxc.tty.max = 4
lxc.pty.max = 64
lxc.cgroup.devices.allow = a
lxc.rootfs.path = overlayfs:/volumes/%s/root.squashfs:/volumes/%s/lxc-overlay/upper
lxc.init.cmd = /bin/sh -c "trap 'exit 0' TERM; while :; do sleep 1; done"
lxc.environment = PATH=/bin:/pantavisor/bin
lxc.environment = CTRLTEST=from-%s
lxc.namespace.keep = user net ipc
lxc.mount.auto = proc sys:rw cgroup
`

// ctrlDevice is a running appengine with two busybox containers: mgmt
// (role mgmt, group platform, goal READY) and app (no role, group app,
// restart_policy container).
type ctrlDevice struct {
	bin, dir, parent, sock string
	cmd                    *exec.Cmd
	stderr                 testenv.Buffer
	env                    []string // extra environment of the appengine
	img                    []byte   // the busybox squashfs of every container
}

// ctrlApps are the containers of the fixture revision: name and run.json
// extras.
var ctrlApps = [...]struct{ name, extra string }{
	{"mgmt", `"group":"platform","roles":["mgmt"],"status_goal":"READY","restart_policy":"system"`},
	{"app", `"group":"app","roles":[],"restart_policy":"container"`},
}

// files are the objects and inline jsons of the fixture revision;
// confs overrides a container's LXC config (by name), extras adds
// run.json members.
func (d *ctrlDevice) files(confs, extras map[string]string) (objects map[string][]byte, inline map[string]string) {
	objects, inline = map[string][]byte{}, map[string]string{}
	for _, c := range ctrlApps {
		conf, ok := confs[c.name]
		if !ok {
			conf = strings.ReplaceAll(ctrlConf, "%s", c.name)
		}
		objects[c.name+"/lxc.container.conf"] = []byte(conf)
		objects[c.name+"/root.squashfs"] = d.img
		inline[c.name+"/run.json"] = `{"name":"` + c.name + `","type":"lxc","config":"lxc.container.conf",` +
			`"root-volume":"root.squashfs","storage":{"lxc-overlay":{"persistence":"boot"}},` + c.extra + extras[c.name] + `}`
	}
	return objects, inline
}

// newCtrlDevice makes a storage holding the fixture revision 0; start runs
// the appengine on it. Cleanup stops it and checks nothing leaked.
func newCtrlDevice(t *testing.T) *ctrlDevice {
	t.Helper()
	testenv.RequireLoopDevices(t)
	d := &ctrlDevice{dir: t.TempDir()}
	d.bin = testenv.BuildDevice(t, filepath.Join(t.TempDir(), "pantavisor"), "")
	d.parent = "pvctrl-" + filepath.Base(filepath.Dir(d.dir))
	d.sock = filepath.Join(d.dir, "run", "pv-ctrl")
	st, err := storage.Open(filepath.Join(d.dir, "storage"), storage.Options{})
	require.NoError(t, err)
	d.img, err = os.ReadFile(testenv.BusyboxRootfs(t))
	require.NoError(t, err)
	objects, inline := d.files(nil, nil)
	testenv.InstallRevision(t, st, "0", objects, inline)
	before := testenv.TakeResources(t, d.dir, d.parent)
	t.Cleanup(func() {
		d.stop(t)
		if t.Failed() {
			t.Logf("appengine log:\n%s", d.stderr.String())
		}
		assert.Equal(t, before, testenv.TakeResources(t, d.dir, d.parent), "nothing leaked")
		testenv.RemoveCgroupParent(d.parent)
	})
	return d
}

// start runs the appengine on the device's storage (again after it
// ended: a reboot as the bootloader would do it).
func (d *ctrlDevice) start(t *testing.T) {
	t.Helper()
	d.cmd = exec.Command(d.bin, "--appengine", "--storage", d.dir+"/storage", "--rundir", d.dir+"/run",
		"--volumes", d.dir+"/volumes", "--configs", d.dir+"/configs", "--statedir", d.dir+"/state",
		"--cgroup-parent", d.parent)
	d.cmd.Env = append(os.Environ(), d.env...)
	d.cmd.Stderr = &d.stderr
	require.NoError(t, d.cmd.Start())
}

// stop ends a running appengine with SIGTERM.
func (d *ctrlDevice) stop(t *testing.T) {
	if d.cmd != nil && d.cmd.ProcessState == nil {
		d.cmd.Process.Signal(unix.SIGTERM)
		d.cmd.Wait()
	}
}

// waitStarted waits until mgmt is STARTED (app waits for mgmt's READY).
func (d *ctrlDevice) waitStarted(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		out, _, code := d.pvctl(t, "ls")
		return code == 0 && strings.Contains(out, `{"name":"mgmt","group":"platform","status":"STARTED"`)
	}, 30*time.Second, 100*time.Millisecond, "mgmt starts (app waits for mgmt's READY goal)")
}

func startCtrlDevice(t *testing.T) *ctrlDevice {
	t.Helper()
	d := newCtrlDevice(t)
	d.start(t)
	d.waitStarted(t)
	return d
}

// run runs the device binary as applet args and returns stdout, stderr and the exit code.
func (d *ctrlDevice) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(d.bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		require.NoError(t, err)
	}
	return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
}

// pvctl runs pv-ctl on the host against the device's socket.
func (d *ctrlDevice) pvctl(t *testing.T, args ...string) (string, string, int) {
	return d.run(t, append([]string{"pv-ctl", "-s", d.sock}, args...)...)
}

// inside runs a shell command in container c through pventer.
func (d *ctrlDevice) inside(t *testing.T, c, command string) (string, string, int) {
	return d.run(t, "pventer", "--cgroup-parent", d.parent, "-c", c, command)
}

// TestCtrlSocket drives the pv-ctrl socket of a running appengine with
// Debian's curl, a raw HTTP/1.0 client that waits for the close (as
// upstream's pvcurl over nc), and pv-ctl, from the host and from inside
// both containers through pventer.
func TestCtrlSocket(t *testing.T) {
	d := startCtrlDevice(t)

	// curl (HTTP/1.1) from the host, a _pv_ caller.
	testenv.RequireCommand(t, "curl", "Debian package curl")
	out, err := exec.Command("curl", "-s", "-w", "\n%{http_code}", "--unix-socket", d.sock, "http://localhost/containers").Output()
	require.NoError(t, err)
	body, code, _ := strings.Cut(string(out), "\n")
	assert.Equal(t, "200", code)
	var list []map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &list), body)
	require.Len(t, list, 2)
	app, mgmt := list[0], list[1] // state order: the keys are sorted
	assert.Equal(t, "mgmt", mgmt["name"])
	assert.Equal(t, "STARTED", mgmt["status"], "mgmt waits for its ready signal")
	assert.Equal(t, "READY", mgmt["status_goal"])
	assert.Equal(t, []any{"mgmt"}, mgmt["roles"])
	assert.Nil(t, mgmt["user_stopped"], "only for restart_policy container")
	assert.Equal(t, "app", app["name"])
	assert.Equal(t, "BLOCKED", app["status"], "app's group waits for platform's goal")
	assert.Equal(t, []any{}, app["roles"])
	assert.Equal(t, "false", app["user_stopped"], "a string, as upstream")

	// HTTP/1.0 through nc -N, as pvcurl sends it: answered, then closed.
	testenv.RequireCommand(t, "nc", "Debian package netcat-openbsd")
	nc := exec.Command("nc", "-N", "-U", d.sock)
	nc.Stdin = strings.NewReader("GET /groups HTTP/1.0\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n")
	raw, err := nc.Output()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(raw), "HTTP/1.0 200 OK\r\n") || strings.HasPrefix(string(raw), "HTTP/1.1 200 OK\r\n"), "%s", raw)
	assert.Contains(t, string(raw), `{"name":"platform","status_goal":"STARTED","restart_policy":"system","status":"STARTED"}`)

	// pv-ctl from the host.
	out2, _, code2 := d.pvctl(t, "groups", "ls")
	assert.Equal(t, 0, code2)
	assert.Contains(t, out2, `"name":"app"`)
	_, stderr, code2 := d.pvctl(t, "containers", "stop", "nope")
	assert.Equal(t, 255, code2)
	assert.Equal(t, `{"Error":"Container not found"}`+"\n", stderr)

	// The mgmt container reaches READY through its own signal.
	lsOut, _, code2 := d.inside(t, "mgmt", "pv-ctl ls")
	assert.Equal(t, 0, code2, "mgmt may list")
	assert.Contains(t, lsOut, `"name":"app"`)
	_, stderr, code2 = d.inside(t, "mgmt", "pv-ctl signal ready")
	assert.Equal(t, 0, code2, stderr)
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(filepath.Join(d.dir, "run", "device-meta", "pantavisor.status"))
		return string(b) == "READY"
	}, 30*time.Second, 50*time.Millisecond, "the revision is READY once mgmt signalled and app started")

	// The non-mgmt container: identified from its cgroup through pventer,
	// every mgmt route is forbidden; the environment is the container's.
	envOut, _, code2 := d.inside(t, "app", "echo $CTRLTEST; hostname")
	assert.Equal(t, 0, code2)
	assert.Contains(t, envOut, "from-app")
	for _, args := range [][]string{{"ls"}, {"groups", "ls"}, {"usrmeta", "ls"}, {"devmeta", "ls"}, {"objects", "ls"},
		{"steps", "ls"}, {"config", "ls"}, {"cmd", "reboot"}, {"storage", "gc"}, {"containers", "stop", "app"}} {
		_, stderr, code := d.inside(t, "app", "pv-ctl "+strings.Join(args, " "))
		assert.Equal(t, 255, code, "pv-ctl %v from app", args)
		assert.Contains(t, stderr, `Request not sent from`, "pv-ctl %v from app is refused", args)
	}
	_, stderr, code2 = d.inside(t, "app", "pv-ctl signal ready")
	assert.Equal(t, 255, code2, "app's goal is STARTED: no ready signal expected")
	assert.Equal(t, `{"Error":"Signal not expected from this platform"}`+"\n", stderr)

	// Stop and start the restart_policy container app.
	_, _, code2 = d.pvctl(t, "containers", "stop", "app")
	assert.Equal(t, 0, code2)
	require.Eventually(t, func() bool {
		out, _, _ := d.pvctl(t, "ls")
		return strings.Contains(out, `"name":"app","group":"app","status":"STOPPED"`) && strings.Contains(out, `"user_stopped":"true"`)
	}, 15*time.Second, 100*time.Millisecond, "app stops on request")
	_, stderr, code2 = d.pvctl(t, "containers", "stop", "mgmt")
	assert.Equal(t, 255, code2)
	assert.Equal(t, `{"Error":"Container has restart_policy 'system' and cannot be controlled via API"}`+"\n", stderr)
	_, _, code2 = d.pvctl(t, "containers", "start", "app")
	assert.Equal(t, 0, code2)
	require.Eventually(t, func() bool {
		out, _, _ := d.pvctl(t, "ls")
		return strings.Contains(out, `"name":"app","group":"app","status":"STARTED"`)
	}, 15*time.Second, 100*time.Millisecond, "app starts again")

	// User metadata set over the socket shows up as files.
	_, _, code2 = d.pvctl(t, "usrmeta", "save", "app.greeting", "hello")
	assert.Equal(t, 0, code2)
	b, err := os.ReadFile(filepath.Join(d.dir, "run", "user-meta", "app.greeting"))
	require.NoError(t, err)
	assert.Equal(t, "hello", string(b))

	// A reboot command ends the appengine with its reboot exit code.
	_, _, code2 = d.pvctl(t, "cmd", "reboot", "test")
	assert.Equal(t, 0, code2)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the appengine did not end after REBOOT_DEVICE")
	}
	assert.Equal(t, ExitReboot, d.cmd.ProcessState.ExitCode())
	assert.Contains(t, d.stderr.String(), "reboot requested: test")
}
