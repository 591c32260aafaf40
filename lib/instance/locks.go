package instance

import (
	"bufio"
	"io"
	"strconv"
	"strings"

	"pantavisor/lib/printf"
)

// LockID names a file in /proc/locks: the device's major and minor
// numbers and the inode.
type LockID struct {
	Major, Minor uint32
	Inode        uint64
}

// HolderPid parses a /proc/locks text (proc(5)) and returns the pid of
// the process holding a FLOCK WRITE lock on id, 0 if none is listed.
// Waiters ("->" lines) are skipped. The kernel prints the device as
// hex "MAJ:MIN" and the inode in decimal.
func HolderPid(r io.Reader, id LockID) (int, error) {
	want := printf.Sprintf("%02x:%02x:%d", id.Major, id.Minor, id.Inode)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// "1: FLOCK  ADVISORY  WRITE 8032 fe:00:9979322 0 EOF"
		if len(f) < 6 || f[1] != "FLOCK" || f[3] != "WRITE" || f[5] != want {
			continue
		}
		pid, err := strconv.Atoi(f[4])
		if err != nil || pid <= 0 {
			continue // -1 or garbage: the holder is not known
		}
		return pid, nil
	}
	if err := sc.Err(); err != nil {
		return 0, printf.Errorf("read locks: %w", err)
	}
	return 0, nil
}
