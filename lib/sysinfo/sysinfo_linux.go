// Package sysinfo reads facts about the running kernel: release, machine
// and uptime.
package sysinfo

import (
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
)

// Kernel is what uname(2) says.
type Kernel struct {
	Release, Machine string
}

// Uname returns the running kernel's release and machine.
func Uname() (Kernel, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return Kernel{}, printf.Errorf("uname: %w", err)
	}
	return Kernel{
		Release: unix.ByteSliceToString(u.Release[:]),
		Machine: unix.ByteSliceToString(u.Machine[:]),
	}, nil
}

// ParseUptime reads the first field of /proc/uptime. A negative, NaN or
// infinite value, or one too large for a time.Duration, is an error.
func ParseUptime(r io.Reader) (time.Duration, error) {
	b, err := io.ReadAll(io.LimitReader(r, 256))
	if err != nil {
		return 0, printf.Errorf("reading uptime: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, printf.Errorf("parsing uptime %q: empty", b)
	}
	s, err := strconv.ParseFloat(f[0], 64)
	if err != nil || !(s >= 0 && s < maxSeconds) { // !(…) also catches NaN
		return 0, printf.Errorf("parsing uptime %q: not a number of seconds", f[0])
	}
	return time.Duration(s * float64(time.Second)), nil
}

// maxSeconds bounds ParseUptime: any number of seconds below it fits in a
// time.Duration (about 292 years).
const maxSeconds = float64(math.MaxInt64 / int64(time.Second))

// Uptime returns the time since the kernel started, from /proc/uptime.
func Uptime() (time.Duration, error) {
	f, err := os.Open("/proc/uptime")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return ParseUptime(f)
}
