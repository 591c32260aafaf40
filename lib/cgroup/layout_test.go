package cgroup

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hybridHost is /proc/self/mountinfo of the CI VM (trimmed): tmpfs with
// one v1 hierarchy per controller, a named systemd one, cgroup2 at unified.
const hybridHost = `22 1 254:0 / / rw,relatime - ext4 /dev/vda rw
23 22 0:5 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
24 22 0:20 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw
31 24 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

// systemdHybrid is the systemd "hybrid" layout (Ubuntu 18.04 style).
const systemdHybrid = `25 24 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
31 25 0:28 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,net_cls,net_prio
32 25 0:29 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids
`

// legacy is a v1-only layout (Debian 9 / CentOS 7 style) with a release
// agent, co-mounted controllers and options that are not controllers.
const legacy = `24 18 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:7 - tmpfs tmpfs ro,mode=755
25 24 0:21 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:8 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
28 24 0:24 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpuacct,cpu
29 24 0:25 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,cpuset,clone_children
30 24 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory
`

// unified is a pure cgroup2 system (systemd default since 2021).
const unified = `22 1 254:0 / / rw,relatime - ext4 /dev/vda rw
35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`

func TestParseMountinfo(t *testing.T) {
	const cg = "/sys/fs/cgroup"
	tests := []struct {
		name, text, root string
		want             Layout
		err              error
	}{
		{"hybrid host", hybridHost, cg, Layout{Mode: Hybrid, Unified: cg + "/unified", V1: []Hierarchy{
			{Path: cg + "/cpu", Controllers: []string{"cpu"}},
			{Path: cg + "/cpuacct", Controllers: []string{"cpuacct"}},
			{Path: cg + "/cpuset", Controllers: []string{"cpuset"}},
			{Path: cg + "/memory", Controllers: []string{"memory"}},
			{Path: cg + "/devices", Controllers: []string{"devices"}},
			{Path: cg + "/freezer", Controllers: []string{"freezer"}},
			{Path: cg + "/blkio", Controllers: []string{"blkio"}},
			{Path: cg + "/pids", Controllers: []string{"pids"}},
			{Path: cg + "/systemd", Name: "systemd"},
		}}, nil},
		{"systemd hybrid", systemdHybrid, cg, Layout{Mode: Hybrid, Unified: cg + "/unified", V1: []Hierarchy{
			{Path: cg + "/systemd", Name: "systemd"},
			{Path: cg + "/cpu,cpuacct", Controllers: []string{"cpu", "cpuacct"}},
			{Path: cg + "/net_cls,net_prio", Controllers: []string{"net_cls", "net_prio"}},
			{Path: cg + "/pids", Controllers: []string{"pids"}},
		}}, nil},
		{"legacy", legacy, cg + "/", Layout{Mode: Legacy, V1: []Hierarchy{
			{Path: cg + "/systemd", Name: "systemd"},
			{Path: cg + "/cpu,cpuacct", Controllers: []string{"cpuacct", "cpu"}},
			{Path: cg + "/cpuset", Controllers: []string{"cpuset"}},
			{Path: cg + "/memory", Controllers: []string{"memory"}},
		}}, nil},
		{"unified", unified, cg, Layout{Mode: Unified, Unified: cg}, nil},
		{"unified mount of a hybrid host as root", hybridHost, cg + "/unified", Layout{Mode: Unified, Unified: cg + "/unified"}, nil},
		{"one v1 hierarchy as root", hybridHost, cg + "/pids", Layout{Mode: Legacy, V1: []Hierarchy{{Path: cg + "/pids", Controllers: []string{"pids"}}}}, nil},
		{"nothing under root", unified, "/mnt", Layout{}, ErrNoCgroup},
		{"tmpfs mounted over the hierarchies hides them", legacy + "40 24 0:40 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n", cg, Layout{}, ErrNoCgroup},
		{"hierarchy remounted over by another", "1 0 0:1 / /c/a rw - cgroup cgroup rw,pids\n2 0 0:2 / /c/a rw - cgroup cgroup rw,memory\n", "/c",
			Layout{Mode: Legacy, V1: []Hierarchy{{Path: "/c/a", Controllers: []string{"memory"}}}}, nil},
		{"same hierarchy bind-mounted twice", "1 0 0:1 / /c/pids rw - cgroup cgroup rw,pids\n2 0 0:1 / /c/again rw - cgroup cgroup rw,pids\n", "/c",
			Layout{Mode: Legacy, V1: []Hierarchy{{Path: "/c/pids", Controllers: []string{"pids"}}}}, nil},
		{"escaped space in mount point", `1 0 0:1 / /my\040cg/pids rw shared:1 master:2 - cgroup cgroup rw,pids` + "\n", "/my cg",
			Layout{Mode: Legacy, V1: []Hierarchy{{Path: "/my cg/pids", Controllers: []string{"pids"}}}}, nil},
		{"sibling prefix is not under root", "1 0 0:1 / /c2/pids rw - cgroup cgroup rw,pids\n", "/c", Layout{}, ErrNoCgroup},
		{"empty", "", cg, Layout{}, ErrNoCgroup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMountinfo(strings.NewReader(tt.text), tt.root)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseMountinfoMalformed(t *testing.T) {
	for _, line := range []string{"1 2 3", "1 2 0:1 / /x rw - cgroup", "1 2 0:1 / /x rw cgroup cgroup rw"} {
		_, err := ParseMountinfo(strings.NewReader(hybridHost+line+"\n"), "/sys/fs/cgroup")
		require.Error(t, err, line)
		assert.Contains(t, err.Error(), "line 15")
		assert.False(t, errors.Is(err, ErrNoCgroup))
	}
}

func TestLayoutFind(t *testing.T) {
	l, err := ParseMountinfo(strings.NewReader(systemdHybrid), "/sys/fs/cgroup")
	require.NoError(t, err)
	h, ok := l.Find("cpuacct")
	require.True(t, ok)
	assert.Equal(t, "/sys/fs/cgroup/cpu,cpuacct", h.Path)
	_, ok = l.Find("memory")
	assert.False(t, ok)
	_, ok = l.Find("systemd")
	assert.False(t, ok, "a named hierarchy has no controller")
}

func TestModeString(t *testing.T) {
	for m, s := range map[Mode]string{0: "unknown", Legacy: "legacy", Hybrid: "hybrid", Unified: "unified", 9: "unknown"} {
		assert.Equal(t, s, m.String())
	}
}
