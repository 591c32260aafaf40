package enter

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"pantavisor/lib/eintr"
	"pantavisor/lib/printf"
)

// namespaces are joined in this order (util-linux nsenter's, less user
// and time): the mount namespace last, so every /proc path before it is
// still the host's.
var namespaces = [...]struct {
	name string
	flag int
}{
	{"cgroup", unix.CLONE_NEWCGROUP},
	{"ipc", unix.CLONE_NEWIPC},
	{"uts", unix.CLONE_NEWUTS},
	{"net", unix.CLONE_NEWNET},
	{"pid", unix.CLONE_NEWPID},
	{"mnt", unix.CLONE_NEWNS},
}

// nsFile is an opened namespace of the target.
type nsFile struct {
	name string
	flag int
	f    *os.File
}

// openNamespaces opens every namespace of pid that differs from the
// calling thread's. A kind the kernel lacks (no ns file) is skipped.
func openNamespaces(proc string, pid int) ([]nsFile, error) {
	var out []nsFile
	for _, ns := range namespaces {
		ours := filepath.Join(proc, "thread-self", "ns", ns.name)
		theirs := filepath.Join(proc, strconv.Itoa(pid), "ns", ns.name)
		var a, b unix.Stat_t
		if unix.Stat(ours, &a) != nil {
			continue
		}
		if err := unix.Stat(theirs, &b); err != nil {
			closeNamespaces(out)
			return nil, printf.Errorf("%s namespace of pid %d: %w", ns.name, pid, err)
		}
		if a.Dev == b.Dev && a.Ino == b.Ino {
			continue
		}
		f, err := os.Open(theirs)
		if err != nil {
			closeNamespaces(out)
			return nil, printf.Errorf("open %s namespace of pid %d: %w", ns.name, pid, err)
		}
		out = append(out, nsFile{ns.name, ns.flag, f})
	}
	return out, nil
}

func closeNamespaces(nss []nsFile) {
	for _, ns := range nss {
		ns.f.Close()
	}
}

// setns joins namespace ns with the calling thread.
func setns(ns nsFile) error {
	if err := eintr.Retry(func() error { return unix.Setns(int(ns.f.Fd()), ns.flag) }); err != nil {
		return printf.Errorf("setns %s (CLONE_NEW%s): %w", ns.name, flagName(ns.flag), err)
	}
	return nil
}

func flagName(flag int) string {
	switch flag {
	case unix.CLONE_NEWCGROUP:
		return "CGROUP"
	case unix.CLONE_NEWIPC:
		return "IPC"
	case unix.CLONE_NEWUTS:
		return "UTS"
	case unix.CLONE_NEWNET:
		return "NET"
	case unix.CLONE_NEWPID:
		return "PID"
	case unix.CLONE_NEWNS:
		return "NS"
	}
	return strconv.Itoa(flag)
}

// StartInside starts the command that build returns inside pid's
// namespaces. Steps, all on a new goroutine locked to its OS thread:
//  1. open the namespaces of pid that differ from ours;
//  2. unshare CLONE_FS: setns(CLONE_NEWNS) fails with EINVAL while other
//     threads share the fs_struct (root and cwd), which Go's always do;
//  3. setns each namespace, the mount namespace last;
//  4. call build, which now sees the container's filesystem, and fork
//     the command from this thread: the child inherits the thread's
//     namespaces, root and cwd (and, for CLONE_NEWPID, which only applies
//     to children, is the container's process).
//
// The thread is never unlocked: when the goroutine ends, Go ends the
// thread with it, so no other goroutine runs in the container.
func StartInside(proc string, pid int, build func() (*exec.Cmd, error)) (*exec.Cmd, error) {
	type result struct {
		cmd *exec.Cmd
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		cmd, err := joinAndStart(proc, pid, build)
		done <- result{cmd, err}
	}()
	r := <-done
	return r.cmd, r.err
}

// joinAndStart is StartInside's locked thread.
func joinAndStart(proc string, pid int, build func() (*exec.Cmd, error)) (*exec.Cmd, error) {
	nss, err := openNamespaces(proc, pid)
	if err != nil {
		return nil, err
	}
	defer closeNamespaces(nss)
	if len(nss) > 0 && nss[len(nss)-1].flag == unix.CLONE_NEWNS {
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			return nil, printf.Errorf("unshare CLONE_FS: %w", err)
		}
	}
	for _, ns := range nss {
		if err := setns(ns); err != nil {
			return nil, err
		}
	}
	cmd, err := build()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, printf.Errorf("start %s: %w", cmd.Path, err)
	}
	return cmd, nil
}

// isExecutable reports whether p is an absolute path we may execute (seen
// from the calling thread).
func isExecutable(p string) bool {
	return p != "" && filepath.IsAbs(p) && unix.Access(p, unix.X_OK) == nil
}

// isDir reports whether p is a directory (seen from the calling thread).
func isDir(p string) bool {
	var st unix.Stat_t
	return p != "" && unix.Stat(p, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
}

// exitCode maps a finished command to an exit code: its own, or 128+N
// when signal N killed it.
func exitCode(st *os.ProcessState) int {
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return st.ExitCode()
}
