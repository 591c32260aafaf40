package lxcconf

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// parseString parses in as file t.conf with an empty filesystem.
func parseString(in string) (*Config, []Warning, error) {
	return Options{FS: fstest.MapFS{}}.Parse(strings.NewReader(in), "t.conf")
}

// keyCase is a config text and the change it makes to New().
type keyCase struct {
	name string
	in   string
	want func(c *Config)
}

func runKeyCases(t *testing.T, cases []keyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, warns, err := parseString(tc.in)
			require.NoError(t, err)
			assert.Empty(t, warns)
			want := New()
			tc.want(want)
			assert.Equal(t, want, c)
		})
	}
}

func TestSyntax(t *testing.T) {
	runKeyCases(t, []keyCase{
		{"empty", "", func(c *Config) {}},
		{"comments and blanks", "# c\n   # indented\n\n \t \nlxc.uts.name=a # not a comment\n",
			func(c *Config) { c.UTSName = "a # not a comment" }},
		{"blanks around = trimmed", "  lxc.uts.name \t=\t  box  \r\n", func(c *Config) { c.UTSName = "box" }},
		{"double quotes removed", `lxc.uts.name = "a b"`, func(c *Config) { c.UTSName = "a b" }},
		{"single quotes removed", `lxc.uts.name = 'a'`, func(c *Config) { c.UTSName = "a" }},
		{"unmatched quotes kept", `lxc.uts.name = "a'`, func(c *Config) { c.UTSName = `"a'` }},
		{"value with =", "lxc.environment = A=b=c", func(c *Config) { c.Env = []string{"A=b=c"} }},
		{"last wins", "lxc.uts.name = a\nlxc.uts.name = b", func(c *Config) { c.UTSName = "b" }},
		{"empty resets", "lxc.uts.name = a\nlxc.uts.name =", func(c *Config) {}},
	})
}

func TestProcessKeys(t *testing.T) {
	runKeyCases(t, []keyCase{
		{"init", "lxc.init.cmd = /bin/sh -c \"echo hi\"\nlxc.init.cwd = /root\nlxc.init.uid = 1000\nlxc.init.gid = 0x10",
			func(c *Config) {
				c.InitCmd, c.InitCwd, c.InitUID, c.InitGID = `/bin/sh -c "echo hi"`, "/root", 1000, 16
			}},
		{"uid empty resets", "lxc.init.uid = 5\nlxc.init.uid =", func(c *Config) {}},
		{"environment accumulates", "lxc.environment = A=1\nlxc.environment = B\nlxc.environment = C=",
			func(c *Config) { c.Env = []string{"A=1", "B", "C="} }},
		{"environment empty clears", "lxc.environment = A=1\nlxc.environment =\nlxc.environment = B=2",
			func(c *Config) { c.Env = []string{"B=2"} }},
		{"keep several blanks", "lxc.namespace.keep = user  net \t ipc",
			func(c *Config) { c.NamespaceKeep = unix.CLONE_NEWUSER | unix.CLONE_NEWNET | unix.CLONE_NEWIPC }},
		{"keep accumulates, any case", "lxc.namespace.keep = NET\nlxc.namespace.keep = Uts",
			func(c *Config) { c.NamespaceKeep = unix.CLONE_NEWNET | unix.CLONE_NEWUTS }},
		{"keep empty clears, then clone", "lxc.namespace.keep = net\nlxc.namespace.keep =\nlxc.namespace.clone = mnt pid time",
			func(c *Config) { c.NamespaceClone = unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWTIME }},
		{"every namespace name", "lxc.namespace.clone = user mnt pid uts ipc net cgroup time",
			func(c *Config) {
				c.NamespaceClone = unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS |
					unix.CLONE_NEWIPC | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME
			}},
		{"share", "lxc.namespace.share.net = other\nlxc.namespace.share.ipc = 1\nlxc.namespace.share.ipc =",
			func(c *Config) { c.NamespaceShare = map[string]string{"net": "other"} }},
		{"idmap", "lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536",
			func(c *Config) { c.IDMaps = []IDMap{{'u', 0, 100000, 65536}, {'g', 0, 100000, 65536}} }},
		{"idmap empty clears", "lxc.idmap = u 0 1 1\nlxc.idmap =", func(c *Config) {}},
		{"uts name of 64 bytes", "lxc.uts.name = " + strings.Repeat("h", 64),
			func(c *Config) { c.UTSName = strings.Repeat("h", 64) }},
	})
}

func TestCapKeys(t *testing.T) {
	runKeyCases(t, []keyCase{
		{"keep accumulates", "lxc.cap.keep = sys_time\nlxc.cap.keep = net_admin  net_raw\tkill",
			func(c *Config) { c.CapKeep = []int{25, 12, 13, 5} }},
		{"keep empty resets", "lxc.cap.keep = sys_time\nlxc.cap.keep =\nlxc.cap.keep = kill",
			func(c *Config) { c.CapKeep = []int{5} }},
		{"keep none", "lxc.cap.keep = sys_time\nlxc.cap.keep = none", func(c *Config) { c.CapKeepNone = true }},
		{"keep none then a cap", "lxc.cap.keep = kill\nlxc.cap.keep = none chown",
			func(c *Config) { c.CapKeep, c.CapKeepNone = []int{0}, true }},
		{"keep none reset", "lxc.cap.keep = none\nlxc.cap.keep =", func(c *Config) {}},
		{"drop", "lxc.cap.drop = sys_module mac_admin\nlxc.cap.drop = 40 none",
			func(c *Config) { c.CapDrop = []int{16, 33, 40} }},
		{"keep reset then drop", "lxc.cap.keep = kill\nlxc.cap.keep =\nlxc.cap.drop = kill",
			func(c *Config) { c.CapDrop = []int{5} }},
		{"no_new_privs", "lxc.no_new_privs = 1", func(c *Config) { c.NoNewPrivs = true }},
		{"no_new_privs last wins", "lxc.no_new_privs = 1\nlxc.no_new_privs = 0", func(c *Config) {}},
		{"no_new_privs empty resets", "lxc.no_new_privs = 1\nlxc.no_new_privs =", func(c *Config) {}},
	})
}

func TestStorageKeys(t *testing.T) {
	runKeyCases(t, []keyCase{
		{"overlay with two lowers", "lxc.rootfs.path = overlay:/a:/b:/up/per",
			func(c *Config) {
				c.Rootfs = Rootfs{Type: "overlay", Path: "/a:/b:/up/per", Lower: "/a:/b", Upper: "/up/per"}
			}},
		{"dir", "lxc.rootfs.path = dir:/var/lib/lxc/c/rootfs",
			func(c *Config) { c.Rootfs = Rootfs{Type: "dir", Path: "/var/lib/lxc/c/rootfs"} }},
		{"plain path", "lxc.rootfs.path = /srv/root", func(c *Config) { c.Rootfs = Rootfs{Path: "/srv/root"} }},
		{"mount and options kept across path", "lxc.rootfs.mount = /mnt\nlxc.rootfs.options = ro,nodev\nlxc.rootfs.path = /r\nlxc.rootfs.path =",
			func(c *Config) { c.Rootfs = Rootfs{Mount: "/mnt", Options: "ro,nodev"} }},
		{"mount auto every token", "lxc.mount.auto = proc:rw sys:ro cgroup-full:mixed:force shmounts:/h:/c",
			func(c *Config) {
				c.MountAuto = MountAuto{Proc: ProcRW, Sys: SysRO, Cgroup: AutoCgroup{CgroupMixed, true, true},
					ShmountsHost: "/h", ShmountsContainer: "/c"}
			}},
		{"mount auto accumulates per part", "lxc.mount.auto = proc sys cgroup:ro\nlxc.mount.auto = sys:rw cgroup:force",
			func(c *Config) {
				c.MountAuto = MountAuto{Proc: ProcMixed, Sys: SysRW, Cgroup: AutoCgroup{Mode: CgroupNoSpec, Force: true}}
			}},
		{"mount auto empty resets", "lxc.mount.auto = proc\nlxc.mount.auto =\nlxc.mount.auto = shmounts:/h",
			func(c *Config) { c.MountAuto = MountAuto{ShmountsHost: "/h", ShmountsContainer: "/dev/.lxc-mounts"} }},
		{"mount entries, empty clears", "lxc.mount.entry = a b c\nlxc.mount.entry =\nlxc.mount.entry = /x\\040y z none bind,,ro 1 2",
			func(c *Config) {
				c.Mounts = []MountEntry{{Source: "/x y", Target: "z", FSType: "none", Options: []string{"bind", "ro"}, Dump: 1, Pass: 2}}
			}},
		{"autodev off, empty is off", "lxc.autodev = 0", func(c *Config) { c.Autodev = false }},
		{"autodev empty", "lxc.autodev = 1\nlxc.autodev =", func(c *Config) { c.Autodev = false }},
		{"include empty does nothing", "lxc.include =", func(c *Config) {}},
	})
}

func TestRuntimeKeys(t *testing.T) {
	runKeyCases(t, []keyCase{
		{"ttys", "lxc.tty.max = 4\nlxc.pty.max = 1024\nlxc.tty.max =", func(c *Config) { c.PTYMax = 1024 }},
		{"console", "lxc.console.path = none\nlxc.console.logfile = /l", func(c *Config) { c.ConsolePath, c.ConsoleLogfile = "none", "/l" }},
		{"log", "lxc.log.level = warn\nlxc.log.file = /f", func(c *Config) { c.LogLevel, c.LogFile = "WARN", "/f" }},
		{"log level number", "lxc.log.level = 8", func(c *Config) { c.LogLevel = "FATAL" }},
		{"log level empty", "lxc.log.level = 0\nlxc.log.level =", func(c *Config) {}},
		{"signals", "lxc.signal.halt = SIGPWR\nlxc.signal.stop = 9\nlxc.signal.reboot = sigrtmin+1",
			func(c *Config) { c.SignalHalt, c.SignalStop, c.SignalReboot = int(unix.SIGPWR), 9, 35 }},
		{"signal empty resets", "lxc.signal.halt = SIGTERM\nlxc.signal.halt =", func(c *Config) {}},
		{"hooks accumulate", "lxc.hook.pre-start = /a x\nlxc.hook.start = /b\nlxc.hook.pre-start = /c\nlxc.hook.version = 1",
			func(c *Config) {
				c.Hooks = map[string][]string{"pre-start": {"/a x", "/c"}, "start": {"/b"}}
				c.HookVersion = 1
			}},
		{"hook type cleared", "lxc.hook.stop = /a\nlxc.hook.mount = /m\nlxc.hook.stop =",
			func(c *Config) { c.Hooks = map[string][]string{"mount": {"/m"}} }},
		{"all hooks cleared", "lxc.hook.stop = /a\nlxc.hook =\nlxc.hook.post-stop = /p",
			func(c *Config) { c.Hooks = map[string][]string{"post-stop": {"/p"}} }},
		{"cgroups ordered", "lxc.cgroup.devices.deny = a\nlxc.cgroup2.memory.max = 1G\nlxc.cgroup.devices.allow = c 1:3 rwm\nlxc.cgroup.devices.deny = b",
			func(c *Config) {
				c.Cgroup = []Setting{{"devices.deny", "a"}, {"devices.allow", "c 1:3 rwm"}, {"devices.deny", "b"}}
				c.Cgroup2 = []Setting{{"memory.max", "1G"}}
			}},
		{"cgroup key removed", "lxc.cgroup.devices.deny = a\nlxc.cgroup.cpu.shares = 2\nlxc.cgroup.devices.deny =",
			func(c *Config) { c.Cgroup = []Setting{{"cpu.shares", "2"}} }},
		{"cgroups cleared", "lxc.cgroup.a = 1\nlxc.cgroup2.b = 2\nlxc.cgroup =\nlxc.cgroup2 =", func(c *Config) {}},
	})
}

func TestNetKeys(t *testing.T) {
	runKeyCases(t, []keyCase{
		{"two networks in index order", "lxc.net.1.type = empty\nlxc.net.0.type = veth\nlxc.net.0.link = br0\n" +
			"lxc.net.0.flags = up\nlxc.net.0.name = eth0\nlxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\nlxc.net.0.mtu = 1400\n" +
			"lxc.net.0.ipv4.address = 10.0.0.2/24\nlxc.net.0.ipv4.address = 10.0.1.2/24\nlxc.net.0.ipv4.gateway = auto\n" +
			"lxc.net.0.ipv6.address = fd00::2/64\nlxc.net.0.ipv6.gateway = fd00::1\nlxc.net.0.veth.pair = v0\n" +
			"lxc.net.0.veth.ipv4.route = 1.2.3.0/24\nlxc.net.0.veth.ipv4.route = 1.2.4.0/24\nlxc.net.0.veth.pair = v1",
			func(c *Config) {
				c.Net = []NetDev{{Index: 0, Type: "veth", Link: "br0", Up: true, Name: "eth0", HWAddr: "00:16:3e:xx:xx:xx",
					MTU: "1400", IPv4: []string{"10.0.0.2/24", "10.0.1.2/24"}, IPv4Gateway: "auto",
					IPv6: []string{"fd00::2/64"}, IPv6Gateway: "fd00::1",
					Other: []Setting{{"veth.ipv4.route", "1.2.3.0/24"}, {"veth.ipv4.route", "1.2.4.0/24"}, {"veth.pair", "v1"}}},
					{Index: 1, Type: "empty"}}
			}},
		{"empty clears a value", "lxc.net.0.type = veth\nlxc.net.0.ipv4.address = 1.1.1.1\nlxc.net.0.ipv4.address =\nlxc.net.0.flags = up\nlxc.net.0.flags =\nlxc.net.0.vlan.id = 3\nlxc.net.0.vlan.id =",
			func(c *Config) { c.Net = []NetDev{{Type: "veth"}} }},
		{"bare lxc.net clears", "lxc.net.0.type = none\nlxc.net =\nlxc.net.2.type = phys",
			func(c *Config) { c.Net = []NetDev{{Index: 2, Type: "phys"}} }},
	})
}

// errorCases are configs Parse refuses: the condition and a part of the message.
var errorCases = []struct {
	in   string
	is   error
	want string // part of the message
}{
	{"lxc.uts.name = a\nlxc.tty.max 4", ErrSyntax, "t.conf:2: lxc.tty.max 4: "},
	{"\n = x", ErrSyntax, "t.conf:2: = x: "},
	{"lxc.cap.keep = sys_time\nlxc.cap.keep = net_admin CAP_NET_RAW", ErrBadValue, "t.conf:2: lxc.cap.keep: "},
	{"lxc.cap.drop = Sys_Admin", ErrBadValue, "t.conf:1: lxc.cap.drop: "},
	{"lxc.cap.drop = 64", ErrBadValue, "t.conf:1: "},
	{"lxc.cap.keep = kill\nlxc.cap.drop = chown", ErrConflict, "conflicting keys: lxc.cap.keep (t.conf:1) and lxc.cap.drop (t.conf:2)"},
	{"lxc.cap.keep = none\nlxc.cap.drop = chown", ErrConflict, "conflicting keys"},
	{"lxc.namespace.keep = net\nlxc.namespace.clone = pid", ErrConflict, "t.conf:2: lxc.namespace.clone: "},
	{"lxc.namespace.clone = pid\nlxc.namespace.keep = net", ErrConflict, "t.conf:2: "},
	{"lxc.namespace.keep = net mount", ErrBadValue, "t.conf:1: "},
	{"lxc.namespace.share.mount = x", ErrBadValue, "t.conf:1: "},
	{"lxc.init.uid = -1", ErrBadValue, "t.conf:1: lxc.init.uid: "},
	{"lxc.init.gid = root", ErrBadValue, "t.conf:1: "},
	{"lxc.init.cmd = " + strings.Repeat("x", 4096), ErrBadValue, "t.conf:1: "},
	{"lxc.uts.name = " + strings.Repeat("h", 65), ErrBadValue, "t.conf:1: "},
	{"lxc.no_new_privs = 2", ErrBadValue, "t.conf:1: lxc.no_new_privs: "},
	{"lxc.no_new_privs = yes", ErrBadValue, "t.conf:1: "},
	{"lxc.idmap = x 0 1 1", ErrBadValue, "t.conf:1: "},
	{"lxc.idmap = u 0 1", ErrBadValue, "t.conf:1: "},
	{"lxc.idmap = u 0 -1 1", ErrBadValue, "t.conf:1: "},
	{"lxc.rootfs.path = overlayfs:/only", ErrBadValue, "t.conf:1: lxc.rootfs.path: "},
	{"lxc.rootfs.path = overlay:rel:rel", ErrBadValue, "t.conf:1: "},
	{"lxc.rootfs.options = ro,optional", ErrBadValue, "t.conf:1: "},
	{"lxc.mount.auto = proc sys:mixed cgroup:bogus", ErrBadValue, "t.conf:1: lxc.mount.auto: "},
	{"lxc.mount.auto = cgroup:", ErrBadValue, "t.conf:1: "},
	{"lxc.mount.auto = cgroup::force", ErrBadValue, "t.conf:1: "},
	{"lxc.mount.auto = shmounts:", ErrBadValue, "t.conf:1: "},
	{"lxc.mount.entry = onlytwo fields", ErrBadValue, "t.conf:1: lxc.mount.entry: "},
	{"lxc.mount.entry = a b c d 0 0 extra", ErrBadValue, "t.conf:1: "},
	{"lxc.mount.entry = a b c d x", ErrBadValue, "t.conf:1: "},
	{"lxc.mount.fstab =", ErrBadValue, "t.conf:1: lxc.mount.fstab: "},
	{"lxc.autodev = 2", ErrBadValue, "t.conf:1: "},
	{"lxc.hook.version = 2", ErrBadValue, "t.conf:1: "},
	{"lxc.hook = /bin/x", ErrBadValue, "t.conf:1: lxc.hook: "},
	{"lxc.net = x", ErrBadValue, "t.conf:1: "},
	{"lxc.cgroup = x", ErrBadValue, "t.conf:1: "},
	{"lxc.cgroup. = x", ErrBadValue, "t.conf:1: "},
	{"lxc.net.0.type = bridge", ErrBadValue, "t.conf:1: lxc.net.0.type: "},
	{"lxc.net.x.type = veth", ErrBadValue, "t.conf:1: "},
	{"lxc.net.0 = veth", ErrBadValue, "t.conf:1: "},
	{"lxc.network.link = br0", ErrBadValue, "t.conf:1: lxc.network.link: "},
	{"lxc.log.level = 9", ErrBadValue, "t.conf:1: "},
	{"lxc.log.level = verbose", ErrBadValue, "t.conf:1: "},
	{"lxc.signal.halt = PWR", ErrBadValue, "t.conf:1: lxc.signal.halt: "},
	{"lxc.signal.stop = SIGRTMAX-31", ErrBadValue, "t.conf:1: "},
	{"lxc.include = missing.conf", nil, "t.conf:1: lxc.include: including: "},
	{"lxc.mount.fstab = fstab", nil, "t.conf:1: lxc.mount.fstab: "},
}

func TestErrors(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.in, func(t *testing.T) {
			c, _, err := parseString(tc.in)
			require.Error(t, err)
			assert.Nil(t, c)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// wantWarnings are the warnings of TestWarnings' input, one a line.
var wantWarnings = []string{
	"t.conf:1: lxc.utsname: legacy key: use lxc.uts.name",
	"t.conf:2: lxc.init_cmd: legacy key: use lxc.init.cmd",
	"t.conf:3: lxc.pivotdir: legacy key: dropped by LXC 3.0, ignored",
	"t.conf:4: foo.bar: unknown key, ignored",
	"t.conf:5: lxc.bogus: unknown key, ignored",
	"t.conf:6: lxc.hook.bogus: unknown key, ignored",
	"t.conf:7: lxc.net.0.bogus: unknown key, ignored",
	"t.conf:8: lxc.apparmor.profile: parsed but not enforced",
	"t.conf:9: lxc.seccomp.profile: parsed but not enforced",
	"t.conf:10: lxc.start.auto: LXC key kept raw, not applied here",
	"t.conf:11: lxc.prlimit.nofile: LXC key kept raw, not applied here",
	"t.conf:12: lxc.console.size: LXC key kept raw, not applied here",
	"t.conf:13: lxc.cgroup.dir: LXC key kept raw, not applied here",
	"t.conf:14: lxc.limit.core: legacy key: use lxc.prlimit.core",
	"t.conf:14: lxc.prlimit.core: LXC key kept raw, not applied here",
	"t.conf:15: lxc.tty: legacy key: use lxc.tty.max",
	"t.conf:16: lxc.pts: legacy key: use lxc.pty.max",
	"t.conf:17: lxc.rootfs: legacy key: use lxc.rootfs.path",
	"t.conf:18: lxc.mount: legacy key: use lxc.mount.fstab",
	"t.conf:19: lxc.console: legacy key: use lxc.console.path",
	"t.conf:20: lxc.loglevel: legacy key: use lxc.log.level",
	"t.conf:21: lxc.haltsignal: legacy key: use lxc.signal.halt",
	"t.conf:22: lxc.id_map: legacy key: use lxc.idmap",
}

func TestWarnings(t *testing.T) {
	in := `lxc.utsname = old
lxc.init_cmd = /sbin/init x
lxc.pivotdir = lxc_putold
foo.bar = 1
lxc.bogus = 2
lxc.hook.bogus = /x
lxc.net.0.bogus = y
lxc.apparmor.profile = unconfined
lxc.seccomp.profile = /s
lxc.start.auto = 1
lxc.prlimit.nofile = 1024
lxc.console.size = auto
lxc.cgroup.dir = pv
lxc.limit.core = 0
lxc.tty = 2
lxc.pts = 3
lxc.rootfs = /r
lxc.mount = fstab.x
lxc.console = none
lxc.loglevel = 1
lxc.haltsignal = SIGTERM
lxc.id_map = u 0 1 2
`
	c, warns, err := Options{FS: fstest.MapFS{"fstab.x": {Data: []byte("# none\n")}}}.Parse(strings.NewReader(in), "t.conf")
	require.NoError(t, err)
	var got []string
	for _, w := range warns {
		got = append(got, w.Error())
	}
	assert.Equal(t, wantWarnings, got)
	assert.ErrorIs(t, warns[0], ErrLegacyKey)
	assert.ErrorIs(t, warns[3], ErrUnknownKey)
	assert.ErrorIs(t, warns[7], ErrEnforced)
	assert.ErrorIs(t, warns[9], ErrNotApplied)
	assert.Equal(t, Warning{File: "t.conf", Line: 1, Key: "lxc.utsname", Err: warns[0].Err}, warns[0])

	want := New()
	want.UTSName, want.InitCmd, want.TTYMax, want.PTYMax = "old", "/sbin/init x", 2, 3
	want.Rootfs.Path, want.Fstab, want.ConsolePath, want.LogLevel = "/r", "fstab.x", "none", "DEBUG"
	want.SignalHalt, want.IDMaps = int(unix.SIGTERM), []IDMap{{'u', 0, 1, 2}}
	want.Raw = []Setting{{"lxc.apparmor.profile", "unconfined"}, {"lxc.seccomp.profile", "/s"},
		{"lxc.start.auto", "1"}, {"lxc.prlimit.nofile", "1024"}, {"lxc.console.size", "auto"},
		{"lxc.cgroup.dir", "pv"}, {"lxc.prlimit.core", "0"}}
	assert.Equal(t, want, c)
}

func TestLegacyNetwork(t *testing.T) {
	in := "lxc.network.type = veth\nlxc.network.link = br0\nlxc.network.ipv4 = 10.0.0.2/24\n" +
		"lxc.network.ipv4.gateway = 10.0.0.1\nlxc.network.type = empty\nlxc.network.flags = up\n" +
		"lxc.network.0.ipv6 = fd::1\nlxc.network.5.name = x\n"
	c, warns, err := parseString(in)
	require.NoError(t, err)
	require.Len(t, warns, 8)
	for _, w := range warns {
		assert.ErrorIs(t, w, ErrLegacyKey)
	}
	assert.Equal(t, "t.conf:3: lxc.network.ipv4: legacy key: use lxc.net.0.ipv4.address", warns[2].Error())
	assert.Equal(t, []NetDev{
		{Index: 0, Type: "veth", Link: "br0", IPv4: []string{"10.0.0.2/24"}, IPv4Gateway: "10.0.0.1", IPv6: []string{"fd::1"}},
		{Index: 1, Type: "empty", Up: true},
		{Index: 5, Name: "x"},
	}, c.Net)
	c, _, err = parseString("lxc.network.type = veth\nlxc.network =")
	require.NoError(t, err)
	assert.Nil(t, c.Net)
}

func TestWarningUnwrap(t *testing.T) {
	w := Warning{File: "f", Line: 2, Key: "k", Err: legacyErr("lxc.x")}
	assert.True(t, errors.Is(w, ErrLegacyKey))
	assert.Equal(t, "f:2: k: legacy key: use lxc.x", w.Error())
}

func TestNotAppliedHook(t *testing.T) {
	errX := errors.New("not applied here")
	var asked []string
	o := Options{NotApplied: func(k, v string) error {
		asked = append(asked, k+"="+v)
		if k == "lxc.tty.max" {
			return errX
		}
		return nil
	}}
	_, warns, err := o.Parse(strings.NewReader("lxc.tty.max = 8\nlxc.tty = 2\nlxc.tty.max =\nlxc.uts.name = h\nlxc.bogus = 1\n"), "t.conf")
	require.NoError(t, err)
	var got []string
	for _, w := range warns {
		got = append(got, w.Error())
	}
	assert.Equal(t, []string{
		"t.conf:1: lxc.tty.max: not applied here",
		"t.conf:2: lxc.tty: legacy key: use lxc.tty.max",
		"t.conf:2: lxc.tty.max: not applied here",
		"t.conf:5: lxc.bogus: unknown key, ignored",
	}, got, "a legacy key is asked about under its current name; an empty value is not asked about")
	assert.ErrorIs(t, warns[0], errX)
	assert.Equal(t, []string{"lxc.tty.max=8", "lxc.tty.max=2", "lxc.uts.name=h", "lxc.bogus=1"}, asked)
}
