package logs

import (
	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
)

// Budget returns the log dir budget in bytes for PV_LOG_DIR_MAXSIZE: size
// bytes, or size percent of the filesystem holding dir when percent; size
// 0 means automatic, as upstream: 10% of the filesystem, or all of it on a
// tmpfs (PV_STORAGE_LOGTEMPSIZE mounts one at the log dir).
func Budget(size int64, percent bool, dir string) (int64, error) {
	if size > 0 && !percent {
		return size, nil
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, printf.Errorf("statfs %s for the log budget: %w", dir, err)
	}
	total := int64(st.Blocks) * int64(st.Bsize)
	switch {
	case percent:
		return total * size / 100, nil
	case int64(st.Type) == unix.TMPFS_MAGIC:
		return total, nil
	}
	return total / 10, nil
}
