// Package image builds a board's bootable disk image (make image): an MBR
// disk with GRUB for BIOS and one ext4 storage partition holding the
// factory revision 0, or, for a U-Boot board, a FAT boot partition with
// the boot script and the try-boot latch before the storage; all without
// loop devices or mounts. Host-side only.
package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"pantavisor/boards"
	"pantavisor/lib/bootloader"
)

// Options say what goes into the image. Board, Kernel, ModulesDir, Initrd,
// Pantavisor and Work are required; the rest has defaults.
type Options struct {
	Board  *boards.Board
	Kernel string // the board's vmlinuz (bsp/kernel.img)
	// BootFilesDir is where the board's boot_files are (its kernel dir,
	// boards/fetch-kernel.sh's); "" = Kernel's directory.
	BootFilesDir string
	ModulesDir   string // its lib/modules/<release>; bsp/modules.squashfs holds Board.BSPModules of it
	Initrd       string // the board's initramfs with our init (bsp/pantavisor)
	Pantavisor   string // a pantavisor binary that runs here: `pantavisor install` makes revision 0
	Work         string // work directory; modules.squashfs is kept there between builds
	Busybox      string // static busybox of the board's arch for the containers; "" = /bin/busybox
	// BusyboxList is a busybox that runs here whose applets the
	// containers get (Busybox of a foreign arch cannot list its own: the
	// same Debian version has the same applets); "" = Busybox.
	BusyboxList string
	GrubDir     string            // grub-pc-bin's i386-pc directory; "" = DefaultGrubDir
	ImageMiB    int               // disk size; 0 = the board's image_mib
	Append      string            // more kernel arguments, after the board's (tests: pv_test=poweroff)
	Containers  []Container       // revision 0's containers; nil = Containers()
	Device      map[string]any    // device.json; nil = DeviceJSON()
	Objects     map[string]string // more objects of revision 0: state key -> file (e.g. the boot bench's payloads)
	Drivers     map[string]any    // bsp/drivers.json ({"all": {alias: ["module params", …]}}); nil = none
	UserMeta    map[string]string // user-meta the storage starts with (cache/meta/<key>), as if set before
	// StorageFiles are more files of the storage partition: a path below
	// it -> a file on the host (the update packages of a board with one
	// disk, PackageStorageDir).
	StorageFiles map[string]string
	// Verity makes the storage with ext4's verity feature, so the device
	// seals its objects with fs-verity. `make image` sets it; the QEMU
	// tests set it only where they test it (TestQEMUVerityCorruptObject,
	// the boot benches): in CI two boots reading fs-verity objects
	// through loop devices hit guest kernel soft lockups under TCG that
	// did not recur in isolation (README, fs-verity).
	Verity bool
	// Signing is the directory of the key and chain (boards.Board.Signing)
	// revision 0 and every update package derived from it are signed
	// with (SignState); "" = unsigned.
	Signing string
	Log     io.Writer
}

// Result describes a built image.
type Result struct {
	Disk      string
	Size      int64     // bytes (the file is sparse)
	Partition Partition // the storage partition
	Boot      Partition // U-Boot boards: the FAT boot partition (zero for GRUB)
	CoreBytes int       // GRUB core.img, in sectors 1.. before the partition
	Installed string    // what `pantavisor install` printed
}

// PartStart is the storage partition's first sector (1 MiB): GRUB's
// core.img fits in the gap after the MBR.
const PartStart = 2048

// labelID is the MBR disk signature, fixed so images are comparable ("pvst").
const labelID = 0x70767374

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, "mkimage: "+format+"\n", args...)
	}
}

func (o *Options) check() error {
	if o.Board == nil {
		return fmt.Errorf("image: no board")
	}
	for name, v := range map[string]string{"kernel": o.Kernel, "modules dir": o.ModulesDir,
		"initrd": o.Initrd, "pantavisor binary": o.Pantavisor, "work dir": o.Work} {
		if v == "" {
			return fmt.Errorf("image: no %s", name)
		}
	}
	switch o.Board.Bootloader {
	case "grub":
	case "uboot":
		if o.Board.BootLabel == "" {
			return fmt.Errorf("image: board %s: a uboot board.json needs boot_label", o.Board.Name)
		}
	default:
		return fmt.Errorf("image: board %s: bootloader %q, only grub and uboot images are built", o.Board.Name, o.Board.Bootloader)
	}
	if o.Board.StorageLabel == "" {
		return fmt.Errorf("image: board %s: board.json has no storage_label", o.Board.Name)
	}
	if o.Busybox == "" {
		o.Busybox = "/bin/busybox"
	}
	if o.BusyboxList == "" {
		o.BusyboxList = o.Busybox
	}
	if o.GrubDir == "" && o.Board.Bootloader == "grub" {
		o.GrubDir = DefaultGrubDir
	}
	if o.ImageMiB == 0 {
		o.ImageMiB = o.Board.ImageMiB
	}
	if o.BootFilesDir == "" {
		o.BootFilesDir = filepath.Dir(o.Kernel)
	}
	if o.ImageMiB < 8 {
		return fmt.Errorf("image: board %s: image size %d MiB (image_mib), want at least 8", o.Board.Name, o.ImageMiB)
	}
	return os.MkdirAll(o.Work, 0o755)
}

// Build makes the disk image out: BuildStorage into <Work>/storage, then
// WriteDisk.
func Build(ctx context.Context, o Options, out string) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	storage := filepath.Join(o.Work, "storage")
	installed, err := BuildStorage(ctx, o, storage)
	if err != nil {
		return nil, err
	}
	res, err := WriteDisk(ctx, o, storage, out)
	if res != nil {
		res.Installed = installed
	}
	return res, err
}

// Cmdline is what the bootloader passes after pv_rev, pv_try and
// console=: the storage device by label (pv_storage_device=,
// PV_STORAGE_DEVICE at the command line level), the bootloader Pantavisor
// keeps its env for (pv_bootloader_type=grub or uboot: what this disk
// boots through, whatever the board's default), for U-Boot the FAT
// partition of its latch env (pv_bootloader_uboot_latch=LABEL=<boot_label>),
// the board's arguments, then extra.
func Cmdline(b *boards.Board, extra string) string {
	kind := "pv_bootloader_type=grub"
	if b.Bootloader == "uboot" {
		kind = "pv_bootloader_type=uboot pv_bootloader_uboot_latch=LABEL=" + b.BootLabel
	}
	return strings.Join(strings.Fields("pv_storage_device=LABEL="+b.StorageLabel+" "+kind+" "+
		b.Cmdline+" "+extra), " ")
}

// BuildStorage fills dir (replaced if present) with the storage partition's
// content and returns what `pantavisor install` printed:
//  1. the factory package in <Work>/pkg (BuildPackage);
//  2. `pantavisor install --storage dir --rev 0 <Work>/pkg`: objects/,
//     trails/0/ with .pvr/ and the boot assets in .pv/;
//  3. o.UserMeta as cache/meta/<key> files, where the device persists
//     user-meta;
//  4. GRUB: boot/grub/grub.cfg, boot/grubenv (pv_rev=0) and
//     boot/grub/grubenv; U-Boot: boot/uboot.txt (pv_rev=0), the boot
//     script and latch being on the boot partition (WriteDisk).
func BuildStorage(ctx context.Context, o Options, dir string) (string, error) {
	if err := o.check(); err != nil {
		return "", err
	}
	pkg := filepath.Join(o.Work, "pkg")
	if err := BuildPackage(ctx, o, pkg); err != nil {
		return "", err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	o.logf("pantavisor install --storage %s --rev 0 %s", dir, pkg)
	out, err := output(ctx, o.Pantavisor, "install", "--storage", dir, "--rev", "0", pkg)
	if err != nil {
		return "", err
	}
	installed := strings.TrimSpace(string(out))
	o.logf("%s", installed)
	if err := writeUserMeta(dir, o.UserMeta); err != nil {
		return "", err
	}
	if err := copyStorageFiles(dir, o.StorageFiles); err != nil {
		return "", err
	}
	if o.Board.Bootloader == "uboot" {
		return installed, writeUbootEnv(dir, "0")
	}
	cfg := GrubConfig{Console: o.Board.Console, Cmdline: Cmdline(o.Board, o.Append)}
	if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(GrubCfg)), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, GrubCfg), []byte(cfg.Text()), 0o644); err != nil {
		return "", err
	}
	return installed, writeEnvs(ctx, dir, "0")
}

// BuildPackage writes the factory revision as a pvr package into dir
// (replaced if present):
//  1. each container's busybox rootfs, squashed with -all-root, plus its
//     run.json and lxc.container.conf (Containers);
//  2. the BSP: bsp/run.json, the kernel, the initramfs and the modules
//     squashfs (cached in Work), and bsp/drivers.json when o.Drivers;
//  3. device.json with the default groups, then the state json, signed
//     when o.Signing is set.
func BuildPackage(ctx context.Context, o Options, dir string) error {
	if err := o.check(); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := NewPackage(dir)
	if err != nil {
		return err
	}
	applets, err := busyboxApplets(ctx, o.BusyboxList)
	if err != nil {
		return err
	}
	cs := o.Containers
	if cs == nil {
		cs = Containers()
	}
	for _, c := range cs {
		sq, err := containerSquashfs(ctx, o, c, applets)
		if err != nil {
			return fmt.Errorf("container %s: %w", c.Name, err)
		}
		if err := p.AddJSON(c.Name+"/run.json", c.RunJSON()); err != nil {
			return err
		}
		if err := p.AddBytes(c.Name+"/lxc.container.conf", []byte(c.LXCConfig())); err != nil {
			return err
		}
		if err := p.AddFile(c.Name+"/root.squashfs", sq); err != nil {
			return err
		}
	}
	o.logf("modules.squashfs from %s", o.ModulesDir)
	mods, err := modulesSquashfs(ctx, o.Work, o.ModulesDir, o.Board.BSPModules)
	if err != nil {
		return err
	}
	for key, path := range map[string]string{"bsp/kernel.img": o.Kernel, "bsp/pantavisor": o.Initrd,
		"bsp/modules.squashfs": mods} {
		if err := p.AddFile(key, path); err != nil {
			return err
		}
	}
	for key, path := range o.Objects {
		if err := p.AddFile(key, path); err != nil {
			return fmt.Errorf("object %s: %w", key, err)
		}
	}
	if err := p.AddJSON("bsp/run.json", BSPRun()); err != nil {
		return err
	}
	if o.Drivers != nil {
		if err := p.AddJSON("bsp/drivers.json", o.Drivers); err != nil {
			return err
		}
	}
	dev := o.Device
	if dev == nil {
		dev = DeviceJSON()
	}
	if err := p.AddJSON("device.json", dev); err != nil {
		return err
	}
	if o.Signing != "" {
		o.logf("signing the state with %s", o.Signing)
	}
	return p.Write(o.Signing)
}

// writeUserMeta writes each user-meta key as the file
// <storage>/cache/meta/<key> holding its value.
func writeUserMeta(storage string, um map[string]string) error {
	if len(um) == 0 {
		return nil
	}
	dir := filepath.Join(storage, "cache", "meta")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for k, v := range um {
		if k == "" || strings.ContainsAny(k, "/") || k[0] == '.' {
			return fmt.Errorf("image: user-meta key %q: not a file name", k)
		}
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// copyStorageFiles copies files (path below storage -> host file) into
// the storage dir; a path that leaves it is refused.
func copyStorageFiles(storage string, files map[string]string) error {
	for rel, src := range files {
		if !filepath.IsLocal(rel) {
			return fmt.Errorf("image: storage file %q: not a path below the storage", rel)
		}
		dst := filepath.Join(storage, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := linkOrCopy(src, dst); err != nil {
			return fmt.Errorf("image: storage file %s: %w", rel, err)
		}
	}
	return nil
}

// containerSquashfs builds c's rootfs in <Work>/rootfs/<name> and returns
// its squashfs, <Work>/<name>.squashfs.
func containerSquashfs(ctx context.Context, o Options, c Container, applets []string) (string, error) {
	root := filepath.Join(o.Work, "rootfs", c.Name)
	if err := os.RemoveAll(root); err != nil {
		return "", err
	}
	if err := buildRootfs(root, o.Busybox, applets, c.RootfsFiles()); err != nil {
		return "", err
	}
	sq := filepath.Join(o.Work, c.Name+".squashfs")
	o.logf("container %s: %s", c.Name, sq)
	return sq, squash(ctx, root, sq)
}

// WriteDisk writes the disk image out from a storage directory:
//  1. a sparse file of ImageMiB with an MBR partition table (sfdisk): one
//     bootable Linux partition from PartStart to the end, or for U-Boot a
//     bootable FAT partition of BootMiB and the Linux one after it;
//  2. the ext4 filesystem labelled storage_label in the Linux partition,
//     with VerityFeatures when o.Verity, filled from storage (mkfs.ext4
//     -E offset -d);
//  3. the bootloader: GRUB's boot.img and core.img (writeGrub), or the
//     FAT labelled boot_label with the boot script and the empty latch
//     env (writeUboot);
//  4. the partition table read back, then the file renamed to out.
func WriteDisk(ctx context.Context, o Options, storage, out string) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	tmp := out + ".tmp"
	defer os.Remove(tmp)
	lay := Layout{Size: int64(o.ImageMiB) << 20, PartStart: PartStart, LabelID: labelID}
	uboot := o.Board.Bootloader == "uboot"
	if uboot {
		lay.BootSectors = BootMiB << 20 / sectorSize
	}
	o.logf("%s: %d MiB, MBR, partition 1 from sector %d", out, o.ImageMiB, PartStart)
	parts, err := partition(tmp, lay)
	if err != nil {
		return nil, err
	}
	res := &Result{Disk: out, Size: lay.Size, Partition: parts[len(parts)-1]}
	var features []string
	if o.Verity {
		features = VerityFeatures
	}
	o.logf("mkfs.ext4 -L %s -O %s -E offset=%d -d %s", o.Board.StorageLabel, strings.Join(features, ","), res.Partition.Offset(), storage)
	if err := mkfs(ctx, tmp, res.Partition, o.Board.StorageLabel, storage, features...); err != nil {
		return nil, err
	}
	if uboot {
		res.Boot = parts[0]
		err = writeUboot(ctx, o, tmp, res.Boot)
	} else {
		res.CoreBytes, err = writeGrub(ctx, o, tmp, res.Partition)
	}
	if err != nil {
		return nil, err
	}
	f, err := os.Open(tmp)
	if err != nil {
		return nil, err
	}
	back, err := ReadMBR(f)
	f.Close()
	if err != nil || len(back) != len(parts) || back[len(back)-1] != res.Partition {
		return nil, fmt.Errorf("%s: partition table after writing: %v %v, want %+v", tmp, back, err, parts)
	}
	if err := os.Rename(tmp, out); err != nil {
		return nil, err
	}
	return res, nil
}

// writeGrub makes GRUB's core.img (grub-mkimage, GrubModules, prefix
// GrubPrefix) and installs boot.img into the MBR and core.img after it
// (installBootCode); it returns core.img's size.
func writeGrub(ctx context.Context, o Options, disk string, storage Partition) (int, error) {
	core := filepath.Join(o.Work, "core.img")
	if err := makeCore(ctx, o.GrubDir, core); err != nil {
		return 0, err
	}
	n, err := installBootCode(disk, filepath.Join(o.GrubDir, "boot.img"), core, storage.Start)
	if err != nil {
		return 0, err
	}
	o.logf("GRUB: boot.img in the MBR, core.img (%d bytes, modules %s) from sector 1", n, strings.Join(GrubModules, " "))
	return n, nil
}

// writeUboot fills the FAT boot partition p: the boot script and the
// empty latch env (writeBootFS into <Work>/bootfs), the board's boot files
// (bootFiles), then mkfat.
func writeUboot(ctx context.Context, o Options, disk string, p Partition) error {
	dir := filepath.Join(o.Work, "bootfs")
	cfg := UbootConfig{Console: o.Board.Console, Cmdline: Cmdline(o.Board, o.Append)}
	if err := writeBootFS(ctx, cfg, o.Board.Arch, dir); err != nil {
		return err
	}
	files, err := bootFiles(o, dir)
	if err != nil {
		return err
	}
	o.logf("U-Boot: FAT %s (%d MiB) with %s and %s, %d files in all", o.Board.BootLabel, p.Size()>>20, BootScr,
		bootloader.UbootLatchFile, len(files))
	return mkfat(disk, p, o.Board.BootLabel, files)
}

// bootFiles returns the FAT boot partition's files, name -> host file:
// those of dir (the boot script and latch), the board's boot_files from
// the kernel dir (the Pi's firmware, U-Boot and device trees), every
// file of its boot_dir (config.txt), and its uboot_env (written into
// <Work>/uboot-env).
// A name given twice is an error.
func bootFiles(o Options, dir string) (map[string]string, error) {
	files := map[string]string{}
	add := func(name, src string) error {
		if _, ok := files[name]; ok {
			return fmt.Errorf("image: board %s: boot file %s given twice", o.Board.Name, name)
		}
		if _, err := os.Stat(src); err != nil {
			return fmt.Errorf("image: board %s: boot file %s: %w", o.Board.Name, name, err)
		}
		files[name] = src
		return nil
	}
	addDir := func(d string) error {
		ents, err := os.ReadDir(d)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if e.Type().IsRegular() {
				if err := add(e.Name(), filepath.Join(d, e.Name())); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := addDir(dir); err != nil {
		return nil, err
	}
	for name, rel := range o.Board.BootFiles {
		if err := add(name, filepath.Join(o.BootFilesDir, rel)); err != nil {
			return nil, err
		}
	}
	if d := o.Board.BootFilesDir(boards.Dir()); d != "" {
		if err := addDir(d); err != nil {
			return nil, err
		}
	}
	if e := o.Board.UbootEnv; e != nil {
		bin, err := os.ReadFile(files[e.Binary])
		if err != nil {
			return nil, err
		}
		vars, err := ubootDefaultEnv(bin)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", files[e.Binary], err)
		}
		img, err := ubootEnvImage(setEnv(vars, e.Set), e.Size)
		if err != nil {
			return nil, err
		}
		env := filepath.Join(o.Work, "uboot-env", e.File)
		if err := os.MkdirAll(filepath.Dir(env), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(env, img, 0o644); err != nil {
			return nil, err
		}
		if err := add(e.File, env); err != nil {
			return nil, err
		}
	}
	return files, nil
}
