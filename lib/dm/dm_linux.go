package dm

import (
	"errors"
	"os"
	"path/filepath"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"pantavisor/lib/eintr"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// ErrNoDM is returned when the kernel has no device-mapper (no
// /dev/mapper/control: CONFIG_BLK_DEV_DM off or dm-mod not loaded).
var ErrNoDM error = &sentinel.Error{Text: "dm: no device-mapper (/dev/mapper/control missing: is dm-mod loaded?)"}

// Control talks to the device-mapper. The zero value uses the real /dev.
type Control struct {
	Dev string // directory holding mapper/control and the nodes; "/dev" by default
}

func (c Control) dev() string {
	if c.Dev == "" {
		return "/dev"
	}
	return c.Dev
}

// IoctlError is a failed device-mapper ioctl, with the command and device.
type IoctlError struct {
	Cmd, Name string
	Err       error
}

func (e *IoctlError) Error() string {
	return printf.Sprintf("dm: %s %q: %v", e.Cmd, e.Name, e.Err)
}

func (e *IoctlError) Unwrap() error { return e.Err }

// cmdNames names the ioctls this package issues, for errors.
var cmdNames = []struct {
	cmd  uintptr
	name string
}{
	{unix.DM_VERSION, "DM_VERSION"},
	{unix.DM_DEV_CREATE, "DM_DEV_CREATE"},
	{unix.DM_DEV_REMOVE, "DM_DEV_REMOVE"},
	{unix.DM_DEV_SUSPEND, "DM_DEV_SUSPEND"},
	{unix.DM_DEV_STATUS, "DM_DEV_STATUS"},
	{unix.DM_TABLE_LOAD, "DM_TABLE_LOAD"},
}

func cmdName(cmd uintptr) string {
	for _, c := range cmdNames {
		if c.cmd == cmd {
			return c.name
		}
	}
	return printf.Sprintf("ioctl %#x", cmd)
}

// open opens the control node.
func (c Control) open() (int, error) {
	path := filepath.Join(c.dev(), "mapper", "control")
	fd, err := eintr.Value(func() (int, error) { return unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0) })
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENXIO) {
		return -1, printf.Errorf("%w: %s: %w", ErrNoDM, path, err)
	}
	if err != nil {
		return -1, printf.Errorf("dm: opening %s: %w", path, err)
	}
	return fd, nil
}

// ioctl is the one wrapper of the device-mapper ioctl: it sends buf and
// returns the kernel's reply header (buf is updated in place).
func ioctl(fd int, cmd uintptr, name string, buf []byte) (Header, error) {
	err := eintr.Retry(func() error {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), cmd, uintptr(unsafe.Pointer(&buf[0])))
		if e != 0 {
			return e
		}
		return nil
	})
	if err != nil {
		return Header{}, &IoctlError{cmdName(cmd), name, err}
	}
	return decodeHeader(buf)
}

// call encodes a request for name, issues cmd and returns the reply.
func call(fd int, cmd uintptr, name string, flags uint32, targets []Target) (Header, error) {
	buf, err := encode(name, flags, targets)
	if err != nil {
		return Header{}, err
	}
	defer clear(buf) // a table may hold a key
	return ioctl(fd, cmd, name, buf)
}

// Version returns the kernel's device-mapper interface version.
func (c Control) Version() ([3]uint32, error) {
	fd, err := c.open()
	if err != nil {
		return [3]uint32{}, err
	}
	defer unix.Close(fd)
	buf, err := encode("version", 0, nil)
	if err != nil {
		return [3]uint32{}, err
	}
	buf[offName] = 0 // DM_VERSION takes no name
	h, err := ioctl(fd, unix.DM_VERSION, "", buf)
	return h.Version, err
}

// Create makes the mapping name of sectors 512-byte sectors through one
// target (e.g. "crypt" with a CryptTable) and returns its block device
// node. Steps: DM_DEV_CREATE, DM_TABLE_LOAD (with DM_SECURE_DATA_FLAG so
// the kernel wipes the copy of a key), DM_DEV_SUSPEND without the suspend
// flag (which resumes: makes the loaded table live), then the node
// <Dev>/mapper/<name>, made with mknod from the reply's dev_t when
// devtmpfs has not (it only makes dm-N; udev makes mapper/ names). A failure
// after the create removes the half-made device.
func (c Control) Create(name string, sectors uint64, target, params string) (string, error) {
	if sectors == 0 {
		return "", printf.Errorf("dm: creating %q: zero sectors", name)
	}
	if err := checkName(name); err != nil {
		return "", err
	}
	fd, err := c.open()
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	h, err := call(fd, unix.DM_DEV_CREATE, name, 0, nil)
	if err != nil {
		return "", err
	}
	node, err := c.activate(fd, name, sectors, target, params, h.Dev)
	if err != nil {
		_, rerr := call(fd, unix.DM_DEV_REMOVE, name, 0, nil)
		return "", errors.Join(err, rerr)
	}
	return node, nil
}

// activate loads and resumes the table of a created device and makes its node.
func (c Control) activate(fd int, name string, sectors uint64, target, params string, dev uint64) (string, error) {
	t := []Target{{Start: 0, Length: sectors, Type: target, Params: params}}
	if _, err := call(fd, unix.DM_TABLE_LOAD, name, flagSecureData, t); err != nil {
		return "", err
	}
	h, err := call(fd, unix.DM_DEV_SUSPEND, name, 0, nil)
	if err != nil {
		return "", err
	}
	if h.Dev != 0 {
		dev = h.Dev
	}
	return c.makeNode(name, dev)
}

// makeNode ensures <Dev>/mapper/<name> is the block device dev.
func (c Control) makeNode(name string, dev uint64) (string, error) {
	node := filepath.Join(c.dev(), "mapper", name)
	var st unix.Stat_t
	if err := unix.Stat(node, &st); err == nil {
		if st.Mode&unix.S_IFMT == unix.S_IFBLK && st.Rdev == dev {
			return node, nil
		}
		if err := os.Remove(node); err != nil {
			return "", printf.Errorf("dm: replacing stale node: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(node), 0o755); err != nil {
		return "", printf.Errorf("dm: %w", err)
	}
	if err := unix.Mknod(node, unix.S_IFBLK|0o600, int(dev)); err != nil && !errors.Is(err, unix.EEXIST) {
		return "", printf.Errorf("dm: mknod %s (%d:%d): %w", node, unix.Major(dev), unix.Minor(dev), err)
	}
	return node, nil
}

// Status returns the header of the live device name (Dev holds its dev_t;
// OpenCount its users). A missing device fails with ENXIO.
func (c Control) Status(name string) (Header, error) {
	fd, err := c.open()
	if err != nil {
		return Header{}, err
	}
	defer unix.Close(fd)
	return call(fd, unix.DM_DEV_STATUS, name, 0, nil)
}

// removeTries bounds the wait for the last user of a device to go (a
// lazily unmounted filesystem, a probing blkid): DM_DEV_REMOVE says EBUSY.
const removeTries = 20

// Remove deletes the mapping name and its <Dev>/mapper node. A device
// that does not exist fails with an error wrapping unix.ENXIO.
func (c Control) Remove(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	fd, err := c.open()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for try := 1; ; try++ {
		_, err = call(fd, unix.DM_DEV_REMOVE, name, 0, nil)
		if !errors.Is(err, unix.EBUSY) || try == removeTries {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	node := filepath.Join(c.dev(), "mapper", name)
	if err := os.Remove(node); err != nil && !errors.Is(err, os.ErrNotExist) {
		return printf.Errorf("dm: removing node: %w", err)
	}
	return nil
}
