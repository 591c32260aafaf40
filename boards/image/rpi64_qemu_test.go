package image

import "testing"

// The rpi64 board's SD card image boots in QEMU's raspi3b machine: QEMU
// starts the Pi's U-Boot (rpi_arm64/u-boot.bin from the image's boot
// files) with the Pi 3 B device tree, as the Pi's GPU firmware would; it
// reads its env (uboot.env, bootdelay 0, no USB preboot) from the FAT
// and runs the same boot script as qemu-arm64. The Pi's GPU firmware
// itself does not run under QEMU. Like qemu-arm64, this board's set is
// these two tests (TCG is slow: the raspi3b machine has 4 vCPUs on one
// host thread).

// TestQEMURpi64DiskBoot: the SD image to READY and power-off (the
// harness ends QEMU: the machine only halts) through U-Boot.
func TestQEMURpi64DiskBoot(t *testing.T) { ubootDiskBoot(t, "rpi64") }

// TestQEMURpi64TryBootRollback: a try that crashes is rolled back by the
// latch on the SD card's FAT, the update packages on the storage (the
// machine has one SD slot).
func TestQEMURpi64TryBootRollback(t *testing.T) { ubootTryBootRollback(t, "rpi64") }
