package lxcconf

import (
	"strings"

	"golang.org/x/sys/unix"
)

// nsName maps a namespace name of lxc.namespace.* to its clone flag.
type nsName struct {
	name string
	flag uintptr
}

// nsNames is sorted by name: LXC's ns_info names, time included (LXC 4+).
var nsNames = [...]nsName{
	{"cgroup", unix.CLONE_NEWCGROUP},
	{"ipc", unix.CLONE_NEWIPC},
	{"mnt", unix.CLONE_NEWNS},
	{"net", unix.CLONE_NEWNET},
	{"pid", unix.CLONE_NEWPID},
	{"time", unix.CLONE_NEWTIME},
	{"user", unix.CLONE_NEWUSER},
	{"uts", unix.CLONE_NEWUTS},
}

// nsFlag returns the clone flag of a namespace name (exact, lower case).
func nsFlag(name string) (uintptr, bool) {
	i := search(len(nsNames), func(i int) string { return nsNames[i].name }, name)
	if i < 0 {
		return 0, false
	}
	return nsNames[i].flag, true
}

// parseNamespaces ORs the flags of a blank-separated list of names, which
// LXC matches ignoring case.
func parseNamespaces(v string) (uintptr, error) {
	var f uintptr
	for _, tok := range strings.Fields(v) {
		flag, ok := nsFlag(strings.ToLower(tok))
		if !ok {
			return 0, badValue("unknown namespace %q", tok)
		}
		f |= flag
	}
	return f, nil
}
