package pantavisor

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/cgroup"
	"pantavisor/lib/instance"
	"pantavisor/lib/testenv"
)

// restartFixture is an installed pvwificonnect storage, the engine's
// dirs under dir and a cgroup parent of its own.
type restartFixture struct {
	bin, dir, parent string
}

func newRestartFixture(t *testing.T) *restartFixture {
	testenv.RequireLoopDevices(t)
	f := &restartFixture{bin: testenv.BuildDevice(t, filepath.Join(t.TempDir(), "pantavisor"), "")}
	var err error
	f.dir, err = filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	f.parent = "pvrestart-" + filepath.Base(filepath.Dir(f.dir))
	f.install(t, "storage")
	// Whatever the test leaves (it fails on an engine without the lock
	// and the cleanup), instance.Cleanup takes it away: no test leaks.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		instance.Cleanup(ctx, instance.Options{Storage: filepath.Join(f.dir, "storage"), CgroupParent: f.parent,
			MountDirs: []string{filepath.Join(f.dir, "volumes"), filepath.Join(f.dir, "run"), filepath.Join(f.dir, "state")}})
		for _, s := range []string{"-b", "-c"} {
			instance.Cleanup(ctx, instance.Options{Storage: filepath.Join(f.dir, "storage2"),
				MountDirs: []string{f.dir + "/volumes" + s, f.dir + "/run" + s, f.dir + "/state" + s}})
		}
		if l, err := (&cgroup.Manager{}).Layout(); err == nil {
			for _, h := range l.V1 {
				os.Remove(filepath.Join(h.Path, f.parent))
			}
			if l.Unified != "" {
				os.Remove(filepath.Join(l.Unified, f.parent))
			}
		}
	})
	return f
}

func (f *restartFixture) install(t *testing.T, storage string) {
	out, err := exec.Command(f.bin, "install", "--storage", filepath.Join(f.dir, storage), resources+"pvwificonnect.tgz").CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// engine starts an appengine on storage with the fixture's dirs (suffix
// picks another run, volumes, configs and state dir) and parent.
func (f *restartFixture) engine(t *testing.T, storage, suffix string, stderr io.Writer) *exec.Cmd {
	d := f.dir + "/"
	require.NoError(t, os.MkdirAll(d+"volumes"+suffix+"/os/docker--pvrun-dbus", 0o755))
	cmd := exec.Command(f.bin, "--appengine", "--storage", d+storage, "--rundir", d+"run"+suffix,
		"--volumes", d+"volumes"+suffix, "--configs", d+"configs"+suffix, "--statedir", d+"state"+suffix,
		"--cgroup-parent", f.parent)
	cmd.Stderr = stderr
	// pvwificonnect is signed with upstream's development certificate,
	// expired in 2024: every mode but disabled refuses it, as upstream
	// does (TestAppengineRunsRevision shows it). These tests are about
	// the engine's instances.
	cmd.Env = append(os.Environ(), "PV_SECUREBOOT_MODE=disabled")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

// waitReady waits for the engine's log to say READY.
func waitReady(t *testing.T, log *testenv.Buffer) {
	require.Eventually(t, func() bool { return strings.Contains(log.String(), " status READY") },
		60*time.Second, 50*time.Millisecond, "the engine becomes READY: %s", log)
}

// inits returns, per container cgroup under parent, the pids of its
// processes whose parent is outside the group: the containers' inits.
func inits(t *testing.T, parent string) map[string][]int {
	m := cgroup.Manager{Parent: parent}
	l, err := m.Layout()
	require.NoError(t, err)
	base := l.Unified
	if base == "" {
		base = l.V1[0].Path
	}
	ents, err := os.ReadDir(filepath.Join(base, parent))
	require.NoError(t, err)
	out := map[string][]int{}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		g, err := m.Group(e.Name())
		require.NoError(t, err)
		pids, err := g.Procs()
		require.NoError(t, err)
		in := map[int]bool{}
		for _, p := range pids {
			in[p] = true
		}
		for _, p := range pids {
			if pp := ppid(p); !in[pp] {
				out[e.Name()] = append(out[e.Name()], p)
			}
		}
	}
	return out
}

// ppid reads the parent pid of pid from /proc/<pid>/stat; -1 if gone.
func ppid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	n, _ := strconv.Atoi(f[1])
	return n
}

// TestAppengineRestartAfterKill (issue 13 item 1): an appengine killed
// by SIGKILL at READY leaves its containers running; the restarted engine
// cleans them up before it starts anything, so it runs exactly one
// instance of each container (one init per container cgroup, a child of
// the new engine) with the mounts and loop devices of one, and after a
// clean stop nothing is leaked.
func TestAppengineRestartAfterKill(t *testing.T) {
	f := newRestartFixture(t)
	before := testenv.TakeResources(t, f.dir, f.parent)

	var log1 testenv.Buffer
	e1 := f.engine(t, "storage", "", &log1)
	waitReady(t, &log1)
	first := testenv.TakeResources(t, f.dir, f.parent)
	ones := inits(t, f.parent)
	require.Len(t, ones["pvwificonnect"], 1, "one init at the first READY: %v", ones)
	require.NoError(t, e1.Process.Signal(unix.SIGKILL))
	e1.Wait()

	var log2 testenv.Buffer
	e2 := f.engine(t, "storage", "", &log2)
	waitReady(t, &log2)
	got := inits(t, f.parent)
	assert.Len(t, got, len(ones), "the same container cgroups: %v", got)
	for name, pids := range got {
		if assert.Len(t, pids, 1, "exactly one init in cgroup %s: %v", name, pids) {
			assert.Equal(t, e2.Process.Pid, ppid(pids[0]), "the init of %s is the new engine's child", name)
		}
	}
	again := testenv.TakeResources(t, f.dir, f.parent)
	assert.Equal(t, first.Mounts, again.Mounts, "the mounts of one instance")
	assert.Equal(t, first.Loops, again.Loops, "the loop devices of one instance")
	assert.Contains(t, log2.String(), "left by a previous instance", "the cleanup is logged")

	require.NoError(t, e2.Process.Signal(unix.SIGTERM))
	require.NoError(t, e2.Wait(), log2.String())
	assert.Equal(t, before, testenv.TakeResources(t, f.dir, f.parent), "nothing leaked after the stop")
}

// TestAppengineRefusesSecondEngine (issue 13 item 2): while an engine
// runs, a second one on the same storage, or on another storage with the
// same cgroup parent, exits 1 at once with a clear error and leaves the
// first one's containers alone.
func TestAppengineRefusesSecondEngine(t *testing.T) {
	f := newRestartFixture(t)
	f.install(t, "storage2")
	before := testenv.TakeResources(t, f.dir, f.parent)
	var log1 testenv.Buffer
	e1 := f.engine(t, "storage", "", &log1)
	waitReady(t, &log1)
	ones := inits(t, f.parent)

	for _, c := range []struct{ storage, suffix, what string }{
		{"storage", "-b", "storage " + f.dir + "/storage: locked by another engine (pid " + strconv.Itoa(e1.Process.Pid) + ")"},
		{"storage2", "-c", "cgroup parent"},
	} {
		var log testenv.Buffer
		e := f.engine(t, c.storage, c.suffix, &log)
		done := make(chan struct{})
		go func() { e.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			e.Process.Signal(unix.SIGTERM)
			<-done
			t.Errorf("a second engine on %s ran: %s", c.storage, log.String())
			continue
		}
		assert.Equal(t, ExitFailed, e.ProcessState.ExitCode(), "%s", log.String())
		assert.Contains(t, log.String(), c.what)
		assert.Contains(t, log.String(), "locked by another engine")
	}
	assert.Equal(t, ones, inits(t, f.parent), "the first engine's containers are untouched")
	require.NoError(t, e1.Process.Signal(unix.SIGTERM))
	require.NoError(t, e1.Wait(), log1.String())
	assert.Equal(t, ExitStopped, e1.ProcessState.ExitCode(), "the first engine stops normally")
	assert.Equal(t, before, testenv.TakeResources(t, f.dir, f.parent), "nothing leaked")
}
