// Package bootloader keeps the bootloader environment that selects the
// revision to boot (pv_rev, pv_try, pv_trying) and the try-boot logic on
// top of it: install, commit, fail, the boot-time choice and the resume
// decision after a reboot.
//
// Kinds (PV_BOOTLOADER_TYPE) and their files below the storage (Layout):
//
//   - "grub": boot/grubenv in GRUB's env block format (pv_rev, pv_try),
//     read by GRUB's load_env; the latch pv_trying lives in GRUB's own env
//     boot/grub/grubenv, which GRUB's save_env writes in place.
//   - "uboot" (and "uboot-pvk", the same file): boot/uboot.txt, 1024
//     bytes of NUL-separated key=value (U-Boot's env import format). The
//     latch pv_trying lives in the same file, unless Options.UbootLatch
//     names U-Boot's own latch env: pv.env on a FAT partition U-Boot can
//     write (it has no ext4write), same format, written by the boot
//     script with "env export -b" and fatwrite (boards/image's uboot.go).
//   - "direct": no bootloader (QEMU -kernel, or a fixed kernel): our init
//     runs the latch itself. boot/direct.env in the GRUB env block format
//     (readable and editable with grub-editenv) holds all three keys. The
//     name differs from upstream's U-Boot pv.env (which holds pv_trying
//     only) so a board switching kinds never misreads a stale file.
//
// GRUB and U-Boot files are rewritten in place (pwrite of the whole block
// at offset 0, fsync) because GRUB's save_env writes the blocks the file
// already has; a missing or wrongly sized file is created whole (write a
// temporary, fsync, rename, fsync the directory). The direct env is always
// replaced atomically that way: nothing reads its blocks. Every write step
// is a persist crash point ("pwrite <file>", "fsync <file>", or persist's
// own for a replacement).
//
// Two deliberate differences from upstream, each shown by a crash walk
// (TestUpstreamChoicesBreakTheWalk):
//   - Commit order: the env commit (Boot.Commit) comes before progress
//     DONE, never after; DecideResume finishes a commit cut short.
//   - The latch: the boot that finds a failed try (pv_trying == pv_try)
//     leaves pv_trying set; Fail, Commit and Install clear it. Upstream's
//     U-Boot script and grub.cfg clear it right away, so a reset before
//     Fail try-boots the failed revision a second time. A grub.cfg for
//     this package must not "unset pv_trying; save_env" on that branch.
package bootloader
