// Command mkimage builds a board's bootable disk image (make image): GRUB
// for BIOS in the MBR, or a FAT boot partition with a U-Boot boot script,
// and one ext4 storage partition with the factory revision 0 (the board's
// kernel and modules, our initramfs, and the os, mgmt and web busybox
// containers). See package pantavisor/boards/image.
//
//	mkimage -board B -kernel KDIR -initrd INITRD [-pantavisor BIN] [-work DIR] [-signing DIR|none] [-demo=false] -o DISK
//
// -demo (default on) builds the demo image (image.BuildDemo): the console
// debug shell on and two update packages to try from it.
//
// KDIR is boards/fetch-kernel.sh's directory (vmlinuz, modules/<release>,
// and for a foreign-arch board the containers' busybox).
// Without -pantavisor it builds one for this machine into the work dir.
// Revision 0 is signed with the board's "signing" key unless -signing
// names another directory (key.pem, chain.pem) or "none".
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"pantavisor/boards"
	"pantavisor/boards/image"
	"pantavisor/buildflags"
)

func main() {
	board := flag.String("board", "qemu-x86_64", "board name")
	kdir := flag.String("kernel", "", "kernel directory from boards/fetch-kernel.sh (vmlinuz, modules/<release>)")
	initrd := flag.String("initrd", "", "the board's initramfs (make initrd)")
	pv := flag.String("pantavisor", "", "pantavisor binary for this machine (default: go build one)")
	work := flag.String("work", "", "work directory (default: <out>.work)")
	out := flag.String("o", "", "disk image to write")
	sizeMiB := flag.Int("size-mib", 0, "image size in MiB (default: the board's image_mib)")
	appendArgs := flag.String("append", "", "more kernel arguments")
	verity := flag.Bool("verity", true, "make the storage with ext4's verity feature: the device seals its objects with fs-verity")
	signing := flag.String("signing", "", `directory of key.pem and chain.pem revision 0 is signed with (default: the board's "signing"; "none": unsigned)`)
	demo := flag.Bool("demo", true, "the demo image: the console debug shell on and two update packages in /demo of the mgmt container (README, the first hour)")
	flag.Parse()
	if err := run(*board, *kdir, *initrd, *pv, *work, *out, *sizeMiB, *appendArgs, *verity, *signing, *demo); err != nil {
		fmt.Fprintf(os.Stderr, "mkimage: %v\n", err)
		os.Exit(1)
	}
}

func run(board, kdir, initrd, pv, work, out string, sizeMiB int, appendArgs string, verity bool, signing string, demo bool) error {
	if kdir == "" || initrd == "" || out == "" {
		return fmt.Errorf("-kernel, -initrd and -o are required")
	}
	b, err := boards.Load(boards.Dir(), board)
	if err != nil {
		return err
	}
	switch signing {
	case "":
		signing = b.SigningDir(boards.Dir())
	case "none":
		signing = ""
	}
	mods, err := boards.ModulesRelease(kdir)
	if err != nil {
		return err
	}
	if work == "" {
		work = out + ".work"
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	if pv == "" {
		// Named pantavisor: "pantavisor install" runs the applet by argv[0].
		pv = filepath.Join(work, "host", "pantavisor")
		build := buildflags.Build{Dir: filepath.Dir(boards.Dir()), Out: pv}
		if err := build.Run(); err != nil {
			return err
		}
	}
	start := time.Now()
	build := image.Build
	if demo {
		build = image.BuildDemo
	}
	o := image.Options{Board: b, Kernel: filepath.Join(kdir, "vmlinuz"),
		ModulesDir: mods, Initrd: initrd, Pantavisor: pv, Work: work, ImageMiB: sizeMiB, Append: appendArgs,
		Verity: verity, Signing: signing, Log: os.Stdout}
	if bb := filepath.Join(kdir, "busybox"); fileExists(bb) {
		o.Busybox, o.BusyboxList = bb, "/bin/busybox" // the board's arch; the host's lists the same applets
	}
	res, err := build(context.Background(), o, out)
	if err != nil {
		return err
	}
	boot := fmt.Sprintf("GRUB core.img %d bytes", res.CoreBytes)
	if b.Bootloader == "uboot" {
		boot = fmt.Sprintf("boot partition %d LABEL=%s (FAT, %d MiB) for %s", res.Boot.Index, b.BootLabel,
			res.Boot.Size()>>20, b.Firmware)
	}
	fmt.Printf("%s: %d MiB, partition %d LABEL=%s at %d bytes (%d MiB), %s; %s (%.1fs)\n",
		res.Disk, res.Size>>20, res.Partition.Index, b.StorageLabel, res.Partition.Offset(), res.Partition.Size()>>20, boot,
		res.Installed, time.Since(start).Seconds())
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
