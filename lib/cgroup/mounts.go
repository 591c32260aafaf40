package cgroup

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"pantavisor/lib/early"
	"pantavisor/lib/printf"
)

// Subsys is one line of /proc/cgroups: a controller the kernel has.
type Subsys struct {
	Name      string
	Hierarchy int // v1 hierarchy id, 0 if not mounted on v1
	Enabled   bool
}

// ParseCgroups parses a /proc/cgroups text
// ("#subsys_name hierarchy num_cgroups enabled").
func ParseCgroups(r io.Reader) ([]Subsys, error) {
	var out []Subsys
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 {
			return nil, printf.Errorf("cgroups line %d malformed: %q", n, line)
		}
		h, err1 := strconv.Atoi(f[1])
		en, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			return nil, printf.Errorf("cgroups line %d malformed: %q", n, line)
		}
		out = append(out, Subsys{Name: f[0], Hierarchy: h, Enabled: en != 0})
	}
	if err := sc.Err(); err != nil {
		return nil, printf.Errorf("read cgroups list: %w", err)
	}
	return out, nil
}

// ReadCgroups reads the controller list from a /proc/cgroups file.
func ReadCgroups(path string) ([]Subsys, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, printf.Errorf("read controllers: %w", err)
	}
	defer f.Close()
	s, err := ParseCgroups(f)
	if err != nil {
		return nil, printf.Errorf("read controllers from %s: %w", path, err)
	}
	return s, nil
}

// namedHierarchies are the controller-less v1 hierarchies PID 1 mounts on
// Legacy and Hybrid, as upstream does: systemd for guests that expect it,
// pantavisor as upstream's identity hierarchy.
var namedHierarchies = []string{"systemd", "pantavisor"}

// comounts are controllers mounted together, as systemd and upstream do;
// each member also gets a symlink named after it.
var comounts = [][]string{{"cpu", "cpuacct"}, {"net_cls", "net_prio"}}

// Mounts lists what PID 1 does to set up cgroups under root (normally
// /sys/fs/cgroup) in mode, for early.Run:
//   - Unified: cgroup2 on root (nsdelegate).
//   - Legacy and Hybrid: a tmpfs on root, the namedHierarchies, one v1
//     hierarchy per enabled controller of subsys (cpu,cpuacct and
//     net_cls,net_prio together, with symlinks) and, for Hybrid, cgroup2 at
//     <root>/unified, which then has no controllers left.
//
// As upstream, only the root, the tmpfs and the named hierarchies are
// fatal; a controller or the cgroup2 mount that fails is Optional.
func Mounts(mode Mode, root string, subsys []Subsys) ([]early.Creator, error) {
	const flags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	unified := early.Mount{Source: "cgroup2", FSType: "cgroup2", Data: "nsdelegate", Flags: flags}
	switch mode {
	case Unified:
		unified.Target = root
		return []early.Creator{unified}, nil
	case Legacy, Hybrid:
	default:
		return nil, printf.Errorf("cgroup mounts for mode %s: unsupported", mode)
	}
	steps := []early.Creator{early.Mount{Source: "cgroup_root", Target: root, FSType: "tmpfs", Data: "mode=0755", Flags: flags}}
	for _, n := range namedHierarchies {
		steps = append(steps, early.Mount{Source: "cgroup", Target: filepath.Join(root, n), FSType: "cgroup", Data: "none,name=" + n, Flags: flags})
	}
	for _, group := range controllerMounts(subsys) {
		joined := strings.Join(group, ",")
		steps = append(steps, early.Optional{Creator: early.Mount{Source: "cgroup", Target: filepath.Join(root, joined), FSType: "cgroup", Data: joined, Flags: flags}})
		if len(group) > 1 {
			for _, c := range group {
				steps = append(steps, early.Optional{Creator: early.Symlink{Target: joined, Path: filepath.Join(root, c)}})
			}
		}
	}
	if mode == Hybrid {
		unified.Target = filepath.Join(root, "unified")
		steps = append(steps, early.Optional{Creator: unified})
	}
	return steps, nil
}

// controllerMounts groups the enabled controllers into v1 mounts, in
// /proc/cgroups order, co-mounting the comounts pairs when both exist.
func controllerMounts(subsys []Subsys) [][]string {
	var enabled []string
	for _, s := range subsys {
		if s.Enabled && !slices.Contains(enabled, s.Name) {
			enabled = append(enabled, s.Name)
		}
	}
	var out [][]string
	done := map[string]bool{}
	for _, c := range enabled {
		if done[c] {
			continue
		}
		group := []string{c}
		for _, pair := range comounts {
			if slices.Contains(pair, c) && slices.Contains(enabled, pair[0]) && slices.Contains(enabled, pair[1]) {
				group = pair
			}
		}
		for _, m := range group {
			done[m] = true
		}
		out = append(out, group)
	}
	return out
}
