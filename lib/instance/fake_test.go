package instance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/cgroup"
)

// fake is a fake host: a cgroup tree (v1 pids and freezer, cgroup2 at
// unified: hybrid, as the test machines), /proc, /sys/block, a storage,
// the engine's dirs, and a mountinfo listing the cgroup hierarchies and
// whatever mount adds. Its actions edit the tree: killing a group
// empties and removes it, unmounting drops the mountinfo line, detaching
// removes the loop's backing_file.
type fake struct {
	t       *testing.T
	dir     string
	mu      sync.Mutex
	mi      []string // mountinfo lines
	killed  []string
	umounts []string // "point flags"
	busy    map[string]bool
	dets    []string
}

func newFake(t *testing.T) *fake {
	t.Helper()
	f := &fake{t: t, dir: t.TempDir(), busy: map[string]bool{}}
	for i, h := range []string{"pids", "freezer"} {
		f.mount(100+i, filepath.Join(f.dir, "cg", h), "cgroup", "rw,"+h)
		f.mkdir(filepath.Join("cg", h))
	}
	f.mount(200, filepath.Join(f.dir, "cg", "unified"), "cgroup2", "rw")
	f.mkdir("cg/unified")
	for _, d := range []string{"proc", "sys/block", "dev", "storage/objects", "storage/trails/0", "volumes", "run", "state"} {
		f.mkdir(d)
	}
	return f
}

func (f *fake) path(rel string) string { return filepath.Join(f.dir, rel) }

func (f *fake) mkdir(rel string) {
	require.NoError(f.t, os.MkdirAll(f.path(rel), 0o755))
}

func (f *fake) write(rel, content string) {
	require.NoError(f.t, os.MkdirAll(filepath.Dir(f.path(rel)), 0o755))
	require.NoError(f.t, os.WriteFile(f.path(rel), []byte(content), 0o644))
}

// mount lists a mount at point (absolute) in mountinfo.
func (f *fake) mount(id int, point, fstype, super string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mi = append(f.mi, fmt.Sprintf("%d 1 0:%d / %s rw,relatime - %s %s %s", id, id,
		strings.ReplaceAll(point, " ", `\040`), fstype, fstype, super))
	f.flush()
}

func (f *fake) flush() {
	require.NoError(f.t, os.WriteFile(f.path("mountinfo"), []byte(strings.Join(f.mi, "\n")+"\n"), 0o644))
}

// group makes container group name under parent in every hierarchy with
// pids in its cgroup.procs, and their comm in /proc.
func (f *fake) group(parent, name string, pids ...int) {
	var s strings.Builder
	for _, p := range pids {
		fmt.Fprintf(&s, "%d\n", p)
		f.write(fmt.Sprintf("proc/%d/comm", p), fmt.Sprintf("cmd%d\n", p))
	}
	for _, h := range []string{"pids", "freezer", "unified"} {
		f.write(filepath.Join("cg", h, parent, name, "cgroup.procs"), s.String())
	}
}

func (f *fake) options(parent string) Options {
	return Options{
		Storage:      f.path("storage"),
		CgroupParent: parent,
		MountDirs:    []string{f.path("volumes"), f.path("run"), f.path("state")},
		Proc:         f.path("proc"),
		Sys:          f.path("sys"),
		Dev:          f.path("dev"),
		CgroupRoot:   f.path("cg"),
		Mountinfo:    f.path("mountinfo"),
		KillGroup: func(_ context.Context, g *cgroup.Group) error {
			f.mu.Lock()
			f.killed = append(f.killed, g.Name)
			f.mu.Unlock()
			for _, d := range g.Dirs() {
				if err := os.RemoveAll(d); err != nil {
					return err
				}
			}
			return nil
		},
		Unmount: func(target string, flags int) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.umounts = append(f.umounts, fmt.Sprintf("%s %d", target, flags))
			if f.busy[target] && flags&unix.MNT_DETACH == 0 {
				return fmt.Errorf("umount %s: %w", target, unix.EBUSY)
			}
			for i := len(f.mi) - 1; i >= 0; i-- { // the top one of a stack goes
				if strings.Fields(f.mi[i])[4] == strings.ReplaceAll(target, " ", `\040`) {
					f.mi = append(f.mi[:i], f.mi[i+1:]...)
					f.flush()
					return nil
				}
			}
			return fmt.Errorf("umount %s: %w", target, unix.EINVAL)
		},
		Detach: func(dev string) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.dets = append(f.dets, dev)
			return os.Remove(filepath.Join(f.path("sys/block"), filepath.Base(dev), "loop", "backing_file"))
		},
	}
}
