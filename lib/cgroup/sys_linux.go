package cgroup

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"pantavisor/lib/eintr"
	"pantavisor/lib/printf"
)

// writeFile writes value to an existing cgroup file in one write(2), as
// the kernel parses each write on its own. It never creates the file.
func writeFile(path, value string) error {
	fd, err := eintr.Value(func() (int, error) {
		return unix.Open(path, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return printf.Errorf("open %s for writing: %w", path, err)
	}
	defer unix.Close(fd)
	if _, err := eintr.Value(func() (int, error) { return unix.Write(fd, []byte(value)) }); err != nil {
		return printf.Errorf("write %q to %s: %w", value, path, err)
	}
	return nil
}

// readFile reads a cgroup file (small, but may be larger than one page).
func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", printf.Errorf("read %s: %w", path, err)
	}
	return string(b), nil
}

// mkdir creates one directory and reports whether it was new; an existing
// directory is not an error.
func mkdir(path string) (bool, error) {
	err := eintr.Retry(func() error { return unix.Mkdir(path, 0o755) })
	if errors.Is(err, unix.EEXIST) {
		return false, nil
	}
	if err != nil {
		return false, printf.Errorf("mkdir %s: %w", path, err)
	}
	return true, nil
}

// rmdir removes one cgroup directory.
func rmdir(path string) error {
	if err := eintr.Retry(func() error { return unix.Rmdir(path) }); err != nil {
		return printf.Errorf("rmdir %s: %w", path, err)
	}
	return nil
}

// statfsType returns the filesystem magic of path.
func statfsType(path string) (int64, error) {
	var st unix.Statfs_t
	if err := eintr.Retry(func() error { return unix.Statfs(path, &st) }); err != nil {
		return 0, printf.Errorf("statfs %s: %w", path, err)
	}
	return int64(st.Type), nil // int32 on 32-bit arm
}

// kill sends SIGKILL to pid; a process already gone is not an error.
func kill(pid int) error {
	err := unix.Kill(pid, unix.SIGKILL)
	if err != nil && !errors.Is(err, unix.ESRCH) {
		return printf.Errorf("kill -9 %s: %w", strconv.Itoa(pid), err)
	}
	return nil
}
