// Package qemu boots a board under QEMU (TCG; KVM hangs on these machines)
// with its serial console captured, for tests and `make run`.
package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"pantavisor/boards"
)

// Options describe one boot: a kernel and initramfs given to QEMU
// (-kernel), or, without Kernel, the firmware booting the first disk (a
// board image with its own bootloader; Initrd and Append are then unused):
// QEMU's own, or the board's "firmware" (-bios, e.g. U-Boot).
type Options struct {
	Board  *boards.Board
	Kernel string   // vmlinuz; "" boots from Disks[0]
	Initrd string   // initramfs image
	Append string   // extra kernel command line
	Disks  []string // raw disk images, attached as virtio drives in order
	// ReadOnlyDisks are raw disk images attached read-only after Disks
	// (the first is /dev/vdb behind one disk): QEMU never writes them.
	ReadOnlyDisks []string
	Memory        int // MiB; 0 means 512
	// Reboot lets a guest reboot restart the machine (a bootloader's
	// try-boot needs it); by default QEMU exits instead (-no-reboot).
	Reboot bool
	// Forwards are host TCP ports forwarded to guest ports ("8080:80");
	// bound to 127.0.0.1 only. Without them (and GuestForwards) the VM
	// has no network at all.
	Forwards []string
	// GuestForwards are guest addresses relayed to host services, the
	// guest's only way out (the user network is restrict=on).
	GuestForwards []GuestForward
	// QMP is a unix socket path where QEMU serves its machine protocol
	// (VM.QMP); "" means none. Without Reboot a system_reset ends QEMU,
	// as a guest reboot does.
	QMP string
}

// GuestForward relays the guest's TCP connections to Guest, an address
// inside QEMU's user network ("10.0.2.100:443"; 10.0.2.0/24, not one of
// the gateway .2, DNS .3 or the guest's own .15), to Host, a host service
// ("127.0.0.1:8443"). Each connection gets its own `nc -N` (netcat-openbsd,
// make deps installs it) started by QEMU: the other form, a chardev such
// as tcp:127.0.0.1:8443, is one stream opened when QEMU starts and shared
// by every guest connection, which an HTTPS client opening several
// connections cannot use.
type GuestForward struct {
	Guest, Host string
}

// arg is f as a -netdev user option: guestfwd=tcp:<guest>-cmd:nc -N <host> <port>.
func (f GuestForward) arg() string {
	host, port, _ := strings.Cut(f.Host, ":")
	return fmt.Sprintf("guestfwd=tcp:%s-cmd:nc -N %s %s", f.Guest, host, port)
}

// Args returns the qemu-system command line for o, console on stdio.
func Args(o Options) []string {
	mem := o.Memory
	if mem == 0 {
		mem = o.Board.QEMUMemory
	}
	if mem == 0 {
		mem = 512
	}
	cpus := o.Board.QEMUCPUs
	if cpus == 0 {
		cpus = 2
	}
	// Single-threaded TCG: with one host thread per vCPU (MTTCG) the
	// guest kernel here now and then stopped in a soft lockup right after
	// the first container started (one vCPU spinning in the kernel, the
	// other idle and missing its ticks: a lost IPI), in every local CI run
	// of 2026-12-07, and earlier as kernel hangs before init; one thread
	// round-robins the two vCPUs and delivers their interrupts in order.
	args := []string{o.Board.QEMU, "-accel", "tcg,thread=single", "-m", fmt.Sprint(mem), "-smp", fmt.Sprint(cpus), "-nographic"}
	if o.Board.QEMUSerials > 1 {
		// Every serial port and the monitor on stdio (the Pi's U-Boot
		// and Linux console are on its second UART, the mini UART).
		args = append(args, "-chardev", "stdio,id=con,mux=on,signal=off", "-mon", "chardev=con,mode=readline")
		for range o.Board.QEMUSerials {
			args = append(args, "-serial", "chardev:con")
		}
	}
	if !o.Reboot {
		args = append(args, "-no-reboot")
	}
	if o.Board.Machine != "" {
		args = append(args, "-machine", o.Board.Machine)
	}
	if o.Board.CPU != "" {
		args = append(args, "-cpu", o.Board.CPU)
	}
	if len(o.Forwards) == 0 && len(o.GuestForwards) == 0 || o.Board.QEMUNIC == "none" {
		args = append(args, "-nic", "none")
	} else {
		nd := "user,id=n0,restrict=on"
		for _, f := range o.Forwards {
			host, guest, _ := strings.Cut(f, ":")
			nd += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%s-:%s", host, guest)
		}
		for _, f := range o.GuestForwards {
			nd += "," + f.arg()
		}
		args = append(args, "-netdev", nd, "-device", "virtio-net-pci,netdev=n0")
	}
	drive := o.Board.QEMUDrive
	if drive == "" {
		drive = "virtio"
	}
	for i, d := range o.Disks {
		args = append(args, "-drive", fmt.Sprintf("file=%s,format=raw,if=%s,index=%d", d, drive, i))
	}
	for i, d := range o.ReadOnlyDisks {
		args = append(args, "-drive", fmt.Sprintf("file=%s,format=raw,if=%s,index=%d,readonly=on", d, drive, len(o.Disks)+i))
	}
	if o.QMP != "" {
		args = append(args, "-qmp", "unix:"+o.QMP+",server=on,wait=off")
	}
	if o.Board.Arch == "amd64" {
		// The i6300esb watchdog the board's init loads a driver for.
		args = append(args, "-device", "i6300esb")
	}
	kdir := KernelDir(o.Board.Name)
	if o.Board.QEMUDTB != "" {
		args = append(args, "-dtb", filepath.Join(kdir, o.Board.QEMUDTB))
	}
	if o.Kernel == "" {
		switch {
		case o.Board.QEMUKernel != "":
			args = append(args, "-kernel", filepath.Join(kdir, o.Board.QEMUKernel)) // the Pi's U-Boot
		case o.Board.Firmware != "":
			args = append(args, "-bios", o.Board.Firmware) // U-Boot
		}
		return args // the firmware boots the first disk
	}
	cmdline := strings.TrimSpace("console=" + o.Board.Console + " panic=-1 " + o.Append)
	return append(args, "-kernel", o.Kernel, "-initrd", o.Initrd, "-append", cmdline)
}

// VM is a running QEMU.
type VM struct {
	opts Options
	cmd  *exec.Cmd
	log  *os.File
	in   io.WriteCloser // the serial console's input (QEMU's stdin)
	done chan struct{}
	err  error // exit error, valid once done is closed

	mu      sync.Mutex
	console bytes.Buffer
	mark    int // Expect searches from here
	changed chan struct{}
	qmp     *QMP // VM.QMP's client, dialled once
	exited  bool // QEMU ended: no new QMP client
	halted  bool // the guest powered off on a board that only halts: QEMU was ended
}

// powerDown is what Linux prints as it powers off.
var powerDown = []byte("reboot: Power down")

// Start boots o, writing the console to logPath as well as keeping it for
// Expect. Cancelling ctx kills QEMU.
func Start(ctx context.Context, o Options, logPath string) (*VM, error) {
	args := Args(o)
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	v := &VM{opts: o, log: log, done: make(chan struct{}), changed: make(chan struct{})}
	v.cmd = exec.CommandContext(ctx, args[0], args[1:]...)
	if v.in, err = v.cmd.StdinPipe(); err != nil {
		log.Close()
		return nil, err
	}
	v.cmd.Stdout = v
	v.cmd.Stderr = v
	v.cmd.WaitDelay = 5 * time.Second
	fmt.Fprintf(log, "# %s\n", strings.Join(args, " "))
	if err := v.cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting %s: %w", args[0], err)
	}
	go func() {
		err := v.cmd.Wait()
		v.mu.Lock()
		if !v.halted {
			v.err = err // a halted guest's QEMU was ended as a power-off: exit 0
		}
		v.log.Close()
		v.exited = true
		if v.qmp != nil {
			v.qmp.Close()
		}
		v.mu.Unlock()
		close(v.done)
		v.notify()
	}()
	return v, nil
}

// Write receives console output. On a board whose power-off only halts
// it ends QEMU once the kernel says it powers down.
func (v *VM) Write(p []byte) (int, error) {
	v.mu.Lock()
	from := max(0, v.console.Len()-len(powerDown)+1)
	v.console.Write(p)
	_, _ = v.log.Write(p) // the console copy is a test aid
	if v.opts.Board != nil && v.opts.Board.QEMUPowerOffHalts && !v.halted && bytes.Contains(v.console.Bytes()[from:], powerDown) {
		v.halted = true
		if v.cmd != nil && v.cmd.Process != nil {
			_ = v.cmd.Process.Kill() // gone already is fine
		}
	}
	v.mu.Unlock()
	v.notify()
	return len(p), nil
}

func (v *VM) notify() {
	v.mu.Lock()
	close(v.changed)
	v.changed = make(chan struct{})
	v.mu.Unlock()
}

// ErrExited is returned by Expect when QEMU ends before the match.
var ErrExited = errors.New("qemu exited")

// Mark is a position in the console output: a test takes one before it
// resets the machine and waits with ExpectSince for what comes after it,
// never for an older boot's line.
type Mark int

// Mark returns the end of the console output so far.
func (v *VM) Mark() Mark {
	v.mu.Lock()
	defer v.mu.Unlock()
	return Mark(v.console.Len())
}

// Expect waits until the console output after the previous match matches
// re, and returns the matching text. It fails after timeout or when QEMU
// exits first.
func (v *VM) Expect(re *regexp.Regexp, timeout time.Duration) (string, error) {
	return v.expect(-1, re, timeout)
}

// ExpectSince is Expect searching the console output from m instead of
// from the previous match; the next Expect searches after this match.
func (v *VM) ExpectSince(m Mark, re *regexp.Regexp, timeout time.Duration) (string, error) {
	return v.expect(int(m), re, timeout)
}

// expect searches from from, or from v.mark when from < 0, and moves
// v.mark past the match.
func (v *VM) expect(from int, re *regexp.Regexp, timeout time.Duration) (string, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	look := func() (string, bool) {
		v.mu.Lock()
		defer v.mu.Unlock()
		start := from
		if start < 0 {
			start = v.mark
		}
		start = min(start, v.console.Len())
		out := v.console.Bytes()[start:]
		loc := re.FindIndex(out)
		if loc == nil {
			return "", false
		}
		v.mark = start + loc[1]
		return string(out[loc[0]:loc[1]]), true
	}
	for {
		v.mu.Lock()
		changed := v.changed
		v.mu.Unlock()
		if m, ok := look(); ok {
			return m, nil
		}
		select {
		case <-changed:
		case <-v.done:
			// One more look: the last output may have come with the exit.
			if m, ok := look(); ok {
				return m, nil
			}
			return "", fmt.Errorf("waiting for %q: %w (%v)", re, ErrExited, v.err)
		case <-deadline.C:
			return "", fmt.Errorf("waiting for %q: timed out after %s", re, timeout)
		}
	}
}

// Send types s on the serial console, as a terminal would (Enter is
// "\r"). QEMU reads its stdin only as fast as the guest's UART takes it,
// so nothing is lost; a write to a QEMU that exited fails.
func (v *VM) Send(s string) error {
	if _, err := io.WriteString(v.in, s); err != nil {
		return fmt.Errorf("console input %q: %w", s, err)
	}
	return nil
}

// Wait waits up to timeout for QEMU to exit and returns its exit error.
func (v *VM) Wait(timeout time.Duration) error {
	select {
	case <-v.done:
		return v.err
	case <-time.After(timeout):
		return fmt.Errorf("qemu still running after %s", timeout)
	}
}

// Kill ends QEMU and waits for it.
func (v *VM) Kill() {
	if v.cmd.Process != nil {
		_ = v.cmd.Process.Kill() // already gone is fine: done says when
	}
	<-v.done
}

// Console returns everything QEMU printed so far.
func (v *VM) Console() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.console.String()
}

// Attach runs QEMU for o in the foreground on the given stdio (make run).
func Attach(o Options, stdin io.Reader, stdout, stderr io.Writer) error {
	args := Args(o)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	return cmd.Run()
}

// KernelDir returns where boards/fetch-kernel.sh puts the board's kernel:
// $PV_KERNEL_CACHE/<board> (default ~/.cache/pvgo/kernels/<board>).
func KernelDir(board string) string {
	cache := os.Getenv("PV_KERNEL_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "pvgo", "kernels")
	}
	return filepath.Join(cache, board)
}
