package instance

import (
	"cmp"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/cgroup"
	"pantavisor/lib/loop"
	"pantavisor/lib/mount"
	"pantavisor/lib/printf"
	"pantavisor/lib/unixsock"
)

// Options say where a previous engine may have left things. Zero values
// take defaults; the action fields are the seams tests replace.
type Options struct {
	Storage      string   // loop devices backed by files under <Storage>/objects or /trails are ours
	CgroupParent string   // every cgroup under it is a container's; "" = only those named in Groups
	Groups       []string // with CgroupParent "" (a hierarchy root): the container groups to clean
	MountDirs    []string // every mount strictly below one of these is ours (volumes, state, configs, run dir)
	Sockets      []string // control socket paths removed when nobody answers on them

	Proc       string // default /proc
	Sys        string // default /sys
	Dev        string // where loopN nodes are; default /dev
	CgroupRoot string // default /sys/fs/cgroup
	Mountinfo  string // default /proc/self/mountinfo

	KillGroup func(ctx context.Context, g *cgroup.Group) error // default: g.Kill, then g.Remove
	Unmount   func(target string, flags int) error             // default mount.Unmount
	Detach    func(dev string) error                           // default loop.Detach
}

func (o *Options) proc() string      { return cmp.Or(o.Proc, "/proc") }
func (o *Options) sys() string       { return cmp.Or(o.Sys, "/sys") }
func (o *Options) dev() string       { return cmp.Or(o.Dev, "/dev") }
func (o *Options) mountinfo() string { return cmp.Or(o.Mountinfo, "/proc/self/mountinfo") }

func (o *Options) killGroup(ctx context.Context, g *cgroup.Group) error {
	if o.KillGroup != nil {
		return o.KillGroup(ctx, g)
	}
	return errors.Join(g.Kill(ctx), g.Remove())
}

func (o *Options) unmount(target string, flags int) error {
	if o.Unmount != nil {
		return o.Unmount(target, flags)
	}
	return mount.Unmount(target, flags)
}

func (o *Options) detach(dev string) error {
	if o.Detach != nil {
		return o.Detach(dev)
	}
	return loop.Detach(dev)
}

// Process is a process found in a container cgroup.
type Process struct {
	Group string
	Pid   int
	Comm  string // from /proc/<pid>/comm; "" if it was gone
}

// Report is what Cleanup found and removed.
type Report struct {
	Processes []Process // killed
	Groups    []string  // container cgroups removed
	Mounts    []string  // unmounted, in order
	Loops     []string  // detached: "/dev/loopN (backing file)"
	Sockets   []string  // stale sockets removed
}

// Empty reports whether nothing was left.
func (r Report) Empty() bool {
	return len(r.Processes)+len(r.Groups)+len(r.Mounts)+len(r.Loops)+len(r.Sockets) == 0
}

// String is one log line: counts, then names.
func (r Report) String() string {
	if r.Empty() {
		return "nothing left by a previous instance"
	}
	procs := make([]string, len(r.Processes))
	for i, p := range r.Processes {
		procs[i] = printf.Sprintf("%s:%d(%s)", p.Group, p.Pid, p.Comm)
	}
	var parts []string
	add := func(n int, what string, names []string) {
		if n > 0 {
			parts = append(parts, printf.Sprintf("%d %s [%s]", n, what, strings.Join(names, " ")))
		}
	}
	add(len(r.Processes), "processes killed", procs)
	add(len(r.Groups), "cgroups removed", r.Groups)
	add(len(r.Mounts), "mounts removed", r.Mounts)
	add(len(r.Loops), "loop devices detached", r.Loops)
	add(len(r.Sockets), "stale sockets removed", r.Sockets)
	return "left by a previous instance: " + strings.Join(parts, ", ")
}

// Cleanup removes what a previous engine left, in dependency order:
//  1. kill the processes of the container cgroups and remove the groups
//     (their mounts and loop devices are busy while they live);
//  2. unmount everything below MountDirs, deepest first, lazily when busy;
//  3. detach loop devices still backed by files of the storage;
//  4. remove stale control sockets (one that answers is an error).
//
// Call it with the Lock held and before anything starts: everything it
// matches is taken to be a previous instance's. Every step runs even when
// an earlier one failed; the Report lists what was done, the error what
// was not.
func Cleanup(ctx context.Context, o Options) (Report, error) {
	var r Report
	errs := []error{
		o.cleanGroups(ctx, &r),
		o.cleanMounts(&r),
		o.cleanLoops(&r),
		o.cleanSockets(&r),
	}
	return r, errors.Join(errs...)
}

// cleanGroups is step 1 of Cleanup.
func (o *Options) cleanGroups(ctx context.Context, r *Report) error {
	m := cgroup.Manager{Root: o.CgroupRoot, Mountinfo: o.Mountinfo, Proc: o.Proc, Parent: o.CgroupParent}
	names := o.Groups
	if o.CgroupParent != "" {
		var err error
		if names, err = o.groupNames(m); err != nil {
			return err
		}
	}
	var errs []error
	for _, n := range names {
		g, err := m.Group(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !exists(g) {
			continue
		}
		pids, err := g.Procs()
		for _, p := range pids {
			r.Processes = append(r.Processes, Process{Group: n, Pid: p, Comm: o.comm(p)})
		}
		if err := errors.Join(err, o.killGroup(ctx, g)); err != nil {
			errs = append(errs, err)
			continue
		}
		r.Groups = append(r.Groups, n)
	}
	return errors.Join(errs...)
}

// groupNames lists the groups under the parent in every hierarchy.
func (o *Options) groupNames(m cgroup.Manager) ([]string, error) {
	l, err := m.Layout()
	if errors.Is(err, cgroup.ErrNoCgroup) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	dirs := []string{}
	for _, h := range l.V1 {
		dirs = append(dirs, filepath.Join(h.Path, o.CgroupParent))
	}
	if l.Unified != "" {
		dirs = append(dirs, filepath.Join(l.Unified, o.CgroupParent))
	}
	var names []string
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, printf.Errorf("list cgroups of %s: %w", o.CgroupParent, err)
		}
		for _, e := range ents {
			if e.IsDir() {
				names = append(names, e.Name())
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// exists reports whether the group has a directory in some hierarchy.
func exists(g *cgroup.Group) bool {
	return slices.ContainsFunc(g.Dirs(), func(d string) bool {
		_, err := os.Stat(d)
		return err == nil
	})
}

// comm is the command name of pid, "" if it is gone.
func (o *Options) comm(pid int) string {
	b, err := os.ReadFile(filepath.Join(o.proc(), strconv.Itoa(pid), "comm"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// maxPasses bounds the rounds of cleanMounts: a round unmounts what it
// sees; mounts hidden under others show up in the next one.
const maxPasses = 8

// cleanMounts is step 2 of Cleanup.
func (o *Options) cleanMounts(r *Report) error {
	dirs := resolve(o.MountDirs)
	if len(dirs) == 0 {
		return nil
	}
	for pass := 0; pass < maxPasses; pass++ {
		points, err := o.mountsBelow(dirs)
		if err != nil || len(points) == 0 {
			return err
		}
		var errs []error
		for _, p := range points {
			if err := o.unmountOne(p); err != nil {
				errs = append(errs, err)
				continue
			}
			r.Mounts = append(r.Mounts, p)
		}
		if len(errs) == len(points) {
			return errors.Join(errs...) // no progress
		}
	}
	points, err := o.mountsBelow(dirs)
	if err == nil && len(points) > 0 {
		err = printf.Errorf("%w: mounts %v", ErrLeftover, points)
	}
	return err
}

func (o *Options) mountsBelow(dirs []string) ([]string, error) {
	f, err := os.Open(o.mountinfo())
	if err != nil {
		return nil, printf.Errorf("list mounts: %w", err)
	}
	defer f.Close()
	return MountsBelow(f, dirs)
}

// unmountOne unmounts p; when busy (EBUSY: a process still uses it) it
// detaches it (MNT_DETACH). EINVAL (not a mount point any more: gone
// with a parent detached lazily) counts as done.
func (o *Options) unmountOne(p string) error {
	err := o.unmount(p, 0)
	if errors.Is(err, unix.EBUSY) {
		err = o.unmount(p, unix.MNT_DETACH)
	}
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

// resolve cleans dirs and follows their symbolic links (mountinfo shows
// real paths); a dir that does not exist is kept as given.
func resolve(dirs []string) []string {
	var out []string
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
		if real, err := filepath.EvalSymlinks(d); err == nil {
			d = real
		}
		out = append(out, filepath.Clean(d))
	}
	return out
}

// cleanLoops is step 3 of Cleanup.
func (o *Options) cleanLoops(r *Report) error {
	if o.Storage == "" {
		return nil
	}
	roots := resolve([]string{filepath.Join(o.Storage, "objects"), filepath.Join(o.Storage, "trails")})
	files, err := filepath.Glob(filepath.Join(o.sys(), "block", "loop*", "loop", "backing_file"))
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // detached meanwhile (autoclear at the last unmount)
		}
		back := strings.TrimSuffix(strings.TrimSpace(string(b)), " (deleted)")
		if !slices.ContainsFunc(roots, func(d string) bool { return below(back, d) }) {
			continue
		}
		dev := filepath.Join(o.dev(), filepath.Base(filepath.Dir(filepath.Dir(f))))
		if err := o.detach(dev); err != nil {
			errs = append(errs, err)
			continue
		}
		r.Loops = append(r.Loops, dev+" ("+back+")")
	}
	return errors.Join(errs...)
}

// dialTimeout bounds the liveness probe of a socket.
const dialTimeout = 100 * time.Millisecond

// cleanSockets is step 4 of Cleanup.
func (o *Options) cleanSockets(r *Report) error {
	var errs []error
	for _, p := range o.Sockets {
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode().Type() != os.ModeSocket {
			continue // absent, or not a socket: not ours to remove
		}
		if c, err := unixsock.Dial(p, dialTimeout); err == nil {
			c.Close()
			errs = append(errs, printf.Errorf("%w: %s", ErrSocketInUse, p))
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		r.Sockets = append(r.Sockets, p)
	}
	return errors.Join(errs...)
}
