package cgroup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseProcCgroup(t *testing.T) {
	ms, err := ParseProcCgroup(strings.NewReader("9:name=systemd:/\n4:cpu,cpuacct:/lxc/web\n0::/lxc/web/sub\n\n"))
	require.NoError(t, err)
	assert.Equal(t, []Membership{
		{ID: 9, Controllers: []string{"name=systemd"}, Path: "/"},
		{ID: 4, Controllers: []string{"cpu", "cpuacct"}, Path: "/lxc/web"},
		{ID: 0, Path: "/lxc/web/sub"},
	}, ms)

	for _, bad := range []string{"x::/", "1:cpu", "1:cpu:relative", "-1::/"} {
		_, err := ParseProcCgroup(strings.NewReader(bad))
		assert.ErrorContains(t, err, "line 1 malformed", bad)
	}
}

func TestNameIn(t *testing.T) {
	const hostHybrid = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/db77\n0::/\n"
	tests := []struct {
		name, text, parent, want string
	}{
		{"pantavisor itself on the hybrid host", hostHybrid, "", ""},
		{"pantavisor itself, parent lxc", hostHybrid, "lxc", ""},
		{"container on hybrid", "9:name=systemd:/lxc/web\n8:pids:/lxc/web\n0::/lxc/web\n", "lxc", "web"},
		{"cgroup2 line wins over v1", "8:pids:/lxc/other\n0::/lxc/web\n", "lxc", "web"},
		{"legacy groups, cgroup2 visible but unused", "8:pids:/lxc/web\n0::/\n", "lxc", "web"},
		{"legacy groups, pids wins over freezer", "6:freezer:/lxc/other\n8:pids:/lxc/web\n0::/\n", "lxc", "web"},
		{"nested group inside a container", "0::/lxc/web/init.scope\n", "lxc", "web"},
		{"unified, no parent", "0::/web\n", "", "web"},
		{"unified root", "0::/\n", "", ""},
		{"appengine-style relative root", "0::/..\n", "lxc", ""},
		{"relative root, no parent", "0::/..\n", "", ""},
		{"parent itself", "0::/lxc\n", "lxc", ""},
		{"other tree", "0::/system.slice/ssh.service\n", "lxc", ""},
		{"prefix is not the parent", "0::/lxcx/web\n", "lxc", ""},
		{"multi-level parent", "0::/pv/lxc/web\n", "pv/lxc", "web"},
		{"legacy: pantavisor named hierarchy (upstream identity)", "12:pids:/\n3:name=pantavisor:/lxc/web\n", "lxc", "web"},
		{"legacy: pids when no named hierarchy", "5:memory:/x/y\n4:pids:/lxc/web\n", "lxc", "web"},
		{"legacy: freezer after pids", "5:freezer:/lxc/web\n", "lxc", "web"},
		{"legacy: first line otherwise", "5:memory:/lxc/web\n2:cpu:/lxc/db\n", "lxc", "web"},
		{"unrelated v1 cgroup does not name a host process", "4:memory:/process_api/db77\n8:pids:/\n", "", ""},
		{"empty", "", "lxc", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := ParseProcCgroup(strings.NewReader(tt.text))
			require.NoError(t, err)
			assert.Equal(t, tt.want, NameIn(ms, tt.parent))
		})
	}
}

func TestNameOf(t *testing.T) {
	proc := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(proc, "42"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(proc, "42", "cgroup"), []byte("0::/lxc/web\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(proc, "43"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(proc, "43", "cgroup"), []byte("garbage\n"), 0o644))
	m := &Manager{Proc: proc, Parent: "lxc"}

	name, err := m.NameOf(42)
	require.NoError(t, err)
	assert.Equal(t, "web", name)

	_, err = m.NameOf(43)
	assert.ErrorContains(t, err, "pid 43")
	_, err = m.NameOf(44)
	assert.ErrorIs(t, err, os.ErrNotExist)
}
