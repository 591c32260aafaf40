package pantavisor

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/progress"
	"pantavisor/lib/rawjson"
)

// stateAndObjects builds a state JSON (keys sorted) and its objects by sha.
func stateAndObjects(objects map[string][]byte, inline map[string]string) (string, map[string][]byte) {
	keys := make([]string, 0, len(objects)+len(inline))
	for k := range objects {
		keys = append(keys, k)
	}
	for k := range inline {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	byHash := map[string][]byte{}
	var b strings.Builder
	b.WriteString(`{"#spec":"pantavisor-service-system@1"`)
	for _, k := range keys {
		if raw, ok := inline[k]; ok {
			b.WriteString("," + rawjson.Quote(k) + ":" + raw)
			continue
		}
		h := sha256.Sum256(objects[k])
		sum := hex.EncodeToString(h[:])
		byHash[sum] = objects[k]
		b.WriteString("," + rawjson.Quote(k) + `:"` + sum + `"`)
	}
	return b.String() + "}", byHash
}

// writePackage writes a pvr package (json + objects/<sha>) of the
// fixture revision with confs overriding LXC configs.
func (d *ctrlDevice) writePackage(t *testing.T, confs, extras map[string]string) string {
	objects, inline := d.files(confs, extras)
	js, byHash := stateAndObjects(objects, inline)
	path := filepath.Join(t.TempDir(), "step.tgz")
	f, err := os.Create(path)
	require.NoError(t, err)
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	add := func(name string, data []byte) {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}))
		_, err := tw.Write(data)
		require.NoError(t, err)
	}
	add("json", []byte(js))
	shas := make([]string, 0, len(byHash))
	for sha := range byHash {
		shas = append(shas, sha)
	}
	sort.Strings(shas)
	for _, sha := range shas {
		add("objects/"+sha, byHash[sha])
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
	return path
}

// conf is the fixture LXC config of container c with its CTRLTEST value
// and init command replaced.
func conf(c, value, init string) string {
	s := strings.ReplaceAll(ctrlConf, "%s", c)
	s = strings.Replace(s, "CTRLTEST=from-"+c, "CTRLTEST="+value, 1)
	if init != "" {
		s = strings.Replace(s, `lxc.init.cmd = /bin/sh -c "trap 'exit 0' TERM; while :; do sleep 1; done"`, "lxc.init.cmd = "+init, 1)
	}
	return s
}

// progressOf reads a revision's progress from the storage.
func (d *ctrlDevice) progressOf(t *testing.T, rev string) progress.Progress {
	data, err := os.ReadFile(filepath.Join(d.dir, "storage", "trails", rev, ".pv", "progress"))
	if err != nil {
		return progress.Progress{}
	}
	p, err := progress.Parse(data)
	require.NoError(t, err)
	return p
}

// waitStatus waits for rev's progress status and returns the progress.
func (d *ctrlDevice) waitStatus(t *testing.T, rev, status string, within time.Duration) progress.Progress {
	t.Helper()
	var p progress.Progress
	require.Eventually(t, func() bool {
		p = d.progressOf(t, rev)
		return p.Status == status
	}, within, 50*time.Millisecond, "%s reaches %s (last %+v)", rev, status, p)
	return p
}

// install uploads a package as step rev and runs it with op (run, run-commit).
func (d *ctrlDevice) install(t *testing.T, pkg, rev string) {
	t.Helper()
	out, stderr, code := d.pvctl(t, "steps", "install", pkg, rev)
	require.Equal(t, 0, code, "%s%s", out, stderr)
	assert.Equal(t, progress.New, d.progressOf(t, rev).Status)
}

// pidOf returns the init pid of container c (its cgroup's first process).
func (d *ctrlDevice) pidOf(t *testing.T, c string) string {
	for _, p := range []string{"pids/" + d.parent + "/" + c, "unified/" + d.parent + "/" + c, d.parent + "/" + c} {
		if b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", p, "cgroup.procs")); err == nil && len(b) > 0 {
			pids := strings.Fields(string(b))
			// The init is the process whose parent is outside the
			// cgroup, not the lowest pid: pids wrap (pid_max 32768), so
			// a child the init starts later can have a lower one.
			for _, pid := range pids {
				if !slices.Contains(pids, parentPid(pid)) {
					return pid
				}
			}
			return pids[0]
		}
	}
	return ""
}

// parentPid reads the parent's pid from /proc/<pid>/stat ("" if gone).
func parentPid(pid string) string {
	b, _ := os.ReadFile("/proc/" + pid + "/stat")
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(string(b[i+1:])) // state, ppid, ...
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

// readyDevice starts the fixture with a 1 s commit delay and signals mgmt
// ready, so the whole revision is READY.
func readyDevice(t *testing.T) *ctrlDevice {
	d := newCtrlDevice(t)
	d.env = []string{"PV_UPDATER_COMMIT_DELAY=1"}
	d.start(t)
	d.waitStarted(t)
	d.signalReady(t)
	return d
}

func (d *ctrlDevice) signalReady(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		_, _, code := d.inside(t, "mgmt", "pv-ctl signal ready")
		return code == 0
	}, 30*time.Second, 200*time.Millisecond, "mgmt signals ready")
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(filepath.Join(d.dir, "run", "device-meta", "pantavisor.status"))
		return string(b) == "READY"
	}, 30*time.Second, 50*time.Millisecond, "the revision is READY")
}

// waitExit waits for the appengine to end and returns its exit code.
func (d *ctrlDevice) waitExit(t *testing.T) int {
	t.Helper()
	done := make(chan struct{})
	go func() { d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the appengine did not end")
	}
	return d.cmd.ProcessState.ExitCode()
}

// TestLocalUpdateWithoutReboot: an app-only change (restart_policy
// container) uploaded with pv-ctl swaps app alone: mgmt keeps its pid, the
// progress goes to UPDATED, and a second LOCAL_RUN meanwhile gets 503.
func TestLocalUpdateWithoutReboot(t *testing.T) {
	d := readyDevice(t)
	mgmt, app := d.pidOf(t, "mgmt"), d.pidOf(t, "app")
	require.NotEmpty(t, mgmt)
	require.NotEmpty(t, app)
	d.install(t, d.writePackage(t, map[string]string{"app": conf("app", "from-app-v2", "")}, nil), "locals/app2")

	_, stderr, code := d.pvctl(t, "cmd", "run", "locals/app2")
	require.Equal(t, 0, code, stderr)
	require.Eventually(t, func() bool {
		s := d.progressOf(t, "locals/app2").Status
		return s == progress.InProgress || s == progress.Testing
	}, 30*time.Second, 20*time.Millisecond)
	_, stderr, code = d.pvctl(t, "cmd", "run", "locals/app2")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, stderr, "Cannot do this operation while update is ongoing", "503 while updating")

	p := d.waitStatus(t, "locals/app2", progress.Updated, 60*time.Second)
	assert.Equal(t, progress.MsgUpdated, p.Msg)
	assert.Equal(t, 1, p.Retries)
	assert.Equal(t, mgmt, d.pidOf(t, "mgmt"), "mgmt ran on untouched")
	assert.NotEqual(t, app, d.pidOf(t, "app"), "app was replaced")
	out, _, _ := d.inside(t, "app", "echo $CTRLTEST")
	assert.Equal(t, "from-app-v2\n", out)
	cur, _ := os.Readlink(filepath.Join(d.dir, "storage", "trails", "current"))
	assert.Equal(t, "locals/app2", cur)
	logsFollowSwap(t, d, "locals/app2")
}

// logsFollowSwap: after a swap to rev without a reboot, the log server
// writes to rev's tree and logs/current names a directory that exists
// (issue 13, item 4: the logs stayed in logs/0 and logs/current pointed
// at a directory never created).
func logsFollowSwap(t *testing.T, d *ctrlDevice, rev string) {
	t.Helper()
	logs := filepath.Join(d.dir, "storage", "logs")
	fi, err := os.Stat(filepath.Join(logs, "current"))
	require.NoError(t, err, "logs/current resolves")
	assert.True(t, fi.IsDir())
	target, _ := os.Readlink(filepath.Join(logs, "current"))
	assert.Equal(t, rev, target)
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(filepath.Join(logs, rev, "pantavisor", "pantavisor.log"))
		return strings.Contains(string(b), "UPDATED")
	}, 10*time.Second, 50*time.Millisecond, "pantavisor's lines after the swap go to logs/%s", rev)
}

// TestLocalUpdateReboot: a change of the system container mgmt needs a
// reboot: the appengine exits 3, its restart (the bootloader's try)
// runs the new revision once, TESTING then DONE commit it.
func TestLocalUpdateReboot(t *testing.T) {
	d := readyDevice(t)
	d.install(t, d.writePackage(t, map[string]string{"mgmt": conf("mgmt", "from-mgmt-v2", "")}, nil), "locals/sys2")
	_, stderr, code := d.pvctl(t, "cmd", "run", "locals/sys2")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, ExitReboot, d.waitExit(t))
	p := d.progressOf(t, "locals/sys2")
	assert.Equal(t, progress.InProgress, p.Status)
	assert.Equal(t, progress.MsgRebooting, p.Msg)

	d.start(t)
	require.Eventually(t, func() bool { return d.progressOf(t, "locals/sys2").Msg == progress.MsgTrying },
		30*time.Second, 20*time.Millisecond, "INPROGRESS %q", progress.MsgTrying)
	d.waitStarted(t)
	out, _, _ := d.inside(t, "mgmt", "echo $CTRLTEST")
	assert.Equal(t, "from-mgmt-v2\n", out, "the try runs the new revision")
	d.signalReady(t)
	p = d.waitStatus(t, "locals/sys2", progress.Done, 60*time.Second)
	assert.Equal(t, progress.MsgDone, p.Msg)
	env, err := os.ReadFile(filepath.Join(d.dir, "storage", "boot", "direct.env"))
	require.NoError(t, err)
	assert.Contains(t, string(env), "pv_rev=locals/sys2\n")
	assert.NotContains(t, string(env), "pv_try=")
	assert.FileExists(t, filepath.Join(d.dir, "storage", "trails", "locals", "sys2", ".pv", "done"))
}

// TestLocalUpdateFails: an app whose init exits at once fails its test:
// ERROR, the appengine asks for a rollback (exit 4), and the restart runs
// the old revision.
func TestLocalUpdateFails(t *testing.T) {
	d := readyDevice(t)
	d.install(t, d.writePackage(t, map[string]string{"app": conf("app", "from-app-bad", "/bin/false")},
		map[string]string{"app": `,"auto_recovery":{"policy":"no"}`}), "locals/bad")
	_, stderr, code := d.pvctl(t, "cmd", "run", "locals/bad")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, ExitRollback, d.waitExit(t))
	p := d.progressOf(t, "locals/bad")
	assert.Equal(t, progress.Error, p.Status)
	assert.Equal(t, progress.MsgContainerStart, p.Msg)
	assert.NotEmpty(t, p.Logs, "the failed revision's log lines")

	d.start(t)
	d.waitStarted(t)
	d.signalReady(t)
	cur, _ := os.Readlink(filepath.Join(d.dir, "storage", "trails", "current"))
	assert.Equal(t, "0", cur, "the old revision runs again")
	out, _, _ := d.inside(t, "app", "echo $CTRLTEST")
	assert.Equal(t, "from-app\n", out)
	assert.Equal(t, progress.Error, d.progressOf(t, "locals/bad").Status)
}

// TestLocalUpdateBadInputs: a state that does not parse (written behind
// the socket's back: PUT /steps refuses it) is WONTGO, a missing object is
// ERROR; the running revision goes on untouched in both cases.
func TestLocalUpdateBadInputs(t *testing.T) {
	d := readyDevice(t)
	mgmt := d.pidOf(t, "mgmt")
	bad := filepath.Join(d.dir, "storage", "trails", "locals", "broken")
	require.NoError(t, os.MkdirAll(filepath.Join(bad, ".pvr"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(bad, ".pvr", "json"), []byte(`{"#spec":"pantavisor-service-system@1",`), 0o644))
	_, stderr, code := d.pvctl(t, "cmd", "run", "locals/broken")
	require.Equal(t, 0, code, stderr)
	p := d.waitStatus(t, "locals/broken", progress.WontGo, 30*time.Second)
	assert.Equal(t, progress.MsgBadState, p.Msg)

	objects, inline := d.files(map[string]string{"app": conf("app", "never-uploaded", "")}, nil)
	js, _ := stateAndObjects(objects, inline)
	stateFile := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, os.WriteFile(stateFile, []byte(js), 0o644))
	out, stderr, code := d.pvctl(t, "steps", "put", stateFile, "locals/missing")
	require.Equal(t, 0, code, "%s%s", out, stderr)
	require.Eventually(t, func() bool {
		_, _, code = d.pvctl(t, "cmd", "run", "locals/missing")
		return code == 0
	}, 10*time.Second, 100*time.Millisecond, "the command slot frees")
	p = d.waitStatus(t, "locals/missing", progress.Error, 30*time.Second)
	assert.Equal(t, progress.MsgBadObjects, p.Msg)

	assert.Equal(t, mgmt, d.pidOf(t, "mgmt"))
	cur, _ := os.Readlink(filepath.Join(d.dir, "storage", "trails", "current"))
	assert.Equal(t, "0", cur)
	assert.Nil(t, d.cmd.ProcessState, "still running")
}
