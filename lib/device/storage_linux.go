package device

import (
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/blkid"
	"pantavisor/lib/bootloader"
	"pantavisor/lib/mount"
	"pantavisor/lib/printf"
)

// MountStorage waits up to wait for the device named by spec
// (PV_STORAGE_DEVICE: LABEL=, UUID= or a path) and mounts it on target as
// ext4 (no fsck: ext4's journal recovers at mount), then writes the
// upstream marker target/.pvmounted.
func MountStorage(f blkid.Finder, spec, target string, wait time.Duration) (string, error) {
	dev, err := f.Wait(spec, wait)
	if err != nil {
		return "", printf.Errorf("storage %s: %w (waited %s)", spec, err, wait)
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return "", err
	}
	if err := mount.Mount(dev, target, "ext4", unix.MS_NOATIME, ""); err != nil {
		return "", printf.Errorf("storage %s: %w", spec, err)
	}
	f2, err := os.OpenFile(target+"/.pvmounted", os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		f2.Close()
	}
	return dev, nil
}

// BootDir is where MountBootLatch mounts the boot partition.
const BootDir = "/boot"

// MountBootLatch mounts the FAT boot partition named by spec
// (PV_BOOTLOADER_UBOOT_LATCH) on target for the uboot kinds and returns
// the bootloader options that keep pv_trying in its pv.env (U-Boot
// writes that file; it cannot write the storage's ext4). Steps: nothing
// (zero Options, dir "") for another kind or an empty spec; wait up to
// wait for the device; mount it vfat (no exec, no devices, no atime).
// On error the zero Options are returned: pv_trying stays in uboot.txt,
// which this U-Boot never reads, so the caller must report it.
func MountBootLatch(f blkid.Finder, kind, spec, target string, wait time.Duration) (o bootloader.Options, dir string, err error) {
	if spec == "" || (kind != bootloader.KindUboot && kind != bootloader.KindUbootPVK) {
		return o, "", nil
	}
	dev, err := f.Wait(spec, wait)
	if err != nil {
		return o, "", printf.Errorf("boot partition %s: %w (waited %s)", spec, err, wait)
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return o, "", printf.Errorf("boot partition %s: %w", spec, err)
	}
	flags := uintptr(unix.MS_NOATIME | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := mount.Mount(dev, target, "vfat", flags, "codepage=437,iocharset=ascii"); err != nil {
		return o, "", printf.Errorf("boot partition %s: %w", spec, err)
	}
	o.UbootLatch = filepath.Join(target, bootloader.UbootLatchFile)
	return o, target, nil
}
