package container

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"pantavisor/lib/mount"
	"pantavisor/lib/printf"
)

// mountRoot mounts the rootfs at s.Root: an overlay of s.Lower under
// s.Upper, or a read-only bind of s.Lower[0] when there is no upper dir.
func mountRoot(s *Spec) error {
	if len(s.Lower) == 0 {
		return errors.New("no rootfs")
	}
	if s.Upper == "" {
		if err := mount.Mount(s.Lower[0], s.Root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
		return mount.Mount("", s.Root, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, "")
	}
	data := "lowerdir=" + strings.Join(s.Lower, ":") + ",upperdir=" + s.Upper + ",workdir=" + s.Work
	return mount.Mount("overlay", s.Root, "overlay", 0, data)
}

// mountAll performs s.Mounts in order inside the rootfs.
func mountAll(s *Spec) error {
	for _, m := range s.Mounts {
		if err := mountIn(s.Root, m); err != nil && !m.Optional {
			return err
		}
	}
	return nil
}

// bindFlags are the flags a bind mount takes at creation; the others
// need a remount to apply (the kernel ignores them on MS_BIND).
const bindFlags = unix.MS_BIND | unix.MS_REC

// mountIn mounts m with its target resolved inside root (never outside:
// ".." and symlinks are resolved within root), creating the target when
// m.Create says so.
func mountIn(root string, m Mount) error {
	target, err := resolveIn(root, m.Target)
	if err != nil {
		return err
	}
	if err := mount.CreateTarget(target, m.Create); err != nil {
		return printf.Errorf("creating mount target %s: %w", m.Target, err)
	}
	if m.Flags&unix.MS_BIND == 0 {
		return mount.Mount(m.Source, target, m.FSType, m.Flags, m.Data)
	}
	if err := mount.Mount(m.Source, target, "", m.Flags&bindFlags, ""); err != nil {
		return err
	}
	if extra := m.Flags &^ bindFlags; extra != 0 {
		return mount.Mount("", target, "", unix.MS_REMOUNT|unix.MS_BIND|extra, "")
	}
	return nil
}

// devNodes are made in the container's /dev as the host's nodes: mknod
// with the host node's numbers and mode (as LXC's autodev), or a bind of
// the host node where mknod is refused (a user namespace, a nodev mount).
var devNodes = [...]string{"null", "zero", "full", "random", "urandom", "tty"}

// makeDevNode makes /dev/<n> of the container (dev is its /dev, a tmpfs
// the stage just mounted) like the host's /dev/<n>. A mknod costs a few
// microseconds where a bind adds a mount to set up and to tear down at
// the container's exit.
func makeDevNode(root, dev, n string) error {
	var st unix.Stat_t
	host := "/dev/" + n
	if err := unix.Stat(host, &st); err != nil {
		return &os.PathError{Op: "stat", Path: host, Err: err}
	}
	mode := st.Mode & (unix.S_IFMT | 0o7777)
	if mode&unix.S_IFMT == unix.S_IFCHR {
		path := filepath.Join(dev, n)
		err := unix.Mknod(path, mode, int(st.Rdev))
		if err == nil {
			// mknod's mode went through the umask.
			return unix.Chmod(path, mode&0o7777)
		}
		if !errors.Is(err, unix.EPERM) {
			return &os.PathError{Op: "mknod", Path: path, Err: err}
		}
	}
	return mountIn(root, Mount{Source: host, Target: "dev/" + n, Flags: unix.MS_BIND, Create: "file"})
}

// mountDev mounts the tmpfs of a minimal /dev (before the mount entries,
// so entries under /dev land on it).
func mountDev(s *Spec) error {
	if !s.Autodev {
		return nil
	}
	dev := filepath.Join(s.Root, "dev")
	if err := os.MkdirAll(dev, 0o755); err != nil {
		return err
	}
	return mount.Mount("dev", dev, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=755,size=512k")
}

// populateDev fills /dev: device nodes, pts with its own ptmx, shm, the
// /proc/self/fd links and the console.
func populateDev(s *Spec) error {
	if !s.Autodev {
		return nil
	}
	dev := filepath.Join(s.Root, "dev")
	for _, n := range devNodes {
		if err := makeDevNode(s.Root, dev, n); err != nil {
			return err
		}
	}
	mounts := []Mount{
		{Source: "devpts", Target: "dev/pts", FSType: "devpts", Flags: unix.MS_NOSUID | unix.MS_NOEXEC,
			Data: "newinstance,ptmxmode=0666,mode=0620", Create: "dir"},
		{Source: "shm", Target: "dev/shm", FSType: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV,
			Data: "mode=1777", Create: "dir"},
		{Source: "mqueue", Target: "dev/mqueue", FSType: "mqueue", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC,
			Create: "dir", Optional: true},
	}
	for _, m := range mounts {
		if err := mountIn(s.Root, m); err != nil && !m.Optional {
			return err
		}
	}
	links := [][2]string{{"pts/ptmx", "ptmx"}, {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}}
	for _, l := range links {
		if err := os.Symlink(l[0], filepath.Join(dev, l[1])); err != nil && !os.IsExist(err) {
			return err
		}
	}
	// The console is the pty the parent gave as stdin (named in the spec,
	// not read back from /proc): bind it.
	if !strings.HasPrefix(s.Console, "/dev/pts/") {
		return nil // no terminal: no /dev/console
	}
	return mountIn(s.Root, Mount{Source: s.Console, Target: "dev/console", Flags: unix.MS_BIND, Create: "file"})
}

func setHostname(s *Spec) error {
	if s.Hostname == "" {
		return nil
	}
	return unix.Sethostname([]byte(s.Hostname))
}

// pivotRoot makes root the filesystem root. pivot_root(".", ".") stacks
// the old root under the new one, and a lazy unmount drops it (no
// temporary directory needed). The kernel refuses pivot_root with EINVAL
// when the current root is the initramfs (rootfs cannot be unmounted):
// there, move the new root over "/" and chroot, as LXC does.
func pivotRoot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return err
	}
	err := unix.PivotRoot(".", ".")
	if errors.Is(err, unix.EINVAL) {
		if err := mount.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
			return err
		}
		if err := unix.Chroot("."); err != nil {
			return printf.Errorf("chroot: %w", err)
		}
		return unix.Chdir("/")
	}
	if err != nil {
		return printf.Errorf("pivot_root: %w", err)
	}
	if err := mount.Unmount(".", unix.MNT_DETACH); err != nil {
		return err
	}
	return unix.Chdir("/")
}
