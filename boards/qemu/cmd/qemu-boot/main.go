// Command qemu-boot boots a board's kernel and initramfs under QEMU with the
// console on this terminal (make run). Quit with Ctrl-A X.
package main

import (
	"flag"
	"fmt"
	"os"

	"pantavisor/boards"
	"pantavisor/boards/qemu"
)

func main() {
	board := flag.String("board", "qemu-x86_64", "board name")
	kernel := flag.String("kernel", "", "vmlinuz")
	initrd := flag.String("initrd", "", "initramfs image")
	appendArgs := flag.String("append", "", "extra kernel command line")
	flag.Parse()
	b, err := boards.Load(boards.Dir(), *board)
	if err == nil {
		err = qemu.Attach(qemu.Options{Board: b, Kernel: *kernel, Initrd: *initrd, Append: *appendArgs}, os.Stdin, os.Stdout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "qemu-boot: %v\n", err)
		os.Exit(1)
	}
}
