package lxcconf

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// capName maps an lxc.cap.* name (lower case, without CAP_) to its number.
type capName struct {
	name string
	num  uint8
}

// capNames is sorted by name for binary search; the linker lays it out
// statically, so it costs nothing at init.
var capNames = [...]capName{
	{"audit_control", unix.CAP_AUDIT_CONTROL},
	{"audit_read", unix.CAP_AUDIT_READ},
	{"audit_write", unix.CAP_AUDIT_WRITE},
	{"block_suspend", unix.CAP_BLOCK_SUSPEND},
	{"bpf", unix.CAP_BPF},
	{"checkpoint_restore", unix.CAP_CHECKPOINT_RESTORE},
	{"chown", unix.CAP_CHOWN},
	{"dac_override", unix.CAP_DAC_OVERRIDE},
	{"dac_read_search", unix.CAP_DAC_READ_SEARCH},
	{"fowner", unix.CAP_FOWNER},
	{"fsetid", unix.CAP_FSETID},
	{"ipc_lock", unix.CAP_IPC_LOCK},
	{"ipc_owner", unix.CAP_IPC_OWNER},
	{"kill", unix.CAP_KILL},
	{"lease", unix.CAP_LEASE},
	{"linux_immutable", unix.CAP_LINUX_IMMUTABLE},
	{"mac_admin", unix.CAP_MAC_ADMIN},
	{"mac_override", unix.CAP_MAC_OVERRIDE},
	{"mknod", unix.CAP_MKNOD},
	{"net_admin", unix.CAP_NET_ADMIN},
	{"net_bind_service", unix.CAP_NET_BIND_SERVICE},
	{"net_broadcast", unix.CAP_NET_BROADCAST},
	{"net_raw", unix.CAP_NET_RAW},
	{"perfmon", unix.CAP_PERFMON},
	{"setfcap", unix.CAP_SETFCAP},
	{"setgid", unix.CAP_SETGID},
	{"setpcap", unix.CAP_SETPCAP},
	{"setuid", unix.CAP_SETUID},
	{"sys_admin", unix.CAP_SYS_ADMIN},
	{"sys_boot", unix.CAP_SYS_BOOT},
	{"sys_chroot", unix.CAP_SYS_CHROOT},
	{"sys_module", unix.CAP_SYS_MODULE},
	{"sys_nice", unix.CAP_SYS_NICE},
	{"sys_pacct", unix.CAP_SYS_PACCT},
	{"sys_ptrace", unix.CAP_SYS_PTRACE},
	{"sys_rawio", unix.CAP_SYS_RAWIO},
	{"sys_resource", unix.CAP_SYS_RESOURCE},
	{"sys_time", unix.CAP_SYS_TIME},
	{"sys_tty_config", unix.CAP_SYS_TTY_CONFIG},
	{"syslog", unix.CAP_SYSLOG},
	{"wake_alarm", unix.CAP_WAKE_ALARM},
}

// maxCap bounds numeric capability names: the bounding set is 64 bits wide.
// LXC checks a number against the running kernel's last capability; the
// launcher does that through Capabilities(lastCap).
const maxCap = 63

// CapNumber returns the number of capability name as lxc.cap.keep and
// lxc.cap.drop write it: lower case without "CAP_" (LXC compares exactly),
// or a decimal number up to 63 for capabilities newer than this table.
func CapNumber(name string) (int, error) {
	if i := search(len(capNames), func(i int) string { return capNames[i].name }, name); i >= 0 {
		return int(capNames[i].num), nil
	}
	if n, err := strconv.ParseUint(name, 10, 8); err == nil && n <= maxCap {
		return int(n), nil
	}
	return 0, badValue("unknown capability %q", name)
}

// search returns the index of key in a table of n names sorted
// ascending, read through nameAt, or -1. One non-generic helper serves
// every table of the package, which keeps the binary small.
func search(n int, nameAt func(int) string, key string) int {
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if nameAt(m) < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < n && nameAt(lo) == key {
		return lo
	}
	return -1
}
