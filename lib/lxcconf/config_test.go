package lxcconf

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestCloneFlags(t *testing.T) {
	const (
		mnt, pid, uts, ipc = unix.CLONE_NEWNS, unix.CLONE_NEWPID, unix.CLONE_NEWUTS, unix.CLONE_NEWIPC
		net, cg, user      = unix.CLONE_NEWNET, unix.CLONE_NEWCGROUP, unix.CLONE_NEWUSER
	)
	for _, tc := range []struct {
		in   string
		want uintptr
	}{
		{"", mnt | pid | uts | ipc | net | cg},
		{"lxc.idmap = u 0 100000 65536", mnt | pid | uts | ipc | net | cg | user},
		{"lxc.net.0.type = none", mnt | pid | uts | ipc | cg},
		{"lxc.net.0.type = none\nlxc.net.1.type = veth", mnt | pid | uts | ipc | net | cg},
		{"lxc.net.0.type = empty", mnt | pid | uts | ipc | net | cg},
		{"lxc.namespace.keep = user net ipc", mnt | pid | uts | cg},
		{"lxc.namespace.keep = net", mnt | pid | uts | ipc | cg | user},
		{"lxc.namespace.keep = time", mnt | pid | uts | ipc | net | cg | user},
		{"lxc.namespace.clone = mnt pid", mnt | pid},
		{"lxc.namespace.clone = mnt time", mnt | unix.CLONE_NEWTIME},
		{"lxc.namespace.share.net = /proc/1/ns/net", mnt | pid | uts | ipc | cg},
		{"lxc.namespace.keep = user\nlxc.namespace.share.pid = other", mnt | uts | ipc | net | cg},
	} {
		c, _, err := parseString(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, c.CloneFlags(), tc.in)
	}
}

func TestCapabilities(t *testing.T) {
	for _, tc := range []struct {
		in   string
		last int
		want []int
	}{
		{"", 3, []int{0, 1, 2, 3}},
		{"lxc.cap.drop = kill chown 2", 5, []int{1, 3, 4}},
		{"lxc.cap.drop = kill kill", 5, []int{0, 1, 2, 3, 4}},
		{"lxc.cap.keep = sys_time net_admin sys_time 50", 40, []int{12, 25}},
		{"lxc.cap.keep = none", 40, nil},
		{"lxc.cap.keep = 41", 41, []int{41}},
	} {
		c, _, err := parseString(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, c.Capabilities(tc.last), tc.in)
	}
}

func TestEnviron(t *testing.T) {
	c, _, err := parseString("lxc.environment = A=1\nlxc.environment = HOME\nlxc.environment = B=")
	require.NoError(t, err)
	env := map[string]string{"HOME": "/root"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	got, err := c.Environ(lookup)
	require.NoError(t, err)
	assert.Equal(t, []string{"A=1", "HOME=/root", "B="}, got)
	delete(env, "HOME")
	_, err = c.Environ(lookup)
	assert.ErrorIs(t, err, ErrNoEnv)
	t.Setenv("LXCCONF_TEST", "x")
	c.Env = []string{"LXCCONF_TEST"}
	got, err = c.Environ(nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"LXCCONF_TEST=x"}, got)
}

func TestConfigHelpers(t *testing.T) {
	c := New()
	assert.Nil(t, c.InitArgv())
	assert.Nil(t, c.Rootfs.LowerDirs())
	assert.Equal(t, "", c.Rootfs.WorkDir())
	assert.False(t, c.Rootfs.IsOverlay())
	c.InitCmd = `/bin/app --name "my box"`
	assert.Equal(t, []string{"/bin/app", "--name", "my box"}, c.InitArgv())
	c.SignalHalt, c.SignalStop = 15, 2
	assert.Equal(t, 15, c.HaltSignal())
	assert.Equal(t, 2, c.StopSignal())
	c.FstabMounts = []MountEntry{{Source: "f"}}
	c.Mounts = []MountEntry{{Source: "m"}}
	assert.Equal(t, []MountEntry{{Source: "f"}, {Source: "m"}}, c.AllMounts())
	assert.Equal(t, []MountEntry{{Source: "f"}}, c.FstabMounts, "AllMounts leaves FstabMounts alone")
}
