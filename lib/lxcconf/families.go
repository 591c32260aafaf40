package lxcconf

import (
	"strconv"
	"strings"
)

// setCaps applies lxc.cap.keep or lxc.cap.drop: several names a line,
// accumulating; an empty value clears the list. In lxc.cap.keep, "none"
// clears what was kept so far and keeps nothing; LXC ignores it in
// lxc.cap.drop.
func (p *parser) setCaps(at pos, keep bool, v string) error {
	c := p.cfg
	list := &c.CapDrop
	if keep {
		list = &c.CapKeep
	}
	if v == "" {
		*list = nil
		if keep {
			c.CapKeepNone = false
		}
		return nil
	}
	for _, name := range strings.Fields(v) {
		if name == "none" {
			if keep {
				c.CapKeep, c.CapKeepNone = nil, true
			}
			continue
		}
		n, err := CapNumber(name)
		if err != nil {
			return err
		}
		*list = append(*list, n)
	}
	if keep {
		p.capKeepAt = at
	} else {
		p.capDropAt = at
	}
	return nil
}

// setIDMap adds an lxc.idmap "u|g NSID HOSTID RANGE"; empty clears them.
func (p *parser) setIDMap(v string) error {
	f := strings.Fields(v)
	if v == "" {
		p.cfg.IDMaps = nil
		return nil
	}
	if len(f) != 4 || (f[0] != "u" && f[0] != "g") {
		return badValue("idmap %q: want u|g NSID HOSTID RANGE", v)
	}
	m := IDMap{Kind: f[0][0]}
	for i, dst := range []*uint32{&m.NSID, &m.HostID, &m.Range} {
		n, err := strconv.ParseUint(f[i+1], 10, 32)
		if err != nil {
			return badValue("idmap %q: %q is not a number", v, f[i+1])
		}
		*dst = uint32(n)
	}
	p.cfg.IDMaps = append(p.cfg.IDMaps, m)
	return nil
}

// addMount adds an lxc.mount.entry; an empty value clears them.
func (p *parser) addMount(v string) error {
	if v == "" {
		p.cfg.Mounts = nil
		return nil
	}
	m, err := ParseMountEntry(v)
	if err != nil {
		return err
	}
	p.cfg.Mounts = append(p.cfg.Mounts, m)
	return nil
}

// setPath reads lxc.rootfs.path: TYPE:PATH or a plain PATH, with overlay
// paths further split into lower and upper at the last ":/", as LXC's
// overlay driver splits them. Empty clears it.
func (r *Rootfs) setPath(v string) error {
	if len(v) >= pathMax {
		return badValue("longer than %d bytes", pathMax-1)
	}
	n := Rootfs{Path: v, Mount: r.Mount, Options: r.Options}
	if t, rest, ok := strings.Cut(v, ":"); ok {
		n.Type, n.Path = t, rest
	}
	if n.IsOverlay() {
		i := strings.LastIndex(n.Path, ":/")
		if i <= 0 {
			return badValue("rootfs %q: want %s:LOWER:/UPPER", v, n.Type)
		}
		n.Lower, n.Upper = n.Path[:i], n.Path[i+1:]
	}
	*r = n
	return nil
}

// setOptions reads lxc.rootfs.options, where LXC refuses its own mount
// options (create=, optional, relative).
func (r *Rootfs) setOptions(v string) error {
	o := ParseOptions(splitList(v, ","))
	if o.Create != "" || o.Optional || o.Relative {
		return badValue("rootfs options %q: create=, optional and relative are not allowed", v)
	}
	r.Options = v
	return nil
}

// setHook adds a command to lxc.hook.<type>; empty clears that type.
func (p *parser) setHook(at pos, key, typ, v string) error {
	switch typ {
	case "pre-start", "pre-mount", "mount", "autodev", "start", "stop", "post-stop",
		"clone", "destroy", "start-host":
	default:
		p.warn(at, key, ErrUnknownKey)
		return nil
	}
	c := p.cfg
	if v == "" {
		delete(c.Hooks, typ)
		return nil
	}
	if c.Hooks == nil {
		c.Hooks = map[string][]string{}
	}
	c.Hooks[typ] = append(c.Hooks[typ], v)
	return nil
}

// setShare sets lxc.namespace.share.<ns>; empty unsets it.
func (c *Config) setShare(ns, v string) error {
	if _, ok := nsFlag(ns); !ok {
		return badValue("unknown namespace %q", ns)
	}
	if v == "" {
		delete(c.NamespaceShare, ns)
		return nil
	}
	if c.NamespaceShare == nil {
		c.NamespaceShare = map[string]string{}
	}
	c.NamespaceShare[ns] = v
	return nil
}

// setCgroup appends a controller setting; an empty value removes every
// setting of that key.
func setCgroup(list []Setting, key, v string) ([]Setting, error) {
	if key == "" {
		return list, badValue("cgroup key without a name")
	}
	if v != "" {
		return append(list, Setting{key, v}), nil
	}
	out := list[:0]
	for _, s := range list {
		if s.Key != key {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// rawKey tells whether key is an LXC key kept in Config.Raw, and why:
// ErrEnforced for security modules and seccomp, ErrNotApplied for the
// rest; nil for any other key.
func rawKey(key string) error {
	for _, pre := range [...]string{"lxc.apparmor.", "lxc.seccomp.", "lxc.selinux."} {
		if strings.HasPrefix(key, pre) {
			return ErrEnforced
		}
	}
	for _, pre := range [...]string{"lxc.console.", "lxc.prlimit.", "lxc.sysctl.", "lxc.proc."} {
		if strings.HasPrefix(key, pre) {
			return ErrNotApplied
		}
	}
	switch key {
	case "lxc.arch", "lxc.autodev.tmpfs.size", "lxc.cgroup.dir", "lxc.cgroup.dir.container",
		"lxc.cgroup.dir.container.inner", "lxc.cgroup.dir.monitor", "lxc.cgroup.dir.monitor.pivot",
		"lxc.cgroup.relative", "lxc.ephemeral", "lxc.execute.cmd", "lxc.group", "lxc.init.groups",
		"lxc.keyring.session", "lxc.log.syslog", "lxc.monitor.signal.pdeath", "lxc.monitor.unshare",
		"lxc.rootfs.bdev_type", "lxc.rootfs.managed", "lxc.start.auto",
		"lxc.start.delay", "lxc.start.order", "lxc.time.offset.boot", "lxc.time.offset.monotonic",
		"lxc.tty.dir":
		return ErrNotApplied
	}
	return nil
}
