package config

import (
	"os"
	"path"
	"strings"

	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// Sysctl is a kernel parameter write collected from PV_SYSCTL_* or legacy
// sysctl.* keys. The caller writes Value to Path; this package never does.
type Sysctl struct {
	Path  string // under /proc/sys, e.g. /proc/sys/kernel/core_pattern
	Value string
	Level Level // the level the value comes from
}

// sysctlLevels are the levels where sysctl keys are accepted: PV and OEM.
const sysctlLevels = pv | oem

const procSys = "/proc/sys/"

// defaultSysctls apply unless a level sets the same path (upstream sets
// PV_SYSCTL_KERNEL_CORE_PATTERN before loading any file).
var defaultSysctls = [...]Sysctl{
	{Path: procSys + "kernel/core_pattern", Value: "|/lib/pv/pvcrash --skip"},
}

type sysSetting struct {
	path, v string
	l       Level
}

// isSysctl reports whether key names a sysctl: PV_SYSCTL_<NAME> or
// sysctl.<a>.<b> (both case-insensitive).
func isSysctl(key string) bool {
	return len(key) > len("PV_SYSCTL_") && foldCmp(key[:len("PV_SYSCTL_")], "PV_SYSCTL_") == 0 ||
		len(key) > len("sysctl.") && foldCmp(key[:len("sysctl.")], "sysctl.") == 0
}

// errSysctlName is returned for a sysctl name that cannot be a /proc/sys file.
var errSysctlName error = &sentinel.Error{Text: "invalid sysctl name"}

// sysctlPath maps a sysctl key to its /proc/sys path.
//   - sysctl.a.b: every '.' is a '/', case kept (/proc/sys/a/b).
//   - PV_SYSCTL_A_B_C: lower-cased; scanning left to right, a '_' becomes
//     '/' when the path before it is a directory (c.IsDir), so
//     PV_SYSCTL_KERNEL_CORE_PATTERN is /proc/sys/kernel/core_pattern.
//
// Names are limited to letters, digits, '-', '_' (and '.' as separator in the
// legacy form, with no empty component), so no path can leave /proc/sys.
func (c *Config) sysctlPath(key string) (string, error) {
	if foldCmp(key[:3], "PV_") != 0 {
		rest := key[len("sysctl."):]
		for _, part := range strings.Split(rest, ".") {
			if part == "" || !sysctlChars(part) {
				return "", errSysctlName
			}
		}
		return procSys + strings.ReplaceAll(rest, ".", "/"), nil
	}
	rest := strings.ToLower(key[len("PV_SYSCTL_"):])
	if !sysctlChars(rest) || strings.HasPrefix(rest, "_") {
		return "", errSysctlName
	}
	p := []byte(procSys + rest)
	dir := c.IsDir
	if dir == nil {
		dir = isDir
	}
	for i := len(procSys); i < len(p); i++ {
		if p[i] == '_' && dir(string(p[:i])) {
			p[i] = '/'
		}
	}
	return path.Clean(string(p)), nil
}

func sysctlChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// isDir is the real directory check behind Config.IsDir.
func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// setSysctl records a sysctl write at level l.
func (c *Config) setSysctl(l Level, key, value string) error {
	if !sysctlLevels.Has(l) {
		return Warning{Level: l, Key: key, Value: value, Err: ErrNotAllowed}
	}
	p, err := c.sysctlPath(key)
	if err != nil {
		return Warning{Level: l, Key: key, Value: value, Err: printf.Errorf("%w: %w", ErrUnknownKey, err)}
	}
	s := sysSetting{path: p, v: value, l: l}
	c.mu.Lock()
	defer c.mu.Unlock()
	i := 0
	for i < len(c.sys) && cmpSys(c.sys[i], s) < 0 {
		i++
	}
	if i < len(c.sys) && cmpSys(c.sys[i], s) == 0 {
		c.sys[i] = s
		return nil
	}
	c.sys = append(c.sys, sysSetting{})
	copy(c.sys[i+1:], c.sys[i:])
	c.sys[i] = s
	return nil
}

func cmpSys(a, b sysSetting) int {
	if a.path != b.path {
		return strings.Compare(a.path, b.path)
	}
	return int(a.l) - int(b.l)
}

// dropSys removes the sysctl settings that match; c.mu must be held.
func (c *Config) dropSys(match func(sysSetting) bool) {
	out := c.sys[:0]
	for _, s := range c.sys {
		if !match(s) {
			out = append(out, s)
		}
	}
	c.sys = out
}

// Sysctls returns the sysctl writes in effect, one per path (the highest
// level wins, defaults included), sorted by path.
func (c *Config) Sysctls() []Sysctl {
	c.mu.RLock()
	var out []Sysctl
	for i, s := range c.sys {
		if i+1 < len(c.sys) && c.sys[i+1].path == s.path {
			continue // a higher level sets the same path
		}
		out = append(out, Sysctl{Path: s.path, Value: s.v, Level: s.l})
	}
	c.mu.RUnlock()
	for _, d := range defaultSysctls {
		i := 0
		for i < len(out) && out[i].Path < d.Path {
			i++
		}
		if i < len(out) && out[i].Path == d.Path {
			continue // set at some level
		}
		out = append(out, Sysctl{})
		copy(out[i+1:], out[i:])
		out[i] = d
	}
	return out
}
