package cgroup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/early"
)

// procCgroups is /proc/cgroups of a Debian 6.1 kernel booted by us (no
// hierarchy mounted yet), plus a disabled controller.
const procCgroups = `#subsys_name	hierarchy	num_cgroups	enabled
cpuset	0	1	1
cpu	0	1	1
cpuacct	0	1	1
blkio	0	1	1
memory	0	1	0
devices	0	1	1
freezer	0	1	1
net_cls	0	1	1
perf_event	0	1	1
net_prio	0	1	1
hugetlb	0	1	1
pids	0	1	1
rdma	0	1	1
misc	0	1	1
`

func TestParseCgroups(t *testing.T) {
	s, err := ParseCgroups(strings.NewReader(procCgroups))
	require.NoError(t, err)
	require.Len(t, s, 14)
	assert.Equal(t, Subsys{Name: "cpuset", Enabled: true}, s[0])
	assert.Equal(t, Subsys{Name: "memory", Enabled: false}, s[4])

	s, err = ParseCgroups(strings.NewReader("#x\npids\t8\t1\t1\n"))
	require.NoError(t, err)
	assert.Equal(t, []Subsys{{Name: "pids", Hierarchy: 8, Enabled: true}}, s)

	for _, bad := range []string{"pids 8 1", "pids x 1 1", "pids 8 1 y"} {
		_, err := ParseCgroups(strings.NewReader(bad))
		assert.ErrorContains(t, err, "line 1 malformed", bad)
	}
}

func TestReadCgroups(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cgroups")
	writeTestFile(t, p, procCgroups)
	s, err := ReadCgroups(p)
	require.NoError(t, err)
	assert.Len(t, s, 14)
	_, err = ReadCgroups(p + "x")
	assert.ErrorIs(t, err, os.ErrNotExist)
	writeTestFile(t, p, "bad\n")
	_, err = ReadCgroups(p)
	assert.ErrorContains(t, err, p)
}

func steps(t *testing.T, mode Mode) []string {
	t.Helper()
	s, err := ParseCgroups(strings.NewReader(procCgroups))
	require.NoError(t, err)
	list, err := Mounts(mode, "/sys/fs/cgroup", s)
	require.NoError(t, err)
	var out []string
	for _, c := range list {
		prefix := ""
		if o, ok := c.(early.Optional); ok {
			prefix = "optional "
			c = o.Creator
		}
		out = append(out, prefix+c.String())
	}
	return out
}

func TestMountsHybrid(t *testing.T) {
	const o = "(nosuid,nodev,noexec,"
	assert.Equal(t, []string{
		"mount cgroup_root on /sys/fs/cgroup type tmpfs " + o + "mode=0755)",
		"mount cgroup on /sys/fs/cgroup/systemd type cgroup " + o + "none,name=systemd)",
		"mount cgroup on /sys/fs/cgroup/pantavisor type cgroup " + o + "none,name=pantavisor)",
		"optional mount cgroup on /sys/fs/cgroup/cpuset type cgroup " + o + "cpuset)",
		"optional mount cgroup on /sys/fs/cgroup/cpu,cpuacct type cgroup " + o + "cpu,cpuacct)",
		"optional symlink /sys/fs/cgroup/cpu -> cpu,cpuacct",
		"optional symlink /sys/fs/cgroup/cpuacct -> cpu,cpuacct",
		"optional mount cgroup on /sys/fs/cgroup/blkio type cgroup " + o + "blkio)",
		"optional mount cgroup on /sys/fs/cgroup/devices type cgroup " + o + "devices)",
		"optional mount cgroup on /sys/fs/cgroup/freezer type cgroup " + o + "freezer)",
		"optional mount cgroup on /sys/fs/cgroup/net_cls,net_prio type cgroup " + o + "net_cls,net_prio)",
		"optional symlink /sys/fs/cgroup/net_cls -> net_cls,net_prio",
		"optional symlink /sys/fs/cgroup/net_prio -> net_cls,net_prio",
		"optional mount cgroup on /sys/fs/cgroup/perf_event type cgroup " + o + "perf_event)",
		"optional mount cgroup on /sys/fs/cgroup/hugetlb type cgroup " + o + "hugetlb)",
		"optional mount cgroup on /sys/fs/cgroup/pids type cgroup " + o + "pids)",
		"optional mount cgroup on /sys/fs/cgroup/rdma type cgroup " + o + "rdma)",
		"optional mount cgroup on /sys/fs/cgroup/misc type cgroup " + o + "misc)",
		"optional mount cgroup2 on /sys/fs/cgroup/unified type cgroup2 " + o + "nsdelegate)",
	}, steps(t, Hybrid))
}

func TestMountsLegacyAndUnified(t *testing.T) {
	hybrid, legacy := steps(t, Hybrid), steps(t, Legacy)
	assert.Equal(t, hybrid[:len(hybrid)-1], legacy, "legacy = hybrid without cgroup2")
	assert.Equal(t, []string{"mount cgroup2 on /sys/fs/cgroup type cgroup2 (nosuid,nodev,noexec,nsdelegate)"}, steps(t, Unified))
	_, err := Mounts(0, "/sys/fs/cgroup", nil)
	assert.ErrorContains(t, err, "unknown")
}

func TestControllerMounts(t *testing.T) {
	sub := func(names ...string) []Subsys {
		var s []Subsys
		for _, n := range names {
			s = append(s, Subsys{Name: n, Enabled: true})
		}
		return s
	}
	tests := []struct {
		in   []Subsys
		want [][]string
	}{
		{nil, nil},
		{sub("cpu"), [][]string{{"cpu"}}},
		{sub("cpuacct", "pids", "cpu"), [][]string{{"cpu", "cpuacct"}, {"pids"}}},
		{sub("net_prio", "net_cls"), [][]string{{"net_cls", "net_prio"}}},
		{sub("net_prio"), [][]string{{"net_prio"}}},
		{sub("pids", "pids"), [][]string{{"pids"}}},
		{[]Subsys{{Name: "cpu"}, {Name: "cpuacct", Enabled: true}}, [][]string{{"cpuacct"}}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, controllerMounts(tt.in), "%v", tt.in)
	}
}
