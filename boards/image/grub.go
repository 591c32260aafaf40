package image

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Paths inside the storage partition (the device mounts it on /storage).
const (
	// PVEnv is Pantavisor's bootloader env: pv_rev and pv_try. Upstream's
	// grub backend writes /storage/boot/grubenv; GRUB only reads it.
	PVEnv = "boot/grubenv"
	// GrubEnv is GRUB's own env (the default load_env/save_env file under
	// the prefix): only pv_trying, the try-boot latch, which only GRUB writes.
	GrubEnv = "boot/grub/grubenv"
	// GrubCfg is the config GRUB's normal module runs from the prefix.
	GrubCfg = "boot/grub/grub.cfg"
	// GrubPrefix is where core.img looks for grub.cfg: the first MBR
	// partition of the boot disk.
	GrubPrefix = "(hd0,msdos1)/boot/grub"
	// DefaultGrubDir holds Debian grub-pc-bin's i386-pc modules and images.
	DefaultGrubDir = "/usr/lib/grub/i386-pc"
)

// GrubModules are built into core.img, so GRUB needs no module files on
// the disk: disk, partition table and filesystem access (biosdisk,
// part_msdos, ext2 which reads ext4), the env files (loadenv), the latch
// (test, echo), booting Linux (linux), the config (normal, configfile), the
// serial console (serial, terminal) and reboot when nothing loads.
var GrubModules = []string{"biosdisk", "part_msdos", "ext2", "loadenv", "test", "linux",
	"normal", "configfile", "echo", "serial", "terminal", "reboot"}

// GrubConfig is what grub.cfg needs to know.
type GrubConfig struct {
	Console string // kernel console device, e.g. ttyS0 (also GRUB's terminal when ttyS<N>)
	Cmdline string // kernel arguments after console= and pv_rev/pv_try
}

// Text returns grub.cfg: upstream Pantavisor's try-boot latch. It loads
// pv_rev and pv_try from PVEnv and pv_trying from GrubEnv, then:
//   - pv_try set and equal to pv_trying: that try already booted once and
//     did not commit, so it failed; boot pv_rev. pv_trying stays set until
//     Pantavisor records the failure (lib/bootloader's Fail unsets pv_try
//     and clears it): upstream clears it here, so a power cut before
//     Pantavisor runs would boot the failed try a second time;
//   - pv_try set otherwise: save pv_trying=pv_try first, then boot pv_try
//     with pv_try=<rev> on the command line;
//   - no pv_try: boot pv_rev.
//
// Every try is booted at most once; any reset during it rolls back. The
// revision's kernel and initrd are /trails/<rev>/.pv/pv-kernel.img and
// pv-initrd.img; the command line gets pv_rev=<booted rev>. When neither
// loads, GRUB reboots (a failed try is then rolled back by the latch).
func (c GrubConfig) Text() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Pantavisor try-boot latch, written by boards/image.")
	w("# %s (Pantavisor's): pv_rev, pv_try. %s (GRUB's own): pv_trying.", "/"+PVEnv, "/"+GrubEnv)
	if unit, ok := serialUnit(c.Console); ok {
		w("serial --unit=%s --speed=115200", unit)
		w("terminal_input serial")
		w("terminal_output serial")
	}
	w("")
	w("function pv_boot {")
	w("\techo \"pv: booting revision $1 $2\"")
	w("\tlinux /trails/$1/.pv/pv-kernel.img pv_rev=$1 $2 %s", strings.TrimSpace("console="+c.Console+" "+c.Cmdline))
	w("\tinitrd /trails/$1/.pv/pv-initrd.img")
	w("\tboot")
	w("}")
	w("")
	w("load_env --file /%s pv_rev pv_try", PVEnv)
	w("load_env pv_trying")
	w("if [ -z \"$pv_rev\" ]; then set pv_rev=0; fi")
	w("set pv_boot_rev=\"$pv_rev\"")
	w("set pv_boot_try=\"\"")
	w("if [ -n \"$pv_try\" ]; then")
	w("\tif [ \"$pv_try\" = \"$pv_trying\" ]; then")
	w("\t\techo \"pv: revision $pv_try failed its try boot, back to $pv_rev\"")
	w("\telse")
	w("\t\tset pv_trying=\"$pv_try\"")
	w("\t\tsave_env pv_trying")
	w("\t\tset pv_boot_rev=\"$pv_try\"")
	w("\t\tset pv_boot_try=\"pv_try=$pv_try\"")
	w("\tfi")
	w("fi")
	w("pv_boot \"$pv_boot_rev\" $pv_boot_try")
	w("echo \"pv: cannot boot revision $pv_boot_rev; rebooting\"")
	w("reboot")
	return b.String()
}

// serialUnit returns N for a ttySN console.
func serialUnit(console string) (string, bool) {
	n, ok := strings.CutPrefix(console, "ttyS")
	if !ok || n == "" || strings.Trim(n, "0123456789") != "" {
		return "", false
	}
	return n, true
}

// makeCore runs grub-mkimage for i386-pc with GrubModules and GrubPrefix.
// The image starts with diskboot.img, whose blocklist grub-mkimage has
// already sized; installBootCode places it.
func makeCore(ctx context.Context, grubDir, out string) error {
	args := append([]string{"-O", "i386-pc", "-d", grubDir, "-o", out, "-p", GrubPrefix}, GrubModules...)
	return run(ctx, "", "grub-mkimage", args...)
}

// Offsets in boot.img and diskboot.img (GRUB's include/grub/i386/pc/boot.h)
// that grub-bios-setup fills in and installBootCode sets the same way.
const (
	mbrCodeEnd       = 440   // boot code; the disk signature and partition table follow
	mbrKernelSector  = 0x5c  // boot.img: LBA of core.img's first sector (uint64)
	mbrDriveCheck    = 0x66  // boot.img: 2-byte jmp over the "is DL a hard disk" check
	diskbootBlocks   = 0x1f4 // diskboot.img: blocklist {start uint64, len uint16, segment uint16}
	sectorSize       = 512
	jmpShortOpcode   = 0xeb
	nopOpcode        = 0x90
	coreFirstSector  = 1
	bootSignatureOff = 510
	diskSignatureOff = 440 // the MBR disk signature (label ID), 4 bytes little endian
)

// installBootCode writes GRUB's boot.img into the MBR of disk, keeping the
// partition table, and core.img from sector 1 up to (not into) the first
// partition at firstPart (a sector). The steps, as grub-bios-setup does
// for a hard disk:
//  1. boot.img's first 440 bytes replace the MBR code (signature, table and
//     0x55AA stay);
//  2. boot.img's kernel sector is set to 1, and the jmp that skips the
//     "BIOS passed a floppy drive number" check becomes two NOPs, so a
//     BIOS that passes DL=0 still reads the hard disk;
//  3. diskboot.img's blocklist (the rest of core.img) starts at sector 2;
//  4. core.img is written at sector 1.
func installBootCode(disk, bootImg, coreImg string, firstPart uint64) (int, error) {
	boot, err := os.ReadFile(bootImg)
	if err != nil {
		return 0, err
	}
	core, err := os.ReadFile(coreImg)
	if err != nil {
		return 0, err
	}
	if len(boot) != sectorSize {
		return 0, fmt.Errorf("%s: %d bytes, want %d", bootImg, len(boot), sectorSize)
	}
	coreSectors := (uint64(len(core)) + sectorSize - 1) / sectorSize
	if len(core) < sectorSize || coreFirstSector+coreSectors > firstPart {
		return 0, fmt.Errorf("%s: %d bytes do not fit between sector %d and the first partition at sector %d",
			coreImg, len(core), coreFirstSector, firstPart)
	}
	f, err := os.OpenFile(disk, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	mbr := make([]byte, sectorSize)
	if _, err := f.ReadAt(mbr, 0); err != nil {
		return 0, fmt.Errorf("reading the MBR of %s: %w", disk, err)
	}
	if mbr[bootSignatureOff] != 0x55 || mbr[bootSignatureOff+1] != 0xaa {
		return 0, fmt.Errorf("%s: no partition table (0x55AA) to keep", disk)
	}
	copy(mbr[:mbrCodeEnd], boot[:mbrCodeEnd])
	binary.LittleEndian.PutUint64(mbr[mbrKernelSector:], coreFirstSector)
	if mbr[mbrDriveCheck] == jmpShortOpcode {
		mbr[mbrDriveCheck], mbr[mbrDriveCheck+1] = nopOpcode, nopOpcode
	}
	binary.LittleEndian.PutUint64(core[diskbootBlocks:], coreFirstSector+1)
	if _, err := f.WriteAt(mbr, 0); err != nil {
		return 0, fmt.Errorf("writing the MBR of %s: %w", disk, err)
	}
	if _, err := f.WriteAt(core, coreFirstSector*sectorSize); err != nil {
		return 0, fmt.Errorf("writing core.img to %s: %w", disk, err)
	}
	return len(core), f.Close()
}

// writeEnvs creates the two GRUB env files below the storage dir with
// grub-editenv: PVEnv with pv_rev=rev, and an empty GrubEnv.
func writeEnvs(ctx context.Context, storage, rev string) error {
	for _, f := range []string{PVEnv, GrubEnv} {
		p := filepath.Join(storage, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := run(ctx, "", "grub-editenv", p, "create"); err != nil {
			return err
		}
	}
	return SetEnv(ctx, filepath.Join(storage, PVEnv), "pv_rev="+rev)
}

// SetEnv sets key=value pairs in a GRUB env file with grub-editenv.
func SetEnv(ctx context.Context, file string, kv ...string) error {
	return run(ctx, "", "grub-editenv", append([]string{file, "set"}, kv...)...)
}
