package cgroup

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"pantavisor/lib/mount"
	"pantavisor/lib/printf"
)

// Mode is how cgroups are mounted. The zero value is unknown.
type Mode uint8

// Modes.
const (
	// Legacy: v1 hierarchies only.
	Legacy Mode = iota + 1
	// Hybrid: v1 hierarchies and a cgroup2 hierarchy (usually at
	// <root>/unified, often with no controllers, used for membership).
	Hybrid
	// Unified: cgroup2 only.
	Unified
)

func (m Mode) String() string {
	switch m {
	case Legacy:
		return "legacy"
	case Hybrid:
		return "hybrid"
	case Unified:
		return "unified"
	}
	return "unknown"
}

// Hierarchy is one mounted v1 hierarchy.
type Hierarchy struct {
	Path        string   // mount point, e.g. /sys/fs/cgroup/cpu,cpuacct
	Controllers []string // controllers bound to it, e.g. cpu, cpuacct; none for a named-only hierarchy
	Name        string   // the name= option, e.g. systemd; "" if unnamed
}

// Layout is the set of cgroup hierarchies mounted under a root.
type Layout struct {
	Mode    Mode
	V1      []Hierarchy // in mount order
	Unified string      // cgroup2 mount point, "" if none
}

// Find returns the v1 hierarchy that has controller bound to it.
func (l Layout) Find(controller string) (Hierarchy, bool) {
	for _, h := range l.V1 {
		if slices.Contains(h.Controllers, controller) {
			return h, true
		}
	}
	return Hierarchy{}, false
}

// Detect reads the mountinfo file (normally /proc/self/mountinfo) and
// returns the layout of the cgroup hierarchies mounted at or below root.
func Detect(root, mountinfo string) (Layout, error) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return Layout{}, printf.Errorf("detect cgroups under %s: %w", root, err)
	}
	defer f.Close()
	l, err := ParseMountinfo(f, root)
	if err != nil {
		return Layout{}, printf.Errorf("detect cgroups under %s from %s: %w", root, mountinfo, err)
	}
	return l, nil
}

// mountEntry is the part of a mountinfo line we use.
type mountEntry struct {
	dev, point, fstype, super string
}

// ParseMountinfo parses a mountinfo text (proc(5)) and returns the cgroup
// layout under root. A mount hides earlier mounts at or below its mount
// point; a hierarchy mounted twice (same device) is listed once, at its
// first visible mount point. It fails with ErrNoCgroup if no cgroup
// filesystem is visible under root.
func ParseMountinfo(r io.Reader, root string) (Layout, error) {
	root = filepath.Clean(root)
	var mounts []mountEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		e, err := parseMountLine(sc.Text())
		if err != nil {
			return Layout{}, printf.Errorf("mountinfo line %d: %w", n, err)
		}
		if !under(e.point, root) {
			continue
		}
		mounts = slices.DeleteFunc(mounts, func(o mountEntry) bool { return under(o.point, e.point) })
		mounts = append(mounts, e)
	}
	if err := sc.Err(); err != nil {
		return Layout{}, printf.Errorf("read mountinfo: %w", err)
	}
	return layoutOf(mounts, root)
}

// layoutOf builds the layout from the visible mounts under root.
func layoutOf(mounts []mountEntry, root string) (Layout, error) {
	var l Layout
	seen := map[string]bool{}
	for _, e := range mounts {
		if (e.fstype != "cgroup" && e.fstype != "cgroup2") || seen[e.dev] {
			continue
		}
		seen[e.dev] = true
		if e.fstype == "cgroup2" {
			l.Unified = e.point
			continue
		}
		l.V1 = append(l.V1, v1Hierarchy(e.point, e.super))
	}
	switch {
	case len(l.V1) > 0 && l.Unified != "":
		l.Mode = Hybrid
	case len(l.V1) > 0:
		l.Mode = Legacy
	case l.Unified != "":
		l.Mode = Unified
	default:
		return Layout{}, printf.Errorf("%w under %s", ErrNoCgroup, root)
	}
	return l, nil
}

// parseMountLine splits "id parent maj:min root point opts [opt...] - fstype source super".
func parseMountLine(line string) (mountEntry, error) {
	f := strings.Fields(line)
	sep := slices.Index(f, "-")
	if sep < 6 || len(f) < sep+3 {
		return mountEntry{}, printf.Errorf("malformed: %q", line)
	}
	e := mountEntry{dev: f[2], point: mount.Unescape(f[4]), fstype: f[sep+1]}
	if len(f) > sep+3 {
		e.super = f[sep+3]
	}
	return e, nil
}

// v1Options are cgroup v1 mount options that are not controllers.
var v1Options = []string{"rw", "ro", "none", "all", "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods"}

// v1Hierarchy reads the controllers and name from v1 super options.
func v1Hierarchy(point, super string) Hierarchy {
	h := Hierarchy{Path: point}
	for _, o := range strings.Split(super, ",") {
		switch {
		case strings.HasPrefix(o, "name="):
			h.Name = o[len("name="):]
		case o == "" || strings.Contains(o, "=") || slices.Contains(v1Options, o):
		default:
			h.Controllers = append(h.Controllers, o)
		}
	}
	return h
}

// under reports whether path is dir or below it.
func under(path, dir string) bool {
	return path == dir || dir == "/" || strings.HasPrefix(path, dir+"/")
}
