package image

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/boards/qemu"
	"pantavisor/lib/bootloader"
)

// The qemu-arm64 board boots through Debian's U-Boot for QEMU (-bios):
// its distro boot runs boot.scr from the FAT boot partition, which reads
// Pantavisor's env from the storage and keeps the try-boot latch on the
// FAT (boards/image's uboot.go). TCG arm64 is slow on these machines:
// this board's set is these two tests.
var (
	ubootRE       = regexp.MustCompile(`U-Boot 20\d\d`)
	ubootBootRE   = regexp.MustCompile(`pv: booting revision (\S+) ?(\S*)\r?\n`)
	kernelStartRE = regexp.MustCompile(`Booting Linux on physical CPU`)
	arm64CmdRE    = regexp.MustCompile(`Kernel command line: ([^\r\n]*)\r?\n`)
	arm64Banner   = regexp.MustCompile(`Pantavisor qemu-test \(Go\) on Linux \S+ aarch64: init up at ([0-9.]+)s`)
	latchMountRE  = regexp.MustCompile(`boot partition LABEL=PVBOOT mounted on /boot: try-boot latch /boot/pv\.env`)
)

// TestQEMUArm64DiskBoot boots the qemu-arm64 image as make image builds
// it (a fake modules.squashfs aside) through U-Boot to READY and powers
// off (pv_test=ready-poweroff, PSCI system off ends QEMU): ubootDiskBoot.
func TestQEMUArm64DiskBoot(t *testing.T) { ubootDiskBoot(t, "qemu-arm64") }

// ubootDiskBoot boots board's image through U-Boot to READY and powers
// off: U-Boot runs the boot script, which boots revision 0 with the
// board's command line; the init mounts the FAT boot partition for the
// latch; nothing was tried, so the latch env is still U-Boot's empty
// export. It logs the boot times, kernel start -> READY among them.
func ubootDiskBoot(t *testing.T, board string) {
	o := qemuBoardOptions(t, board)
	o.Append = "pv_test=ready-poweroff"
	disk := filepath.Join(t.TempDir(), "disk.img")
	res, err := Build(context.Background(), o, disk)
	require.NoError(t, err)
	assert.Equal(t, Partition{Index: 1, Bootable: true, Type: 0x0c, Start: PartStart, Sectors: BootMiB << 11}, res.Boot)
	assert.Equal(t, 2, res.Partition.Index)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	vm, err := qemu.Start(ctx, qemu.Options{Board: o.Board, Disks: []string{disk}}, filepath.Join(t.TempDir(), "console.log"))
	require.NoError(t, err)
	defer vm.Kill()
	defer func() {
		if t.Failed() {
			t.Logf("console:\n%s", vm.Console())
		}
	}()
	at := func(re *regexp.Regexp, timeout time.Duration, why string) (string, float64) {
		t.Helper()
		m, err := vm.Expect(re, timeout)
		require.NoError(t, err, why)
		return m, time.Since(start).Seconds()
	}
	_, uboot := at(ubootRE, 60*time.Second, "QEMU runs U-Boot")
	line, script := at(ubootBootRE, 60*time.Second, "U-Boot's distro boot runs boot.scr from the FAT")
	assert.Equal(t, "pv: booting revision 0 ", strings.TrimRight(line, "\r\n"))
	_, kernel := at(kernelStartRE, 120*time.Second, "booti starts the revision's kernel")
	line, _ = at(arm64CmdRE, 30*time.Second, "the kernel prints its command line")
	assert.Equal(t, "pv_rev=0  console="+o.Board.Console+" pv_storage_device=LABEL=pvstorage pv_bootloader_type=uboot "+
		"pv_bootloader_uboot_latch=LABEL=PVBOOT panic=2 pv_secureboot_mode=strict pv_test=ready-poweroff",
		arm64CmdRE.FindStringSubmatch(line)[1])
	_, banner := at(arm64Banner, 120*time.Second, "the initrd U-Boot loaded runs our init")
	at(latchMountRE, 60*time.Second, "the init mounts the boot partition for the latch")
	_, ready := at(readyRE, 240*time.Second, "revision 0 runs")
	at(powerOffRE, 60*time.Second, "pv_test=ready-poweroff powers off")
	require.NoError(t, vm.Wait(30*time.Second), "QEMU ends on the power-off (PSCI system off, or the harness on a board that halts)")
	off := time.Since(start).Seconds()
	assert.NotContains(t, vm.Console(), "Kernel panic")
	assert.Equal(t, make([]byte, bootloader.BlockSize), fatFile(t, disk, res.Boot, bootloader.UbootLatchFile),
		"no try: the latch is still empty")
	t.Logf("BOOT TIME (%s, TCG arm64, wall clock from QEMU start): U-Boot %.2fs, boot.scr %.2fs, kernel start %.2fs, "+
		"init banner %.2fs, READY %.2fs, powered off %.2fs; kernel start -> READY %.2fs",
		board, uboot, script, kernel, banner, ready, off, ready-kernel)
}

// TestQEMUArm64TryBootRollback: an update that needs a reboot is tried
// through U-Boot and the try crashes (a QMP system_reset as soon as the
// boot script chose it, before its kernel runs); the boot script finds
// its latch consumed (pv_trying == pv_try in pv.env on the FAT) and boots
// revision 0, whose updater records ERROR "Unexpected rollback" and
// clears pv_try in uboot.txt and pv_trying in pv.env.
func TestQEMUArm64TryBootRollback(t *testing.T) { ubootTryBootRollback(t, "qemu-arm64") }

// ubootTryBootRollback is TestQEMUArm64TryBootRollback on board.
func ubootTryBootRollback(t *testing.T, board string) {
	s := startScenarioOn(t, board, "crash", NeverReady(8), "", false)
	run := s.installed()
	s.expect(statusRE(s.rev, "INPROGRESS"), 60*time.Second, "the updater installs the step")
	s.expect(`reboot: update to revision `+q(s.rev), 120*time.Second, "device.json changed: a reboot")
	// The machine resets into U-Boot (the kernel's "Restarting system"
	// may not leave the Pi's mini UART before the watchdog resets it).
	s.expect(`U-Boot 20\d\d`, 120*time.Second, "the machine resets into U-Boot")
	_, tried := s.expect(`pv: booting revision `+q(s.rev)+` pv_try=`+q(s.rev), 120*time.Second,
		"U-Boot latches the try on the FAT and boots it")
	require.NoError(t, s.qmp.SystemReset(), "the try crashes")
	s.expect(`pv: revision `+q(s.rev)+` failed its try boot, back to 0`, 120*time.Second,
		"U-Boot's latch: a try boots once")
	s.expect(`pv: booting revision 0 \r?\n`, 30*time.Second, "U-Boot boots revision 0")
	s.expect(`resume: booted 0 \(trying false, pv_rev 0, pv_try "`+q(s.rev)+`"\): rolled back`, 240*time.Second,
		"the updater sees the try came back")
	_, ready := s.expect(`revision 0 status READY`, 240*time.Second, "revision 0 runs again")
	t.Logf("%s: LOCAL_RUN -> try chosen by U-Boot %.1fs, -> revision 0 READY again after the crash %.1fs (TCG arm64)",
		board, tried.Sub(run).Seconds(), ready.Sub(run).Seconds())
	st := rollbackChecks(t, s)
	assert.Equal(t, "Unexpected rollback", st.progress(s.rev).Msg)
}

// fatFile reads a file of the FAT partition p of disk (ReadFAT).
func fatFile(t *testing.T, disk string, p Partition, name string) []byte {
	t.Helper()
	data, err := ReadFAT(disk, p, name)
	require.NoError(t, err, "%s on the FAT of %s", name, disk)
	return data
}
