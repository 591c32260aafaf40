package image

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"pantavisor/boards"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBuild builds a whole image with a fake kernel and initramfs and reads
// it back without mounting: the partition table (sfdisk and ReadMBR), GRUB
// in the MBR and after it, the ext4 filesystem's label and files (debugfs
// at the partition's offset), and the package that revision 0 came from.
func TestBuild(t *testing.T) {
	requireImageTools(t)
	ctx := context.Background()
	kernel, initrd := fakeFile(t, "vmlinuz", 300<<10), fakeFile(t, "initrd.img", 100<<10)
	o := testOptions(t, kernel, initrd)
	o.Verity = true
	disk := filepath.Join(t.TempDir(), "disk.img")
	res, err := Build(ctx, o, disk)
	require.NoError(t, err)
	assert.Equal(t, "installed revision 0: 3 containers, 9 objects (7 hashed, 2 left to dm-verity or the bootloader)", res.Installed)
	fi, err := os.Stat(disk)
	require.NoError(t, err)
	assert.Equal(t, int64(32<<20), fi.Size())
	assert.Equal(t, Partition{Index: 1, Bootable: true, Type: 0x83, Start: 2048, Sectors: 32*2048 - 2048}, res.Partition)

	t.Run("partition table", func(t *testing.T) {
		out, err := exec.Command("sfdisk", "--json", disk).Output()
		require.NoError(t, err)
		var table struct {
			PartitionTable struct {
				Label, ID  string
				Partitions []struct {
					Start, Size int
					Type        string
					Bootable    bool
				}
			}
		}
		require.NoError(t, json.Unmarshal(out, &table))
		pt := table.PartitionTable
		assert.Equal(t, "dos", pt.Label)
		assert.Equal(t, "0x70767374", pt.ID)
		require.Len(t, pt.Partitions, 1)
		assert.Equal(t, 2048, pt.Partitions[0].Start)
		assert.Equal(t, 32*2048-2048, pt.Partitions[0].Size)
		assert.Equal(t, "83", pt.Partitions[0].Type)
		assert.True(t, pt.Partitions[0].Bootable)
	})

	t.Run("grub", func(t *testing.T) {
		img, err := os.ReadFile(disk)
		require.NoError(t, err)
		boot, err := os.ReadFile(filepath.Join(DefaultGrubDir, "boot.img"))
		require.NoError(t, err)
		core, err := os.ReadFile(filepath.Join(o.Work, "core.img"))
		require.NoError(t, err)
		assert.Equal(t, boot[:mbrKernelSector], img[:mbrKernelSector], "boot.img in the MBR")
		assert.Equal(t, boot[mbrDriveCheck+2:mbrCodeEnd], img[mbrDriveCheck+2:mbrCodeEnd])
		assert.Equal(t, uint64(1), binary.LittleEndian.Uint64(img[mbrKernelSector:]))
		assert.Equal(t, core, img[sectorSize:sectorSize+len(core)], "core.img from sector 1")
		assert.Equal(t, res.CoreBytes, len(core))
		assert.Less(t, sectorSize+len(core), int(res.Partition.Offset()))
		assert.Equal(t, uint64(2), binary.LittleEndian.Uint64(core[diskbootBlocks:]))
		assert.Equal(t, uint16((len(core)+sectorSize-1)/sectorSize-1), binary.LittleEndian.Uint16(core[diskbootBlocks+8:]),
			"grub-mkimage sized the blocklist: the sectors after the first")
	})

	t.Run("filesystem", func(t *testing.T) {
		p := res.Partition
		stats := debugfs(t, disk, p, "stats")
		assert.Regexp(t, `Filesystem volume name:\s+pvstorage\n`, stats)
		assert.Regexp(t, `Block size:\s+4096\n`, stats)
		assert.Regexp(t, `Filesystem features:[^\n]*\bverity\b`, stats, "the device can seal objects with fs-verity")
		pv := debugfs(t, disk, p, "ls /trails/0/.pv")
		assert.Contains(t, pv, "pv-kernel.img")
		assert.Contains(t, pv, "pv-initrd.img")
		assert.Contains(t, debugfs(t, disk, p, "stat /trails/0/.pvr/json"), "Type: regular")
		for _, dir := range []string{"/trails/0/os", "/trails/0/mgmt", "/trails/0/web", "/trails/0/bsp"} {
			assert.Contains(t, debugfs(t, disk, p, "ls "+dir), "run.json", dir)
		}
		cfg := GrubConfig{Console: "ttyS0", Cmdline: "pv_storage_device=LABEL=pvstorage pv_bootloader_type=grub panic=2 pv_secureboot_mode=strict"}.Text()
		assert.Equal(t, cfg, debugfs(t, disk, p, "cat /boot/grub/grub.cfg"))
		pvEnv := debugfs(t, disk, p, "cat /boot/grubenv")
		assert.Len(t, pvEnv, 1024, "a GRUB env block")
		assert.Contains(t, pvEnv, "\npv_rev=0\n")
		grubEnv := debugfs(t, disk, p, "cat /boot/grub/grubenv")
		assert.Len(t, grubEnv, 1024)
		assert.NotContains(t, grubEnv, "pv_")

		sum, err := hashFile(kernel)
		require.NoError(t, err)
		// objects/<sha>, trails/0/bsp/kernel.img and .pv/pv-kernel.img are
		// one inode: mkfs.ext4 -d kept the hard links.
		assert.Contains(t, debugfs(t, disk, p, "stat /objects/"+sum), "Links: 3")
	})

	t.Run("package", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(o.Work, "pkg", "json"))
		require.NoError(t, err)
		var st map[string]any
		require.NoError(t, json.Unmarshal(data, &st))
		var keys []string
		for k := range st {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		assert.Equal(t, []string{"#spec", "_sigs/pvgo-dev.json", "bsp/kernel.img", "bsp/modules.squashfs", "bsp/pantavisor", "bsp/run.json",
			"device.json", "mgmt/lxc.container.conf", "mgmt/root.squashfs", "mgmt/run.json",
			"os/lxc.container.conf", "os/root.squashfs", "os/run.json",
			"web/lxc.container.conf", "web/root.squashfs", "web/run.json"}, keys)
		assert.Equal(t, map[string]any{"linux": "kernel.img", "initrd": "pantavisor", "modules": "modules.squashfs"}, st["bsp/run.json"])

		out, err := exec.Command(o.Pantavisor, "validate", "--secureboot", "strict", "--trust", o.Board.TrustDir(boards.Dir()),
			filepath.Join(o.Work, "pkg")).CombinedOutput()
		require.NoError(t, err, "%s", out)
		for _, want := range []string{
			"signature _sigs/pvgo-dev.json: ok ES256 ",
			"bsp: linux=kernel.img initrd=pantavisor fdt=- modules=modules.squashfs firmware=- addons=0\n",
			"groups: data root platform app\n",
			"container os: group=root goal=STARTED policy=system roles=nobody\n",
			"container mgmt: group=platform goal=STARTED policy=system roles=mgmt\n",
			"container web: group=app goal=STARTED policy=container roles=nobody\n",
		} {
			assert.Contains(t, string(out), want)
		}
	})
}

// TestContainerRootfs checks what each container squashfs holds, that
// every script parses under busybox sh, and that the squashfs images (so
// their object names) are the same bytes when built again.
func TestContainerRootfs(t *testing.T) {
	requireImageTools(t)
	ctx := context.Background()
	kernel, initrd := fakeFile(t, "vmlinuz", 4096), fakeFile(t, "initrd.img", 4096)
	o := testOptions(t, kernel, initrd)
	pkg1, pkg2 := filepath.Join(t.TempDir(), "pkg"), filepath.Join(t.TempDir(), "pkg")
	require.NoError(t, BuildPackage(ctx, o, pkg1))
	require.NoError(t, BuildPackage(ctx, o, pkg2))
	j1, err := os.ReadFile(filepath.Join(pkg1, "json"))
	require.NoError(t, err)
	j2, err := os.ReadFile(filepath.Join(pkg2, "json"))
	require.NoError(t, err)
	assert.Equal(t, string(j1), string(j2), "the same package twice")

	for _, c := range Containers() {
		out, err := exec.Command("unsquashfs", "-lls", filepath.Join(o.Work, c.Name+".squashfs")).Output()
		require.NoError(t, err)
		list := string(out)
		for _, want := range []string{"-rwxr-xr-x root/root", " squashfs-root/bin/busybox\n",
			" squashfs-root/bin/sh -> /bin/busybox\n", " squashfs-root/app/init.sh\n", " squashfs-root/etc/passwd\n",
			" squashfs-root/proc\n", " squashfs-root/pantavisor\n"} {
			assert.Contains(t, list, want, c.Name)
		}
		for _, f := range c.RootfsFiles() {
			assert.Contains(t, list, " squashfs-root/"+f.Path+"\n", c.Name)
			if strings.HasPrefix(f.Data, "#!/bin/sh") {
				cmd := exec.Command("/bin/busybox", "sh", "-n")
				cmd.Stdin = strings.NewReader(f.Data)
				out, err := cmd.CombinedOutput()
				assert.NoError(t, err, "%s %s: %s", c.Name, f.Path, out)
			}
		}
	}
	for _, applet := range []string{"sbin/udhcpc", "sbin/ip", "usr/sbin/httpd"} {
		out, err := exec.Command("unsquashfs", "-l", filepath.Join(o.Work, "os.squashfs")).Output()
		require.NoError(t, err)
		assert.Contains(t, string(out), "squashfs-root/"+applet+"\n")
	}
}
