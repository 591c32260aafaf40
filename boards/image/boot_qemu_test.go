package image

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/boards"
	"pantavisor/boards/qemu"
	"pantavisor/lib/testenv"
)

var (
	initrdMu sync.Mutex
	initrds  = map[string]string{} // board -> initramfs, built once
)

// qemuImageOptions are Options with the board's real kernel and our
// initramfs (built once), and pv_test=poweroff so the init powers the VM
// off after its banner. modules.squashfs stays a small fake: nothing
// mounts it yet, and the whole tree takes a minute to squash.
func qemuImageOptions(t *testing.T) Options {
	t.Helper()
	return qemuBoardOptions(t, "qemu-x86_64")
}

// qemuBoardOptions is qemuImageOptions for board (its QEMU, kernel and
// firmware must be there: make deps BOARD=<board>).
func qemuBoardOptions(t *testing.T, board string) Options {
	t.Helper()
	requireImageTools(t)
	b, err := boards.Load(boards.Dir(), board)
	require.NoError(t, err)
	testenv.RequireCommand(t, b.QEMU, "make deps installs it")
	if b.Firmware != "" {
		_, err := os.Stat(b.Firmware)
		testenv.Require(t, err == nil, "needs "+b.Firmware+" (make deps installs u-boot-qemu)")
	}
	kdir := qemu.KernelDir(b.Name)
	for _, f := range []string{b.QEMUKernel, b.QEMUDTB} {
		if f != "" {
			_, err := os.Stat(filepath.Join(kdir, f))
			testenv.Require(t, err == nil, "needs "+filepath.Join(kdir, f)+" (make deps fetches the board's packages)")
		}
	}
	_, err = os.Stat(filepath.Join(kdir, "vmlinuz"))
	testenv.Require(t, err == nil, "needs the "+b.Name+" kernel in "+kdir+" (make deps fetches it)")
	initrdMu.Lock()
	initrd, ok := initrds[board]
	if !ok {
		dir := filepath.Join(testTmp, "initrd-"+board)
		if err = os.MkdirAll(dir, 0o755); err == nil {
			initrd, err = qemu.BuildInitrd(dir, b, kdir, "qemu-test")
		}
		if err == nil {
			initrds[board] = initrd
		}
	}
	initrdMu.Unlock()
	require.NoError(t, err)
	o := boardTestOptions(t, board, filepath.Join(kdir, "vmlinuz"), initrd)
	o.Append = "pv_test=poweroff"
	o.ImageMiB = 64
	if o.Board.Bootloader == "uboot" {
		o.ImageMiB = 128 // BootMiB of FAT first; a power of two, as QEMU's SD card needs
	}
	return o
}

var (
	grubLoadingRE = regexp.MustCompile(`GRUB loading`)
	grubBootRE    = regexp.MustCompile(`pv: booting revision (\S+) ?(\S*)\r?\n`)
	cmdlineRE     = regexp.MustCompile(`\[\s*([0-9.]+)\] Command line: ([^\r\n]*)\r?\n`)
	bannerRE      = regexp.MustCompile(`Pantavisor qemu-test \(Go\) on Linux \S+ x86_64: init up at ([0-9.]+)s`)
	powerOffRE    = regexp.MustCompile(`reboot: Power down`)
)

// bootTimes are wall-clock seconds from QEMU's start.
type bootTimes struct{ grub, grubCfg, kernel, banner, off float64 }

// bootDisk boots disk through SeaBIOS and GRUB (no -kernel) with the
// console captured, waits for GRUB's line, the kernel command line, the
// init's banner and the power-off, and returns the command line.
func bootDisk(t *testing.T, b *boards.Board, disk, wantGrub string) (string, bootTimes) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	vm, err := qemu.Start(ctx, qemu.Options{Board: b, Disks: []string{disk}}, filepath.Join(t.TempDir(), "console.log"))
	require.NoError(t, err)
	defer vm.Kill()
	defer func() {
		if t.Failed() {
			t.Logf("console:\n%s", vm.Console())
		}
	}()
	since := func() float64 { return time.Since(start).Seconds() }
	var tm bootTimes
	_, err = vm.Expect(grubLoadingRE, 60*time.Second)
	require.NoError(t, err, "SeaBIOS runs boot.img, which loads core.img")
	tm.grub = since()
	line, err := vm.Expect(grubBootRE, 60*time.Second)
	require.NoError(t, err, "GRUB runs grub.cfg from the storage partition")
	tm.grubCfg = since()
	assert.Equal(t, wantGrub, strings.TrimRight(line, "\r\n"))
	line, err = vm.Expect(cmdlineRE, 120*time.Second)
	require.NoError(t, err, "GRUB loads and starts the revision's kernel")
	tm.kernel = since()
	cmdline := cmdlineRE.FindStringSubmatch(line)[2]
	_, err = vm.Expect(bannerRE, 180*time.Second)
	require.NoError(t, err, "the initrd GRUB loaded runs our init")
	tm.banner = since()
	_, err = vm.Expect(powerOffRE, 60*time.Second)
	require.NoError(t, err, "pv_test=poweroff from grub.cfg reached the init")
	require.NoError(t, vm.Wait(30*time.Second), "qemu exits 0 on power-off")
	tm.off = since()
	assert.NotContains(t, vm.Console(), "Kernel panic")
	return cmdline, tm
}

// TestDiskBoot boots the image as make image builds it (a fake
// modules.squashfs aside) with BIOS and GRUB, no -kernel: GRUB's boot.img
// and core.img load, grub.cfg boots pv_rev=0 from /trails/0/.pv, and our
// init comes up from that initrd.
func TestDiskBoot(t *testing.T) {
	o := qemuImageOptions(t)
	disk := filepath.Join(t.TempDir(), "disk.img")
	_, err := Build(context.Background(), o, disk)
	require.NoError(t, err)

	cmdline, tm := bootDisk(t, o.Board, disk, "pv: booting revision 0 ")
	assert.Equal(t, "BOOT_IMAGE=/trails/0/.pv/pv-kernel.img pv_rev=0 console=ttyS0 pv_storage_device=LABEL=pvstorage pv_bootloader_type=grub panic=2 pv_secureboot_mode=strict pv_test=poweroff", cmdline)
	t.Logf("BOOT TIME (TCG, wall clock from QEMU start): GRUB loading %.2fs, grub.cfg %.2fs, kernel %.2fs, init banner %.2fs, powered off %.2fs",
		tm.grub, tm.grubCfg, tm.kernel, tm.banner, tm.off)
}

// TestDiskTryBoot runs GRUB's try-boot latch over two boots of a disk with
// revisions 0 and 1 and pv_try=1 in Pantavisor's env, reading GRUB's env
// back from the disk after each:
//  1. pv_try=1, no pv_trying: GRUB saves pv_trying=1 and boots revision 1
//     with pv_rev=1 pv_try=1;
//  2. nothing committed 1 (pv_try still 1 = pv_trying): the try failed, GRUB
//     boots revision 0 without pv_try and keeps pv_trying (Pantavisor's
//     Fail clears it), so a third boot before that would not try 1 again.
func TestDiskTryBoot(t *testing.T) {
	o := qemuImageOptions(t)
	ctx := context.Background()
	storage := filepath.Join(o.Work, "storage")
	_, err := BuildStorage(ctx, o, storage)
	require.NoError(t, err)
	pantavisorInstall(t, o.Pantavisor, storage, "1", filepath.Join(o.Work, "pkg"))
	require.NoError(t, SetEnv(ctx, filepath.Join(storage, PVEnv), "pv_try=1"))
	disk := filepath.Join(t.TempDir(), "disk.img")
	res, err := WriteDisk(ctx, o, storage, disk)
	require.NoError(t, err)
	grubEnv := func() string { return debugfs(t, disk, res.Partition, "cat /"+GrubEnv) }
	require.NotContains(t, grubEnv(), "pv_trying")

	cmdline, _ := bootDisk(t, o.Board, disk, "pv: booting revision 1 pv_try=1")
	assert.Contains(t, cmdline, "BOOT_IMAGE=/trails/1/.pv/pv-kernel.img pv_rev=1 pv_try=1 console=ttyS0 ")
	assert.Contains(t, grubEnv(), "\npv_trying=1\n", "GRUB latched the try before booting it")

	cmdline, _ = bootDisk(t, o.Board, disk, "pv: booting revision 0 ")
	assert.Contains(t, cmdline, "BOOT_IMAGE=/trails/0/.pv/pv-kernel.img pv_rev=0 console=ttyS0 ")
	assert.NotContains(t, cmdline, "pv_try")
	assert.Contains(t, grubEnv(), "\npv_trying=1\n", "GRUB keeps the latch on the rollback boot")
	pvEnv := debugfs(t, disk, res.Partition, "cat /"+PVEnv)
	assert.Contains(t, pvEnv, "\npv_rev=0\npv_try=1\n", "GRUB never writes Pantavisor's env")
}

// TestBootTimesParse keeps the regexps honest on a console excerpt.
func TestBootTimesParse(t *testing.T) {
	m := cmdlineRE.FindStringSubmatch("[    0.000000] Command line: BOOT_IMAGE=/trails/0/.pv/pv-kernel.img pv_rev=0 console=ttyS0\r\n")
	require.NotNil(t, m)
	assert.Equal(t, "BOOT_IMAGE=/trails/0/.pv/pv-kernel.img pv_rev=0 console=ttyS0", m[2])
	_, err := strconv.ParseFloat(m[1], 64)
	assert.NoError(t, err)
	assert.Equal(t, []string{"pv: booting revision 1 pv_try=1\r\n", "1", "pv_try=1"},
		grubBootRE.FindStringSubmatch("pv: booting revision 1 pv_try=1\r\n"))
	assert.Nil(t, grubBootRE.FindStringSubmatch("pv: booting revision 1 pv_tr"), "a whole line")
}
