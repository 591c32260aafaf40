// Package mount wraps mount(2) and umount2(2) with complete errors and
// readable flag names.
package mount

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"pantavisor/lib/eintr"
	"pantavisor/lib/printf"
)

var flagNames = []struct {
	flag uintptr
	name string
}{
	{unix.MS_RDONLY, "ro"},
	{unix.MS_NOSUID, "nosuid"},
	{unix.MS_NODEV, "nodev"},
	{unix.MS_NOEXEC, "noexec"},
	{unix.MS_SYNCHRONOUS, "sync"},
	{unix.MS_REMOUNT, "remount"},
	{unix.MS_NOATIME, "noatime"},
	{unix.MS_BIND, "bind"},
	{unix.MS_MOVE, "move"},
	{unix.MS_REC, "rec"},
	{unix.MS_PRIVATE, "private"},
	{unix.MS_SLAVE, "slave"},
	{unix.MS_SHARED, "shared"},
	{unix.MS_RELATIME, "relatime"},
}

// FlagString names mount flags, "rw" when none are set, unknown bits in hex.
func FlagString(flags uintptr) string {
	var parts []string
	for _, f := range flagNames {
		if flags&f.flag != 0 {
			parts = append(parts, f.name)
			flags &^= f.flag
		}
	}
	if flags != 0 {
		parts = append(parts, printf.Sprintf("%#x", flags))
	}
	if len(parts) == 0 {
		return "rw"
	}
	return strings.Join(parts, ",")
}

// MountError is a failed mount(2) with everything needed to debug it.
type MountError struct {
	Source, Target, FSType string
	Flags                  uintptr
	Data                   string
	Err                    error
}

func (e *MountError) Error() string {
	return printf.Sprintf("mount %s on %s type %s (%s) data %q: %v", e.Source, e.Target, e.FSType, FlagString(e.Flags), e.Data, e.Err)
}

func (e *MountError) Unwrap() error { return e.Err }

// Mount is the one wrapper of mount(2): it retries EINTR and returns a
// *MountError.
func Mount(source, target, fstype string, flags uintptr, data string) error {
	err := eintr.Retry(func() error { return unix.Mount(source, target, fstype, flags, data) })
	if err != nil {
		return &MountError{source, target, fstype, flags, data, err}
	}
	return nil
}

// Unmount is the one wrapper of umount2(2), retrying EINTR.
func Unmount(target string, flags int) error {
	if err := eintr.Retry(func() error { return unix.Unmount(target, flags) }); err != nil {
		return printf.Errorf("umount %s: %w", target, err)
	}
	return nil
}

// CreateTarget makes a mount point: what "dir" creates the directory
// and its parents, "file" an empty file (for binding a file) and its
// parents, "" nothing (the target must exist). Existing ones are kept.
func CreateTarget(target, what string) error {
	switch what {
	case "dir":
		return os.MkdirAll(target, 0o755)
	case "file":
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return touch(target)
	}
	return nil
}

// touch creates file path if missing, with a raw open: an os.File would
// start the runtime's poller (epoll, eventfd, fcntl) in the container
// stage for nothing.
func touch(path string) error {
	fd, err := eintr.Value(func() (int, error) {
		return unix.Open(path, unix.O_CREAT|unix.O_RDONLY|unix.O_CLOEXEC, 0o644)
	})
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	return unix.Close(fd)
}
