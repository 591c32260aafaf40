package cgroup

import (
	"errors"
	"path/filepath"

	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
)

// StatMode tells the mode from filesystem types alone, as upstream
// Pantavisor does: root is cgroup2 ⇒ Unified; root is tmpfs ⇒ Hybrid if
// <root>/unified is cgroup2, else Legacy; root is a single v1 mount ⇒
// Legacy. It is cheaper than Detect but cannot list hierarchies.
func StatMode(root string) (Mode, error) {
	t, err := statfsType(root)
	if err != nil {
		return 0, err
	}
	switch t {
	case unix.CGROUP2_SUPER_MAGIC:
		return Unified, nil
	case unix.CGROUP_SUPER_MAGIC:
		return Legacy, nil
	case unix.TMPFS_MAGIC:
		u, err := statfsType(filepath.Join(root, "unified"))
		if errors.Is(err, unix.ENOENT) || (err == nil && u != unix.CGROUP2_SUPER_MAGIC) {
			return Legacy, nil
		}
		if err != nil {
			return 0, err
		}
		return Hybrid, nil
	}
	return 0, printf.Errorf("%w: %s has filesystem type %#x", ErrNoCgroup, root, t)
}
