// Package loop attaches files to loop devices so they can be mounted
// (squashfs root volumes), with autoclear so a crash leaks no device.
package loop

import (
	"errors"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
)

// Attacher attaches files to free loop devices. The zero value uses the
// real /dev.
type Attacher struct {
	Dev string // directory holding loop-control and loopN; "/dev" by default
}

func (a Attacher) dev() string {
	if a.Dev == "" {
		return "/dev"
	}
	return a.Dev
}

// maxTries bounds the race with other processes grabbing the free device.
const maxTries = 20

// Device is an attached loop device held open. The kernel frees an
// autoclear device when its last user goes: mount it, then Close.
type Device struct {
	Path string // e.g. /dev/loop3
	f    *os.File
}

// Close drops our reference: a device not mounted by then is freed.
func (d *Device) Close() error { return d.f.Close() }

// Attach binds file to a free loop device, read-only when readOnly, with
// autoclear: the kernel frees it when the last reference (our open Device,
// then the mounts of it) goes away, so a crash leaks nothing. Steps: ask
// loop-control for a free number, open the device, LOOP_CONFIGURE it with
// the file; on EBUSY (another process took it first) try the next one.
func (a Attacher) Attach(file string, readOnly bool) (*Device, error) {
	mode := os.O_RDWR
	if readOnly {
		mode = os.O_RDONLY
	}
	f, err := os.OpenFile(file, mode|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, printf.Errorf("loop: %w", err)
	}
	defer f.Close()
	ctl, err := os.OpenFile(a.dev()+"/loop-control", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, printf.Errorf("loop: %w (is the loop module loaded?)", err)
	}
	defer ctl.Close()
	for try := 0; try < maxTries; try++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, printf.Errorf("loop: LOOP_CTL_GET_FREE: %w", err)
		}
		dev := a.dev() + "/loop" + strconv.Itoa(n)
		d, err := configure(dev, f, readOnly)
		if err == nil {
			return &Device{Path: dev, f: d}, nil
		}
		if !errors.Is(err, unix.EBUSY) && !errors.Is(err, os.ErrNotExist) {
			return nil, printf.Errorf("loop: attaching %s to %s: %w", file, dev, err)
		}
		time.Sleep(time.Millisecond) // lost the race (or udev/devtmpfs is late)
	}
	return nil, printf.Errorf("loop: attaching %s: no free device after %d tries", file, maxTries)
}

// configure sets up one loop device with LOOP_CONFIGURE (Linux 5.8+): one
// ioctl sets the file, flags and status atomically. It returns the open
// device.
func configure(dev string, f *os.File, readOnly bool) (*os.File, error) {
	mode := os.O_RDWR
	if readOnly {
		mode = os.O_RDONLY
	}
	d, err := os.OpenFile(dev, mode|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	cfg := unix.LoopConfig{Fd: uint32(f.Fd())}
	cfg.Info.Flags = unix.LO_FLAGS_AUTOCLEAR
	if readOnly {
		cfg.Info.Flags |= unix.LO_FLAGS_READ_ONLY
	}
	copy(cfg.Info.File_name[:], f.Name())
	if err := unix.IoctlLoopConfigure(int(d.Fd()), &cfg); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Detach asks the kernel to free a loop device (LOOP_CLR_FD); it happens
// at once if nobody holds the device, else at its last close or unmount.
// ENXIO (already free) is not an error.
func Detach(dev string) error {
	d, err := os.OpenFile(dev, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return printf.Errorf("loop: %w", err)
	}
	defer d.Close()
	if err := unix.IoctlSetInt(int(d.Fd()), unix.LOOP_CLR_FD, 0); err != nil && !errors.Is(err, unix.ENXIO) {
		return printf.Errorf("loop: detaching %s: %w", dev, err)
	}
	return nil
}

// BackingFile returns the file a loop device is attached to, "" if free.
func BackingFile(dev string) (string, error) {
	d, err := os.OpenFile(dev, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer d.Close()
	info, err := unix.IoctlLoopGetStatus64(int(d.Fd()))
	if errors.Is(err, unix.ENXIO) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return unix.ByteSliceToString(info.File_name[:]), nil
}
