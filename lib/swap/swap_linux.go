package swap

import (
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"pantavisor/lib/eintr"
	"pantavisor/lib/printf"
)

// swapon(2) flags (linux/swap.h).
const (
	flagPrefer  = 0x8000 // SWAP_FLAG_PREFER: the low 15 bits are the priority
	flagDiscard = 0x10000
	prioMask    = 0x7fff
)

// ParseFlags turns upstream's mount_options for a swap disk (the
// arguments it hands to the swapon command) into swapon(2) flags:
// "-p N"/"--priority=N"/"--priority N" and "-d"/"--discard". Anything
// else is an error naming the option.
func ParseFlags(s string) (int, error) {
	f := strings.Fields(s)
	flags := 0
	for i := 0; i < len(f); i++ {
		var prio string
		switch {
		case f[i] == "-d" || f[i] == "--discard":
			flags |= flagDiscard
			continue
		case (f[i] == "-p" || f[i] == "--priority") && i+1 < len(f):
			i++
			prio = f[i]
		case strings.HasPrefix(f[i], "--priority="):
			prio = strings.TrimPrefix(f[i], "--priority=")
		default:
			return 0, printf.Errorf("swap: unsupported swapon option %q (want -p N or -d)", f[i])
		}
		n, err := strconv.Atoi(prio)
		if err != nil || n < 0 || n > prioMask {
			return 0, printf.Errorf("swap: priority %q: want 0..%d", prio, prioMask)
		}
		flags = flags&^prioMask | flagPrefer | n
	}
	return flags, nil
}

// On is the one wrapper of swapon(2) for path with flags.
func On(path string, flags int) error {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return printf.Errorf("swapon %s: %w", path, err)
	}
	err = eintr.Retry(func() error {
		if _, _, e := unix.Syscall(unix.SYS_SWAPON, uintptr(unsafe.Pointer(p)), uintptr(flags), 0); e != 0 {
			return e
		}
		return nil
	})
	if err != nil {
		return printf.Errorf("swapon %s (flags %#x): %w", path, flags, err)
	}
	return nil
}

// Off is the one wrapper of swapoff(2).
func Off(path string) error {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return printf.Errorf("swapoff %s: %w", path, err)
	}
	err = eintr.Retry(func() error {
		if _, _, e := unix.Syscall(unix.SYS_SWAPOFF, uintptr(unsafe.Pointer(p)), 0, 0); e != 0 {
			return e
		}
		return nil
	})
	if err != nil {
		return printf.Errorf("swapoff %s: %w", path, err)
	}
	return nil
}
