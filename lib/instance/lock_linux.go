package instance

import (
	"cmp"
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"pantavisor/lib/cgroup"
	"pantavisor/lib/printf"
)

// LockOptions say what Acquire locks. Zero values take defaults.
type LockOptions struct {
	Storage      string // the storage directory; made if missing, as storage.Open would
	CgroupParent string // appengine: the containers' cgroup parent; "" = not locked (a hierarchy root is nobody's)
	CgroupRoot   string // where hierarchies are mounted; default /sys/fs/cgroup
	Mountinfo    string // default /proc/self/mountinfo
	Proc         string // procfs root, for /proc/locks; default /proc
}

func (o LockOptions) proc() string { return cmp.Or(o.Proc, "/proc") }

// Lock is what Acquire holds. Release it when the engine stops; a dying
// process releases it anyway.
type Lock struct {
	files []*os.File
}

// Acquire takes the engine's exclusive locks without waiting:
//  1. flock the storage directory;
//  2. with a CgroupParent, create it as the container cgroups' parent
//     (cgroup.Manager.Create of its last component) unless it exists,
//     and flock its directory in the cgroup2 hierarchy, else in the first
//     v1 one. Without any cgroup hierarchy there is nothing to share and
//     no cgroup lock.
//
// A lock held elsewhere fails with a *LockedError (errors.Is ErrLocked)
// and nothing stays locked.
func Acquire(o LockOptions) (*Lock, error) {
	if o.Storage == "" {
		return nil, errors.New("lock: no storage directory")
	}
	if err := os.MkdirAll(o.Storage, 0o755); err != nil {
		return nil, printf.Errorf("lock storage: %w", err)
	}
	l := &Lock{}
	if err := l.add("storage", o.Storage, o.proc()); err != nil {
		return nil, err
	}
	if o.CgroupParent == "" {
		return l, nil
	}
	dir, err := parentDir(o)
	if errors.Is(err, cgroup.ErrNoCgroup) {
		return l, nil
	}
	if err == nil {
		err = l.add("cgroup parent", dir, o.proc())
	}
	if err != nil {
		l.Release()
		return nil, err
	}
	return l, nil
}

// parentDir creates the cgroup parent in every hierarchy (cpuset
// inherited, cgroup2 controllers enabled, as Manager.Create does for a
// group) and returns the directory to lock.
func parentDir(o LockOptions) (string, error) {
	up, name := filepath.Split(filepath.Clean(o.CgroupParent))
	m := cgroup.Manager{Root: o.CgroupRoot, Mountinfo: o.Mountinfo, Parent: filepath.Clean(up)}
	if up == "" {
		m.Parent = ""
	}
	g, err := m.Create(name)
	if err != nil {
		return "", printf.Errorf("lock cgroup parent %s: %w", o.CgroupParent, err)
	}
	if d := g.UnifiedDir(); d != "" {
		return d, nil
	}
	return g.Dirs()[0], nil
}

// add opens dir and flocks it exclusively, or returns a *LockedError
// naming the holder.
func (l *Lock) add(what, dir, proc string) error {
	f, err := os.OpenFile(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return printf.Errorf("lock %s: %w", what, err)
	}
	err = flock(f, unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		pid := holder(f, proc)
		f.Close()
		return &LockedError{What: what, Path: dir, Pid: pid}
	}
	if err != nil {
		f.Close()
		return printf.Errorf("lock %s: %w", what, err)
	}
	l.files = append(l.files, f)
	return nil
}

// holder finds the pid holding the flock on f in <proc>/locks; 0 if not
// listed or on any error (the pid only improves the message).
func holder(f *os.File, proc string) int {
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil {
		return 0
	}
	locks, err := os.Open(filepath.Join(proc, "locks"))
	if err != nil {
		return 0
	}
	defer locks.Close()
	pid, _ := HolderPid(locks, LockID{Major: unix.Major(st.Dev), Minor: unix.Minor(st.Dev), Inode: st.Ino})
	return pid
}

// flock is the one wrapper of flock(2), retrying EINTR.
func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "flock " + flockString(how), Path: f.Name(), Err: err}
		}
		return nil
	}
}

// flockString names flock(2) operations.
func flockString(how int) string {
	var s string
	switch how &^ unix.LOCK_NB {
	case unix.LOCK_EX:
		s = "LOCK_EX"
	case unix.LOCK_SH:
		s = "LOCK_SH"
	case unix.LOCK_UN:
		s = "LOCK_UN"
	default:
		s = printf.Sprintf("%#x", how&^unix.LOCK_NB)
	}
	if how&unix.LOCK_NB != 0 {
		s += "|LOCK_NB"
	}
	return s
}

// Release drops the locks. Calling it again, or on nil, does nothing.
func (l *Lock) Release() error {
	if l == nil {
		return nil
	}
	var errs []error
	for i := len(l.files) - 1; i >= 0; i-- {
		errs = append(errs, l.files[i].Close()) // closing the last descriptor drops the flock
	}
	l.files = nil
	return errors.Join(errs...)
}
