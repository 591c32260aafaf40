package cgroup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestCreateHybrid(t *testing.T) {
	m := fakeManager(t, Hybrid, "lxc")
	g, err := m.Create("web")
	require.NoError(t, err)
	assert.Equal(t, "web", g.Name)
	assert.Equal(t, Hybrid, g.Layout.Mode)
	var want []string
	for _, h := range fakeV1 {
		want = append(want, filepath.Join(m.Root, h[0], "lxc", "web"))
	}
	want = append(want, filepath.Join(m.Root, "unified", "lxc", "web"))
	assert.Equal(t, want, g.Dirs())
	for _, d := range want {
		assert.DirExists(t, d)
	}
	assert.NoFileExists(t, filepath.Join(m.Root, "unified", "cgroup.subtree_control"), "hybrid: cgroup2 only for membership")

	dir, ok := g.Dir("cpuacct")
	assert.True(t, ok)
	assert.Equal(t, filepath.Join(m.Root, "cpu,cpuacct", "lxc", "web"), dir)
	_, ok = g.Dir("blkio")
	assert.False(t, ok)
	assert.Equal(t, filepath.Join(m.Root, "unified", "lxc", "web"), g.UnifiedDir())

	again, err := m.Create("web")
	require.NoError(t, err, "existing directories are reused")
	assert.Equal(t, g.Dirs(), again.Dirs())
}

func TestCreateLegacyNoParent(t *testing.T) {
	m := fakeManager(t, Legacy, "")
	g, err := m.Create("web")
	require.NoError(t, err)
	assert.Len(t, g.Dirs(), len(fakeV1))
	assert.Equal(t, "", g.UnifiedDir())
	assert.DirExists(t, filepath.Join(m.Root, "systemd", "web"))
	_, err = g.OpenUnified()
	assert.ErrorIs(t, err, ErrNoUnified)
}

func TestCreateUnifiedEnablesControllers(t *testing.T) {
	m := fakeManager(t, Unified, "lxc")
	g, err := m.Create("web")
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(m.Root, "lxc", "web")}, g.Dirs())
	for _, d := range []string{m.Root, filepath.Join(m.Root, "lxc")} {
		assert.Equal(t, "+cpuset +cpu +io +memory +pids", readTestFile(t, filepath.Join(d, "cgroup.subtree_control")), d)
	}

	// Already enabled controllers are not written again.
	writeTestFile(t, filepath.Join(m.Root, "cgroup.subtree_control"), "cpuset cpu io memory pids\n")
	writeTestFile(t, filepath.Join(m.Root, "lxc", "cgroup.subtree_control"), "cpu memory\n")
	_, err = m.Create("db")
	require.NoError(t, err)
	assert.Equal(t, "cpuset cpu io memory pids\n", readTestFile(t, filepath.Join(m.Root, "cgroup.subtree_control")))
	assert.Equal(t, "+cpuset +io +pids", readTestFile(t, filepath.Join(m.Root, "lxc", "cgroup.subtree_control")))

	f, err := g.OpenUnified()
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func TestCreateRollsBack(t *testing.T) {
	m := fakeManager(t, Hybrid, "lxc")
	// The memory hierarchy refuses: a file where the parent should be.
	writeTestFile(t, filepath.Join(m.Root, "memory", "lxc"), "")
	_, err := m.Create("web")
	require.Error(t, err)
	assert.ErrorIs(t, err, unix.ENOTDIR)
	assert.Contains(t, err.Error(), "create cgroup web")
	assert.Contains(t, err.Error(), filepath.Join(m.Root, "memory", "lxc", "web"))
	for _, h := range []string{"cpu,cpuacct", "cpuset"} {
		assert.NoDirExists(t, filepath.Join(m.Root, h, "lxc"), "made by the failed call, removed")
	}
	assert.NoDirExists(t, filepath.Join(m.Root, "unified", "lxc"))
}

func TestCreateKeepsExistingParentOnRollback(t *testing.T) {
	m := fakeManager(t, Legacy, "lxc")
	require.NoError(t, os.MkdirAll(filepath.Join(m.Root, "cpuset", "lxc"), 0o755))
	writeTestFile(t, filepath.Join(m.Root, "pids", "lxc"), "")
	_, err := m.Create("web")
	require.Error(t, err)
	assert.DirExists(t, filepath.Join(m.Root, "cpuset", "lxc"), "not made by this call")
	assert.NoDirExists(t, filepath.Join(m.Root, "cpuset", "lxc", "web"))
}

func TestCreateCopiesCpuset(t *testing.T) {
	// The kernel gives a new v1 cpuset directory empty cpuset.cpus and
	// cpuset.mems files: simulate that with a pre-made directory.
	m := fakeManager(t, Legacy, "lxc")
	cs := filepath.Join(m.Root, "cpuset")
	writeTestFile(t, filepath.Join(cs, "cpuset.cpus"), "0-3\n")
	writeTestFile(t, filepath.Join(cs, "cpuset.mems"), "0\n")
	p := filepath.Join(cs, "lxc")
	require.NoError(t, os.Mkdir(p, 0o755))
	writeTestFile(t, filepath.Join(p, "cpuset.cpus"), "\n")
	writeTestFile(t, filepath.Join(p, "cpuset.mems"), "\n")
	require.NoError(t, inheritCpuset(p))
	assert.Equal(t, "0-3", readTestFile(t, filepath.Join(p, "cpuset.cpus")))
	assert.Equal(t, "0", readTestFile(t, filepath.Join(p, "cpuset.mems")))

	writeTestFile(t, filepath.Join(p, "cpuset.cpus"), "1\n")
	require.NoError(t, inheritCpuset(p))
	assert.Equal(t, "1\n", readTestFile(t, filepath.Join(p, "cpuset.cpus")), "a set value is kept")

	require.NoError(t, inheritCpuset(t.TempDir()), "no cpuset files: nothing to do")
}

func TestBadNames(t *testing.T) {
	m := fakeManager(t, Hybrid, "")
	for _, name := range []string{"", ".", "..", "a/b", "../x", "a\x00b", "a\nb", strings.Repeat("x", 256)} {
		_, err := m.Create(name)
		assert.ErrorIs(t, err, ErrBadName, "%q", name)
		_, err = m.Group(name)
		assert.ErrorIs(t, err, ErrBadName, "%q", name)
	}
	for _, parent := range []string{"..", "a/../b", "/abs", "a//b", "a/"} {
		m.Parent = parent
		_, err := m.Create("web")
		assert.ErrorIs(t, err, ErrBadName, "parent %q", parent)
	}
	m.Parent = "pv/lxc"
	g, err := m.Create("web-1.x")
	require.NoError(t, err)
	assert.DirExists(t, filepath.Join(m.Root, "pids", "pv", "lxc", "web-1.x"))
	require.NoError(t, g.Remove())
}

func TestNoCgroup(t *testing.T) {
	mi := filepath.Join(t.TempDir(), "mountinfo")
	writeTestFile(t, mi, unified)
	m := &Manager{Root: "/elsewhere", Mountinfo: mi}
	_, err := m.Create("web")
	assert.ErrorIs(t, err, ErrNoCgroup)
	m.Mountinfo = mi + ".missing"
	_, err = m.Create("web")
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestAddAndProcs(t *testing.T) {
	m := fakeManager(t, Hybrid, "lxc")
	g, err := m.Create("web")
	require.NoError(t, err)
	err = g.Add(123)
	assert.ErrorIs(t, err, os.ErrNotExist, "fake dirs have no cgroup.procs yet")
	assert.ErrorContains(t, err, "add pid 123 to cgroup web")

	for _, d := range g.Dirs() {
		writeTestFile(t, filepath.Join(d, "cgroup.procs"), "")
	}
	require.NoError(t, g.Add(123))
	for _, d := range g.Dirs() {
		assert.Equal(t, "123", readTestFile(t, filepath.Join(d, "cgroup.procs")), d)
	}

	mem, _ := g.Dir("memory")
	writeTestFile(t, filepath.Join(mem, "cgroup.procs"), "7\n123\n")
	sub := filepath.Join(g.UnifiedDir(), "inner")
	require.NoError(t, os.Mkdir(sub, 0o755))
	writeTestFile(t, filepath.Join(sub, "cgroup.procs"), "5\n")
	pids, err := g.Procs()
	require.NoError(t, err)
	assert.Equal(t, []int{5, 7, 123}, pids)

	writeTestFile(t, filepath.Join(sub, "cgroup.procs"), "5\nfive\n")
	_, err = g.Procs()
	assert.ErrorContains(t, err, `bad pid "five"`)
}

func TestProcsMissingGroup(t *testing.T) {
	m := fakeManager(t, Hybrid, "lxc")
	g, err := m.Group("never-created")
	require.NoError(t, err)
	pids, err := g.Procs()
	require.NoError(t, err)
	assert.Empty(t, pids)
	require.NoError(t, g.Remove(), "removing what does not exist is fine")
}

func TestRemove(t *testing.T) {
	m := fakeManager(t, Hybrid, "lxc")
	g, err := m.Create("web")
	require.NoError(t, err)
	other, err := m.Create("db")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(g.UnifiedDir(), "a", "b"), 0o755), "nested groups made inside the container")

	require.NoError(t, g.Remove())
	for _, d := range g.Dirs() {
		assert.NoDirExists(t, d)
		assert.DirExists(t, filepath.Dir(d), "the parent stays")
	}
	for _, d := range other.Dirs() {
		assert.DirExists(t, d, "other groups untouched")
	}
	require.NoError(t, g.Remove(), "twice is fine")

	stray := filepath.Join(other.Dirs()[2], "stray")
	writeTestFile(t, stray, "")
	err = other.Remove()
	assert.ErrorIs(t, err, unix.ENOTEMPTY)
	assert.ErrorContains(t, err, "remove cgroup db")
	assert.ErrorContains(t, err, other.Dirs()[2])
	assert.NoDirExists(t, other.Dirs()[0], "the other hierarchies are still cleaned")
}
