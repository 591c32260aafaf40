package lxcconf

import (
	"slices"
	"strconv"
	"strings"

	"pantavisor/lib/printf"
)

// set applies one key with LXC's semantics. Its errors carry no position;
// line adds it.
func (p *parser) set(at pos, key, v string) error {
	if ok, err := p.setLegacy(at, key, v); ok {
		return err
	}
	err := p.setCurrent(at, key, v)
	if err == nil && v != "" && p.notApplied != nil {
		if why := p.notApplied(key, v); why != nil {
			p.warn(at, key, why)
		}
	}
	return err
}

// setCurrent applies a key under its current name.
func (p *parser) setCurrent(at pos, key, v string) error {
	if ok, err := p.setProcess(at, key, v); ok {
		return err
	}
	if ok, err := p.setStorage(at, key, v); ok {
		return err
	}
	if ok, err := p.setRuntime(key, v); ok {
		return err
	}
	if ok, err := p.setPrefixed(at, key, v); ok {
		return err
	}
	p.warn(at, key, ErrUnknownKey)
	return nil
}

// setProcess handles the init process, its environment and isolation.
func (p *parser) setProcess(at pos, key, v string) (bool, error) {
	c := p.cfg
	var err error
	switch key {
	case "lxc.init.cmd":
		err = setPath(&c.InitCmd, v)
	case "lxc.init.cwd":
		err = setPath(&c.InitCwd, v)
	case "lxc.init.uid":
		err = setUint32(&c.InitUID, v)
	case "lxc.init.gid":
		err = setUint32(&c.InitGID, v)
	case "lxc.environment":
		c.Env = appendOrClear(c.Env, v)
	case "lxc.uts.name":
		if len(v) >= 65 { // the kernel's nodename holds 64 bytes
			return true, badValue("uts name longer than 64 bytes")
		}
		c.UTSName = v
	case "lxc.namespace.keep":
		err = setNamespaces(&c.NamespaceKeep, c.NamespaceClone, v)
	case "lxc.namespace.clone":
		err = setNamespaces(&c.NamespaceClone, c.NamespaceKeep, v)
	case "lxc.idmap":
		err = p.setIDMap(v)
	case "lxc.cap.keep", "lxc.cap.drop":
		err = p.setCaps(at, key == "lxc.cap.keep", v)
	case "lxc.no_new_privs":
		err = setBool01(&c.NoNewPrivs, v)
	default:
		return false, nil
	}
	return true, err
}

// setStorage handles the rootfs, mounts and includes.
func (p *parser) setStorage(at pos, key, v string) (bool, error) {
	c := p.cfg
	var err error
	switch key {
	case "lxc.rootfs.path":
		err = c.Rootfs.setPath(v)
	case "lxc.rootfs.mount":
		err = setPath(&c.Rootfs.Mount, v)
	case "lxc.rootfs.options":
		err = c.Rootfs.setOptions(v)
	case "lxc.mount.auto":
		err = c.MountAuto.set(v)
	case "lxc.mount.entry":
		err = p.addMount(v)
	case "lxc.mount.fstab":
		c.Fstab = ""
		if v == "" {
			return true, badValue("empty lxc.mount.fstab (LXC refuses it)")
		}
		c.Fstab, p.fstabAt = resolve(at.file, v), at
	case "lxc.autodev":
		err = setBool01(&c.Autodev, v)
	case "lxc.include":
		err = p.include(at, v)
	default:
		return false, nil
	}
	return true, err
}

// setRuntime handles terminals, logs, signals, hooks and the clearing
// forms of the list families.
func (p *parser) setRuntime(key, v string) (bool, error) {
	c := p.cfg
	var err error
	switch key {
	case "lxc.tty.max":
		err = setUint32(&c.TTYMax, v)
	case "lxc.pty.max":
		err = setUint32(&c.PTYMax, v)
	case "lxc.console.path":
		err = setPath(&c.ConsolePath, v)
	case "lxc.console.logfile":
		err = setPath(&c.ConsoleLogfile, v)
	case "lxc.log.level":
		err = c.setLogLevel(v)
	case "lxc.log.file":
		err = setPath(&c.LogFile, v)
	case "lxc.signal.halt":
		err = setSignal(&c.SignalHalt, v)
	case "lxc.signal.reboot":
		err = setSignal(&c.SignalReboot, v)
	case "lxc.signal.stop":
		err = setSignal(&c.SignalStop, v)
	case "lxc.hook.version":
		var b bool
		err = setBool01(&b, v)
		c.HookVersion = 0
		if b {
			c.HookVersion = 1
		}
	case "lxc.hook", "lxc.net", "lxc.cgroup", "lxc.cgroup2":
		err = c.clearFamily(key, v)
	default:
		return false, nil
	}
	return true, err
}

// clearFamily handles a family's bare key, which LXC accepts only empty,
// to clear the whole family.
func (c *Config) clearFamily(key, v string) error {
	if v != "" {
		return badValue("%s takes no value; an empty one clears it", key)
	}
	switch key {
	case "lxc.hook":
		c.Hooks = nil
	case "lxc.net":
		c.Net = nil
	case "lxc.cgroup":
		c.Cgroup = nil
	case "lxc.cgroup2":
		c.Cgroup2 = nil
	}
	return nil
}

// setPrefixed handles the keys that carry a sub-key, and the keys kept raw.
func (p *parser) setPrefixed(at pos, key, v string) (bool, error) {
	c := p.cfg
	if why := rawKey(key); why != nil {
		c.Raw = append(c.Raw, Setting{key, v})
		p.warn(at, key, why)
		return true, nil
	}
	var err error
	if sub, ok := strings.CutPrefix(key, "lxc.hook."); ok {
		err = p.setHook(at, key, sub, v)
	} else if sub, ok := strings.CutPrefix(key, "lxc.namespace.share."); ok {
		err = c.setShare(sub, v)
	} else if sub, ok := strings.CutPrefix(key, "lxc.cgroup2."); ok {
		c.Cgroup2, err = setCgroup(c.Cgroup2, sub, v)
	} else if sub, ok := strings.CutPrefix(key, "lxc.cgroup."); ok {
		c.Cgroup, err = setCgroup(c.Cgroup, sub, v)
	} else if sub, ok := strings.CutPrefix(key, "lxc.net."); ok {
		err = p.setNet(at, key, sub, v)
	} else {
		return false, nil
	}
	return true, err
}

// setPath sets a path-like string; LXC refuses PATH_MAX and longer.
func setPath(dst *string, v string) error {
	if len(v) >= pathMax {
		return badValue("longer than %d bytes", pathMax-1)
	}
	*dst = v
	return nil
}

// setUint32 sets an unsigned number as LXC's lxc_safe_uint reads it
// (strtoul base 0); empty means 0.
func setUint32(dst *uint32, v string) error {
	n, err := strconv.ParseUint(v, 0, 32)
	if v == "" {
		n, err = 0, nil
	}
	if err != nil {
		return badValue("want an unsigned number, got %q", v)
	}
	*dst = uint32(n)
	return nil
}

// setBool01 sets a 0/1 switch; empty means 0, as LXC clears it.
func setBool01(dst *bool, v string) error {
	var n uint32
	if err := setUint32(&n, v); err != nil || n > 1 {
		return badValue("want 0 or 1, got %q", v)
	}
	*dst = n == 1
	return nil
}

// setSignal sets a signal; empty means 0 (LXC's default applies).
func setSignal(dst *int, v string) error {
	if v == "" {
		*dst = 0
		return nil
	}
	n, err := ParseSignal(v)
	if err != nil {
		return err
	}
	*dst = n
	return nil
}

// appendOrClear appends v to a list key, or clears it when v is empty.
func appendOrClear(list []string, v string) []string {
	if v == "" {
		return nil
	}
	return append(list, v)
}

// logLevels are LXC's priority names, indexed by their number.
var logLevels = [...]string{"TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "CRIT", "ALERT", "FATAL"}

// setLogLevel reads a level number or name (any case); empty unsets it.
func (c *Config) setLogLevel(v string) error {
	lvl := strings.ToUpper(v)
	if v != "" && v[0] >= '0' && v[0] <= '9' {
		n, err := strconv.ParseUint(v, 0, 8)
		if err != nil || n >= uint64(len(logLevels)) {
			return badValue("log level %q", v)
		}
		lvl = logLevels[n]
	}
	if v != "" && !slices.Contains(logLevels[:], lvl) {
		return badValue("log level %q", v)
	}
	c.LogLevel = lvl
	return nil
}

// setNamespaces ORs named namespaces into *dst (LXC accumulates), or
// clears it on an empty value. LXC refuses keep and clone together.
func setNamespaces(dst *uintptr, other uintptr, v string) error {
	if v == "" {
		*dst = 0
		return nil
	}
	if other != 0 {
		return printf.Errorf("%w: lxc.namespace.keep with lxc.namespace.clone (LXC accepts only one)", ErrConflict)
	}
	f, err := parseNamespaces(v)
	*dst |= f
	return err
}
