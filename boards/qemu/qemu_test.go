package qemu

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/boards"
)

func testBoard() *boards.Board {
	return &boards.Board{Name: "qemu-x86_64", Arch: "amd64", QEMU: "qemu-system-x86_64", Machine: "q35", Console: "ttyS0"}
}

// TestArgs: one row per option that adds arguments, and their combination.
func TestArgs(t *testing.T) {
	for _, tc := range []struct {
		name      string
		o         Options
		want, not []string
	}{
		{"defaults", Options{}, []string{"-m 512", "-no-reboot", "-nic none", "-device i6300esb"}, []string{"-qmp", "readonly"}},
		{"reboot", Options{Reboot: true}, nil, []string{"-no-reboot"}},
		{"disks", Options{Disks: []string{"a.img", "b.img"}},
			[]string{"-drive file=a.img,format=raw,if=virtio,index=0 -drive file=b.img,format=raw,if=virtio,index=1"}, []string{"readonly"}},
		{"read-only disks after the disks", Options{Disks: []string{"a.img"}, ReadOnlyDisks: []string{"p.img", "q.img"}},
			[]string{"-drive file=a.img,format=raw,if=virtio,index=0 " +
				"-drive file=p.img,format=raw,if=virtio,index=1,readonly=on " +
				"-drive file=q.img,format=raw,if=virtio,index=2,readonly=on"}, nil},
		{"read-only disk alone", Options{ReadOnlyDisks: []string{"p.img"}},
			[]string{"-drive file=p.img,format=raw,if=virtio,index=0,readonly=on"}, nil},
		{"qmp", Options{QMP: "/tmp/vm.qmp"}, []string{"-qmp unix:/tmp/vm.qmp,server=on,wait=off"}, nil},
		{"forwards", Options{Forwards: []string{"8080:80"}},
			[]string{"-netdev user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:8080-:80 -device virtio-net-pci,netdev=n0"}, []string{"-nic none"}},
		{"guest forward alone", Options{GuestForwards: []GuestForward{{Guest: "10.0.2.100:443", Host: "127.0.0.1:8443"}}},
			[]string{"-netdev user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:443-cmd:nc -N 127.0.0.1 8443 -device virtio-net-pci,netdev=n0"},
			[]string{"-nic none", "hostfwd"}},
		{"forwards both ways", Options{Forwards: []string{"8080:80"}, GuestForwards: []GuestForward{
			{Guest: "10.0.2.100:443", Host: "127.0.0.1:8443"}, {Guest: "10.0.2.101:80", Host: "127.0.0.1:9000"}}},
			[]string{"-netdev user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:8080-:80," +
				"guestfwd=tcp:10.0.2.100:443-cmd:nc -N 127.0.0.1 8443,guestfwd=tcp:10.0.2.101:80-cmd:nc -N 127.0.0.1 9000 "}, []string{"-nic none"}},
		{"kernel", Options{Kernel: "vmlinuz", Initrd: "initrd", Append: "pv_test=x"},
			[]string{"-kernel vmlinuz -initrd initrd -append console=ttyS0 panic=-1 pv_test=x"}, nil},
		{"all", Options{Reboot: true, Disks: []string{"a.img"}, ReadOnlyDisks: []string{"p.img"}, QMP: "s", Memory: 1024},
			[]string{"-m 1024", "index=1,readonly=on", "-qmp unix:s,server=on,wait=off"}, []string{"-no-reboot"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Board = testBoard()
			args := Args(tc.o)
			assert.NotContains(t, strings.Join(args, " "), "-bios", "no firmware in board.json")
			assert.Equal(t, "qemu-system-x86_64", args[0])
			line := strings.Join(args, " ")
			for _, w := range tc.want {
				assert.Contains(t, line, w)
			}
			for _, n := range tc.not {
				assert.NotContains(t, line, n)
			}
		})
	}
}

// TestArgsRpi64: the real rpi64 board.json: the Pi's U-Boot from the
// kernel dir as -kernel with the Pi 3 B device tree, 4 CPUs and 1 GiB as
// the raspi3b machine requires, the disk as its SD card, both UARTs and
// the monitor muxed on stdio, no network even when forwards are asked
// for; a direct kernel boot keeps the device tree.
func TestArgsRpi64(t *testing.T) {
	b, err := boards.Load(boards.Dir(), "rpi64")
	require.NoError(t, err)
	kdir := KernelDir("rpi64")
	line := strings.Join(Args(Options{Board: b, Disks: []string{"sd.img"}, Forwards: []string{"8080:80"}}), " ")
	for _, w := range []string{"-m 1024 -smp 4", "-machine raspi3b",
		"-chardev stdio,id=con,mux=on,signal=off -mon chardev=con,mode=readline -serial chardev:con -serial chardev:con",
		"-nic none", "-drive file=sd.img,format=raw,if=sd,index=0",
		"-dtb " + filepath.Join(kdir, "dtbs/broadcom/bcm2837-rpi-3-b.dtb"),
		"-kernel " + filepath.Join(kdir, "boot/usr/lib/u-boot/rpi_arm64/u-boot.bin")} {
		assert.Contains(t, line, w)
	}
	for _, n := range []string{"-bios", "virtio", "hostfwd", "-cpu", "i6300esb"} {
		assert.NotContains(t, line, n)
	}
	line = strings.Join(Args(Options{Board: b, Kernel: "vmlinuz", Initrd: "initrd"}), " ")
	assert.Contains(t, line, "-dtb "+filepath.Join(kdir, "dtbs/broadcom/bcm2837-rpi-3-b.dtb"))
	assert.Contains(t, line, "-kernel vmlinuz -initrd initrd -append console=ttyS1 panic=-1")
}

// TestArgsFirmware: a board's firmware (U-Boot) is QEMU's -bios when it
// boots the disk, never with -kernel; the watchdog device is x86's.
func TestArgsFirmware(t *testing.T) {
	b := &boards.Board{Name: "qemu-arm64", Arch: "arm64", QEMU: "qemu-system-aarch64", Machine: "virt", CPU: "cortex-a57",
		Console: "ttyAMA0", Firmware: "/usr/lib/u-boot/qemu_arm64/u-boot.bin"}
	line := strings.Join(Args(Options{Board: b, Disks: []string{"d.img"}}), " ")
	assert.Contains(t, line, "-machine virt -cpu cortex-a57")
	assert.Contains(t, line, "-bios /usr/lib/u-boot/qemu_arm64/u-boot.bin")
	assert.NotContains(t, line, "i6300esb")
	line = strings.Join(Args(Options{Board: b, Kernel: "vmlinuz", Initrd: "initrd"}), " ")
	assert.NotContains(t, line, "-bios")
	assert.Contains(t, line, "-append console=ttyAMA0 panic=-1")
}

// fakeVM is a VM without a process: the test writes its console and
// ends it.
func fakeVM(t *testing.T, o Options) *VM {
	log, err := os.Create(filepath.Join(t.TempDir(), "console.log"))
	require.NoError(t, err)
	t.Cleanup(func() { log.Close() })
	return &VM{opts: o, log: log, done: make(chan struct{}), changed: make(chan struct{})}
}

// TestPowerOffHalts: on a board whose power-off only halts, the kernel's
// "reboot: Power down" ends the VM, also when it comes in two writes;
// elsewhere it does not.
func TestPowerOffHalts(t *testing.T) {
	halts := testBoard()
	halts.QEMUPowerOffHalts = true
	v := fakeVM(t, Options{Board: halts})
	v.Write([]byte("[ 9.1] reboot: Pow"))
	assert.False(t, v.halted)
	v.Write([]byte("er down\r\n"))
	assert.True(t, v.halted, "the line split across writes")
	v = fakeVM(t, Options{Board: testBoard()})
	v.Write([]byte("[ 9.1] reboot: Power down\r\n"))
	assert.False(t, v.halted, "a board with PSCI ends QEMU itself")
}

// TestExpectSinceMark: across resets the console keeps growing; a Mark
// taken before a reset makes ExpectSince skip the older boot's line,
// while Expect goes on from its previous match.
func TestExpectSinceMark(t *testing.T) {
	v := fakeVM(t, Options{})
	ready := regexp.MustCompile(`revision 0 status READY`)
	v.Write([]byte("boot 1\nrevision 0 status READY\n"))
	m, err := v.Expect(ready, time.Second)
	require.NoError(t, err)
	assert.Equal(t, "revision 0 status READY", m)

	mark := v.Mark()
	assert.Equal(t, Mark(len("boot 1\nrevision 0 status READY\n")), mark)
	got := make(chan error, 1)
	go func() {
		_, err := v.ExpectSince(mark, regexp.MustCompile(`boot \d`), time.Minute)
		got <- err
	}()
	v.Write([]byte("reset\n"))
	v.Write([]byte("boot 2\n"))
	require.NoError(t, <-got, "boot 2 comes after the mark")
	assert.Regexp(t, `boot 2`, v.Console())

	_, err = v.ExpectSince(mark, regexp.MustCompile(`boot 1`), 10*time.Millisecond)
	assert.ErrorContains(t, err, "timed out", "boot 1 is before the mark")
	_, err = v.ExpectSince(0, regexp.MustCompile(`boot 1`), time.Second)
	assert.NoError(t, err, "mark 0 is the whole console")
	_, err = v.ExpectSince(Mark(1<<20), regexp.MustCompile(`x*`), time.Second)
	assert.NoError(t, err, "a mark past the end is the end")

	v.Write([]byte("revision 0 status READY\n"))
	_, err = v.ExpectSince(mark, ready, time.Second)
	require.NoError(t, err, "the second boot's READY")
	close(v.done)
	_, err = v.Expect(ready, time.Minute)
	assert.ErrorIs(t, err, ErrExited, "Expect goes on after the last match: no third READY")
}

func TestVMQMPNeedsSocket(t *testing.T) {
	_, err := fakeVM(t, Options{}).QMP()
	assert.ErrorIs(t, err, ErrNoQMP)
}
