// Package volume mounts a container's volumes under /volumes/<c>/<name>
// as upstream does: loop images from the revision (root squashfs, extra
// volumes), and storage volumes that are permanent, per revision or per
// boot.
package volume

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"pantavisor/lib/mount"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
)

// Persistence classes of storage volumes (state.Volume.Persistence).
const (
	Permanent = "permanent"
	Revision  = "revision"
	Boot      = "boot"
)

// Set is what to mount for one container.
type Set struct {
	Container string
	Dir       string   // mount root: <VolumesDir>/<container>
	ImageDir  string   // where the images are: trails/<rev>/<container>
	Images    []string // volume files relative to ImageDir: root-volume, volumes[]
	Storage   []state.Volume
	Perm      string // disks/perm/<container>
	Rev       string // disks/rev/<rev>/<container>
	// Shared, when set, holds the loop mounts of the images (a bind of
	// its mount is made on the volume point); nil: each Mount makes its
	// own loop device and mount.
	Shared *Shared
	// Disks sets up the disks of device.json that storage volumes name
	// (or the default disk); nil: no disks, and a volume that names one
	// is an error (never plain storage instead).
	Disks Disks
	// Revision is the revision's name: disk-backed revision volumes live
	// at <disk>/rev/<Revision>/<Container>/<volume>.
	Revision string
}

// Disks sets up the disks volumes live on (lib/disk's Set).
type Disks interface {
	// Mount returns the mount point of the disk ref names ("" names
	// the default disk), set up on its first use, and that setup's
	// warnings; "" when ref is "" and no disk is the default.
	Mount(ref string) (string, []string, error)
}

// ErrNoDisks: a volume names a disk and the Set has no Disks.
var ErrNoDisks error = &sentinel.Error{Text: "no disks are set up"}

// Mounted lists what was mounted, to undo in reverse order.
type Mounted struct {
	Points   []string
	Warnings []string // e.g. a dm-verity handler that is not applied
	shared   *Shared
	held     []string // shared mount points to release after the unmounts
}

// ErrName is returned for a volume name that would leave its directory.
var ErrName error = &sentinel.Error{Text: "invalid volume name"}

// Mount mounts every volume of s; on error it undoes what it did.
func Mount(s Set) (*Mounted, error) {
	m := &Mounted{}
	err := m.mountAll(s)
	if err != nil {
		_ = m.Unmount() // undo; the mount error is the one to report
		return nil, printf.Errorf("volumes of %s: %w", s.Container, err)
	}
	return m, nil
}

func (m *Mounted) mountAll(s Set) error {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return err
	}
	for _, img := range s.Images {
		if err := m.mountImage(s, img); err != nil {
			return err
		}
	}
	for _, v := range s.Storage {
		if err := m.mountStorage(s, v); err != nil {
			return err
		}
	}
	return nil
}

// mountImage mounts one volume file of the revision: "name.bind" is a
// file bind, "name.data" a directory bind, anything else a read-only
// loop mount with the extension as filesystem type. A "handler:" prefix
// (dm-verity) is noted and the image mounted plain.
func (m *Mounted) mountImage(s Set, img string) error {
	if handler, name, ok := strings.Cut(img, ":"); ok {
		m.Warnings = append(m.Warnings, printf.Sprintf("%s: volume handler %q not applied, mounted without verification", name, handler))
		img = name
	}
	if err := state.CheckPath(img); err != nil {
		return printf.Errorf("%w %q: %v", ErrName, img, err)
	}
	src := filepath.Join(s.ImageDir, img)
	dst := filepath.Join(s.Dir, img)
	ext := strings.TrimPrefix(filepath.Ext(img), ".")
	switch ext {
	case "bind":
		return m.bind(src, dst, false)
	case "data":
		return m.bind(src, dst, true)
	}
	if ext == "" {
		return printf.Errorf("%w %q: no extension to tell its filesystem type", ErrName, img)
	}
	if s.Shared != nil {
		return m.bindShared(s.Shared, src, dst, ext, img)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	if err := mountImageOn(src, dst, ext); err != nil {
		return printf.Errorf("volume %s: %w", img, err)
	}
	m.Points = append(m.Points, dst)
	return nil
}

// bindShared binds sh's mount of src on dst (a bind keeps the source
// mount's read-only, nodev and nosuid flags).
func (m *Mounted) bindShared(sh *Shared, src, dst, ext, img string) error {
	point, err := sh.Acquire(src, ext)
	if err != nil {
		return printf.Errorf("volume %s: %w", img, err)
	}
	m.shared = sh
	m.held = append(m.held, point)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	if err := mount.Mount(point, dst, "", unix.MS_BIND, ""); err != nil {
		return printf.Errorf("volume %s: %w", img, err)
	}
	m.Points = append(m.Points, dst)
	return nil
}

func (m *Mounted) bind(src, dst string, dir bool) error {
	kind, flags := "file", uintptr(unix.MS_BIND)
	if dir {
		kind, flags = "dir", flags|unix.MS_REC
	}
	if err := mount.CreateTarget(dst, kind); err != nil {
		return err
	}
	if err := mount.Mount(src, dst, "", flags, ""); err != nil {
		return err
	}
	m.Points = append(m.Points, dst)
	return nil
}

// mountStorage mounts a writable volume: a bind of disks/perm/<c>/<v>
// (permanent) or disks/rev/<rev>/<c>/<v> (revision), or a fresh tmpfs
// (boot); a volume on a disk is a bind from the disk (mountDisk).
func (m *Mounted) mountStorage(s Set, v state.Volume) error {
	if err := state.CheckName(v.Name); err != nil {
		return printf.Errorf("%w %q: %v", ErrName, v.Name, err)
	}
	dst := filepath.Join(s.Dir, v.Name)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	if ok, err := m.mountDisk(s, v, dst); ok || err != nil {
		return err
	}
	var src string
	switch v.Persistence {
	case Permanent:
		src = filepath.Join(s.Perm, v.Name)
	case Revision:
		src = filepath.Join(s.Rev, v.Name)
	default:
		if err := mount.Mount("tmpfs", dst, "tmpfs", unix.MS_NODEV|unix.MS_NOSUID, "mode=755"); err != nil {
			return err
		}
		m.Points = append(m.Points, dst)
		return nil
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	return m.bind(src, dst, true)
}

// mountDisk binds volume v from its disk when it has one (it names one,
// or device.json has a default disk), as upstream:
// <disk>/perm/<c>/<v>, <disk>/rev/<rev>/<c>/<v>, or <disk>/boot/<c>/<v>
// emptied first; it reports whether v is on a disk.
func (m *Mounted) mountDisk(s Set, v state.Volume, dst string) (bool, error) {
	if s.Disks == nil {
		if v.Disk != "" {
			return true, printf.Errorf("volume %s: disk %q: %w", v.Name, v.Disk, ErrNoDisks)
		}
		return false, nil
	}
	root, warns, err := s.Disks.Mount(v.Disk)
	m.Warnings = append(m.Warnings, warns...)
	if err != nil {
		return true, printf.Errorf("volume %s: %w", v.Name, err)
	}
	if root == "" {
		return false, nil
	}
	var src string
	switch v.Persistence {
	case Permanent:
		src = filepath.Join(root, "perm", s.Container, v.Name)
	case Revision:
		if s.Revision == "" {
			return true, printf.Errorf("volume %s: a revision volume on a disk needs the revision's name", v.Name)
		}
		src = filepath.Join(root, "rev", s.Revision, s.Container, v.Name)
	default:
		src = filepath.Join(root, "boot", s.Container, v.Name)
		if err := os.RemoveAll(src); err != nil {
			return true, printf.Errorf("volume %s: emptying %s: %w", v.Name, src, err)
		}
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		return true, err
	}
	return true, m.bind(src, dst, true)
}

// Unmount undoes the mounts in reverse order; loop devices go with them
// (autoclear), and the shared mounts are released. It reports the first
// failure and goes on.
func (m *Mounted) Unmount() error {
	var first error
	for i := len(m.Points) - 1; i >= 0; i-- {
		if err := mount.Unmount(m.Points[i], unix.MNT_DETACH); err != nil && first == nil {
			first = err
		}
	}
	m.Points = nil
	for _, p := range m.held {
		if err := m.shared.Release(p); err != nil && first == nil {
			first = err
		}
	}
	m.held = nil
	return first
}
