package lxcconf

import (
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// sigName maps a signal name without "SIG" to its number on this arch.
type sigName struct {
	name string
	num  syscall.Signal
}

// sigNames is sorted by name; IOT, CLD and POLL are the aliases LXC knows.
var sigNames = [...]sigName{
	{"ABRT", unix.SIGABRT}, {"ALRM", unix.SIGALRM}, {"BUS", unix.SIGBUS}, {"CHLD", unix.SIGCHLD},
	{"CLD", unix.SIGCHLD}, {"CONT", unix.SIGCONT}, {"FPE", unix.SIGFPE}, {"HUP", unix.SIGHUP},
	{"ILL", unix.SIGILL}, {"INT", unix.SIGINT}, {"IO", unix.SIGIO}, {"IOT", unix.SIGABRT},
	{"KILL", unix.SIGKILL}, {"PIPE", unix.SIGPIPE}, {"POLL", unix.SIGIO}, {"PROF", unix.SIGPROF},
	{"PWR", unix.SIGPWR}, {"QUIT", unix.SIGQUIT}, {"SEGV", unix.SIGSEGV}, {"STOP", unix.SIGSTOP},
	{"SYS", unix.SIGSYS}, {"TERM", unix.SIGTERM}, {"TRAP", unix.SIGTRAP}, {"TSTP", unix.SIGTSTP},
	{"TTIN", unix.SIGTTIN}, {"TTOU", unix.SIGTTOU}, {"URG", unix.SIGURG}, {"USR1", unix.SIGUSR1},
	{"USR2", unix.SIGUSR2}, {"VTALRM", unix.SIGVTALRM}, {"WINCH", unix.SIGWINCH}, {"XCPU", unix.SIGXCPU},
	{"XFSZ", unix.SIGXFSZ},
}

// Real-time signal range as glibc numbers it, which LXC's SIGRTMIN/SIGRTMAX
// macros expand to.
const (
	sigRTMin = 34
	sigRTMax = 64
)

// ParseSignal reads an lxc.signal.* value as LXC's sig_parse does: a number
// (1 to 64), or a name starting with "SIG" in any case (SIGPWR, sigterm),
// or SIGRTMIN+n / SIGRTMAX-n.
func ParseSignal(s string) (int, error) {
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		n, err := strconv.ParseUint(s, 0, 8)
		if err != nil || n < 1 || n > sigRTMax {
			return 0, badValue("signal number %q", s)
		}
		return int(n), nil
	}
	name, ok := strings.CutPrefix(strings.ToUpper(s), "SIG")
	if !ok {
		return 0, badValue("signal %q: want a number or SIG<NAME>", s)
	}
	if rt, ok := strings.CutPrefix(name, "RT"); ok {
		return rtSignal(s, rt)
	}
	i := search(len(sigNames), func(i int) string { return sigNames[i].name }, name)
	if i < 0 {
		return 0, badValue("unknown signal %q", s)
	}
	return int(sigNames[i].num), nil
}

// rtSignal reads the "MIN+n" or "MAX-n" after "SIGRT".
func rtSignal(s, rt string) (int, error) {
	base, sign := sigRTMin, 1
	off, ok := strings.CutPrefix(rt, "MIN+")
	if !ok {
		if off, ok = strings.CutPrefix(rt, "MAX-"); !ok {
			return 0, badValue("signal %q: want SIGRTMIN+n or SIGRTMAX-n", s)
		}
		base, sign = sigRTMax, -1
	}
	n, err := strconv.ParseUint(off, 10, 8)
	if err != nil || off[0] < '0' || off[0] > '9' || n > sigRTMax-sigRTMin {
		return 0, badValue("signal %q: offset out of range", s)
	}
	return base + sign*int(n), nil
}
