package logs

import (
	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
)

// setNonblock puts fd in non-blocking mode so that os.NewFile makes it
// pollable (a pipe, pty or socket; a regular file stays a plain file).
func setNonblock(fd int) error {
	if err := unix.SetNonblock(fd, true); err != nil {
		return printf.Errorf("set O_NONBLOCK on fd %d: %w", fd, err)
	}
	return nil
}
