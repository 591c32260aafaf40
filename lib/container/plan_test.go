package container

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/cgroup"
	"pantavisor/lib/lxcconf"
)

func TestPlanPvwificonnect(t *testing.T) {
	cfg, warns, err := lxcconf.Load("../lxcconf/testdata/pvwificonnect.conf")
	require.NoError(t, err)
	require.Empty(t, warns)
	configs := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(configs, "pvwificonnect"), 0o755))
	h := Host{VolumesDir: "/v", RunDir: "/r", ConfigsDir: configs, KernelRelease: "6.1.0", DevLog: true,
		Cgroups: cgroup.Layout{Mode: cgroup.Hybrid, Unified: "/sys/fs/cgroup/unified",
			V1: []cgroup.Hierarchy{{Path: "/sys/fs/cgroup/pids", Controllers: []string{"pids"}}, {Path: "/sys/fs/cgroup/systemd", Name: "systemd"}}}}
	p, err := NewPlan(Request{Name: "pvwificonnect", Group: "platform", Mgmt: true, AutoModFW: true, Root: "/root", Config: cfg}, h)
	require.NoError(t, err)
	s := p.Spec

	assert.Equal(t, uintptr(unix.CLONE_NEWNS|unix.CLONE_NEWPID|unix.CLONE_NEWUTS|unix.CLONE_NEWCGROUP), p.Cloneflags,
		"user, net and ipc are kept")
	assert.Equal(t, []string{filepath.Join(configs, "pvwificonnect"), "/v/pvwificonnect/root.squashfs"}, s.Lower,
		"the _config copy is the top lower layer, /volumes is relocated")
	assert.Equal(t, "/v/pvwificonnect/lxc-overlay/upper", s.Upper)
	assert.Equal(t, "/v/pvwificonnect/lxc-overlay/work", s.Work)
	assert.Equal(t, "pvwificonnect", s.Hostname)
	assert.Equal(t, []string{"/app/pvwificonnect"}, s.Args)
	assert.Equal(t, "/app", s.Cwd)
	assert.Equal(t, []string{"container=pv-platform", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, s.Env)
	assert.Equal(t, []int{unix.CAP_NET_BIND_SERVICE, unix.CAP_NET_ADMIN, unix.CAP_NET_RAW, unix.CAP_SYS_TIME,
		unix.CAP_WAKE_ALARM, unix.CAP_BLOCK_SUSPEND}, s.Caps)
	assert.Equal(t, unix.SIGTERM, p.HaltSignal)
	assert.Equal(t, []cgroup.Setting{{Key: "devices.allow", Value: "a"}}, p.Cgroup)

	targets := map[string]Mount{}
	var order []string
	for _, m := range s.Mounts {
		targets[m.Target] = m
		order = append(order, m.Target)
	}
	assert.Equal(t, []string{"proc", "proc/sys", "proc/sysrq-trigger", "sys", "sys/fs/cgroup", "sys/fs/cgroup/pids",
		"sys/fs/cgroup/systemd", "sys/fs/cgroup/unified", "run", "etc/resolv.conf", "tmp", "var/run/dbus",
		"pantavisor", "lib/firmware", "lib/modules/6.1.0", "dev/log"}, order)
	assert.Equal(t, "/root/proc/sys", targets["proc/sys"].Source, "mixed proc re-binds its own /proc/sys read-only")
	assert.Zero(t, targets["sys"].Flags&unix.MS_RDONLY, "sys:rw")
	assert.Equal(t, "none,name=systemd", targets["sys/fs/cgroup/systemd"].Data)
	assert.Equal(t, "/v/pvwificonnect/docker--tmp", targets["tmp"].Source)
	assert.Equal(t, "/v/os/docker--pvrun-dbus", targets["var/run/dbus"].Source, "another container's volume, relocated")
	assert.Equal(t, "file", targets["etc/resolv.conf"].Create)
	assert.Equal(t, "mode=755", targets["run"].Data)
	assert.Equal(t, "/r", targets["pantavisor"].Source, "mgmt: the whole run dir")
	assert.Equal(t, "/dev/log", targets["dev/log"].Source, "DevLogSocket's default: the log server's /dev/log")
	assert.NotZero(t, targets["pantavisor"].Flags&unix.MS_RDONLY)
}

func TestPlanRefusals(t *testing.T) {
	for conf, msg := range map[string]string{
		"lxc.init.cmd = /bin/true\n":                                           "lxc.rootfs.path is not set",
		"lxc.rootfs.path = btrfs:/x\n":                                         `rootfs type "btrfs": not supported`,
		"lxc.rootfs.path = /x\nlxc.namespace.keep = net\n":                     "user namespace: not supported",
		"lxc.rootfs.path = /x\nlxc.mount.entry = a b none bind,relative 0 0\n": "relative and idmap mounts: not supported",
	} {
		cfg, _, err := lxcconf.Parse(strings.NewReader(conf), "t.conf")
		require.NoError(t, err, conf)
		_, err = NewPlan(Request{Name: "c", Root: "/root", Config: cfg}, Host{})
		assert.ErrorContains(t, err, msg, conf)
	}
}

func TestPlanNoNewPrivs(t *testing.T) {
	for conf, want := range map[string]bool{
		"lxc.rootfs.path = /x\n":                       false,
		"lxc.rootfs.path = /x\nlxc.no_new_privs = 1\n": true,
		"lxc.rootfs.path = /x\nlxc.no_new_privs = 0\n": false,
	} {
		cfg, _, err := lxcconf.Parse(strings.NewReader(conf), "t.conf")
		require.NoError(t, err, conf)
		p, err := NewPlan(Request{Name: "c", Root: "/root", Config: cfg}, Host{})
		require.NoError(t, err, conf)
		assert.Equal(t, want, p.Spec.NoNewPrivs, conf)
	}
}

func TestPlanIDMaps(t *testing.T) {
	const root = "lxc.rootfs.path = /x\n"
	tests := []struct {
		name, conf string
		u, g       []syscall.SysProcIDMap
		hostRoot   [2]int
		err        error
	}{
		{"no user namespace", root, nil, nil, [2]int{0, 0}, nil},
		{"idmap clones user", root + "lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 200000 65536\n",
			[]syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
			[]syscall.SysProcIDMap{{ContainerID: 0, HostID: 200000, Size: 65536}}, [2]int{100000, 200000}, nil},
		{"several ranges", root + "lxc.idmap = u 1000 1000 1\nlxc.idmap = u 0 100000 1000\nlxc.idmap = g 0 100000 65536\nlxc.init.uid = 1000\n",
			[]syscall.SysProcIDMap{{ContainerID: 1000, HostID: 1000, Size: 1}, {ContainerID: 0, HostID: 100000, Size: 1000}},
			[]syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}, [2]int{100000, 100000}, nil},
		{"kept user ignores idmap", root + "lxc.namespace.keep = user\nlxc.idmap = u 0 100000 65536\n", nil, nil, [2]int{0, 0}, nil},
		{"user without idmap", root + "lxc.namespace.clone = user mnt\n", nil, nil, [2]int{}, ErrUnsupported},
		{"no gid map", root + "lxc.idmap = u 0 100000 65536\n", nil, nil, [2]int{}, ErrIDMap},
		{"root unmapped", root + "lxc.idmap = u 1 100000 65536\nlxc.idmap = g 0 100000 65536\n", nil, nil, [2]int{}, ErrIDMap},
		{"init uid unmapped", root + "lxc.idmap = u 0 100000 10\nlxc.idmap = g 0 100000 65536\nlxc.init.uid = 10\n", nil, nil, [2]int{}, ErrIDMap},
		{"init gid unmapped", root + "lxc.idmap = u 0 100000 10\nlxc.idmap = g 0 100000 5\nlxc.init.gid = 5\n", nil, nil, [2]int{}, ErrIDMap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := lxcconf.Parse(strings.NewReader(tt.conf), "t.conf")
			require.NoError(t, err)
			p, err := NewPlan(Request{Name: "c", Root: "/root", Config: cfg}, Host{})
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.u, p.UIDMappings)
			assert.Equal(t, tt.g, p.GIDMappings)
			uid, gid := p.HostRoot()
			assert.Equal(t, tt.hostRoot, [2]int{uid, gid})
		})
	}
}

// TestGoByte: the namespaces a released stage creates itself, per clone
// flags (one row per bit, none, both, and flags it leaves to the clone).
func TestGoByte(t *testing.T) {
	for _, tc := range []struct {
		clone uintptr
		want  int
	}{
		{0, 0},
		{unix.CLONE_NEWCGROUP, unix.CLONE_NEWCGROUP},
		{unix.CLONE_NEWNS, unix.CLONE_NEWNS},
		{unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP, unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP},
		{DefaultCloneflags, unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP},
		{unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER, 0},
	} {
		assert.Equal(t, tc.want, unshareFlags(goByte(tc.clone)), "clone flags %#x", tc.clone)
	}
}

// TestStageFits: a stage fits the options it was spawned with whatever
// their per-start part (cgroup, console, network), and no options whose
// process part differs (binary, argv, clone flags, either id map).
func TestStageFits(t *testing.T) {
	maps := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}
	base := Options{Exe: "/bin/pv", Args: []string{"pv-container", StageArg}, Cloneflags: DefaultCloneflags,
		UIDMappings: maps, GIDMappings: maps}
	s := &Stage{spawned: base.process()}
	perStart := base
	perStart.Console, perStart.Network = io.Discard, noNetwork{}
	assert.True(t, s.Fits(base))
	assert.True(t, s.Fits(perStart), "per-start options do not matter")
	for name, change := range map[string]func(*Options){
		"exe":   func(o *Options) { o.Exe = "/proc/self/exe" },
		"args":  func(o *Options) { o.Args = []string{"pv-container"} },
		"flags": func(o *Options) { o.Cloneflags ^= unix.CLONE_NEWNET },
		"uid map": func(o *Options) {
			o.UIDMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 200000, Size: 65536}}
		},
		"gid map": func(o *Options) { o.GIDMappings = nil },
	} {
		o := base
		change(&o)
		assert.False(t, s.Fits(o), name)
	}
}

// noNetwork is a Network that attaches nothing.
type noNetwork struct{}

func (noNetwork) Attach(int) error { return nil }
