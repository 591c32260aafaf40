package lxcconf

import "strings"

// AutoProc is the proc part of lxc.mount.auto.
type AutoProc uint8

// Values of AutoProc.
const (
	ProcNone  AutoProc = iota // /proc not mounted by lxc.mount.auto
	ProcMixed                 // "proc" or "proc:mixed": rw, /proc/sys and /proc/sysrq-trigger read-only
	ProcRW                    // "proc:rw"
)

// AutoSys is the sys part of lxc.mount.auto.
type AutoSys uint8

// Values of AutoSys.
const (
	SysNone  AutoSys = iota // /sys not mounted by lxc.mount.auto
	SysMixed                // "sys" or "sys:mixed": read-only, /sys/devices/virtual/net writable
	SysRO                   // "sys:ro"
	SysRW                   // "sys:rw"
)

// CgroupMode is the access part of a cgroup token of lxc.mount.auto.
type CgroupMode uint8

// Values of CgroupMode.
const (
	CgroupNone   CgroupMode = iota // cgroups not mounted by lxc.mount.auto
	CgroupNoSpec                   // "cgroup": mixed without CAP_SYS_ADMIN kept, rw with it
	CgroupMixed                    // ":mixed"
	CgroupRO                       // ":ro"
	CgroupRW                       // ":rw"
)

// AutoCgroup is the cgroup part of lxc.mount.auto.
type AutoCgroup struct {
	Mode  CgroupMode
	Full  bool // "cgroup-full…": the whole hierarchy, not only the container's cgroup
	Force bool // "…:force": mount even when the container keeps CAP_SYS_ADMIN
}

// MountAuto is lxc.mount.auto. Each token sets its own part and replaces
// what an earlier token set for that part; an empty value resets all.
type MountAuto struct {
	Proc              AutoProc
	Sys               AutoSys
	Cgroup            AutoCgroup
	ShmountsHost      string // "shmounts:HOST[:CONTAINER]"
	ShmountsContainer string // CONTAINER, "/dev/.lxc-mounts" when left out
}

// set applies one lxc.mount.auto value.
func (m *MountAuto) set(v string) error {
	if v == "" {
		*m = MountAuto{}
		return nil
	}
	for _, tok := range strings.Fields(v) {
		if err := m.token(tok); err != nil {
			return err
		}
	}
	return nil
}

// token applies one token of lxc.mount.auto.
func (m *MountAuto) token(tok string) error {
	switch tok {
	case "proc", "proc:mixed":
		m.Proc = ProcMixed
	case "proc:rw":
		m.Proc = ProcRW
	case "sys", "sys:mixed":
		m.Sys = SysMixed
	case "sys:ro":
		m.Sys = SysRO
	case "sys:rw":
		m.Sys = SysRW
	default:
		if rest, ok := strings.CutPrefix(tok, "shmounts:"); ok {
			return m.shmounts(rest)
		}
		c, ok := parseAutoCgroup(tok)
		if !ok {
			return badValue("lxc.mount.auto: unknown token %q", tok)
		}
		m.Cgroup = c
	}
	return nil
}

// shmounts reads the HOST[:CONTAINER] of a shmounts token.
func (m *MountAuto) shmounts(v string) error {
	host, cont, _ := strings.Cut(v, ":")
	if host == "" {
		return badValue("lxc.mount.auto: shmounts without a host path")
	}
	if cont == "" {
		cont = "/dev/.lxc-mounts"
	}
	m.ShmountsHost, m.ShmountsContainer = host, cont
	return nil
}

// parseAutoCgroup reads cgroup[-full][:mixed|:ro|:rw][:force].
func parseAutoCgroup(tok string) (AutoCgroup, bool) {
	var c AutoCgroup
	name, opt, hasOpt := strings.Cut(tok, ":")
	if hasOpt && opt == "" {
		return c, false
	}
	switch name {
	case "cgroup":
	case "cgroup-full":
		c.Full = true
	default:
		return c, false
	}
	if opt == "force" {
		c.Force, opt = true, ""
	} else if o, ok := strings.CutSuffix(opt, ":force"); ok {
		if o == "" {
			return c, false
		}
		c.Force, opt = true, o
	}
	switch opt {
	case "":
		c.Mode = CgroupNoSpec
	case "mixed":
		c.Mode = CgroupMixed
	case "ro":
		c.Mode = CgroupRO
	case "rw":
		c.Mode = CgroupRW
	default:
		return c, false
	}
	return c, true
}
