package cgroup

import (
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"pantavisor/lib/printf"
)

// Manager creates and finds container groups. The zero value works on the
// real system with groups directly under each hierarchy root; upstream
// Pantavisor (through LXC) uses Parent "lxc".
type Manager struct {
	Root      string // where hierarchies are mounted; default /sys/fs/cgroup
	Mountinfo string // default /proc/self/mountinfo
	Proc      string // procfs root for NameOf; default /proc
	Parent    string // relative path of the groups' parent in every hierarchy, e.g. "lxc"; "" = hierarchy root
}

func (m *Manager) root() string      { return cmp.Or(m.Root, "/sys/fs/cgroup") }
func (m *Manager) mountinfo() string { return cmp.Or(m.Mountinfo, "/proc/self/mountinfo") }
func (m *Manager) proc() string      { return cmp.Or(m.Proc, "/proc") }

// Layout detects the hierarchies under Root.
func (m *Manager) Layout() (Layout, error) {
	return Detect(m.root(), m.mountinfo())
}

// Group returns the group called name without touching the filesystem
// beyond detecting the layout: use it to reach a group created earlier
// (Procs, Kill, Remove).
func (m *Manager) Group(name string) (*Group, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if err := checkParent(m.Parent); err != nil {
		return nil, err
	}
	l, err := m.Layout()
	if err != nil {
		return nil, err
	}
	g := &Group{Name: name, Layout: l}
	rel := filepath.Join(m.Parent, name)
	for _, h := range l.V1 {
		g.v1 = append(g.v1, filepath.Join(h.Path, rel))
	}
	if l.Unified != "" {
		g.unified = filepath.Join(l.Unified, rel)
	}
	return g, nil
}

// Create makes the group called name in every hierarchy:
//  1. v1: mkdir <hierarchy>/<Parent>/<name> level by level, and copy
//     cpuset.cpus/cpuset.mems from the parent into each new cpuset
//     directory (a new v1 cpuset is empty and refuses tasks with ENOSPC);
//  2. cgroup2: on a Unified system, enable every controller the level
//     offers in its cgroup.subtree_control before making the next level (a
//     controller the kernel refuses to enable is left out, and a key that
//     needs it fails later with ErrNoController); on Hybrid the cgroup2
//     directory is made for membership only.
//
// Directories that already exist are reused: a group left by a crashed
// run keeps its processes, so Kill and Remove it first if that matters.
// On failure the directories made by this call are removed again.
func (m *Manager) Create(name string) (*Group, error) {
	g, err := m.Group(name)
	if err != nil {
		return nil, err
	}
	var made []string
	fail := func(err error) (*Group, error) {
		for i := len(made) - 1; i >= 0; i-- {
			err = errors.Join(err, rmdir(made[i]))
		}
		return nil, printf.Errorf("create cgroup %s: %w", name, err)
	}
	for i, h := range g.Layout.V1 {
		cpuset := slices.Contains(h.Controllers, "cpuset")
		if err := mkdirs(h.Path, g.v1[i], &made, cpuset); err != nil {
			return fail(err)
		}
	}
	if g.unified != "" {
		if err := mkdirsUnified(g.Layout, g.unified, &made); err != nil {
			return fail(err)
		}
	}
	return g, nil
}

// mkdirs creates every level from below base down to dir, appending the
// new ones to made; with cpuset it fills each new level's cpus and mems.
func mkdirs(base, dir string, made *[]string, cpuset bool) error {
	for _, p := range levels(base, dir) {
		isNew, err := mkdir(p)
		if err != nil {
			return err
		}
		if !isNew {
			continue
		}
		*made = append(*made, p)
		if cpuset {
			if err := inheritCpuset(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// mkdirsUnified is mkdirs for cgroup2, enabling controllers on Unified.
func mkdirsUnified(l Layout, dir string, made *[]string) error {
	parent := l.Unified
	for _, p := range levels(l.Unified, dir) {
		if l.Mode == Unified {
			if err := enableControllers(parent); err != nil {
				return err
			}
		}
		isNew, err := mkdir(p)
		if err != nil {
			return err
		}
		if isNew {
			*made = append(*made, p)
		}
		parent = p
	}
	return nil
}

// levels lists the directories from below base down to dir, top first.
func levels(base, dir string) []string {
	rel, _ := filepath.Rel(base, dir)
	var out []string
	p := base
	for _, c := range strings.Split(rel, "/") {
		p = filepath.Join(p, c)
		out = append(out, p)
	}
	return out
}

// inheritCpuset copies cpuset.cpus and cpuset.mems from the parent of dir
// when dir's are empty. Missing files (a fake tree, noprefix) are skipped.
func inheritCpuset(dir string) error {
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		own, err := readFile(filepath.Join(dir, f))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil || strings.TrimSpace(own) != "" {
			return err
		}
		v, err := readFile(filepath.Join(filepath.Dir(dir), f))
		if err != nil {
			return err
		}
		if err := writeFile(filepath.Join(dir, f), strings.TrimSpace(v)); err != nil {
			return err
		}
	}
	return nil
}

// enableControllers enables in dir's cgroup.subtree_control every
// controller of dir's cgroup.controllers not enabled yet: all at once,
// else one by one, skipping those the kernel refuses.
func enableControllers(dir string) error {
	avail, err := readFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return err
	}
	on, err := readFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return err
	}
	var add []string
	for _, c := range strings.Fields(avail) {
		if !slices.Contains(strings.Fields(on), c) {
			add = append(add, "+"+c)
		}
	}
	if len(add) == 0 {
		return nil
	}
	ctl := filepath.Join(dir, "cgroup.subtree_control")
	if writeFile(ctl, strings.Join(add, " ")) == nil {
		return nil
	}
	for _, c := range add {
		_ = writeFile(ctl, c) // refused controllers surface as ErrNoController in Apply
	}
	return nil
}

// NameOf returns the name of the group pid is in (see NameIn), "" if it is
// in none of them.
func (m *Manager) NameOf(pid int) (string, error) {
	path := filepath.Join(m.proc(), strconv.Itoa(pid), "cgroup")
	f, err := os.Open(path)
	if err != nil {
		return "", printf.Errorf("cgroup name of pid %d: %w", pid, err)
	}
	defer f.Close()
	ms, err := ParseProcCgroup(f)
	if err != nil {
		return "", printf.Errorf("cgroup name of pid %d from %s: %w", pid, path, err)
	}
	return NameIn(ms, m.Parent), nil
}

// checkName accepts one path component usable as a cgroup directory.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 255 || strings.ContainsAny(name, "/\x00\n") {
		return printf.Errorf("%w: %q", ErrBadName, name)
	}
	return nil
}

// checkParent accepts "" or a relative path of valid components.
func checkParent(parent string) error {
	if parent == "" {
		return nil
	}
	for _, c := range strings.Split(parent, "/") {
		if checkName(c) != nil {
			return printf.Errorf("%w: parent %q", ErrBadName, parent)
		}
	}
	return nil
}
