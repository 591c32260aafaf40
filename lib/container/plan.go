package container

import (
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"pantavisor/lib/cgroup"
	"pantavisor/lib/config"
	"pantavisor/lib/lxcconf"
	"pantavisor/lib/printf"
)

// Host is the device around a container: host paths the plan refers to.
// Zero fields take the upstream defaults.
type Host struct {
	VolumesDir    string        // PV_DISK_VOLDIR: where /volumes of the configs really is; "/volumes"
	RunDir        string        // PV_SYSTEM_RUNDIR: bound at /pantavisor; "/run/pantavisor/pv"
	ConfigsDir    string        // PV_SYSTEM_CONFDIR: _config overlay copies; "/configs"
	LogDir        string        // this container's log directory, bound at /pantavisor/logs for non-mgmt
	KernelRelease string        // for the /lib/modules/<release> bind
	DevLog        bool          // bind /dev/log: PV_LOG_AUTO_DEVLOG, overridden per container by run.json dev-log
	DevLogSocket  string        // what DevLog binds at the container's /dev/log; "/dev/log" (the log server's link to pv-ctrl-log)
	Cgroups       cgroup.Layout // the host's hierarchies, mirrored for lxc.mount.auto cgroup
}

// Volumes is VolumesDir or its default.
func (h *Host) Volumes() string { return cmp.Or(h.VolumesDir, "/volumes") }

// Run is RunDir or its default.
func (h *Host) Run() string { return cmp.Or(h.RunDir, config.DefaultRunDir) }

// DevLogSource is DevLogSocket or its default, /dev/log.
func (h *Host) DevLogSource() string { return cmp.Or(h.DevLogSocket, "/dev/log") }

// Configs is ConfigsDir or its default.
func (h *Host) Configs() string { return cmp.Or(h.ConfigsDir, "/configs") }

// Request names the container and what the state says about it.
type Request struct {
	Name      string
	Group     string
	Mgmt      bool   // role mgmt: the whole run dir at /pantavisor
	AutoModFW bool   // bind /lib/firmware and /lib/modules/<release>
	Root      string // empty directory where the rootfs is assembled
	Config    *lxcconf.Config
}

// Plan is a resolved launch: the stage's Spec and what the parent applies.
type Plan struct {
	Spec       *Spec
	Cloneflags uintptr
	// UIDMappings and GIDMappings are lxc.idmap when the container has its
	// own user namespace (for Options.UIDMappings, Options.GIDMappings).
	UIDMappings, GIDMappings []syscall.SysProcIDMap
	Cgroup                   []cgroup.Setting
	HaltSignal               unix.Signal
}

// ErrUnsupported is a config feature the launcher does not implement.
var ErrUnsupported = errors.New("not supported")

// NewPlan resolves a container's LXC config against the host. Paths under
// /volumes in the config are moved to h.VolumesDir.
func NewPlan(r Request, h Host) (*Plan, error) {
	c := r.Config
	flags := c.CloneFlags()
	spec := &Spec{Name: r.Name, Root: r.Root, Autodev: c.Autodev, UID: int(c.InitUID), GID: int(c.InitGID),
		Cwd: c.InitCwd, Args: c.InitArgv(), Caps: c.Capabilities(lastCap()), NoNewPrivs: c.NoNewPrivs}
	if len(spec.Args) == 0 {
		spec.Args = []string{"/sbin/init"}
	}
	if flags&unix.CLONE_NEWUTS != 0 {
		spec.Hostname = cmp.Or(c.UTSName, r.Name)
	}
	if err := planRootfs(spec, r, h); err != nil {
		return nil, err
	}
	env, err := c.Environ(func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, printf.Errorf("%s: %w", r.Name, err)
	}
	if r.Group != "" {
		env = append([]string{"container=pv-" + r.Group}, env...)
	}
	spec.Env = env
	spec.Mounts = autoMounts(c.MountAuto, h.Cgroups, r.Root)
	entries, err := entryMounts(c.AllMounts(), h)
	if err != nil {
		return nil, printf.Errorf("%s: %w", r.Name, err)
	}
	spec.Mounts = append(spec.Mounts, entries...)
	spec.Mounts = append(spec.Mounts, pantavisorMounts(r, h)...)
	p := &Plan{Spec: spec, Cloneflags: flags, HaltSignal: unix.SIGTERM}
	if flags&unix.CLONE_NEWUSER != 0 {
		if err := p.setIDMaps(c.IDMaps); err != nil {
			return nil, printf.Errorf("%s: %w", r.Name, err)
		}
	}
	if c.SignalHalt != 0 {
		p.HaltSignal = unix.Signal(c.SignalHalt)
	}
	p.Cgroup = cgroupSettings(c)
	return p, nil
}

// relocate moves a config path under /volumes to the host's volumes dir.
func (h *Host) relocate(p string) string {
	if rest, ok := strings.CutPrefix(p, "/volumes/"); ok {
		return filepath.Join(h.Volumes(), rest)
	}
	return p
}

// planRootfs sets the overlay (or bind) layers, with the _config copy of
// the container, when there is one, as the top lower layer (upstream).
func planRootfs(spec *Spec, r Request, h Host) error {
	rf := r.Config.Rootfs
	if rf.Path == "" {
		return printf.Errorf("%s: lxc.rootfs.path is not set", r.Name)
	}
	if !rf.IsOverlay() {
		if rf.Type != "" && rf.Type != "dir" {
			return printf.Errorf("%s: rootfs type %q: %w", r.Name, rf.Type, ErrUnsupported)
		}
		spec.Lower = []string{h.relocate(rf.Path)}
		return nil
	}
	if cfg := filepath.Join(h.Configs(), r.Name); isDir(cfg) {
		spec.Lower = append(spec.Lower, cfg)
	}
	for _, l := range rf.LowerDirs() {
		spec.Lower = append(spec.Lower, h.relocate(l))
	}
	spec.Upper = h.relocate(rf.Upper)
	spec.Work = h.relocate(rf.WorkDir())
	return nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

const (
	nsd     = unix.MS_NOSUID | unix.MS_NODEV
	nsdExec = nsd | unix.MS_NOEXEC
)

// autoMounts expands lxc.mount.auto: proc, sys and the cgroup tree (a
// tmpfs with the host's hierarchies; in a cgroup namespace each shows the
// container's own cgroup as its root).
func autoMounts(a lxcconf.MountAuto, l cgroup.Layout, root string) []Mount {
	var out []Mount
	if a.Proc != lxcconf.ProcNone {
		out = append(out, Mount{Source: "proc", Target: "proc", FSType: "proc", Flags: nsdExec, Create: "dir"})
		if a.Proc == lxcconf.ProcMixed {
			out = append(out,
				Mount{Source: filepath.Join(root, "proc/sys"), Target: "proc/sys", Flags: unix.MS_BIND | unix.MS_RDONLY | nsdExec},
				Mount{Source: filepath.Join(root, "proc/sysrq-trigger"), Target: "proc/sysrq-trigger", Flags: unix.MS_BIND | unix.MS_RDONLY | nsdExec, Optional: true})
		}
	}
	if a.Sys != lxcconf.SysNone {
		flags := uintptr(nsdExec)
		if a.Sys != lxcconf.SysRW {
			flags |= unix.MS_RDONLY
		}
		out = append(out, Mount{Source: "sysfs", Target: "sys", FSType: "sysfs", Flags: flags, Create: "dir"})
	}
	if a.Cgroup.Mode != 0 {
		out = append(out, cgroupMounts(l)...)
	}
	return out
}

func cgroupMounts(l cgroup.Layout) []Mount {
	out := []Mount{{Source: "cgroup", Target: "sys/fs/cgroup", FSType: "tmpfs", Flags: nsdExec, Data: "mode=755", Optional: true}}
	for _, h := range l.V1 {
		opts := strings.Join(h.Controllers, ",")
		if h.Name != "" {
			opts = "none,name=" + h.Name
		}
		out = append(out, Mount{Source: "cgroup", Target: "sys/fs/cgroup/" + filepath.Base(h.Path), FSType: "cgroup",
			Flags: nsdExec, Data: opts, Create: "dir", Optional: true})
	}
	if l.Unified != "" {
		target := "sys/fs/cgroup/unified"
		if len(l.V1) == 0 {
			target = "sys/fs/cgroup"
			out = out[:0]
		}
		out = append(out, Mount{Source: "cgroup2", Target: target, FSType: "cgroup2", Flags: nsdExec, Create: "dir", Optional: true})
	}
	return out
}

// entryMounts turns lxc.mount.fstab and lxc.mount.entry into mounts.
func entryMounts(entries []lxcconf.MountEntry, h Host) ([]Mount, error) {
	var out []Mount
	for _, e := range entries {
		o := e.Opts()
		if o.Relative || o.IDMap != "" {
			return nil, printf.Errorf("mount entry %s %s: relative and idmap mounts: %w", e.Source, e.Target, ErrUnsupported)
		}
		src := h.relocate(e.Source)
		if o.OriginMkdir && filepath.IsAbs(src) {
			if err := os.MkdirAll(src, 0o755); err != nil {
				return nil, err
			}
		}
		out = append(out, Mount{Source: src, Target: strings.TrimPrefix(e.Target, "/"), FSType: e.FSType,
			Flags: o.Flags, Data: o.Data, Create: o.Create, Optional: o.Optional})
	}
	return out, nil
}

// pantavisorMounts are what upstream injects: /pantavisor per role (mgmt
// sees the whole run dir, others only the control sockets and their own
// logs), the kernel's modules and firmware, and /dev/log.
func pantavisorMounts(r Request, h Host) []Mount {
	run := h.Run()
	ro := uintptr(unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY)
	var out []Mount
	if r.Mgmt {
		out = append(out, Mount{Source: run, Target: "pantavisor", Flags: ro, Create: "dir"})
	} else {
		out = append(out,
			Mount{Source: "pantavisor", Target: "pantavisor", FSType: "tmpfs", Flags: nsdExec, Data: "mode=755", Create: "dir"},
			Mount{Source: filepath.Join(run, "pv-ctrl"), Target: "pantavisor/pv-ctrl", Flags: unix.MS_BIND, Create: "file", Optional: true},
			Mount{Source: filepath.Join(run, "pv-ctrl-log"), Target: "pantavisor/pv-ctrl-log", Flags: unix.MS_BIND, Create: "file", Optional: true},
			Mount{Source: filepath.Join(run, "bin"), Target: "pantavisor/bin", Flags: ro, Create: "dir", Optional: true})
		if h.LogDir != "" {
			out = append(out, Mount{Source: h.LogDir, Target: "pantavisor/logs", Flags: ro, Create: "dir", Optional: true})
		}
	}
	if r.AutoModFW {
		out = append(out, Mount{Source: "/lib/firmware", Target: "lib/firmware", Flags: ro, Create: "dir", Optional: true})
		if h.KernelRelease != "" {
			mod := "/lib/modules/" + h.KernelRelease
			out = append(out, Mount{Source: mod, Target: strings.TrimPrefix(mod, "/"), Flags: ro, Create: "dir", Optional: true})
		}
	}
	if h.DevLog {
		out = append(out, Mount{Source: h.DevLogSource(), Target: "dev/log", Flags: unix.MS_BIND, Create: "file", Optional: true})
	}
	return out
}

// cgroupSettings collects lxc.cgroup.* (v1) and lxc.cgroup2.* limits.
func cgroupSettings(c *lxcconf.Config) []cgroup.Setting {
	var out []cgroup.Setting
	for _, s := range c.Cgroup {
		if cs, ok := cgroup.ParseSetting("lxc.cgroup."+s.Key, s.Value); ok {
			out = append(out, cs)
		}
	}
	for _, s := range c.Cgroup2 {
		if cs, ok := cgroup.ParseSetting("lxc.cgroup2."+s.Key, s.Value); ok {
			out = append(out, cs)
		}
	}
	return out
}
