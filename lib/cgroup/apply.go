package cgroup

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"pantavisor/lib/printf"
)

// Setting is one cgroup key of an LXC config: lxc.cgroup.<Key> = <Value>
// (V2 false, a v1 file) or lxc.cgroup2.<Key> = <Value> (V2 true, a cgroup2
// file). Key is "<controller>.<file>", e.g. memory.limit_in_bytes.
type Setting struct {
	V2    bool
	Key   string
	Value string
}

// String gives the LXC key, e.g. lxc.cgroup2.memory.max.
func (s Setting) String() string {
	if s.V2 {
		return "lxc.cgroup2." + s.Key
	}
	return "lxc.cgroup." + s.Key
}

// lxcCgroupOptions are lxc.cgroup.* keys that configure LXC, not a file.
var lxcCgroupOptions = []string{"dir", "relative", "keep", "pattern", "use"}

// ParseSetting turns an LXC key and value into a Setting; ok is false for
// other keys, including LXC's own lxc.cgroup.dir*, lxc.cgroup.relative and
// friends.
func ParseSetting(key, value string) (s Setting, ok bool) {
	if k, found := strings.CutPrefix(key, "lxc.cgroup2."); found {
		s = Setting{V2: true, Key: k}
	} else if k, found := strings.CutPrefix(key, "lxc.cgroup."); found {
		s = Setting{Key: k}
	} else {
		return Setting{}, false
	}
	first, _, _ := strings.Cut(s.Key, ".")
	if s.Key == "" || slices.Contains(lxcCgroupOptions, first) {
		return Setting{}, false
	}
	s.Value = strings.TrimSpace(value)
	return s, true
}

// Apply writes the settings in order (see the package comment for where
// each goes). It stops at the first failure, naming the LXC key; causes
// include ErrNoController, ErrUnknownKey, ErrNoV2Equivalent, ErrNoUnified
// and the kernel's refusal (e.g. EINVAL, EBUSY).
func (g *Group) Apply(settings []Setting) error {
	for _, s := range settings {
		if err := g.apply(s); err != nil {
			return printf.Errorf("cgroup %s: %s = %q: %w", g.Name, s, s.Value, err)
		}
	}
	return nil
}

// apply routes one setting to its v1 or cgroup2 file.
func (g *Group) apply(s Setting) error {
	ctrl, file, _ := strings.Cut(s.Key, ".")
	if ctrl == "" || file == "" || strings.Contains(s.Key, "/") || strings.HasPrefix(file, ".") {
		return ErrUnknownKey
	}
	if s.V2 {
		switch {
		case ctrl == "devices":
			return nil // allow all: cgroup2 has no devices files (eBPF)
		case g.unified == "":
			return ErrNoUnified
		}
		return g.writeV2(s.Key, s.Value)
	}
	if dir, ok := g.Dir(ctrl); ok {
		return writeExisting(filepath.Join(dir, s.Key), s.Value)
	}
	switch {
	case ctrl == "devices":
		return nil // no v1 devices hierarchy: allow all, as upstream
	case g.unified == "":
		return printf.Errorf("%w: %s", ErrNoController, ctrl)
	}
	key, value, err := translate(s.Key, s.Value, func(k string) (string, error) {
		return readFile(filepath.Join(g.unified, k))
	})
	if err != nil {
		return err
	}
	return g.writeV2(key, value)
}

// writeV2 writes a cgroup2 file after checking its controller is enabled
// for the group (the cgroup.* core files need none).
func (g *Group) writeV2(key, value string) error {
	ctrl, _, _ := strings.Cut(key, ".")
	if ctrl != "cgroup" {
		avail, err := readFile(filepath.Join(g.unified, "cgroup.controllers"))
		if err != nil {
			return err
		}
		if !slices.Contains(strings.Fields(avail), ctrl) {
			return printf.Errorf("%w: %s not enabled in %s", ErrNoController, ctrl, g.unified)
		}
	}
	return writeExisting(filepath.Join(g.unified, key), value)
}

// writeExisting writes a cgroup file that must exist.
func writeExisting(path, value string) error {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return printf.Errorf("%w: no file %s", ErrUnknownKey, path)
	}
	return writeFile(path, value)
}
