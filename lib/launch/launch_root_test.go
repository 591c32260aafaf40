package launch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/container"
	"pantavisor/lib/multicall"
	"pantavisor/lib/storage"
	"pantavisor/lib/testenv"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == container.StageArg {
		os.Exit(container.StageMain())
	}
	os.Exit(m.Run())
}

// lxcConf is a pvr-style config for container c1 with one volume of each
// persistence class bound in, and cgroup limits.
const lxcConf = `lxc.tty.max = 8
lxc.pty.max = 1024
lxc.cgroup.devices.allow = a
lxc.cgroup.pids.max = 12
lxc.cgroup.memory.limit_in_bytes = 33554432
lxc.rootfs.path = overlayfs:/volumes/c1/root.squashfs:/volumes/c1/lxc-overlay/upper
lxc.init.cmd = /bin/sh /app/script
lxc.environment = PATH=/bin
lxc.namespace.keep = user net ipc
lxc.mount.auto = proc sys:rw cgroup
lxc.mount.entry = /volumes/c1/perm data/perm none bind,rw,create=dir 0 0
lxc.mount.entry = /volumes/c1/rev data/rev none bind,rw,create=dir 0 0
lxc.mount.entry = /volumes/c1/boot data/boot none bind,rw,create=dir 0 0
lxc.cap.keep = chown net_admin
`

type fixture struct {
	dir    string
	st     *storage.Storage
	opts   Options
	parent string
}

// install makes a storage with revision rev holding container c1 whose
// init runs script; roles is the run.json "roles" member ("" = absent).
func install(t *testing.T, f *fixture, rev, script, roles string) {
	t.Helper()
	installConf(t, f, rev, lxcConf, script, roles)
}

// installConf is install with the LXC config conf.
func installConf(t *testing.T, f *fixture, rev, conf, script, roles string) {
	t.Helper()
	img, err := os.ReadFile(testenv.BusyboxRootfs(t))
	require.NoError(t, err)
	// The script rides in as a _config overlay file at /app/script.
	objects := map[string][]byte{"c1/lxc.container.conf": []byte(conf), "c1/root.squashfs": img,
		"_config/c1/app/script": []byte(script)}
	run := `{"name":"c1","type":"lxc","config":"lxc.container.conf","root-volume":"root.squashfs",` +
		`"storage":{"perm":{"persistence":"permanent"},"rev":{"persistence":"revision"},` +
		`"boot":{"persistence":"boot"},"lxc-overlay":{"persistence":"boot"}}` + roles + `}`
	testenv.InstallRevision(t, f.st, rev, objects, map[string]string{"c1/run.json": run})
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	testenv.RequireLoopDevices(t)
	dir := t.TempDir()
	st, err := storage.Open(filepath.Join(dir, "storage"), storage.Options{})
	require.NoError(t, err)
	parent := "pvlaunch-" + filepath.Base(filepath.Dir(dir)) // unique per test and run
	f := &fixture{dir: dir, st: st, parent: parent, opts: Options{
		Host:     container.Host{VolumesDir: dir + "/volumes", RunDir: dir + "/run", ConfigsDir: dir + "/configs"},
		StateDir: dir + "/state", CgroupParent: parent,
		Stage:   container.Options{Exe: os.Args[0], Args: []string{os.Args[0], container.StageArg}},
		Exe:     "/bin/busybox",     // stands for our binary at /pantavisor/bin
		Applets: multicall.Names[:], // as the device gives them (TestRunDirApplets also asks Exe)
	}}
	held := testenv.TakeResources(t, dir, parent).Netns
	t.Cleanup(func() { // after the test's own cleanups (containers stopped, its namespaces closed)
		assert.Equal(t, held, testenv.TakeResources(t, dir, parent).Netns, "no network namespace handle leaked")
	})
	t.Cleanup(func() { testenv.RemoveCgroupParent(parent) })
	return f
}

// console reads a pty console as lines ending in "\n".
func console(b *testenv.Buffer) string { return strings.ReplaceAll(b.String(), "\r\n", "\n") }

func (f *fixture) run(t *testing.T, rev string) (int, string) {
	t.Helper()
	var out testenv.Buffer
	f.opts.Console = &out
	in, err := StartRevision(f.st, rev, "c1", f.opts)
	require.NoError(t, err)
	code := in.Wait()
	require.NoError(t, in.Close())
	return code, console(&out)
}

// TestVolumesLimitsAndLeaks: the container writes to one volume of each
// persistence class, meets its pids and memory limits, and leaves nothing
// behind; a second revision sees the permanent data only.
func TestVolumesLimitsAndLeaks(t *testing.T) {
	f := newFixture(t)
	// The fork bomb comes last: after it, PID 1 (this shell) would have
	// to reap the orphaned sleeps before it could fork again.
	script := `echo perm > /data/perm/f; echo rev > /data/rev/f; echo boot > /data/boot/f
dd if=/dev/zero of=/dev/null bs=48M count=1 2>/dev/null && echo memory-not-limited
cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes
ls -1 /pantavisor
( i=0; while [ $i -lt 30 ]; do sleep 1 & i=$((i+1)); done; wait )
exit 3
`
	install(t, f, "0", script, "")
	before := testenv.TakeResources(t, f.dir, f.parent)
	code, out := f.run(t, "0")
	assert.Equal(t, 3, code, out)
	assert.Contains(t, out, "can't fork", "the pids limit (12) stops the 30 background sleeps")
	assert.NotContains(t, out, "memory-not-limited", "a 48 MB buffer exceeds the 32 MB memory limit: the OOM killer stops dd")
	assert.Contains(t, out, "12\n33554432\n", "the container sees its own cgroup limits")
	assert.Regexp(t, `(?m)^bin$`, out, "mgmt container: the run dir with our binary at /pantavisor")

	after := testenv.TakeResources(t, f.dir, f.parent)
	assert.Equal(t, before.Mounts, after.Mounts, "no mount leaked")
	assert.Equal(t, before.Loops, after.Loops, "no loop device leaked")
	assert.Empty(t, after.Cgroups, "no cgroup left")
	assert.NoDirExists(t, filepath.Join(f.dir, "state", "c1"))
	assert.NoDirExists(t, filepath.Join(f.dir, "configs", "c1"))

	read := func(p string) string { b, _ := os.ReadFile(filepath.Join(f.st.Root, p)); return string(b) }
	assert.Equal(t, "perm\n", read("disks/perm/c1/perm/f"))
	assert.Equal(t, "rev\n", read("disks/rev/0/c1/rev/f"))
	assert.NoFileExists(t, filepath.Join(f.dir, "volumes", "c1", "boot", "f"), "boot volumes are tmpfs")

	install(t, f, "1", `cat /data/perm/f /data/rev/f /data/boot/f 2>&1; true`, "")
	code, out = f.run(t, "1")
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "perm\n", "permanent data survives the revision change")
	assert.Contains(t, out, "can't open '/data/rev/f': No such file", "revision data is per revision")
	assert.Contains(t, out, "can't open '/data/boot/f': No such file", "boot data is per boot")
}

// TestRoles: a container without the mgmt role sees only the control
// sockets, our binary and its own logs under /pantavisor.
func TestRoles(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, os.MkdirAll(filepath.Join(f.dir, "run"), 0o755))
	for _, n := range []string{"pv-ctrl", "pv-ctrl-log", "device-id"} {
		require.NoError(t, os.WriteFile(filepath.Join(f.dir, "run", n), nil, 0o600))
	}
	install(t, f, "0", `ls -1 /pantavisor`, `,"roles":[]`)
	code, out := f.run(t, "0")
	require.Equal(t, 0, code, out)
	assert.Regexp(t, `(?m)^pv-ctrl$`, out)
	assert.Regexp(t, `(?m)^pv-ctrl-log$`, out)
	assert.Regexp(t, `(?m)^logs$`, out)
	assert.NotRegexp(t, `(?m)^device-id$`, out, "non-mgmt containers do not see the run dir")

	install(t, f, "1", `ls -1 /pantavisor`, `,"roles":["mgmt"]`)
	code, out = f.run(t, "1")
	require.Equal(t, 0, code, out)
	assert.Regexp(t, `(?m)^device-id$`, out, "mgmt containers see the whole run dir")
}

// TestDevLog: PV_LOG_AUTO_DEVLOG (Host.DevLog) binds /dev/log into a
// container unless its run.json says "dev-log": false.
func TestDevLog(t *testing.T) {
	f := newFixture(t)
	stand := filepath.Join(f.dir, "devlog") // stands for the log server's socket, leaving the host's /dev/log alone
	require.NoError(t, os.WriteFile(stand, nil, 0o666))
	f.opts.Host.DevLog, f.opts.Host.DevLogSocket = true, stand
	probe := `[ -e /dev/log ] && echo devlog-present || echo devlog-absent`
	install(t, f, "0", probe, "")
	code, out := f.run(t, "0")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "devlog-present", "PV_LOG_AUTO_DEVLOG binds /dev/log")

	install(t, f, "1", probe, `,"dev-log":false`)
	code, out = f.run(t, "1")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "devlog-absent", `run.json "dev-log": false overrides PV_LOG_AUTO_DEVLOG`)

	f.opts.Host.DevLog = false
	install(t, f, "2", probe, `,"dev-log":true`)
	code, out = f.run(t, "2")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "devlog-present", `run.json "dev-log": true binds it without PV_LOG_AUTO_DEVLOG`)
}

func TestStartErrors(t *testing.T) {
	f := newFixture(t)
	install(t, f, "0", `true`, "")
	_, err := StartRevision(f.st, "0", "nope", f.opts)
	assert.ErrorContains(t, err, `revision 0 has no container "nope"`)
	_, err = StartRevision(f.st, "9", "c1", f.opts)
	assert.ErrorIs(t, err, storage.ErrNoRevision)

	before := testenv.TakeResources(t, f.dir, f.parent)
	conf := filepath.Join(t.TempDir(), "bad.conf")
	require.NoError(t, os.WriteFile(conf, []byte("lxc.rootfs.path = /x\nthis line has no equals\n"), 0o644))
	img := testenv.BusyboxRootfs(t)
	_, err = StartLoose(conf, img, "c1", f.opts)
	assert.ErrorContains(t, err, "bad.conf:2")

	good := filepath.Join(t.TempDir(), "good.conf")
	require.NoError(t, os.WriteFile(good, []byte(strings.Replace(lxcConf, "/bin/sh /app/script", "/app/missing", 1)), 0o644))
	_, err = StartLoose(good, img, "c1", f.opts)
	assert.ErrorContains(t, err, "init not found in the container rootfs: /app/missing",
		"the stage's error (container.ErrNoInit) reaches the caller as text")

	zero := filepath.Join(t.TempDir(), "zero.squashfs")
	require.NoError(t, os.WriteFile(zero, make([]byte, 65536), 0o644))
	_, err = StartLoose(good, zero, "c1", f.opts)
	assert.ErrorContains(t, err, "volume zero.squashfs")

	_, err = StartLoose(good, "/nonexistent.squashfs", "c1", f.opts)
	assert.ErrorContains(t, err, "rootfs image")
	_, err = StartLoose(good, img, "../c1", f.opts)
	assert.ErrorContains(t, err, "container name")

	after := testenv.TakeResources(t, f.dir, f.parent)
	assert.Equal(t, before.Mounts, after.Mounts, "failed starts leak no mount")
	assert.Equal(t, before.Loops, after.Loops, "failed starts leak no loop device")
	assert.Empty(t, after.Cgroups)
}

func TestLooseRunAndStop(t *testing.T) {
	f := newFixture(t)
	conf := filepath.Join(t.TempDir(), "c.conf")
	require.NoError(t, os.WriteFile(conf, []byte(strings.Replace(lxcConf, "/bin/sh /app/script",
		"/bin/sh -c \"echo up; ls /data; while true; do sleep 1; done\"", 1)), 0o644))
	var out testenv.Buffer
	f.opts.Console = &out
	img := filepath.Join(f.dir, "root.squashfs") // under f.dir, so the leak check sees its loop device
	data, err := os.ReadFile(testenv.BusyboxRootfs(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(img, data, 0o644))
	in, err := StartLoose(conf, img, "c1", f.opts)
	require.NoError(t, err)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(console(&out), "up") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	running := testenv.TakeResources(t, f.dir, f.parent)
	assert.NotEmpty(t, running.Mounts, "the leak check sees the volumes while the container runs")
	assert.NotEmpty(t, running.Loops, "and its loop device")
	assert.NotEmpty(t, running.Cgroups, "and its cgroup")
	code, err := in.Stop(300 * time.Millisecond)
	require.NoError(t, err)
	require.NoError(t, in.Close())
	after := testenv.TakeResources(t, f.dir, f.parent)
	assert.Empty(t, after.Mounts)
	assert.Empty(t, after.Cgroups)
	assert.Equal(t, 137, code, "sh as pid 1 ignores SIGTERM: killed after the timeout")
	text := console(&out)
	assert.Contains(t, text, "up\n")
	for _, v := range []string{"perm", "rev", "boot"} {
		assert.Contains(t, text, v, "volumes the config expects are made as boot volumes")
	}
}

// TestRunDirApplets: /pantavisor/bin holds the binary and a link per
// applet, from Options.Applets when set (Exe is not run: busybox would
// have listed sh) and from `Exe --list` otherwise. The run dir is
// prepared once, so each case has its own.
func TestRunDirApplets(t *testing.T) {
	for _, tc := range []struct {
		name     string
		applets  []string
		has, not []string
	}{
		{"given", []string{"pv-ctl", "pvtx"}, []string{"pantavisor", "pv-ctl", "pvtx"}, []string{"sh"}},
		{"asked", nil, []string{"pantavisor", "sh", "ls"}, []string{"pv-ctl"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.opts.Applets = tc.applets
			install(t, f, "0", `ls -1 /pantavisor/bin`, "")
			code, out := f.run(t, "0")
			require.Equal(t, 0, code, out)
			for _, n := range tc.has {
				assert.Regexp(t, `(?m)^`+n+`$`, out)
			}
			for _, n := range tc.not {
				assert.NotRegexp(t, `(?m)^`+n+`$`, out)
			}
		})
	}
}
