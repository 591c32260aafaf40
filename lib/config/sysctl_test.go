package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/cmdline"
)

// fakeProc is a /proc/sys directory tree for Config.IsDir.
func fakeProc(dirs ...string) func(string) bool {
	return func(p string) bool {
		for _, d := range append(dirs, "/proc/sys") {
			if p == d {
				return true
			}
		}
		return false
	}
}

func newFake() *Config {
	c := New()
	c.IsDir = fakeProc("/proc/sys/kernel", "/proc/sys/net", "/proc/sys/net/ipv4",
		"/proc/sys/net/ipv4/conf", "/proc/sys/net/ipv4/conf/all", "/proc/sys/vm")
	return c
}

func TestSysctlPath(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{"PV_SYSCTL_KERNEL_CORE_PATTERN", "/proc/sys/kernel/core_pattern"},
		{"pv_sysctl_kernel_core_pattern", "/proc/sys/kernel/core_pattern"},
		{"PV_SYSCTL_VM_SWAPPINESS", "/proc/sys/vm/swappiness"},
		{"PV_SYSCTL_VM_DIRTY_RATIO", "/proc/sys/vm/dirty_ratio"},
		{"PV_SYSCTL_NET_IPV4_IP_FORWARD", "/proc/sys/net/ipv4/ip_forward"},
		{"PV_SYSCTL_NET_IPV4_CONF_ALL_RP_FILTER", "/proc/sys/net/ipv4/conf/all/rp_filter"},
		{"PV_SYSCTL_FS_FILE_MAX", "/proc/sys/fs_file_max"}, // no fs directory in the fake tree
		{"PV_SYSCTL_KERNEL_", "/proc/sys/kernel"},
		{"sysctl.kernel.core_pattern", "/proc/sys/kernel/core_pattern"},
		{"sysctl.net.ipv4.conf.eth0.rp_filter", "/proc/sys/net/ipv4/conf/eth0/rp_filter"},
		{"SYSCTL.vm.Swappiness", "/proc/sys/vm/Swappiness"}, // legacy keeps case, as upstream
	} {
		p, err := newFake().sysctlPath(tc.key)
		require.NoError(t, err, tc.key)
		assert.Equal(t, tc.want, p, tc.key)
	}
	for _, bad := range []string{"PV_SYSCTL_KERNEL/../X", "PV_SYSCTL_A.B", "PV_SYSCTL__X", "PV_SYSCTL_A B",
		"sysctl.a..b", "sysctl.a.", "sysctl..", "sysctl.a/b", "sysctl.a.b c"} {
		_, err := newFake().sysctlPath(bad)
		assert.ErrorIs(t, err, errSysctlName, bad)
	}
	assert.False(t, isSysctl("PV_SYSCTL_"), "a name is needed")
	assert.False(t, isSysctl("sysctl."))
	assert.False(t, isSysctl("sysctlkernel"))
}

func TestSysctls(t *testing.T) {
	c := newFake()
	assert.Equal(t, []Sysctl{{"/proc/sys/kernel/core_pattern", "|/lib/pv/pvcrash --skip", LevelDefault}}, c.Sysctls())

	require.NoError(t, c.Set(LevelPVConf, "PV_SYSCTL_VM_SWAPPINESS", "60"))
	require.NoError(t, c.Set(LevelOEM, "sysctl.vm.swappiness", "10"))
	require.NoError(t, c.Set(LevelPolicy, "PV_SYSCTL_KERNEL_CORE_PATTERN", "core"))
	require.NoError(t, c.Set(LevelEnv, "PV_SYSCTL_NET_IPV4_IP_FORWARD", "1"))
	require.NoError(t, c.Set(LevelPVCmdline, "PV_SYSCTL_NET_IPV4_IP_FORWARD", "0"))
	assert.Equal(t, []Sysctl{
		{"/proc/sys/kernel/core_pattern", "core", LevelPolicy},
		{"/proc/sys/net/ipv4/ip_forward", "1", LevelEnv},
		{"/proc/sys/vm/swappiness", "10", LevelOEM},
	}, c.Sysctls(), "same path from both spellings; highest level wins")

	for _, l := range []Level{LevelArgs, LevelPHConf, LevelPHClient, LevelPHCmdline, LevelMeta, LevelCmd, LevelDefault} {
		err := c.Set(l, "PV_SYSCTL_VM_SWAPPINESS", "99")
		assert.ErrorIs(t, err, ErrNotAllowed, l.String())
	}
	err := c.Set(LevelPVConf, "PV_SYSCTL_VM_../X", "1")
	assert.ErrorIs(t, err, errSysctlName)
	assert.ErrorIs(t, err, ErrUnknownKey)
	assert.Equal(t, `pv conf file: PV_SYSCTL_VM_../X="1": unknown key: invalid sysctl name`, err.Error())

	require.NoError(t, c.Unset(LevelOEM, "PV_SYSCTL_VM_SWAPPINESS"), "unset by the other spelling")
	require.NoError(t, c.Unset(LevelPolicy, "sysctl.kernel.core_pattern"))
	require.NoError(t, c.Unset(LevelEnv, "PV_SYSCTL_NET_IPV4_IP_FORWARD"))
	assert.Equal(t, []Sysctl{
		{"/proc/sys/kernel/core_pattern", "|/lib/pv/pvcrash --skip", LevelDefault},
		{"/proc/sys/net/ipv4/ip_forward", "0", LevelPVCmdline},
		{"/proc/sys/vm/swappiness", "60", LevelPVConf},
	}, c.Sysctls())
	assert.ErrorIs(t, c.Unset(LevelOEM, "sysctl.a..b"), errSysctlName)

	var b strings.Builder
	_, err = c.WriteTo(&b)
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(b.String(),
		"/proc/sys/kernel/core_pattern\tdefault\t\"|/lib/pv/pvcrash --skip\"\n"+
			"/proc/sys/net/ipv4/ip_forward\tpv cmdline\t\"0\"\n"+
			"/proc/sys/vm/swappiness\tpv conf file\t\"60\"\n"), b.String())
}

func TestSysctlFromSources(t *testing.T) {
	c := newFake()
	warns, err := c.Load(LevelOEM, strings.NewReader("PV_SYSCTL_KERNEL_CORE_PATTERN=|/bin/false\n"))
	require.NoError(t, err)
	assert.Empty(t, warns)
	warns = c.LoadEnv([]string{"PV_SYSCTL_VM_SWAPPINESS=5"})
	assert.Empty(t, warns)
	warns = c.LoadCmdline(cmdline.Parse("pv_sysctl.vm.overcommit_memory=1 pv_sysctl_vm_dirty_ratio=20 ph_sysctl.vm.x=1"))
	require.Len(t, warns, 1)
	assert.ErrorIs(t, warns[0], ErrNotAllowed, "no sysctl at the PH levels")
	warns, err = c.Load(LevelMeta, strings.NewReader("PV_SYSCTL_VM_SWAPPINESS=100\n"))
	require.NoError(t, err)
	require.Len(t, warns, 1)
	assert.ErrorIs(t, warns[0], ErrNotAllowed)
	assert.Equal(t, []Sysctl{
		{"/proc/sys/kernel/core_pattern", "|/bin/false", LevelOEM},
		{"/proc/sys/vm/dirty_ratio", "20", LevelPVCmdline},
		{"/proc/sys/vm/overcommit_memory", "1", LevelPVCmdline},
		{"/proc/sys/vm/swappiness", "5", LevelEnv},
	}, c.Sysctls())
}

func TestSysctlRealIsDir(t *testing.T) {
	var c Config // nil IsDir: the real check
	p, err := c.sysctlPath("PV_SYSCTL_KERNEL_CORE_PATTERN")
	require.NoError(t, err)
	if isDir("/proc/sys/kernel") {
		assert.Equal(t, "/proc/sys/kernel/core_pattern", p)
	}
}
