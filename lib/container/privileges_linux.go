package container

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
)

// lastCap is the highest capability the kernel knows.
func lastCap() int {
	data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return unix.CAP_LAST_CAP
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return unix.CAP_LAST_CAP
	}
	return n
}

// dropPrivileges limits the capabilities to s.Caps and switches to s.UID
// and s.GID. Steps: drop every other capability from the bounding set
// (root's init then gets exactly these at exec), keep capabilities across
// setuid, set groups/gid/uid, set permitted/effective/inheritable to the
// kept set, and raise them as ambient so a non-root init keeps them.
func dropPrivileges(s *Spec) error {
	keep := make(map[int]bool, len(s.Caps))
	for _, c := range s.Caps {
		keep[c] = true
	}
	last := lastCap()
	for c := 0; c <= last; c++ {
		if !keep[c] {
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
				return printf.Errorf("dropping capability %d: %w", c, err)
			}
		}
	}
	if s.UID != 0 || s.GID != 0 {
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
			return printf.Errorf("PR_SET_KEEPCAPS: %w", err)
		}
		if err := setIDs(s.UID, s.GID); err != nil {
			return err
		}
	}
	if err := setCaps(keep, last); err != nil {
		return err
	}
	if s.UID == 0 {
		return nil
	}
	for c := range keep {
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
			return printf.Errorf("raising ambient capability %d: %w", c, err)
		}
	}
	return nil
}

// setNoNewPrivs sets PR_SET_NO_NEW_PRIVS when s asks for it (Linux 3.5):
// it holds across exec and fork, so neither the init nor anything it runs
// gains privileges from setuid/setgid bits or file capabilities.
func setNoNewPrivs(s *Spec) error {
	if !s.NoNewPrivs {
		return nil
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return printf.Errorf("PR_SET_NO_NEW_PRIVS: %w", err)
	}
	return nil
}

// setIDs switches the whole process (all threads: the raw syscalls of
// package syscall do that) to uid and gid with no supplementary groups.
func setIDs(uid, gid int) error {
	if err := syscall.Setgroups(nil); err != nil {
		return printf.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return printf.Errorf("setgid %d: %w", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return printf.Errorf("setuid %d: %w", uid, err)
	}
	return nil
}

// setCaps sets permitted, effective and inheritable to keep, limited to
// what the process holds now (raising a capability it lacks is EPERM: we
// may run with a reduced set, e.g. inside another container).
func setCaps(keep map[int]bool, last int) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var cur, data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &cur[0]); err != nil {
		return printf.Errorf("capget: %w", err)
	}
	for c := 0; c <= last; c++ {
		if keep[c] {
			data[c/32].Permitted |= 1 << (c % 32)
		}
	}
	for i := range data {
		data[i].Permitted &= cur[i].Permitted
		data[i].Effective = data[i].Permitted
		data[i].Inheritable = data[i].Permitted
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return printf.Errorf("capset: %w", err)
	}
	return nil
}

// defaultPath is used to find the init when the environment has no PATH.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ErrNoInit means the container init is not in the rootfs.
var ErrNoInit = errors.New("init not found in the container rootfs")

// execInit changes to the working directory and execs the init with the
// container's environment only. It returns only on failure.
func execInit(s *Spec) error {
	if len(s.Args) == 0 {
		return printf.Errorf("%s: %w: empty lxc.init.cmd", s.Name, ErrNoInit)
	}
	cwd := s.Cwd
	if cwd == "" {
		cwd = "/"
	}
	if err := unix.Chdir(cwd); err != nil {
		return printf.Errorf("%s: working directory %s: %w", s.Name, cwd, err)
	}
	path, err := lookPath(s.Args[0], s.Env)
	if err != nil {
		return printf.Errorf("%s: %w", s.Name, err)
	}
	err = unix.Exec(path, s.Args, s.Env)
	return printf.Errorf("%s: exec %s: %w", s.Name, path, err)
}

// lookPath finds name like execvp, with the container's PATH.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		if isExecutable(name) {
			return name, nil
		}
		return "", printf.Errorf("%w: %s", ErrNoInit, name)
	}
	path := defaultPath
	for _, e := range env {
		if p, ok := strings.CutPrefix(e, "PATH="); ok {
			path = p
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p, nil
		}
	}
	return "", printf.Errorf("%w: %s (PATH %s)", ErrNoInit, name, path)
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
