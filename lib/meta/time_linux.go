package meta

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// gettimeofday calls gettimeofday(2) with a timezone argument, which
// unix.Gettimeofday does not pass: the kernel's timezone (sys_tz, set by
// settimeofday) is what upstream publishes in "time".
func gettimeofday() (unix.Timeval, Timezone, error) {
	var tv unix.Timeval
	var tz Timezone
	for {
		_, _, errno := unix.Syscall(unix.SYS_GETTIMEOFDAY, uintptr(unsafe.Pointer(&tv)), uintptr(unsafe.Pointer(&tz)), 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return tv, tz, errno
		}
		return tv, tz, nil
	}
}
