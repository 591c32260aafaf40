package meta

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"pantavisor/lib/eintr"
)

// gettimeofday calls gettimeofday(2) with a timezone argument, which
// unix.Gettimeofday does not pass: the kernel's timezone (sys_tz, set by
// settimeofday) is what upstream publishes in "time".
func gettimeofday() (unix.Timeval, Timezone, error) {
	var tv unix.Timeval
	var tz Timezone
	err := eintr.Retry(func() error {
		_, _, errno := unix.Syscall(unix.SYS_GETTIMEOFDAY, uintptr(unsafe.Pointer(&tv)), uintptr(unsafe.Pointer(&tz)), 0)
		if errno != 0 {
			return errno
		}
		return nil
	})
	return tv, tz, err
}
