package cgroup

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestParseSetting(t *testing.T) {
	tests := []struct {
		key, value string
		want       Setting
		ok         bool
	}{
		{"lxc.cgroup.memory.limit_in_bytes", " 64M ", Setting{Key: "memory.limit_in_bytes", Value: "64M"}, true},
		{"lxc.cgroup.devices.allow", "a", Setting{Key: "devices.allow", Value: "a"}, true},
		{"lxc.cgroup2.memory.max", "max", Setting{V2: true, Key: "memory.max", Value: "max"}, true},
		{"lxc.cgroup2.devices.allow", "a", Setting{V2: true, Key: "devices.allow", Value: "a"}, true},
		{"lxc.cgroup.relative", "1", Setting{}, false},
		{"lxc.cgroup.dir", "x", Setting{}, false},
		{"lxc.cgroup.dir.container.inner", "x", Setting{}, false},
		{"lxc.cgroup.pattern", "lxc/%n", Setting{}, false},
		{"lxc.cgroup.use", "@all", Setting{}, false},
		{"lxc.cgroup.", "x", Setting{}, false},
		{"lxc.cgroup2.", "x", Setting{}, false},
		{"lxc.uts.name", "x", Setting{}, false},
		{"lxc.cgroupx.memory.max", "x", Setting{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseSetting(tt.key, tt.value)
		assert.Equal(t, tt.ok, ok, tt.key)
		assert.Equal(t, tt.want, got, tt.key)
		if ok {
			assert.Equal(t, tt.key, got.String())
		}
	}
}

// v1Files are the files a fake v1 group gets for Apply tests.
var v1Files = map[string][]string{
	"memory":  {"memory.limit_in_bytes"},
	"pids":    {"pids.max"},
	"cpu":     {"cpu.shares", "cpu.cfs_quota_us"},
	"cpuset":  {"cpuset.cpus"},
	"devices": {"devices.allow", "devices.deny"},
}

func fakeGroup(t *testing.T, mode Mode) *Group {
	t.Helper()
	m := fakeManager(t, mode, "lxc")
	g, err := m.Create("web")
	require.NoError(t, err)
	for ctrl, files := range v1Files {
		if dir, ok := g.Dir(ctrl); ok {
			for _, f := range files {
				writeTestFile(t, filepath.Join(dir, f), "")
			}
		}
	}
	if u := g.UnifiedDir(); u != "" {
		ctrls := ""
		if mode == Unified {
			ctrls = "cpuset cpu io memory pids\n"
			for _, f := range []string{"memory.max", "memory.low", "pids.max", "cpu.weight", "cpuset.cpus", "cpuset.mems", "io.weight"} {
				writeTestFile(t, filepath.Join(u, f), "")
			}
			writeTestFile(t, filepath.Join(u, "cpu.max"), "max 100000\n")
		}
		writeTestFile(t, filepath.Join(u, "cgroup.controllers"), ctrls)
		writeTestFile(t, filepath.Join(u, "cgroup.max.depth"), "max\n")
	}
	return g
}

func TestApplyV1(t *testing.T) {
	for _, mode := range []Mode{Legacy, Hybrid} {
		t.Run(mode.String(), func(t *testing.T) {
			g := fakeGroup(t, mode)
			require.NoError(t, g.Apply([]Setting{
				{Key: "memory.limit_in_bytes", Value: "64M"},
				{Key: "pids.max", Value: "3"},
				{Key: "cpu.shares", Value: "512"},
				{Key: "cpuset.cpus", Value: "0"},
				{Key: "devices.deny", Value: "a"},
				{Key: "devices.allow", Value: "c 1:3 rwm"},
				{V2: true, Key: "devices.allow", Value: "a"},
			}))
			for file, want := range map[string]string{
				"memory/lxc/web/memory.limit_in_bytes": "64M",
				"pids/lxc/web/pids.max":                "3",
				"cpu,cpuacct/lxc/web/cpu.shares":       "512",
				"cpuset/lxc/web/cpuset.cpus":           "0",
				"devices/lxc/web/devices.deny":         "a",
				"devices/lxc/web/devices.allow":        "c 1:3 rwm",
			} {
				assert.Equal(t, want, readTestFile(t, filepath.Join(g.Layout.V1[0].Path, "..", file)), file)
			}
		})
	}
}

func TestApplyUnifiedTranslates(t *testing.T) {
	g := fakeGroup(t, Unified)
	require.NoError(t, g.Apply([]Setting{
		{Key: "memory.limit_in_bytes", Value: "-1"},
		{Key: "pids.max", Value: "3"},
		{Key: "cpu.shares", Value: "1024"},
		{Key: "cpu.cfs_quota_us", Value: "50000"},
		{Key: "cpuset.cpus", Value: "0-1"},
		{Key: "cpuset.mems", Value: "0"},
		{Key: "blkio.weight", Value: "500"},
		{Key: "devices.allow", Value: "a"},
		{Key: "devices.deny", Value: "c 5:1 rwm"},
		{V2: true, Key: "memory.low", Value: "1M"},
		{V2: true, Key: "cgroup.max.depth", Value: "2"},
		{V2: true, Key: "devices.deny", Value: "a"},
	}))
	for file, want := range map[string]string{
		"memory.max":       "max",
		"pids.max":         "3",
		"cpu.weight":       "39",
		"cpu.max":          "50000 100000",
		"cpuset.cpus":      "0-1",
		"cpuset.mems":      "0",
		"io.weight":        "default 4950",
		"memory.low":       "1M",
		"cgroup.max.depth": "2",
	} {
		assert.Equal(t, want, readTestFile(t, filepath.Join(g.UnifiedDir(), file)), file)
	}
	require.NoError(t, g.Apply([]Setting{{Key: "cpu.cfs_period_us", Value: "20000"}}))
	assert.Equal(t, "50000 20000", readTestFile(t, filepath.Join(g.UnifiedDir(), "cpu.max")))
}

func TestApplyErrors(t *testing.T) {
	tests := []struct {
		name string
		mode Mode
		s    Setting
		err  error
		msg  string
	}{
		{"v1 controller not mounted, legacy", Legacy, Setting{Key: "blkio.weight", Value: "100"}, ErrNoController, "lxc.cgroup.blkio.weight"},
		{"v1 file unknown", Legacy, Setting{Key: "memory.bogus", Value: "1"}, ErrUnknownKey, "memory.bogus"},
		{"no dot", Legacy, Setting{Key: "memory", Value: "1"}, ErrUnknownKey, "lxc.cgroup.memory"},
		{"path in key", Legacy, Setting{Key: "memory./../x", Value: "1"}, ErrUnknownKey, ""},
		{"hidden file", Legacy, Setting{Key: "memory..x", Value: "1"}, ErrUnknownKey, ""},
		{"cgroup2 key on legacy", Legacy, Setting{V2: true, Key: "memory.max", Value: "1"}, ErrNoUnified, "lxc.cgroup2.memory.max"},
		{"cgroup2 controller not enabled on hybrid", Hybrid, Setting{V2: true, Key: "memory.max", Value: "1"}, ErrNoController, "memory not enabled"},
		{"v1 key not mounted on hybrid, no v2 controller", Hybrid, Setting{Key: "blkio.weight", Value: "100"}, ErrNoController, "io not enabled"},
		{"v1 key without translation", Hybrid, Setting{Key: "net_cls.classid", Value: "1"}, ErrNoV2Equivalent, "net_cls.classid"},
		{"v1 key without translation, unified", Unified, Setting{Key: "memory.memsw.limit_in_bytes", Value: "1"}, ErrNoV2Equivalent, "lxc.cgroup.memory.memsw.limit_in_bytes"},
		{"cgroup2 file unknown", Unified, Setting{V2: true, Key: "memory.bogus", Value: "1"}, ErrUnknownKey, "memory.bogus"},
		{"cgroup2 controller not offered", Unified, Setting{V2: true, Key: "hugetlb.2MB.max", Value: "1"}, ErrNoController, "hugetlb"},
		{"bad translated value", Unified, Setting{Key: "cpu.shares", Value: "lots"}, nil, `cpu.shares "lots"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := fakeGroup(t, tt.mode)
			err := g.Apply([]Setting{{Key: "pids.max", Value: "5"}, tt.s})
			require.Error(t, err)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
			}
			assert.ErrorContains(t, err, "cgroup web: "+tt.s.String())
			assert.ErrorContains(t, err, tt.msg)
		})
	}
}

func TestApplyKernelRefusal(t *testing.T) {
	g := fakeGroup(t, Legacy)
	dir, _ := g.Dir("pids")
	// A directory where the file should be: open for writing fails.
	require.NoError(t, unix.Mkdir(filepath.Join(dir, "pids.weird"), 0o755))
	err := g.Apply([]Setting{{Key: "pids.weird", Value: "1"}})
	assert.ErrorIs(t, err, unix.EISDIR)
	assert.ErrorContains(t, err, filepath.Join(dir, "pids.weird"))
}
