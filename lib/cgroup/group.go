package cgroup

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
)

// Group is one container's cgroup: a directory in every hierarchy of
// Layout. Get one from Manager.Create or Manager.Group.
type Group struct {
	Name    string
	Layout  Layout
	v1      []string // directory per Layout.V1 entry
	unified string   // cgroup2 directory, "" without cgroup2
}

// Dirs returns every directory of the group, v1 ones first.
func (g *Group) Dirs() []string {
	out := slices.Clone(g.v1)
	if g.unified != "" {
		out = append(out, g.unified)
	}
	return out
}

// Dir returns the group's directory in the v1 hierarchy of controller.
func (g *Group) Dir(controller string) (string, bool) {
	for i, h := range g.Layout.V1 {
		if slices.Contains(h.Controllers, controller) {
			return g.v1[i], true
		}
	}
	return "", false
}

// UnifiedDir returns the group's cgroup2 directory, "" without cgroup2.
func (g *Group) UnifiedDir() string { return g.unified }

// OpenUnified opens the group's cgroup2 directory, for
// SysProcAttr.UseCgroupFD (clone3 with CLONE_INTO_CGROUP, Linux 5.7): the
// child starts inside the group. That covers cgroup2 only; on Hybrid,
// Add the child to the v1 hierarchies as well. The caller closes the file.
func (g *Group) OpenUnified() (*os.File, error) {
	if g.unified == "" {
		return nil, printf.Errorf("open cgroup %s: %w", g.Name, ErrNoUnified)
	}
	f, err := os.OpenFile(g.unified, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, printf.Errorf("open cgroup %s: %w", g.Name, err)
	}
	return f, nil
}

// Add moves process pid (all its threads) into the group in every
// hierarchy by writing it to each cgroup.procs.
func (g *Group) Add(pid int) error {
	for _, d := range g.Dirs() {
		if err := writeFile(filepath.Join(d, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return printf.Errorf("add pid %d to cgroup %s: %w", pid, g.Name, err)
		}
	}
	return nil
}

// Procs returns the sorted pids in the group and its sub-groups, in any
// hierarchy. Zombies are not listed by the kernel.
func (g *Group) Procs() ([]int, error) {
	var pids []int
	for _, d := range g.Dirs() {
		err := walkDirs(d, func(dir string) error {
			s, err := readFile(filepath.Join(dir, "cgroup.procs"))
			if errors.Is(err, os.ErrNotExist) {
				return nil // removed meanwhile, or never created
			}
			if err != nil {
				return err
			}
			p, err := parsePids(s)
			if err != nil {
				return printf.Errorf("%s/cgroup.procs: %w", dir, err)
			}
			pids = append(pids, p...)
			return nil
		})
		if err != nil {
			return nil, printf.Errorf("list processes of cgroup %s: %w", g.Name, err)
		}
	}
	slices.Sort(pids)
	return slices.Compact(pids), nil
}

// parsePids parses a cgroup.procs text: one decimal pid per line.
func parsePids(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Fields(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, printf.Errorf("bad pid %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// removeRetry bounds how long Remove waits for a busy directory (exiting
// tasks keep a cgroup busy for a moment after they leave cgroup.procs).
const removeRetry = 2 * time.Second

// Remove deletes the group's directories (sub-groups first) in every
// hierarchy; the Parent directory stays. Missing directories are fine.
// The group must be empty (Kill first); EBUSY is retried for a while.
func (g *Group) Remove() error {
	var errs []error
	for _, d := range g.Dirs() {
		if err := postOrder(d, rmdirRetry); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return printf.Errorf("remove cgroup %s: %w", g.Name, err)
	}
	return nil
}

// rmdirRetry is rmdir retrying EBUSY for removeRetry; gone is fine.
func rmdirRetry(dir string) error {
	deadline := time.Now().Add(removeRetry)
	for {
		err := rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// walkDirs calls f on dir and then on every sub-directory, top-down.
func walkDirs(dir string, f func(string) error) error {
	if err := f(dir); err != nil {
		return err
	}
	subs, err := subDirs(dir)
	if err != nil {
		return err
	}
	for _, s := range subs {
		if err := walkDirs(s, f); err != nil {
			return err
		}
	}
	return nil
}

// postOrder calls f on every sub-directory of dir, bottom-up, then on dir.
func postOrder(dir string, f func(string) error) error {
	subs, err := subDirs(dir)
	if err != nil {
		return err
	}
	for _, s := range subs {
		if err := postOrder(s, f); err != nil {
			return err
		}
	}
	return f(dir)
}

// subDirs lists the directories in dir (in cgroupfs: the child groups);
// none if dir does not exist.
func subDirs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, printf.Errorf("list %s: %w", dir, err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}
