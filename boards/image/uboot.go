package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"pantavisor/lib/bootloader"
)

// U-Boot boards: the disk's first partition is a small FAT boot partition
// (BootScr, the latch env bootloader.UbootLatchFile), the second the
// ext4 storage. Debian's U-Boot reads ext4 but cannot write it (no
// ext4write), so the one thing the firmware writes, the latch, lives on
// the FAT; Pantavisor's own env stays on the storage.
const (
	// UbootEnv is Pantavisor's env on the storage (lib/bootloader's
	// uboot kind): pv_rev and pv_try, NUL-separated, 1024 bytes.
	UbootEnv = "boot/uboot.txt"
	// BootScr is the boot script U-Boot's distro boot finds on the FAT
	// (mkimage -T script of UbootConfig.Text).
	BootScr = "boot.scr"
	// BootMiB is the FAT boot partition's size: FAT32 (the Pi's firmware
	// reads FAT16 and FAT32 only) with 512-byte clusters has 65,525 or
	// more clusters from 33 MiB; 48 MiB holds the Pi's firmware, U-Boot
	// and device trees (about 7 MiB) with room, and is a size go-diskfs
	// makes a consistent FAT for (checkFAT32).
	BootMiB = 48
	// StoragePart is the storage partition's number after the boot one.
	StoragePart = 2
)

// UbootConfig is what the boot script needs to know.
type UbootConfig struct {
	Console string // kernel console device, e.g. ttyAMA0
	Cmdline string // kernel arguments after pv_rev/pv_try and console=
}

// Text returns the boot script (U-Boot hush): the try-boot latch of
// GrubConfig.Text through U-Boot. The distro boot that runs it from the
// FAT sets devtype, devnum and distro_bootpart; the storage is partition
// StoragePart of the same device. Steps:
//  1. unset pv_rev, pv_try, pv_trying ("env import" of an empty env
//     leaves variables as they were), then import pv_rev and pv_try from
//     UbootEnv on the storage and pv_trying from the FAT's pv.env, only
//     those names (nothing else of the firmware's env is taken from disk);
//  2. pv_try set and equal to pv_trying: that try already booted once
//     and did not commit, so it failed: boot pv_rev (pv_trying stays set
//     until Pantavisor records the failure, as with GRUB);
//  3. pv_try set otherwise: write pv_trying=pv_try to the FAT (env export
//     -b + fatwrite of 1024 bytes) and only when that worked boot pv_try
//     with pv_try=<rev> on the command line; a latch that cannot be
//     written boots pv_rev;
//  4. no pv_try: boot pv_rev.
//
// The revision's kernel (a raw arm64 Image) and initrd are
// /trails/<rev>/.pv/pv-kernel.img and pv-initrd.img, booted with booti and
// the device tree U-Boot runs on. When they do not load, U-Boot resets
// (a failed try is then rolled back by the latch).
func (c UbootConfig) Text() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	storage := "${devtype} ${devnum}:" + fmt.Sprint(StoragePart)
	fat := "${devtype} ${devnum}:${distro_bootpart}"
	addr := "${pxefile_addr_r}"
	latch := bootloader.UbootLatchFile
	w("# Pantavisor try-boot latch, written by boards/image.")
	w("# %s on the storage (%s, ext4, read here): pv_rev, pv_try.", "/"+UbootEnv, storage)
	w("# %s on this FAT (%s, written here): pv_trying.", latch, fat)
	w("echo \"pv: boot script on %s\"", fat)
	w("setenv pv_rev")
	w("setenv pv_try")
	w("setenv pv_trying")
	w("if ext4load %s %s /%s; then env import -b %s ${filesize} pv_rev pv_try; fi", storage, addr, UbootEnv, addr)
	w("if fatload %s %s %s; then env import -b %s ${filesize} pv_trying; fi", fat, addr, latch, addr)
	w("if test -z \"${pv_rev}\"; then setenv pv_rev 0; fi")
	w("setenv pv_boot_rev ${pv_rev}")
	w("setenv pv_boot_try")
	w("if test -n \"${pv_try}\"; then")
	w("\tif test \"${pv_try}\" = \"${pv_trying}\"; then")
	w("\t\techo \"pv: revision ${pv_try} failed its try boot, back to ${pv_rev}\"")
	w("\telse")
	w("\t\tsetenv pv_trying ${pv_try}")
	w("\t\tenv export -b %s pv_trying", addr)
	w("\t\tif fatwrite %s %s %s 0x%x; then", fat, addr, latch, bootloader.BlockSize)
	w("\t\t\tsetenv pv_boot_rev ${pv_try}")
	w("\t\t\tsetenv pv_boot_try pv_try=${pv_try}")
	w("\t\telse")
	w("\t\t\techo \"pv: cannot write the try-boot latch: not trying revision ${pv_try}\"")
	w("\t\tfi")
	w("\tfi")
	w("fi")
	w("echo \"pv: booting revision ${pv_boot_rev} ${pv_boot_try}\"")
	w("setenv bootargs \"pv_rev=${pv_boot_rev} ${pv_boot_try} %s\"", strings.TrimSpace("console="+c.Console+" "+c.Cmdline))
	w("if ext4load %s ${kernel_addr_r} /trails/${pv_boot_rev}/.pv/pv-kernel.img; then", storage)
	w("\tif ext4load %s ${ramdisk_addr_r} /trails/${pv_boot_rev}/.pv/pv-initrd.img; then", storage)
	w("\t\tbooti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}")
	w("\tfi")
	w("fi")
	w("echo \"pv: cannot boot revision ${pv_boot_rev}; resetting\"")
	w("reset")
	return b.String()
}

// writeBootFS fills dir (replaced if present) with the FAT boot
// partition's files: BootScr made with mkimage from c.Text() (its
// timestamp fixed by SOURCE_DATE_EPOCH), and an empty latch env of
// bootloader.BlockSize NUL bytes, as U-Boot's export of no pv_trying.
func writeBootFS(ctx context.Context, c UbootConfig, arch, dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	src := filepath.Join(dir, "boot.cmd")
	if err := os.WriteFile(src, []byte(c.Text()), 0o644); err != nil {
		return err
	}
	_, err := commandEnv(ctx, []string{"SOURCE_DATE_EPOCH=0"}, "mkimage", "-A", arch, "-O", "linux", "-T", "script",
		"-C", "none", "-n", "pantavisor boot script", "-d", src, filepath.Join(dir, BootScr))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, bootloader.UbootLatchFile), make([]byte, bootloader.BlockSize), 0o644)
}

// writeUbootEnv writes Pantavisor's env UbootEnv below the storage dir
// with pv_rev=rev, as the device's uboot env writes it.
func writeUbootEnv(storage, rev string) error {
	e, err := bootloader.Open(bootloader.KindUboot, filepath.Join(storage, UbootEnv))
	if err != nil {
		return err
	}
	if err := e.Set(bootloader.KeyRev, rev); err != nil {
		return err
	}
	return e.Commit()
}
