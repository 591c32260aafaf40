package volume

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"pantavisor/lib/loop"
	"pantavisor/lib/mount"
	"pantavisor/lib/printf"
)

// Shared keeps one loop device and read-only mount per image file (per
// object: the key is the file's device and inode, so every trail link of
// one object shares it) for the containers of one running revision, so a
// restart finds the image mounted and its page cache warm. A Set with a
// Shared binds the shared mount on the container's volume point instead
// of mounting its own.
//
// Each Mounted holds a reference per image until its Unmount. A mount
// whose references drop to zero stays mounted (idle) for the next start
// until Retire: from then on idle mounts are unmounted at once and the
// last Release of any mount unmounts it (Acquire still works: a container
// of the retired revision may start while the next one takes over). The
// zero value is not usable: Dir must be set. Its methods are safe for
// concurrent use.
type Shared struct {
	// Dir holds the shared mount points, one per mounted image, named
	// after its device and inode (made at the first mount, removed by
	// Retire when empty); it must be a directory that only mounts live
	// in, e.g. <state dir>-objects/<revision>.
	Dir string

	mu      sync.Mutex
	mounts  map[key]*shared
	retired bool
}

// key names an image file and how it is mounted.
type key struct {
	dev, ino uint64
	fstype   string
}

type shared struct {
	point string
	refs  int
}

// Acquire returns the mount point of image file src mounted read-only as
// fstype, mounting it (a new autoclear loop device) if no reference or
// idle mount exists, and takes a reference. Release the point after use.
func (s *Shared) Acquire(src, fstype string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(src, &st); err != nil {
		return "", printf.Errorf("volume %s: %w", src, err)
	}
	k := key{dev: st.Dev, ino: st.Ino, fstype: fstype}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.mounts[k]; m != nil {
		m.refs++
		return m.point, nil
	}
	point, err := s.mount(src, fstype, k)
	if err != nil {
		return "", err
	}
	if s.mounts == nil {
		s.mounts = map[key]*shared{}
	}
	s.mounts[k] = &shared{point: point, refs: 1}
	return point, nil
}

// mount loop-mounts src on a new point named after k (with a suffix when
// another Shared on the same Dir still has that point mounted).
func (s *Shared) mount(src, fstype string, k key) (string, error) {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return "", err
	}
	base := filepath.Join(s.Dir, strconv.FormatUint(k.dev, 16)+"-"+strconv.FormatUint(k.ino, 16)+"."+fstype)
	point := base
	for i := 1; ; i++ {
		if err := os.Mkdir(point, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return "", err
		}
		busy, err := mountedOn(point)
		if err != nil {
			return "", err
		}
		if !busy {
			break
		}
		point = base + "-" + strconv.Itoa(i)
	}
	if err := mountImageOn(src, point, fstype); err != nil {
		os.Remove(point)
		return "", err
	}
	return point, nil
}

// mountedOn reports whether something is mounted on dir: its device
// differs from its parent's (the mounts here are loop devices).
func mountedOn(dir string) (bool, error) {
	var st, parent unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return false, &os.PathError{Op: "stat", Path: dir, Err: err}
	}
	if err := unix.Stat(filepath.Dir(dir), &parent); err != nil {
		return false, &os.PathError{Op: "stat", Path: filepath.Dir(dir), Err: err}
	}
	return st.Dev != parent.Dev, nil
}

// mountImageOn attaches src to an autoclear loop device and mounts it on
// dst read-only; the mount keeps the device.
func mountImageOn(src, dst, fstype string) error {
	dev, err := loop.Attacher{}.Attach(src, true)
	if err != nil {
		return err
	}
	defer dev.Close() // the mount keeps the autoclear device
	return mount.Mount(dev.Path, dst, fstype, unix.MS_RDONLY|unix.MS_NODEV|unix.MS_NOSUID, "")
}

// Release drops a reference to the mount at point (from Acquire). Once
// retired, the last reference unmounts it.
func (s *Shared) Release(point string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, m := range s.mounts {
		if m.point != point {
			continue
		}
		if m.refs > 0 {
			m.refs--
		}
		if m.refs == 0 && s.retired {
			return s.unmount(k)
		}
		return nil
	}
	return printf.Errorf("releasing %s: not a shared volume mount", point)
}

// Retire ends the Shared (its revision stopped or was replaced): idle
// mounts are unmounted now, the others at their last Release. Once
// nothing is mounted its directory is removed. It may be called more than
// once.
func (s *Shared) Retire() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retired = true
	var errs []error
	for k, m := range s.mounts {
		if m.refs == 0 {
			errs = append(errs, s.unmount(k))
		}
	}
	return errors.Join(errs...)
}

// Mounted reports how many images are mounted (idle ones included).
func (s *Shared) Mounted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mounts)
}

// unmount unmounts the mount of k (the loop device goes with it) and,
// when it was the last one of a retired Shared, removes the directory.
func (s *Shared) unmount(k key) error {
	m := s.mounts[k]
	delete(s.mounts, k)
	if err := mount.Unmount(m.point, unix.MNT_DETACH); err != nil {
		return err
	}
	os.Remove(m.point)
	if s.retired && len(s.mounts) == 0 {
		os.Remove(s.Dir) // fails, harmlessly, while another Shared uses it
	}
	return nil
}
