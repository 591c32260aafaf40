package image

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/bootloader"
	"pantavisor/lib/testenv"
)

// TestUbootScript: the latch lines of the boot script, in order: the
// variables cleared, only pv_rev/pv_try imported from the storage and
// only pv_trying from the FAT, the failed-try branch before the latch
// write, the try booted only when fatwrite worked, reset when nothing
// boots.
func TestUbootScript(t *testing.T) {
	text := UbootConfig{Console: "ttyAMA0", Cmdline: "pv_storage_device=LABEL=pvstorage panic=2"}.Text()
	last := -1
	for _, want := range []string{
		"setenv pv_rev\n", "setenv pv_try\n", "setenv pv_trying\n",
		"if ext4load ${devtype} ${devnum}:2 ${pxefile_addr_r} /boot/uboot.txt; then env import -b ${pxefile_addr_r} ${filesize} pv_rev pv_try; fi\n",
		"if fatload ${devtype} ${devnum}:${distro_bootpart} ${pxefile_addr_r} pv.env; then env import -b ${pxefile_addr_r} ${filesize} pv_trying; fi\n",
		"if test -z \"${pv_rev}\"; then setenv pv_rev 0; fi\n",
		"\tif test \"${pv_try}\" = \"${pv_trying}\"; then\n",
		"failed its try boot, back to ${pv_rev}",
		"\t\tsetenv pv_trying ${pv_try}\n\t\tenv export -b ${pxefile_addr_r} pv_trying\n",
		"\t\tif fatwrite ${devtype} ${devnum}:${distro_bootpart} ${pxefile_addr_r} pv.env 0x400; then\n" +
			"\t\t\tsetenv pv_boot_rev ${pv_try}\n\t\t\tsetenv pv_boot_try pv_try=${pv_try}\n\t\telse\n",
		"setenv bootargs \"pv_rev=${pv_boot_rev} ${pv_boot_try} console=ttyAMA0 pv_storage_device=LABEL=pvstorage panic=2\"\n",
		"/trails/${pv_boot_rev}/.pv/pv-kernel.img", "/trails/${pv_boot_rev}/.pv/pv-initrd.img",
		"booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}\n",
		"reset\n",
	} {
		i := strings.Index(text, want)
		require.Greater(t, i, last, "%q after the previous line in:\n%s", want, text)
		last = i
	}
	assert.NotContains(t, text, "saveenv", "U-Boot's own env is never written")
	assert.NotContains(t, text, "ext4write", "the storage is only read")
}

// TestBuildUboot builds the qemu-arm64 image (fake kernel and initrd)
// and reads it back without mounting: a bootable FAT partition labelled
// PVBOOT with boot.scr (a U-Boot script image of UbootConfig.Text) and
// an empty 1024-byte pv.env, then the ext4 storage with boot/uboot.txt
// holding pv_rev=0 in U-Boot's format and no GRUB files.
func TestBuildUboot(t *testing.T) {
	requireImageTools(t)
	ctx := context.Background()
	kernel, initrd := fakeFile(t, "vmlinuz", 4096), fakeFile(t, "initrd.img", 4096)
	o := boardTestOptions(t, "qemu-arm64", kernel, initrd)
	o.Busybox, o.BusyboxList = "/bin/busybox", "" // the containers do not run here
	testenv.RequireCommand(t, "dumpimage", "make deps installs u-boot-tools")
	disk := filepath.Join(t.TempDir(), "disk.img")
	res, err := Build(ctx, o, disk)
	require.NoError(t, err)
	assert.Equal(t, Partition{Index: 1, Bootable: true, Type: 0x0c, Start: 2048, Sectors: BootMiB << 11}, res.Boot)
	assert.Equal(t, Partition{Index: 2, Type: 0x83, Start: 2048 + BootMiB<<11, Sectors: 128<<11 - 2048 - BootMiB<<11}, res.Partition)
	assert.Zero(t, res.CoreBytes)

	f, err := os.Open(disk)
	require.NoError(t, err)
	defer f.Close()
	bs := make([]byte, 512)
	_, err = f.ReadAt(bs, res.Boot.Offset())
	require.NoError(t, err)
	assert.Equal(t, "PVBOOT     FAT32   ", string(bs[0x47:0x5a]), "label and type in the FAT32 boot sector")
	assert.Equal(t, make([]byte, bootloader.BlockSize), fatFile(t, disk, res.Boot, bootloader.UbootLatchFile))
	scr := filepath.Join(t.TempDir(), "boot.scr")
	require.NoError(t, os.WriteFile(scr, fatFile(t, disk, res.Boot, BootScr), 0o644))
	info, err := exec.Command("dumpimage", "-l", scr).CombinedOutput()
	require.NoError(t, err, "%s", info)
	assert.Contains(t, string(info), "Image Type:   AArch64 Linux Script (uncompressed)")
	assert.Contains(t, string(info), "Image Name:   pantavisor boot script")
	assert.Contains(t, string(info), "Created:      Thu Jan  1 00:00:00 1970", "SOURCE_DATE_EPOCH=0: reproducible")
	cfg := UbootConfig{Console: "ttyAMA0", Cmdline: "pv_storage_device=LABEL=pvstorage pv_bootloader_type=uboot " +
		"pv_bootloader_uboot_latch=LABEL=PVBOOT panic=2 pv_secureboot_mode=strict"}.Text()
	assert.Equal(t, cfg, string(fatFile(t, disk, res.Boot, "boot.cmd")), "the script's source next to it")

	env := debugfs(t, disk, res.Partition, "cat /boot/uboot.txt")
	assert.Equal(t, "pv_rev=0\x00"+strings.Repeat("\x00", bootloader.BlockSize-len("pv_rev=0\x00")), env)
	assert.NotContains(t, debugfs(t, disk, res.Partition, "ls /boot"), "grub")
}
