// Command qemu-boot boots a board under QEMU with the console on this
// terminal (make run): its kernel and initramfs (-kernel, -initrd), or a
// disk image with its own bootloader (-disk, from make image). Quit with
// Ctrl-A X.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"pantavisor/boards"
	"pantavisor/boards/qemu"
)

func main() {
	board := flag.String("board", "qemu-x86_64", "board name")
	kernel := flag.String("kernel", "", "vmlinuz")
	initrd := flag.String("initrd", "", "initramfs image")
	appendArgs := flag.String("append", "", "extra kernel command line (with -kernel)")
	disk := flag.String("disk", "", "boot this disk image through its bootloader instead of -kernel")
	forward := flag.String("forward", "", "host:guest TCP ports forwarded on 127.0.0.1, comma-separated (e.g. 8080:80)")
	flag.Parse()
	o := qemu.Options{Kernel: *kernel, Initrd: *initrd, Append: *appendArgs}
	if *disk != "" {
		// A bootloader image reboots into its try revision and back.
		o = qemu.Options{Disks: []string{*disk}, Reboot: true}
	}
	if *forward != "" {
		o.Forwards = strings.Split(*forward, ",")
	}
	b, err := boards.Load(boards.Dir(), *board)
	if err == nil && o.Kernel == "" && len(o.Disks) == 0 {
		err = fmt.Errorf("give -kernel and -initrd, or -disk")
	}
	if err == nil && b.QEMUNIC == "none" && len(o.Forwards) > 0 {
		fmt.Fprintf(os.Stderr, "qemu-boot: board %s has no network device under QEMU: -forward %s not set up\n", b.Name, *forward)
		o.Forwards = nil
	}
	if err == nil {
		o.Board = b
		err = qemu.Attach(o, os.Stdin, os.Stdout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "qemu-boot: %v\n", err)
		os.Exit(1)
	}
}
