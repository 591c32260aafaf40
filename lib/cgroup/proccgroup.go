package cgroup

import (
	"bufio"
	"io"
	"slices"
	"strconv"
	"strings"

	"pantavisor/lib/printf"
)

// Membership is one line of /proc/<pid>/cgroup: "id:controllers:path".
type Membership struct {
	ID          int      // hierarchy id; 0 for cgroup2
	Controllers []string // e.g. cpu, cpuacct or name=systemd; none for cgroup2
	Path        string   // e.g. /lxc/web
}

// ParseProcCgroup parses a /proc/<pid>/cgroup text.
func ParseProcCgroup(r io.Reader) ([]Membership, error) {
	var out []Membership
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		id, rest, ok1 := strings.Cut(line, ":")
		ctrl, path, ok2 := strings.Cut(rest, ":")
		num, err := strconv.Atoi(id)
		if !ok1 || !ok2 || err != nil || num < 0 || !strings.HasPrefix(path, "/") {
			return nil, printf.Errorf("cgroup line %d malformed: %q", n, line)
		}
		m := Membership{ID: num, Path: path}
		if ctrl != "" {
			m.Controllers = strings.Split(ctrl, ",")
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, printf.Errorf("read cgroup list: %w", err)
	}
	return out, nil
}

// identityOrder is where a container's name is looked up, best first: the
// cgroup2 line, the named pantavisor hierarchy (upstream's legacy and
// hybrid identity), then pids and freezer. Other lines are used only when
// none of these is present, so a host process is not named after some
// unrelated v1 cgroup (e.g. a memory cgroup a host agent put it in).
var identityOrder = []string{"", "name=pantavisor", "pids", "freezer"}

// NameIn returns the container name in ms: the first path component below
// parent ("" = the hierarchy root), from the first line in identityOrder
// that has one (the kernel lists "0::/" for every process once cgroup2 has
// been mounted anywhere, even where groups live in v1 only). It returns ""
// for a process outside every group, such as pantavisor itself (upstream
// calls it _pv_).
func NameIn(ms []Membership, parent string) string {
	found := false
	for _, c := range identityOrder {
		for _, m := range ms {
			if (c == "" && m.ID == 0 && len(m.Controllers) == 0) || (c != "" && slices.Contains(m.Controllers, c)) {
				found = true
				if name := nameBelow(m.Path, parent); name != "" {
					return name
				}
			}
		}
	}
	if !found && len(ms) > 0 {
		return nameBelow(ms[0].Path, parent)
	}
	return ""
}

// nameBelow returns the first component of path below parent, "" if path
// is not strictly below parent.
func nameBelow(path, parent string) string {
	rest := strings.Trim(path, "/")
	if p := strings.Trim(parent, "/"); p != "" {
		var ok bool
		if rest, ok = strings.CutPrefix(rest, p+"/"); !ok {
			return ""
		}
	}
	name, _, _ := strings.Cut(rest, "/")
	if name == "." || name == ".." {
		return "" // outside our namespace's view (appengine: "0::/..")
	}
	return name
}
