package lxcconf

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestCapNumber(t *testing.T) {
	// The kernel's numbers, written out rather than taken from unix, so a
	// swapped pair in capNames fails here.
	want := map[string]int{
		"chown": 0, "dac_override": 1, "dac_read_search": 2, "fowner": 3, "fsetid": 4, "kill": 5,
		"setgid": 6, "setuid": 7, "setpcap": 8, "linux_immutable": 9, "net_bind_service": 10,
		"net_broadcast": 11, "net_admin": 12, "net_raw": 13, "ipc_lock": 14, "ipc_owner": 15,
		"sys_module": 16, "sys_rawio": 17, "sys_chroot": 18, "sys_ptrace": 19, "sys_pacct": 20,
		"sys_admin": 21, "sys_boot": 22, "sys_nice": 23, "sys_resource": 24, "sys_time": 25,
		"sys_tty_config": 26, "mknod": 27, "lease": 28, "audit_write": 29, "audit_control": 30,
		"setfcap": 31, "mac_override": 32, "mac_admin": 33, "syslog": 34, "wake_alarm": 35,
		"block_suspend": 36, "audit_read": 37, "perfmon": 38, "bpf": 39, "checkpoint_restore": 40,
	}
	require.Len(t, capNames, len(want), "one table row per name")
	assert.Len(t, capNames, unix.CAP_LAST_CAP+1, "every capability x/sys knows")
	for name, n := range want {
		got, err := CapNumber(name)
		require.NoError(t, err, name)
		assert.Equal(t, n, got, name)
	}
	assert.True(t, slices.IsSortedFunc(capNames[:], func(a, b capName) int { return strings.Compare(a.name, b.name) }))
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"0", 0, true}, {"41", 41, true}, {"63", 63, true}, {"64", 0, false}, {"-1", 0, false},
		{"CAP_CHOWN", 0, false}, {"Chown", 0, false}, {"cap_chown", 0, false}, {"none", 0, false},
		{"", 0, false}, {"0x1", 0, false}, {" chown", 0, false},
	} {
		got, err := CapNumber(tc.in)
		if !tc.ok {
			assert.ErrorIs(t, err, ErrBadValue, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestNamespaceNames(t *testing.T) {
	assert.True(t, slices.IsSortedFunc(nsNames[:], func(a, b nsName) int { return strings.Compare(a.name, b.name) }))
	for _, tc := range []struct {
		name string
		flag uintptr
	}{
		{"cgroup", 0x02000000}, {"ipc", 0x08000000}, {"mnt", 0x00020000}, {"net", 0x40000000},
		{"pid", 0x20000000}, {"time", 0x00000080}, {"user", 0x10000000}, {"uts", 0x04000000},
	} {
		f, ok := nsFlag(tc.name)
		assert.True(t, ok, tc.name)
		assert.Equal(t, tc.flag, f, tc.name)
	}
	for _, bad := range []string{"mount", "network", "", "NET"} {
		_, ok := nsFlag(bad)
		assert.False(t, ok, bad)
	}
	f, err := parseNamespaces("NET  Ipc\tuser")
	require.NoError(t, err)
	assert.Equal(t, uintptr(0x58000000), f)
}

func TestParseSignal(t *testing.T) {
	assert.True(t, slices.IsSortedFunc(sigNames[:], func(a, b sigName) int { return strings.Compare(a.name, b.name) }))
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"SIGPWR", int(unix.SIGPWR)}, {"sigpwr", int(unix.SIGPWR)}, {"SigTerm", int(unix.SIGTERM)},
		{"SIGKILL", int(unix.SIGKILL)}, {"SIGINT", int(unix.SIGINT)}, {"SIGHUP", int(unix.SIGHUP)},
		{"SIGUSR1", int(unix.SIGUSR1)}, {"SIGUSR2", int(unix.SIGUSR2)}, {"SIGQUIT", int(unix.SIGQUIT)},
		{"SIGCHLD", int(unix.SIGCHLD)}, {"SIGCLD", int(unix.SIGCHLD)}, {"SIGIOT", int(unix.SIGABRT)},
		{"SIGABRT", int(unix.SIGABRT)}, {"SIGPOLL", int(unix.SIGIO)}, {"SIGIO", int(unix.SIGIO)},
		{"SIGCONT", int(unix.SIGCONT)}, {"SIGSTOP", int(unix.SIGSTOP)}, {"SIGWINCH", int(unix.SIGWINCH)},
		{"SIGALRM", int(unix.SIGALRM)}, {"SIGBUS", int(unix.SIGBUS)}, {"SIGFPE", int(unix.SIGFPE)},
		{"SIGILL", int(unix.SIGILL)}, {"SIGPIPE", int(unix.SIGPIPE)}, {"SIGPROF", int(unix.SIGPROF)},
		{"SIGSEGV", int(unix.SIGSEGV)}, {"SIGSYS", int(unix.SIGSYS)}, {"SIGTRAP", int(unix.SIGTRAP)},
		{"SIGTSTP", int(unix.SIGTSTP)}, {"SIGTTIN", int(unix.SIGTTIN)}, {"SIGTTOU", int(unix.SIGTTOU)},
		{"SIGURG", int(unix.SIGURG)}, {"SIGVTALRM", int(unix.SIGVTALRM)}, {"SIGXCPU", int(unix.SIGXCPU)},
		{"SIGXFSZ", int(unix.SIGXFSZ)},
		{"30", 30}, {"1", 1}, {"64", 64}, {"0x1e", 30},
		{"SIGRTMIN+0", 34}, {"SIGRTMIN+3", 37}, {"sigrtmax-0", 64}, {"SIGRTMAX-30", 34}, {"SIGRTMIN+30", 64},
	} {
		got, err := ParseSignal(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
	for _, bad := range []string{"", "PWR", "SIG", "SIGFOO", "0", "65", "-1", "SIGRTMIN", "SIGRTMIN+31",
		"SIGRTMAX-31", "SIGRTMIN-1", "SIGRTMAX+1", "SIGRTMIN+x", "SIGRTMIN++1", "9x"} {
		_, err := ParseSignal(bad)
		assert.ErrorIs(t, err, ErrBadValue, bad)
	}
}

func TestSplitCommand(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{"/app/run", []string{"/app/run"}},
		{"  /bin/sh   -c  x  ", []string{"/bin/sh", "-c", "x"}},
		{"a\tb c", []string{"a\tb", "c"}},
		{`/bin/sh -c "echo a  b"`, []string{"/bin/sh", "-c", "echo a  b"}},
		{`a "" b`, []string{"a", "", "b"}},
		{`x"y z"w`, []string{"x", "y z", "w"}},
		{`"a"b`, []string{"a", "b"}},
		{`'a b'`, []string{"'a", "b'"}},
		{`"say \"hi\" \\ \n"`, []string{`say "hi" \ \n`}},
		{`a "open b`, []string{"a", `"open b`}},
		{`a "open\`, []string{"a", `"open\`}},
		{`a "x\"`, []string{"a", `"x"`}},
	} {
		assert.Equal(t, tc.want, SplitCommand(tc.in), tc.in)
	}
}
