package cgroup

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/testenv"
)

// realLayout needs root and the host's cgroups, with the v1 controllers
// the tests use when v1 is wanted.
func realLayout(t *testing.T, v1 ...string) Layout {
	t.Helper()
	testenv.RequireRoot(t)
	l, err := Detect("/sys/fs/cgroup", "/proc/self/mountinfo")
	testenv.Require(t, err == nil, fmt.Sprintf("needs cgroups mounted under /sys/fs/cgroup (%v)", err))
	for _, c := range v1 {
		_, ok := l.Find(c)
		testenv.Require(t, ok, "needs a cgroup v1 "+c+" hierarchy under /sys/fs/cgroup")
	}
	return l
}

// testManager returns a Manager with a parent unique to this test, and
// cleans up after it: every group under the parent is killed and removed,
// then the parent itself, in every hierarchy, even if the test failed.
func testManager(t *testing.T, m *Manager) *Manager {
	t.Helper()
	m.Parent = fmt.Sprintf("pvtest-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "_"))
	l, err := m.Layout()
	require.NoError(t, err)
	require.Empty(t, ourDirs(l, m.Parent), "leftover from an earlier run")
	t.Cleanup(func() {
		for _, d := range ourDirs(l, m.Parent) {
			if filepath.Base(filepath.Dir(d)) != m.Parent {
				continue
			}
			if g, err := m.Group(filepath.Base(d)); err == nil {
				assert.NoError(t, g.Kill(context.Background()))
				assert.NoError(t, g.Remove())
			}
		}
		for _, d := range ourDirs(l, m.Parent) {
			assert.NoError(t, rmdir(d))
		}
		assert.Empty(t, ourDirs(l, m.Parent), "cleanup left directories")
	})
	return m
}

// ourDirs lists the test parent and everything below it, in every
// hierarchy, deepest first.
func ourDirs(l Layout, parent string) []string {
	var roots []string
	for _, h := range l.V1 {
		roots = append(roots, h.Path)
	}
	if l.Unified != "" {
		roots = append(roots, l.Unified)
	}
	var out []string
	for _, r := range roots {
		_ = postOrder(filepath.Join(r, parent), func(d string) error {
			if _, err := os.Stat(d); err == nil {
				out = append(out, d)
			}
			return nil
		})
	}
	return out
}

// start runs a command, and kills and reaps it at cleanup.
func start(t *testing.T, cmd *exec.Cmd) *exec.Cmd {
	t.Helper()
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// filteredMountinfo writes the host mountinfo keeping the lines keep
// accepts: a view of the host as a Legacy or Unified system.
func filteredMountinfo(t *testing.T, keep func(line string) bool) string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if keep(sc.Text()) {
			out.WriteString(sc.Text() + "\n")
		}
	}
	p := filepath.Join(t.TempDir(), "mountinfo")
	require.NoError(t, os.WriteFile(p, out.Bytes(), 0o644))
	return p
}

func procCgroupLine(t *testing.T, pid int, controller string) string {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/cgroup", pid))
	require.NoError(t, err)
	defer f.Close()
	ms, err := ParseProcCgroup(f)
	require.NoError(t, err)
	for _, m := range ms {
		if (controller == "" && m.ID == 0) || (controller != "" && strings.Contains(","+strings.Join(m.Controllers, ",")+",", ","+controller+",")) {
			return m.Path
		}
	}
	return ""
}

func TestRootStatModeMatchesDetect(t *testing.T) {
	l := realLayout(t)
	mode, err := StatMode("/sys/fs/cgroup")
	require.NoError(t, err)
	assert.Equal(t, l.Mode, mode)
	t.Logf("host cgroup mode: %s, %d v1 hierarchies, cgroup2 at %q", l.Mode, len(l.V1), l.Unified)
	_, err = StatMode("/proc")
	assert.ErrorIs(t, err, ErrNoCgroup)
}

// TestRootLifecycle runs a group through its life on the host as it is
// (hybrid on CI): create, limits, membership, identity, pids limit
// enforced, kill, remove.
func TestRootLifecycle(t *testing.T) {
	l := realLayout(t, "memory", "pids")
	m := testManager(t, &Manager{})
	g, err := m.Create("web")
	require.NoError(t, err)
	require.Len(t, g.Dirs(), len(l.V1)+map[bool]int{true: 1}[l.Unified != ""])
	for _, d := range g.Dirs() {
		assert.DirExists(t, d)
	}

	require.NoError(t, g.Apply([]Setting{
		{Key: "memory.limit_in_bytes", Value: "64M"},
		{Key: "pids.max", Value: "3"},
	}))
	mem, _ := g.Dir("memory")
	pids, _ := g.Dir("pids")
	assert.Equal(t, "67108864\n", readTestFile(t, filepath.Join(mem, "memory.limit_in_bytes")))
	assert.Equal(t, "3\n", readTestFile(t, filepath.Join(pids, "pids.max")))
	err = g.Apply([]Setting{{Key: "pids.max", Value: "lots"}})
	assert.ErrorContains(t, err, "lxc.cgroup.pids.max", "the kernel refuses, the key is named")
	err = g.Apply([]Setting{{Key: "memory.nosuchfile", Value: "1"}})
	assert.ErrorIs(t, err, ErrUnknownKey)

	// Membership and identity. Add succeeds in the new v1 cpuset group only
	// because Create copied cpuset.cpus/mems into it (else ENOSPC).
	sleep := start(t, exec.Command("sleep", "100"))
	require.NoError(t, g.Add(sleep.Process.Pid))
	name, err := m.NameOf(sleep.Process.Pid)
	require.NoError(t, err)
	assert.Equal(t, "web", name)
	self, err := m.NameOf(os.Getpid())
	require.NoError(t, err)
	assert.Equal(t, "", self, "the test process is outside every group")
	for _, c := range []string{"memory", "pids", "freezer"} {
		assert.Equal(t, "/"+m.Parent+"/web", procCgroupLine(t, sleep.Process.Pid, c), c)
	}
	if l.Unified != "" {
		assert.Equal(t, "/"+m.Parent+"/web", procCgroupLine(t, sleep.Process.Pid, ""))
	}
	procs, err := g.Procs()
	require.NoError(t, err)
	assert.Equal(t, []int{sleep.Process.Pid}, procs)

	// pids.max=3: sleep + sh + one child; the other forks fail.
	sh := exec.Command("/bin/sh", "-c", "read x; for i in 1 2 3 4 5; do sleep 30 & done; wait")
	stdin, err := sh.StdinPipe()
	require.NoError(t, err)
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr")) // a file: no copying goroutine
	require.NoError(t, err)
	defer stderr.Close()
	sh.Stderr = stderr
	start(t, sh)
	require.NoError(t, g.Add(sh.Process.Pid))
	_, err = stdin.Write([]byte("go\n"))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ev, err := os.ReadFile(filepath.Join(pids, "pids.events"))
		return err == nil && strings.TrimSpace(string(ev)) != "max 0"
	}, 10*time.Second, 10*time.Millisecond, "pids.events never counted a refused fork")
	cur := readTestFile(t, filepath.Join(pids, "pids.current"))
	n, err := strconv.Atoi(strings.TrimSpace(cur))
	require.NoError(t, err)
	assert.LessOrEqual(t, n, 3)
	procs, err = g.Procs()
	require.NoError(t, err)
	assert.LessOrEqual(t, len(procs), 3)
	t.Logf("pids.current %d, sh stderr so far: %q", n, readTestFile(t, stderr.Name()))

	// Kill leaves no process, Remove no directory.
	require.NoError(t, g.Kill(context.Background()))
	procs, err = g.Procs()
	require.NoError(t, err)
	require.Empty(t, procs)
	var exitErr *exec.ExitError
	require.ErrorAs(t, sleep.Wait(), &exitErr)
	assert.Equal(t, syscall.SIGKILL, exitErr.Sys().(syscall.WaitStatus).Signal())
	require.NoError(t, g.Remove())
	for _, d := range g.Dirs() {
		assert.NoDirExists(t, d)
		subs, err := subDirs(filepath.Dir(d))
		require.NoError(t, err)
		assert.Empty(t, subs, "parent %s", filepath.Dir(d))
	}
}

// TestRootCloneIntoCgroup starts a process directly in the cgroup2 group
// (clone3 CLONE_INTO_CGROUP) and completes membership with Add.
func TestRootCloneIntoCgroup(t *testing.T) {
	l := realLayout(t)
	testenv.Require(t, l.Unified != "", "needs a cgroup2 hierarchy under /sys/fs/cgroup")
	m := testManager(t, &Manager{})
	g, err := m.Create("web")
	require.NoError(t, err)
	f, err := g.OpenUnified()
	require.NoError(t, err)
	defer f.Close()
	cmd := exec.Command("sleep", "100")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(f.Fd())}
	start(t, cmd)
	assert.Equal(t, "/"+m.Parent+"/web", procCgroupLine(t, cmd.Process.Pid, ""), "born in the group")
	name, err := m.NameOf(cmd.Process.Pid)
	require.NoError(t, err)
	assert.Equal(t, "web", name)
	require.NoError(t, g.Add(cmd.Process.Pid))
	require.NoError(t, g.Kill(context.Background()))
	_ = cmd.Wait()
	require.NoError(t, g.Remove())
}

// TestRootKillFreezing kills a group whose shell keeps forking short-lived
// children, without cgroup.kill: through the cgroup2 freezer (host view)
// and the v1 freezer (legacy view of the same host).
func TestRootKillFreezing(t *testing.T) {
	l := realLayout(t, "pids", "freezer")
	views := map[string]*Manager{
		"legacy view, v1 freezer": {Mountinfo: filteredMountinfo(t, func(s string) bool { return !strings.Contains(s, " - cgroup2 ") })},
	}
	if l.Unified != "" {
		views["host view, cgroup.freeze"] = &Manager{}
	}
	for name, m := range views {
		t.Run(name, func(t *testing.T) {
			m := testManager(t, m)
			g, err := m.Create("forker")
			require.NoError(t, err)
			require.NoError(t, g.Apply([]Setting{{Key: "pids.max", Value: "1000"}})) // a bound, not reached
			sh := exec.Command("/bin/sh", "-c", "read x; while :; do sleep 0.05 & sleep 0.001; done")
			stdin, err := sh.StdinPipe()
			require.NoError(t, err)
			start(t, sh)
			require.NoError(t, g.Add(sh.Process.Pid))
			_, err = stdin.Write([]byte("go\n"))
			require.NoError(t, err)
			require.Eventually(t, func() bool {
				p, err := g.Procs()
				return err == nil && len(p) > 10
			}, 10*time.Second, 10*time.Millisecond)
			time.Sleep(100 * time.Millisecond) // children now exit while new ones start
			assert.NotEqual(t, "Z", procState(t, sh.Process.Pid), "the forker is alive at kill time")

			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
			defer cancel()
			require.NoError(t, g.killByFreezing(ctx))
			procs, err := g.Procs()
			require.NoError(t, err)
			assert.Empty(t, procs)
			pids, _ := g.Dir("pids")
			assert.Equal(t, "max 0\n", readTestFile(t, filepath.Join(pids, "pids.events")), "no fork was refused: the forker was killed, not starved")
			require.NoError(t, g.Remove())
		})
	}
}

// TestRootLegacyView uses the host's v1 hierarchies only, as on a legacy
// system: the name comes from the v1 lines although /proc/<pid>/cgroup
// shows the process at the cgroup2 root.
func TestRootLegacyView(t *testing.T) {
	realLayout(t, "pids")
	m := testManager(t, &Manager{Mountinfo: filteredMountinfo(t, func(s string) bool { return !strings.Contains(s, " - cgroup2 ") })})
	l, err := m.Layout()
	require.NoError(t, err)
	require.Equal(t, Legacy, l.Mode)
	g, err := m.Create("web")
	require.NoError(t, err)
	assert.Equal(t, "", g.UnifiedDir())
	sleep := start(t, exec.Command("sleep", "100"))
	require.NoError(t, g.Add(sleep.Process.Pid))
	name, err := m.NameOf(sleep.Process.Pid)
	require.NoError(t, err)
	assert.Equal(t, "web", name)
	err = g.Apply([]Setting{{V2: true, Key: "pids.max", Value: "5"}})
	assert.ErrorIs(t, err, ErrNoUnified)
	require.NoError(t, g.Kill(context.Background()))
	require.NoError(t, g.Remove())
}

// TestRootUnifiedView uses the host's cgroup2 mount as a pure cgroup2
// system: controllers are enabled down to the group, v1 keys are
// translated or refused, devices.* are accepted as allow-all, cgroup.kill
// empties the group.
func TestRootUnifiedView(t *testing.T) {
	l := realLayout(t)
	testenv.Require(t, l.Unified != "", "needs a cgroup2 hierarchy under /sys/fs/cgroup")
	rootCtl := filepath.Join(l.Unified, "cgroup.subtree_control")
	before := readTestFile(t, rootCtl)
	t.Cleanup(func() { restoreSubtree(t, rootCtl, before) })
	m := testManager(t, &Manager{
		Root:      l.Unified,
		Mountinfo: filteredMountinfo(t, func(s string) bool { return strings.Contains(s, " - cgroup2 ") }),
	})
	g, err := m.Create("web")
	require.NoError(t, err)
	require.Equal(t, Unified, g.Layout.Mode)
	offered := strings.Fields(readTestFile(t, filepath.Join(l.Unified, "cgroup.controllers")))
	enabled := strings.Fields(readTestFile(t, filepath.Join(g.UnifiedDir(), "cgroup.controllers")))
	assert.ElementsMatch(t, offered, enabled, "every controller the root offers reaches the group")

	require.NoError(t, g.Apply([]Setting{
		{Key: "devices.allow", Value: "a"},
		{Key: "devices.deny", Value: "c 1:3 rwm"},
		{V2: true, Key: "devices.allow", Value: "a"},
		{V2: true, Key: "cgroup.max.descendants", Value: "5"},
	}))
	assert.Equal(t, "5\n", readTestFile(t, filepath.Join(g.UnifiedDir(), "cgroup.max.descendants")))
	err = g.Apply([]Setting{{Key: "memory.memsw.limit_in_bytes", Value: "1"}})
	assert.ErrorIs(t, err, ErrNoV2Equivalent)
	if !slices.Contains(enabled, "memory") {
		err = g.Apply([]Setting{{Key: "memory.limit_in_bytes", Value: "64M"}})
		assert.ErrorIs(t, err, ErrNoController, "translated to memory.max, but memory is bound to v1 here")
	}

	sleep := start(t, exec.Command("sleep", "100"))
	require.NoError(t, g.Add(sleep.Process.Pid))
	name, err := m.NameOf(sleep.Process.Pid)
	require.NoError(t, err)
	assert.Equal(t, "web", name)
	require.NoError(t, g.Kill(context.Background()))
	procs, err := g.Procs()
	require.NoError(t, err)
	assert.Empty(t, procs)
	require.NoError(t, g.Remove())
	assert.NoDirExists(t, g.UnifiedDir())
}

// procState returns the state letter of /proc/<pid>/stat.
func procState(t *testing.T, pid int) string {
	t.Helper()
	s := readTestFile(t, fmt.Sprintf("/proc/%d/stat", pid))
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	require.NotEmpty(t, f)
	return f[0]
}

// restoreSubtree disables the controllers a test enabled in a cgroup2
// root's subtree_control.
func restoreSubtree(t *testing.T, file, before string) {
	now := strings.Fields(readTestFile(t, file))
	for _, c := range now {
		if !slices.Contains(strings.Fields(before), c) {
			err := writeFile(file, "-"+c)
			if errors.Is(err, syscall.EBUSY) {
				t.Logf("controller %s stays enabled in %s (in use by another group): %v", c, file, err)
				continue
			}
			assert.NoError(t, err)
		}
	}
}
