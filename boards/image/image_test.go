package image

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/fat12"
	"github.com/diskfs/go-diskfs/filesystem/fat32"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/testenv"
)

func TestGrubConfigText(t *testing.T) {
	cfg := GrubConfig{Console: "ttyS0", Cmdline: "pv_storage_device=LABEL=pvstorage panic=2"}.Text()
	for _, want := range []string{
		"serial --unit=0 --speed=115200\nterminal_input serial\nterminal_output serial\n",
		"load_env --file /boot/grubenv pv_rev pv_try\nload_env pv_trying\n",
		"\tlinux /trails/$1/.pv/pv-kernel.img pv_rev=$1 $2 console=ttyS0 pv_storage_device=LABEL=pvstorage panic=2\n",
		"\tinitrd /trails/$1/.pv/pv-initrd.img\n",
		// A try that already booted once (pv_trying == pv_try) failed:
		// pv_rev boots and the latch stays until Pantavisor clears it.
		"\tif [ \"$pv_try\" = \"$pv_trying\" ]; then\n" +
			"\t\techo \"pv: revision $pv_try failed its try boot, back to $pv_rev\"\n" +
			"\telse\n",
		// Otherwise the latch is saved before the try boots.
		"\t\tset pv_trying=\"$pv_try\"\n\t\tsave_env pv_trying\n" +
			"\t\tset pv_boot_rev=\"$pv_try\"\n\t\tset pv_boot_try=\"pv_try=$pv_try\"\n",
		"pv_boot \"$pv_boot_rev\" $pv_boot_try\n",
		"reboot\n",
	} {
		assert.Contains(t, cfg, want)
	}
	assert.Equal(t, 1, strings.Count(cfg, "save_env"), "GRUB writes its env only to latch a try")
	assert.Less(t, strings.Index(cfg, "save_env pv_trying\n\t\tset pv_boot_rev"), strings.Index(cfg, "pv_boot \"$pv_boot_rev\""),
		"pv_trying is saved before the try boots")

	noSerial := GrubConfig{Console: "tty0"}.Text()
	assert.NotContains(t, noSerial, "serial")
	assert.Contains(t, noSerial, "pv_rev=$1 $2 console=tty0\n")
}

func TestSerialUnit(t *testing.T) {
	for _, c := range []struct {
		console, unit string
		ok            bool
	}{
		{"ttyS0", "0", true},
		{"ttyS12", "12", true},
		{"ttyS", "", false},
		{"ttyAMA0", "", false},
		{"tty0", "", false},
		{"ttyS0,115200", "", false},
		{"", "", false},
	} {
		unit, ok := serialUnit(c.console)
		assert.Equal(t, c.unit, unit, c.console)
		assert.Equal(t, c.ok, ok, c.console)
	}
}

// mbrWith returns an MBR sector with the given 16-byte partition entries.
func mbrWith(entries ...[16]byte) []byte {
	mbr := make([]byte, sectorSize)
	for i, e := range entries {
		copy(mbr[446+16*i:], e[:])
	}
	mbr[510], mbr[511] = 0x55, 0xaa
	return mbr
}

func entry(status, typ byte, start, sectors uint32) [16]byte {
	var e [16]byte
	e[0], e[4] = status, typ
	binary.LittleEndian.PutUint32(e[8:], start)
	binary.LittleEndian.PutUint32(e[12:], sectors)
	return e
}

type bytesAt []byte

func (b bytesAt) ReadAt(p []byte, off int64) (int, error) { return copy(p, b[off:]), nil }

func TestReadMBR(t *testing.T) {
	for _, c := range []struct {
		name string
		mbr  []byte
		want []Partition
		err  string
	}{
		{"one bootable linux", mbrWith(entry(0x80, 0x83, 2048, 129024)),
			[]Partition{{Index: 1, Bootable: true, Type: 0x83, Start: 2048, Sectors: 129024}}, ""},
		{"empty slot skipped", mbrWith(entry(0, 0x83, 2048, 100), [16]byte{}, entry(0, 0x0c, 4096, 8)),
			[]Partition{{Index: 1, Type: 0x83, Start: 2048, Sectors: 100}, {Index: 3, Type: 0x0c, Start: 4096, Sectors: 8}}, ""},
		{"zero-size entry skipped", mbrWith(entry(0, 0x83, 2048, 0)), nil, ""},
		{"no table", make([]byte, sectorSize), nil, "no MBR partition table"},
	} {
		got, err := ReadMBR(bytesAt(c.mbr))
		if c.err != "" {
			assert.ErrorContains(t, err, c.err, c.name)
			continue
		}
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, got, c.name)
	}
	p := Partition{Start: 2048, Sectors: 4}
	assert.Equal(t, int64(1<<20), p.Offset())
	assert.Equal(t, int64(2048), p.Size())
}

// TestPartition: the table go-diskfs writes for the two layouts, read
// back with ReadMBR, the disk signature at byte 440, "LBA only" CHS
// fields; sizes that cannot hold the layout are refused before a file
// is made.
func TestPartition(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		l    Layout
		want []Partition
		err  string
	}{
		{"grub", Layout{Size: 64 << 20, PartStart: 2048, LabelID: labelID},
			[]Partition{{Index: 1, Bootable: true, Type: 0x83, Start: 2048, Sectors: 64<<11 - 2048}}, ""},
		{"uboot", Layout{Size: 128 << 20, PartStart: 2048, LabelID: labelID, BootSectors: 48 << 11},
			[]Partition{{Index: 1, Bootable: true, Type: 0x0c, Start: 2048, Sectors: 48 << 11},
				{Index: 2, Type: 0x83, Start: 2048 + 48<<11, Sectors: 128<<11 - 2048 - 48<<11}}, ""},
		{"not MiB", Layout{Size: 64<<20 + 512, PartStart: 2048}, nil, "multiple of 1 MiB"},
		{"too small", Layout{Size: 2 << 20, PartStart: 2048}, nil, "at least 4 MiB"},
		{"no room", Layout{Size: 48 << 20, PartStart: 2048, BootSectors: 48 << 11}, nil, "no room for the storage partition"},
	} {
		disk := filepath.Join(dir, c.name+".img")
		got, err := partition(disk, c.l)
		if c.err != "" {
			assert.ErrorContains(t, err, c.err, c.name)
			assert.NoFileExists(t, disk, c.name)
			continue
		}
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, got, c.name)
		data, err := os.ReadFile(disk)
		require.NoError(t, err)
		assert.Equal(t, c.l.Size, int64(len(data)), c.name)
		assert.Equal(t, []byte("tsvp"), data[440:444], "%s: the disk signature 0x70767374, little endian", c.name)
		for i := range c.want {
			e := data[446+16*i:]
			assert.Equal(t, []byte{0xfe, 0xff, 0xff}, e[1:4], "%s: start CHS", c.name)
			assert.Equal(t, []byte{0xfe, 0xff, 0xff}, e[5:8], "%s: end CHS", c.name)
		}
		assert.Equal(t, make([]byte, 440), data[:440], "%s: the boot code area is left to the bootloader", c.name)
	}
}

// fakeGrubImages writes a boot.img shaped like GRUB's (the drive-check jmp
// at 0x66) and a core.img of coreSectors sectors.
func fakeGrubImages(t *testing.T, coreSectors int) (string, string) {
	dir := t.TempDir()
	boot := make([]byte, sectorSize)
	for i := range boot[:mbrCodeEnd] {
		boot[i] = 0xcc
	}
	boot[mbrDriveCheck], boot[mbrDriveCheck+1] = jmpShortOpcode, 0x05
	boot[510], boot[511] = 0x55, 0xaa
	core := make([]byte, coreSectors*sectorSize-100) // a partial last sector
	for i := range core {
		core[i] = 0xdd
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "boot.img"), boot, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "core.img"), core, 0o644))
	return filepath.Join(dir, "boot.img"), filepath.Join(dir, "core.img")
}

func TestInstallBootCode(t *testing.T) {
	bootImg, coreImg := fakeGrubImages(t, 30)
	disk := filepath.Join(t.TempDir(), "disk.img")
	mbr := mbrWith(entry(0x80, 0x83, 64, 64))
	copy(mbr[440:446], []byte{1, 2, 3, 4, 0, 0}) // disk signature
	require.NoError(t, os.WriteFile(disk, append(mbr, make([]byte, 127*sectorSize)...), 0o644))

	n, err := installBootCode(disk, bootImg, coreImg, 64)
	require.NoError(t, err)
	assert.Equal(t, 30*sectorSize-100, n)
	got, err := os.ReadFile(disk)
	require.NoError(t, err)
	assert.Equal(t, mbr[440:], got[440:sectorSize], "disk signature, partition table and 0x55AA kept")
	assert.Equal(t, uint64(1), binary.LittleEndian.Uint64(got[mbrKernelSector:]), "boot.img loads core.img from sector 1")
	assert.Equal(t, []byte{nopOpcode, nopOpcode}, got[mbrDriveCheck:mbrDriveCheck+2], "drive check jmp replaced as grub-bios-setup does")
	assert.Equal(t, byte(0xcc), got[0])
	core := got[sectorSize : 31*sectorSize]
	assert.Equal(t, uint64(2), binary.LittleEndian.Uint64(core[diskbootBlocks:]), "diskboot.img reads the rest from sector 2")
	assert.Equal(t, byte(0xdd), core[0])
	assert.Equal(t, byte(0xdd), core[30*sectorSize-101])
	assert.Equal(t, byte(0), got[64*sectorSize], "the partition is untouched")

	_, err = installBootCode(disk, bootImg, coreImg, 30)
	assert.ErrorContains(t, err, "do not fit", "core.img would overwrite the partition")
	blank := filepath.Join(t.TempDir(), "blank.img")
	require.NoError(t, os.WriteFile(blank, make([]byte, 128*sectorSize), 0o644))
	_, err = installBootCode(blank, bootImg, coreImg, 64)
	assert.ErrorContains(t, err, "no partition table")
}

func TestContainers(t *testing.T) {
	cs := Containers()
	var names []string
	for _, c := range cs {
		names = append(names, c.Name+":"+c.Group+":"+strings.Join(c.Roles, ","))
		run := c.RunJSON()
		assert.Equal(t, "service-manifest-run@1", run["#spec"])
		assert.Equal(t, c.Name, run["name"])
		assert.Equal(t, "root.squashfs", run["root-volume"])
		assert.Equal(t, map[string]any{"persistence": "boot"}, run["storage"].(map[string]any)["lxc-overlay"])
		conf := c.LXCConfig()
		assert.Contains(t, conf, "lxc.rootfs.path = overlayfs:/volumes/"+c.Name+"/root.squashfs:/volumes/"+c.Name+"/lxc-overlay/upper\n")
		assert.Contains(t, conf, "lxc.namespace.keep = user  net  ipc\n", "%s shares the device's network", c.Name)
		assert.Contains(t, conf, "lxc.init.cmd = /app/init.sh\n")
		assert.True(t, strings.HasPrefix(c.RootfsFiles()[0].Data, "#!/bin/sh\n"))
	}
	assert.Equal(t, []string{"os:root:nobody", "mgmt:platform:mgmt", "web:app:nobody"}, names)
	assert.Contains(t, cs[1].LXCConfig(), "lxc.mount.entry = /volumes/mgmt/docker--var-pvstatus var/pvstatus none bind,rw,create=dir 0 0\n")
	assert.Contains(t, cs[2].LXCConfig(), "lxc.mount.entry = /volumes/mgmt/docker--var-pvstatus var/pvstatus none bind,ro,create=dir 0 0\n")
	assert.Contains(t, cs[0].Init, "udhcpc -i eth0")
	assert.Contains(t, cs[2].Init, "httpd -f -p 80 -h /www")
}

func TestPackageState(t *testing.T) {
	p, err := NewPackage(filepath.Join(t.TempDir(), "pkg"))
	require.NoError(t, err)
	require.NoError(t, p.AddBytes("a/lxc.container.conf", []byte("x\n")))
	require.NoError(t, p.AddJSON("a/run.json", map[string]any{"name": "a", "#spec": "service-manifest-run@1", "z": "<&>"}))
	assert.ErrorContains(t, p.AddJSON("a/run.json", nil), "added twice")
	got, err := p.State()
	require.NoError(t, err)
	// Keys sorted, two-space indent, no HTML escaping: as pvr writes it.
	assert.Equal(t, `{
  "#spec": "pantavisor-service-system@1",
  "a/lxc.container.conf": "73cb3858a687a8494ca3323053016282f3dad39d42cf62ca4e79dda2aac7d9ac",
  "a/run.json": {
    "#spec": "service-manifest-run@1",
    "name": "a",
    "z": "<&>"
  }
}
`, string(got))
	obj, err := os.ReadFile(filepath.Join(p.dir, "objects", "73cb3858a687a8494ca3323053016282f3dad39d42cf62ca4e79dda2aac7d9ac"))
	require.NoError(t, err)
	assert.Equal(t, "x\n", string(obj))
}

// TestMkfat: a FAT32 go-diskfs makes at BootMiB passes fsck.fat and reads
// back file by file; at 64 MiB, where go-diskfs sizes the FAT two entries
// short, mkfat refuses instead of writing an inconsistent filesystem.
func TestMkfat(t *testing.T) {
	dir := t.TempDir()
	mtime := time.Date(2021, 3, 4, 10, 20, 30, 0, time.Local) // FAT keeps local time, to 2 s
	files := map[string]string{}
	for name, body := range map[string]string{"config.txt": "arm_64bit=1\n", "bcm2837-rpi-3-b-plus.dtb": strings.Repeat("d", 5000)} {
		files[name] = filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(files[name], []byte(body), 0o644))
		require.NoError(t, os.Chtimes(files[name], mtime, mtime))
	}
	disk := filepath.Join(dir, "disk.img")
	parts, err := partition(disk, Layout{Size: 128 << 20, PartStart: PartStart, LabelID: labelID, BootSectors: BootMiB << 11})
	require.NoError(t, err)
	require.NoError(t, mkfat(disk, parts[0], "PVBOOT", files))
	for name, src := range files {
		want, err := os.ReadFile(src)
		require.NoError(t, err)
		got, err := ReadFAT(disk, parts[0], name)
		require.NoError(t, err)
		assert.Equal(t, want, got, name)
	}
	b, err := file.OpenFromPath(disk, true)
	require.NoError(t, err)
	fs, err := fat32.Read(b, parts[0].Size(), parts[0].Offset(), sectorSize)
	require.NoError(t, err)
	f, err := fs.OpenFile("/config.txt", os.O_RDONLY)
	require.NoError(t, err)
	fi, err := f.(*fat12.File).Stat()
	require.NoError(t, err)
	assert.True(t, mtime.Equal(fi.ModTime()), "the source's mtime %v, not the build's: %v", mtime, fi.ModTime())
	b.Close()
	again := filepath.Join(dir, "again.img")
	_, err = partition(again, Layout{Size: 128 << 20, PartStart: PartStart, LabelID: labelID, BootSectors: BootMiB << 11})
	require.NoError(t, err)
	require.NoError(t, mkfat(again, parts[0], "PVBOOT", files))
	a, err := os.ReadFile(disk)
	require.NoError(t, err)
	a2, err := os.ReadFile(again)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(a, a2), "the same files make the same image (volume serial 0, the files' own times)")
	_, err = ReadFAT(disk, parts[0], "absent")
	assert.Error(t, err)
	testenv.RequireCommand(t, "fsck.fat", "make deps installs dosfstools")
	img, err := os.ReadFile(disk)
	require.NoError(t, err)
	part := filepath.Join(dir, "part.img")
	require.NoError(t, os.WriteFile(part, img[parts[0].Offset():parts[0].Offset()+parts[0].Size()], 0o644))
	out, err := exec.Command("fsck.fat", "-n", part).CombinedOutput()
	assert.NoError(t, err, "fsck.fat: %s", out)
	assert.Contains(t, string(out), "3 files", "fsck.fat (the volume label counts as one): %s", out)

	big := Partition{Start: PartStart, Sectors: 64 << 11}
	disk64 := filepath.Join(dir, "disk64.img")
	_, err = partition(disk64, Layout{Size: 128 << 20, PartStart: PartStart, LabelID: labelID, BootSectors: 64 << 11})
	require.NoError(t, err)
	assert.ErrorContains(t, mkfat(disk64, big, "PVBOOT", nil), "129024 clusters but FAT room for 129022")
}
