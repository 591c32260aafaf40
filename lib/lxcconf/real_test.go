package lxcconf

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// pvrConfig is what pvr writes for a container named name, with the
// entries both testdata configs share.
func pvrConfig(name string) *Config {
	c := New()
	c.TTYMax, c.PTYMax = 8, 1024
	c.Cgroup = []Setting{{"devices.allow", "a"}}
	vol := "/volumes/" + name
	c.Rootfs = Rootfs{Type: "overlayfs", Path: vol + "/root.squashfs:" + vol + "/lxc-overlay/upper",
		Lower: vol + "/root.squashfs", Upper: vol + "/lxc-overlay/upper"}
	c.InitCmd, c.InitCwd = "/app/"+name, "/app"
	c.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	c.NamespaceKeep = unix.CLONE_NEWUSER | unix.CLONE_NEWNET | unix.CLONE_NEWIPC
	c.MountAuto = MountAuto{Proc: ProcMixed, Sys: SysRW, Cgroup: AutoCgroup{Mode: CgroupNoSpec}}
	c.Mounts = []MountEntry{
		{Source: "tmpfs", Target: "run", FSType: "tmpfs", Options: []string{"rw", "nodev", "relatime", "create=dir", "mode=755"}},
		{Source: "/etc/resolv.conf", Target: "etc/resolv.conf", FSType: "none", Options: []string{"bind", "rw", "create=file"}},
		{Source: vol + "/docker--tmp", Target: "tmp", FSType: "none", Options: []string{"bind", "rw", "create=dir"}},
	}
	return c
}

func TestRealConfigs(t *testing.T) {
	wifi := pvrConfig("pvwificonnect")
	wifi.Mounts = append(wifi.Mounts, MountEntry{Source: "/volumes/os/docker--pvrun-dbus", Target: "var/run/dbus",
		FSType: "none", Options: []string{"bind", "rw", "create=dir"}})
	wifi.CapKeep = []int{36, 35, 25, 12, 13, 10}
	for _, tc := range []struct {
		file string
		want *Config
	}{
		{"testdata/pvwificonnect.conf", wifi},
		{"testdata/watchdog_pinger.conf", pvrConfig("watchdog_pinger")},
	} {
		t.Run(tc.file, func(t *testing.T) {
			c, warns, err := Load(tc.file)
			require.NoError(t, err)
			assert.Empty(t, warns)
			assert.Equal(t, tc.want, c)
			assert.Equal(t, uintptr(unix.CLONE_NEWNS|unix.CLONE_NEWPID|unix.CLONE_NEWUTS|unix.CLONE_NEWCGROUP), c.CloneFlags())
			assert.Equal(t, []string{tc.want.InitCmd}, c.InitArgv())
			assert.Equal(t, []string{"/volumes/" + c.InitCmd[5:] + "/root.squashfs"}, c.Rootfs.LowerDirs())
			assert.Equal(t, "/volumes/"+c.InitCmd[5:]+"/lxc-overlay/work", c.Rootfs.WorkDir())
			assert.Equal(t, MountOpts{Flags: unix.MS_NODEV | unix.MS_RELATIME, Data: "mode=755", Create: "dir"}, c.Mounts[0].Opts())
			assert.Equal(t, MountOpts{Flags: unix.MS_BIND, Create: "file"}, c.Mounts[1].Opts())
			assert.Equal(t, int(unix.SIGPWR), c.HaltSignal())
			assert.Equal(t, int(unix.SIGKILL), c.StopSignal())
		})
	}
	c, _, err := Load("testdata/pvwificonnect.conf")
	require.NoError(t, err)
	assert.Equal(t, []int{10, 12, 13, 25, 35, 36}, c.Capabilities(unix.CAP_LAST_CAP))
}
