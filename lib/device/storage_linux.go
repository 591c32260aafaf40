package device

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/blkid"
	"pantavisor/lib/mount"
)

// MountStorage waits up to wait for the device named by spec
// (PV_STORAGE_DEVICE: LABEL=, UUID= or a path) and mounts it on target as
// ext4 (no fsck: ext4's journal recovers at mount), then writes the
// upstream marker target/.pvmounted.
func MountStorage(f blkid.Finder, spec, target string, wait time.Duration) (string, error) {
	dev, err := f.Wait(spec, wait)
	if err != nil {
		return "", fmt.Errorf("storage %s: %w (waited %s)", spec, err, wait)
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return "", err
	}
	if err := mount.Mount(dev, target, "ext4", unix.MS_NOATIME, ""); err != nil {
		return "", fmt.Errorf("storage %s: %w", spec, err)
	}
	f2, err := os.OpenFile(target+"/.pvmounted", os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		f2.Close()
	}
	return dev, nil
}
