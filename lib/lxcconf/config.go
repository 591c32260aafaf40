package lxcconf

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
)

// Config is one container's configuration after includes, with LXC's rules
// for repeated keys applied. The zero value is an empty configuration; Parse
// starts from New.
type Config struct {
	Rootfs Rootfs

	InitCmd string   // lxc.init.cmd as written; InitArgv splits it
	InitCwd string   // lxc.init.cwd
	InitUID uint32   // lxc.init.uid
	InitGID uint32   // lxc.init.gid
	Env     []string // lxc.environment in order: KEY=VALUE, or KEY to inherit (Environ)
	UTSName string   // lxc.uts.name

	NamespaceKeep  uintptr           // CLONE_NEW* flags named by lxc.namespace.keep
	NamespaceClone uintptr           // CLONE_NEW* flags named by lxc.namespace.clone
	NamespaceShare map[string]string // lxc.namespace.share.<ns>: ns name → value
	IDMaps         []IDMap           // lxc.idmap

	MountAuto   MountAuto
	Mounts      []MountEntry // lxc.mount.entry in order
	Fstab       string       // lxc.mount.fstab, resolved against the setting file's directory
	FstabMounts []MountEntry // the entries of Fstab; LXC mounts them before Mounts

	CapKeep     []int // lxc.cap.keep as capability numbers, in order
	CapKeepNone bool  // "none" seen in lxc.cap.keep: keep mode even with CapKeep empty
	CapDrop     []int // lxc.cap.drop as capability numbers, in order
	NoNewPrivs  bool  // lxc.no_new_privs: PR_SET_NO_NEW_PRIVS before the init's exec

	Cgroup  []Setting // lxc.cgroup.<key>: Key without the "lxc.cgroup." prefix, in order
	Cgroup2 []Setting // lxc.cgroup2.<key>, likewise

	TTYMax         uint32 // lxc.tty.max
	PTYMax         uint32 // lxc.pty.max
	ConsolePath    string // lxc.console.path
	ConsoleLogfile string // lxc.console.logfile
	Autodev        bool   // lxc.autodev; LXC's default (New) is true

	Hooks       map[string][]string // lxc.hook.<type> → commands in order
	HookVersion uint8               // lxc.hook.version, 0 or 1

	Net []NetDev // lxc.net.<n>.*, sorted by Index

	LogLevel string // lxc.log.level as a name: TRACE … FATAL; "" unset
	LogFile  string // lxc.log.file

	SignalHalt, SignalReboot, SignalStop int // lxc.signal.*; 0 means LXC's default

	Raw []Setting // LXC keys this package knows but does not model, full key, in order
}

// Setting is one key and value kept as written.
type Setting struct{ Key, Value string }

// IDMap is one lxc.idmap line: "u|g NSID HOSTID RANGE".
type IDMap struct {
	Kind                byte // 'u' or 'g'
	NSID, HostID, Range uint32
}

// Rootfs is lxc.rootfs.path split the way LXC's storage drivers read it,
// plus lxc.rootfs.mount and lxc.rootfs.options.
type Rootfs struct {
	Type    string // text before the first ':' (overlayfs, overlay, dir, …); "" for a plain path
	Path    string // the rest: a directory, or LOWER:UPPER for overlay types
	Lower   string // overlay: Path before its last ":/" (may hold several lowers joined by ':')
	Upper   string // overlay: Path after its last ":/"
	Mount   string // lxc.rootfs.mount
	Options string // lxc.rootfs.options as written
}

// IsOverlay reports whether the rootfs uses LXC's overlay storage driver.
func (r *Rootfs) IsOverlay() bool { return r.Type == "overlayfs" || r.Type == "overlay" }

// LowerDirs returns the overlay lower directories, top first, as
// overlayfs's lowerdir= lists them.
func (r *Rootfs) LowerDirs() []string {
	if r.Lower == "" {
		return nil
	}
	return strings.Split(r.Lower, ":")
}

// WorkDir returns the overlay work directory LXC uses: "work" next to Upper.
func (r *Rootfs) WorkDir() string {
	if r.Upper == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(r.Upper), "work")
}

// New returns a configuration holding LXC's defaults (lxc.autodev = 1).
func New() *Config { return &Config{Autodev: true} }

// InitArgv returns lxc.init.cmd split into argv the way Pantavisor's LXC
// does (SplitCommand); nil when unset, where LXC starts /sbin/init.
func (c *Config) InitArgv() []string { return SplitCommand(c.InitCmd) }

// Environ returns lxc.environment as KEY=VALUE strings. A bare KEY inherits
// the launcher's value through lookup (nil: os.LookupEnv); an unset one is
// an error wrapping ErrNoEnv, as LXC refuses it.
func (c *Config) Environ(lookup func(string) (string, bool)) ([]string, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	out := make([]string, 0, len(c.Env))
	for _, e := range c.Env {
		if strings.Contains(e, "=") {
			out = append(out, e)
			continue
		}
		v, ok := lookup(e)
		if !ok {
			return nil, printf.Errorf("lxc.environment %s: %w", e, ErrNoEnv)
		}
		out = append(out, e+"="+v)
	}
	return out, nil
}

// cloneable are the namespaces LXC considers when lxc.namespace.keep is set.
const cloneable = unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUSER

// CloneFlags returns the CLONE_NEW* flags for the container's init, as
// LXC's resolve_clone_flags decides:
//  1. lxc.namespace.keep set: every namespace of mnt, pid, uts, ipc, net,
//     cgroup and user that is not kept (so user is cloned unless kept);
//  2. else lxc.namespace.clone set: exactly those;
//  3. else mnt, pid, uts, ipc, net and cgroup, plus user when lxc.idmap is
//     set, minus net when every lxc.net.<n>.type is "none";
//
// and finally minus every namespace named by lxc.namespace.share.<ns>. The
// caller drops cgroup when the kernel lacks cgroup namespaces, as LXC does.
func (c *Config) CloneFlags() uintptr {
	var f uintptr
	switch {
	case c.NamespaceKeep != 0:
		f = cloneable &^ c.NamespaceKeep
	case c.NamespaceClone != 0:
		f = c.NamespaceClone
	default:
		f = cloneable &^ unix.CLONE_NEWUSER
		if len(c.IDMaps) > 0 {
			f |= unix.CLONE_NEWUSER
		}
		if c.hostNet() {
			f &^= unix.CLONE_NEWNET
		}
	}
	for name := range c.NamespaceShare {
		flag, _ := nsFlag(name)
		f &^= flag
	}
	return f
}

// hostNet reports LXC's "empty network request": at least one lxc.net and
// all of them of type none.
func (c *Config) hostNet() bool {
	for _, n := range c.Net {
		if n.Type != "none" {
			return false
		}
	}
	return len(c.Net) > 0
}

// Capabilities returns, sorted and without duplicates, the capabilities
// from 0 to lastCap (the running kernel's CAP_LAST_CAP) that stay in the
// bounding set: exactly lxc.cap.keep in keep mode, else all but
// lxc.cap.drop. Parse refuses a configuration that sets both, as LXC does.
func (c *Config) Capabilities(lastCap int) []int {
	keep := c.CapKeepNone || len(c.CapKeep) > 0
	var out []int
	for n := 0; n <= lastCap; n++ {
		in := !slices.Contains(c.CapDrop, n)
		if keep {
			in = slices.Contains(c.CapKeep, n)
		}
		if in {
			out = append(out, n)
		}
	}
	return out
}

// AllMounts returns the mount entries in LXC's order: lxc.mount.fstab's
// entries first, then lxc.mount.entry.
func (c *Config) AllMounts() []MountEntry {
	return append(slices.Clip(c.FstabMounts), c.Mounts...)
}

// HaltSignal returns lxc.signal.halt, or SIGPWR, LXC's default.
func (c *Config) HaltSignal() int { return orDefault(c.SignalHalt, int(unix.SIGPWR)) }

// StopSignal returns lxc.signal.stop, or SIGKILL, LXC's default.
func (c *Config) StopSignal() int { return orDefault(c.SignalStop, int(unix.SIGKILL)) }

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
