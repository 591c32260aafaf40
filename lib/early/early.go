// Package early describes the boot work PID 1 does before anything else:
// directories, mounts and device nodes, as a declarative list.
package early

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"

	"pantavisor/lib/mount"
	"pantavisor/lib/printf"
)

// Creator is one step of early boot.
type Creator interface {
	Create() error
	String() string
}

// Dir creates a directory (and its parents) with Mode.
type Dir struct {
	Path string
	Mode os.FileMode
}

// Create makes the directory; an existing one is fine.
func (d Dir) Create() error {
	if err := os.MkdirAll(d.Path, d.Mode); err != nil {
		return printf.Errorf("mkdir %s: %w", d.Path, err)
	}
	return nil
}

func (d Dir) String() string { return printf.Sprintf("dir %s (%o)", d.Path, uint32(d.Mode)) }

// Mount mounts a filesystem, creating the target directory first. A target
// that already has this filesystem type mounted (EBUSY) is not an error, so
// running the list twice is harmless.
type Mount struct {
	Source, Target, FSType, Data string
	Flags                        uintptr
}

// Create mounts m.
func (m Mount) Create() error {
	if err := os.MkdirAll(m.Target, 0o755); err != nil {
		return printf.Errorf("mkdir %s: %w", m.Target, err)
	}
	err := mount.Mount(m.Source, m.Target, m.FSType, m.Flags, m.Data)
	if errors.Is(err, unix.EBUSY) {
		return nil
	}
	return err
}

func (m Mount) String() string {
	s := printf.Sprintf("mount %s on %s type %s (%s", m.Source, m.Target, m.FSType, mount.FlagString(m.Flags))
	if m.Data != "" {
		s += "," + m.Data
	}
	return s + ")"
}

// Node creates a device node unless something exists at Path.
type Node struct {
	Path         string
	Mode         uint32 // file type and permissions, e.g. unix.S_IFCHR|0o600
	Major, Minor uint32
}

// Create makes the node.
func (n Node) Create() error {
	err := unix.Mknod(n.Path, n.Mode, int(unix.Mkdev(n.Major, n.Minor)))
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return printf.Errorf("mknod %s %d:%d: %w", n.Path, n.Major, n.Minor, err)
	}
	return nil
}

func (n Node) String() string { return printf.Sprintf("node %s %d:%d", n.Path, n.Major, n.Minor) }

// Symlink creates Path pointing at Target unless Path exists.
type Symlink struct {
	Target, Path string
}

// Create makes the link.
func (s Symlink) Create() error {
	err := os.Symlink(s.Target, s.Path)
	if err != nil && !errors.Is(err, os.ErrExist) {
		return printf.Errorf("symlink %s -> %s: %w", s.Path, s.Target, err)
	}
	return nil
}

func (s Symlink) String() string { return printf.Sprintf("symlink %s -> %s", s.Path, s.Target) }

// Optional marks a step whose failure is reported but not fatal.
type Optional struct{ Creator }

// Failure is one step that failed.
type Failure struct {
	Step     Creator
	Err      error
	Optional bool
}

func (f Failure) Error() string { return f.Step.String() + ": " + f.Err.Error() }

// Run creates every step in order and returns the failures. It stops at the
// first failure of a step not marked Optional, since later steps usually
// depend on it.
func Run(steps []Creator) []Failure {
	var out []Failure
	for _, s := range steps {
		opt, isOpt := s.(Optional)
		if isOpt {
			s = opt.Creator
		}
		if err := s.Create(); err != nil {
			out = append(out, Failure{Step: s, Err: err, Optional: isOpt})
			if !isOpt {
				break
			}
		}
	}
	return out
}

// Default is the early boot of an embedded device: the kernel interfaces,
// devtmpfs, pseudo terminals and the tmpfs for runtime files.
func Default() []Creator {
	const nosuid = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	return []Creator{
		Mount{"proc", "/proc", "proc", "", nosuid},
		Mount{"sysfs", "/sys", "sysfs", "", nosuid},
		Mount{"devtmpfs", "/dev", "devtmpfs", "mode=0755", unix.MS_NOSUID},
		Node{"/dev/console", unix.S_IFCHR | 0o600, 5, 1},
		Node{"/dev/null", unix.S_IFCHR | 0o666, 1, 3},
		Mount{"devpts", "/dev/pts", "devpts", "gid=5,mode=0620,ptmxmode=0666", unix.MS_NOSUID | unix.MS_NOEXEC},
		Optional{Symlink{"pts/ptmx", "/dev/ptmx"}},
		Optional{Mount{"shm", "/dev/shm", "tmpfs", "mode=1777", unix.MS_NOSUID | unix.MS_NODEV}},
		Mount{"run", "/run", "tmpfs", "mode=0755", unix.MS_NOSUID | unix.MS_NODEV},
		Optional{Symlink{"/proc/self/fd", "/dev/fd"}},
	}
}
