package instance

import (
	"strconv"

	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// Sentinels that callers and tests branch on with errors.Is.
var (
	// ErrLocked: another engine holds the storage or the cgroup parent.
	ErrLocked error = &sentinel.Error{Text: "locked by another engine"}
	// ErrSocketInUse: a control socket to clean answers: its owner lives.
	ErrSocketInUse error = &sentinel.Error{Text: "socket is in use by a live process"}
	// ErrLeftover: something Cleanup found is still there after it.
	ErrLeftover error = &sentinel.Error{Text: "leftover could not be cleaned"}
)

// LockedError is Acquire's error when the lock is held elsewhere; it
// matches ErrLocked.
type LockedError struct {
	What string // "storage" or "cgroup parent"
	Path string // the directory locked
	Pid  int    // the holder as /proc/locks shows it; 0 if unknown
}

func (e *LockedError) Error() string {
	s := printf.Sprintf("%s %s: %v", e.What, e.Path, ErrLocked)
	if e.Pid > 0 {
		s += " (pid " + strconv.Itoa(e.Pid) + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }
