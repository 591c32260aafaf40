// Package launch runs one container of a revision end to end: volumes,
// the _config overlay copy, its cgroup, the LXC config resolved into a
// launch plan, the start, and on stop the cleanup of all of it.
package launch

import (
	"cmp"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/cgroup"
	"pantavisor/lib/container"
	"pantavisor/lib/lxcconf"
	"pantavisor/lib/mount"
	"pantavisor/lib/netpool"
	"pantavisor/lib/printf"
	"pantavisor/lib/state"
	"pantavisor/lib/storage"
	"pantavisor/lib/volume"
)

// Options are the host side of a launch. Zero values take defaults.
type Options struct {
	Host         container.Host
	StateDir     string    // where rootfs mount points are made; "/run/pantavisor/containers"
	CgroupParent string    // cgroups live at <hierarchy>/<parent>/<name>
	Console      io.Writer // also receives the console
	// ConsoleLog, when set, receives a container's console instead of the
	// file <LogDir>/lxc/console.log (the device passes its log server,
	// whose rotation cap bounds what a chatty container can write).
	ConsoleLog func(container string) io.Writer
	Stage      container.Options
	Exe        string // the binary exposed at /pantavisor/bin; os.Executable() by default
	// Applets are the names linked to Exe in /pantavisor/bin (the device
	// passes lib/multicall's); nil: Exe is asked (Exe --list), one more
	// process start before the first container.
	Applets []string
	// Shared, when set, keeps the loop mounts of the revision's images
	// between starts (NewShared makes one; its owner retires it when the
	// revision stops or is replaced); nil: each start mounts its own.
	Shared *volume.Shared
	// Ahead, when set, holds the stages Revision.Prepare spawned ahead of
	// their starts (its owner closes it when the revision stops or is
	// replaced); nil: each start spawns its container's stage.
	Ahead *Ahead
	// Networks gives containers the networks their run.json or LXC
	// config ask for (lib/netpool); nil: containers on pools are refused
	// and lxc.net links are not made.
	Networks Networks
	// Disks sets up the device.json disks storage volumes live on
	// (volume.Set.Disks); nil: none.
	Disks volume.Disks
}

// Networks plans a container's network: its interfaces, the links to
// make before its stage runs, and warnings about what is not honoured.
type Networks interface {
	Plan(c *state.Container, cfg *lxcconf.Config) (netpool.Plan, []string, error)
	// Owns is Plan's Own, leasing and linking nothing (for Prepare).
	Owns(c *state.Container, cfg *lxcconf.Config) bool
}

// errNoNetworks: a container on a pool started without the device's networks.
var errNoNetworks = errors.New("network pools are not available here")

// host is o.Host with the cgroup layout looked up when not given.
func (o *Options) host() container.Host {
	h := o.Host
	if h.Cgroups.Mode == 0 {
		m := cgroup.Manager{Parent: o.CgroupParent}
		h.Cgroups, _ = m.Layout()
	}
	return h
}

func (o *Options) stateDir() string { return cmp.Or(o.StateDir, "/run/pantavisor/containers") }

// rootfs is where container name's rootfs is assembled.
func (o *Options) rootfs(name string) string { return filepath.Join(o.stateDir(), name, "rootfs") }

// sharedDir holds the mounts of the Shareds (beside the state dir, whose
// entries are container names).
func (o *Options) sharedDir() string { return o.stateDir() + "-objects" }

// MountDirs are the directories below which launches mount: volumes,
// rootfs mount points, shared image mounts, _config copies and the run
// dir.
func (o *Options) MountDirs() []string {
	return []string{o.Host.Volumes(), o.stateDir(), o.sharedDir(), o.Host.Configs(), o.Host.Run()}
}

// NewShared returns an empty Shared for the containers of revision rev,
// mounting in "<StateDir>-objects/<rev>". Set it as Options.Shared for
// their starts and Retire it when the revision stops or is replaced.
func (o *Options) NewShared(rev string) *volume.Shared {
	return &volume.Shared{Dir: filepath.Join(o.sharedDir(), rev)}
}

// Instance is a running container and everything to undo after it.
type Instance struct {
	Name    string
	proc    *container.Process
	plan    *container.Plan
	group   *cgroup.Group
	vols    *volume.Mounted
	undo    []func() error
	log     *os.File
	closed  chan struct{} // mount-only instances: closed by Close
	Warning []string      // what the launch could not honour (logged, not fatal)
	net     netpool.Plan
	host    string // run.json network hostname; "" = the LXC config's
}

// planNetwork asks the device's networks for container c's interfaces.
func (in *Instance) planNetwork(c *state.Container, cfg *lxcconf.Config, o Options) error {
	if o.Networks == nil {
		if c.Network != nil && c.Network.Mode == "pool" {
			return errNoNetworks
		}
		return nil
	}
	p, warns, err := o.Networks.Plan(c, cfg)
	if err != nil {
		return err
	}
	in.net = p
	in.Warning = append(in.Warning, warns...)
	in.host = hostname(c)
	return nil
}

// hostname is the hostname container c's run.json network gives; "" =
// the LXC config's.
func hostname(c *state.Container) string {
	if c.Network == nil {
		return ""
	}
	return c.Network.Hostname
}

// applyNetwork puts the planned network in the launch plan: its own
// network namespace (upstream drops net from lxc.namespace.keep for a
// container on a pool), the interfaces the stage configures, and the
// hostname run.json gives.
func (in *Instance) applyNetwork() {
	if in.net.Own {
		in.plan.Cloneflags |= unix.CLONE_NEWNET
	}
	in.plan.Spec.Net = in.net.Ifaces
	if in.host != "" {
		in.plan.Cloneflags |= unix.CLONE_NEWUTS
		in.plan.Spec.Hostname = in.host
	}
}

// Revision is an installed revision whose containers are launched; its
// state is parsed once, not at every start.
type Revision struct {
	Storage *storage.Storage
	Rev     string
	State   *state.State
}

// OpenRevision reads and parses installed revision rev.
func OpenRevision(st *storage.Storage, rev string, o Options) (*Revision, error) {
	data, err := st.StateJSON(rev)
	if err != nil {
		return nil, err
	}
	s, err := state.Parse(data, state.Options{KernelRelease: o.Host.KernelRelease})
	if err != nil {
		return nil, err
	}
	return &Revision{Storage: st, Rev: rev, State: s}, nil
}

// StartRevision starts container name of installed revision rev.
func StartRevision(st *storage.Storage, rev, name string, o Options) (*Instance, error) {
	r, err := OpenRevision(st, rev, o)
	if err != nil {
		return nil, err
	}
	return r.Start(name, o)
}

// MountRevision only mounts the volumes of container name of revision rev.
func MountRevision(st *storage.Storage, rev, name string, o Options) (*Instance, error) {
	r, err := OpenRevision(st, rev, o)
	if err != nil {
		return nil, err
	}
	return r.Mount(name, o)
}

// Start starts container name of the revision.
func (r *Revision) Start(name string, o Options) (*Instance, error) {
	c, set, err := r.volumes(name, o)
	if err != nil {
		return nil, err
	}
	cfg, warns, err := r.config(c)
	if err != nil {
		return nil, err
	}
	in := &Instance{Name: name}
	for _, w := range warns {
		in.Warning = append(in.Warning, w.Error())
	}
	if err := in.planNetwork(c, cfg, o); err != nil {
		return nil, printf.Errorf("starting %s: %w", name, err)
	}
	if o.Host.LogDir == "" {
		o.Host.LogDir = filepath.Join(r.Storage.Root, "logs", r.Rev, name)
	}
	if c.DevLog != nil { // run.json "dev-log" overrides PV_LOG_AUTO_DEVLOG
		o.Host.DevLog = *c.DevLog
	}
	return in.start(request(c, cfg, o), set, filepath.Join(r.Storage.TrailPath(r.Rev), "_config", name), o)
}

// config loads container c's LXC config.
func (r *Revision) config(c *state.Container) (*lxcconf.Config, []lxcconf.Warning, error) {
	if c.Config == "" {
		return nil, nil, printf.Errorf("container %s has no LXC config (a data-only container)", c.Name)
	}
	return lxcconf.Options{NotApplied: container.NotApplied}.Load(filepath.Join(r.Storage.TrailPath(r.Rev), c.Dir, c.Config))
}

// request is what the plan of container c (LXC config cfg) starts from.
func request(c *state.Container, cfg *lxcconf.Config, o Options) container.Request {
	return container.Request{Name: c.Name, Group: c.Group, Mgmt: c.Mgmt, AutoModFW: c.AutoModFW, Config: cfg,
		Root: o.rootfs(c.Name)}
}

// Mount only mounts the volumes of container name (status goal MOUNTED:
// a data container). The Instance's Wait blocks until Close.
func (r *Revision) Mount(name string, o Options) (*Instance, error) {
	_, set, err := r.volumes(name, o)
	if err != nil {
		return nil, err
	}
	vols, err := volume.Mount(set)
	if err != nil {
		return nil, err
	}
	return &Instance{Name: name, vols: vols, Warning: vols.Warnings, closed: make(chan struct{})}, nil
}

// container finds container name in the revision.
func (r *Revision) container(name string) (*state.Container, error) {
	c := r.State.Container(name)
	if c == nil {
		return nil, printf.Errorf("revision %s has no container %q", r.Rev, name)
	}
	return c, nil
}

// volumes finds container name in the revision and its volumes.
func (r *Revision) volumes(name string, o Options) (*state.Container, volume.Set, error) {
	c, err := r.container(name)
	if err != nil {
		return nil, volume.Set{}, err
	}
	images := c.Volumes
	if c.RootVolume != "" {
		root := c.RootVolume
		if c.RootHandler != "" {
			root = c.RootHandler + ":" + root
		}
		images = append([]string{root}, images...)
	}
	st := r.Storage
	return c, volume.Set{Container: name, ImageDir: filepath.Join(st.TrailPath(r.Rev), c.Dir), Images: images,
		Storage: c.Storage, Dir: filepath.Join(o.Host.Volumes(), name), Shared: o.Shared, Disks: o.Disks, Revision: r.Rev,
		Perm: st.VolumePath("permanent", r.Rev, name, ""), Rev: st.VolumePath("revision", r.Rev, name, "")}, nil
}

// start runs the launch steps, undoing the done ones on failure.
func (in *Instance) start(req container.Request, set volume.Set, configSrc string, o Options) (*Instance, error) {
	err := in.steps(req, set, configSrc, o)
	if err != nil {
		_ = in.Close() // undo what was done; the step's error is the one to report
		return nil, printf.Errorf("starting %s: %w", req.Name, err)
	}
	return in, nil
}

// steps: copy the container's config overlay (the plan layers it when
// present), plan the container, spawn its stage (whose runtime starts
// while the rest is prepared), mount its volumes, prepare the run dir,
// make its rootfs and overlay dirs (owned by its root when it has a user
// namespace), make its cgroup, and start the stage.
func (in *Instance) steps(req container.Request, set volume.Set, configSrc string, o Options) error {
	if err := in.copyConfig(configSrc, filepath.Join(o.Host.Configs(), req.Name)); err != nil {
		return err
	}
	root := req.Root
	opts, err := in.planStage(req, o)
	if err != nil {
		return err
	}
	stage, err := o.Ahead.take(req.Name, opts)
	if err != nil {
		return err
	}
	defer stage.Close() // a no-op once started
	vols, err := volume.Mount(set)
	if err != nil {
		return err
	}
	in.vols = vols
	in.Warning = append(in.Warning, vols.Warnings...)
	if err := in.prepareRunDir(o.Host.Run(), o.Exe, o.Applets); err != nil {
		return printf.Errorf("preparing the run dir: %w", err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	in.undo = append(in.undo, func() error { return os.RemoveAll(filepath.Dir(root)) })
	if err := in.mkOverlayDirs(); err != nil {
		return err
	}
	if err := in.shiftWritable(set); err != nil {
		return err
	}
	if err := in.joinCgroup(req.Name, o.CgroupParent); err != nil {
		return err
	}
	return in.run(stage, o)
}

// mkOverlayDirs creates the overlay upper and work dirs on their volume.
func (in *Instance) mkOverlayDirs() error {
	for _, d := range []string{in.plan.Spec.Upper, in.plan.Spec.Work} {
		if d == "" {
			continue
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// shiftWritable gives the container's writable places to its root when
// it has a user namespace (lxc.idmap): the top directory of each storage
// volume, and the overlay upper and work dirs. Only those directories
// change owner: the images stay as built, their files owned by ids
// outside the map (the container sees them as the overflow id, readable
// by mode, not modifiable), and files an earlier unmapped run left in a
// volume keep their owners.
func (in *Instance) shiftWritable(set volume.Set) error {
	uid, gid := in.plan.HostRoot()
	if in.plan.UIDMappings == nil {
		return nil
	}
	dirs := []string{in.plan.Spec.Upper, in.plan.Spec.Work}
	for _, v := range set.Storage {
		dirs = append(dirs, filepath.Join(set.Dir, v.Name))
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if err := os.Lchown(d, uid, gid); err != nil {
			return printf.Errorf("giving %s to the container's root (uid %d): %w", d, uid, err)
		}
	}
	return nil
}

func (in *Instance) joinCgroup(name, parent string) error {
	m := cgroup.Manager{Parent: parent}
	g, err := m.Create(name)
	if err != nil {
		return err
	}
	in.group = g
	return g.Apply(in.plan.Cgroup)
}

// planStage plans the container (with the network planned before) and
// gives the process its stage is spawned with.
func (in *Instance) planStage(req container.Request, o Options) (container.Options, error) {
	plan, err := container.NewPlan(req, o.host())
	if err != nil {
		return container.Options{}, err
	}
	in.plan = plan
	in.applyNetwork()
	return in.stageOptions(o), nil
}

// stageOptions are the stage's process: o.Stage with the plan's
// namespaces and user namespace maps.
func (in *Instance) stageOptions(o Options) container.Options {
	stage := o.Stage
	stage.Cloneflags = in.plan.Cloneflags
	stage.UIDMappings, stage.GIDMappings = in.plan.UIDMappings, in.plan.GIDMappings
	return stage
}

// run starts the spawned stage with the container's cgroup, network and
// console (its log, and o.Console too).
func (in *Instance) run(s *container.Stage, o Options) error {
	var sink io.Writer
	if o.ConsoleLog != nil {
		sink = o.ConsoleLog(in.Name)
	} else {
		logDir := filepath.Join(o.Host.LogDir, "lxc")
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(filepath.Join(logDir, "console.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return err
		}
		in.log, sink = f, f
	}
	// Stage.Start takes the per-start options only; the process ones
	// were given to Spawn (stageOptions).
	start := container.Options{Cgroup: in.group, Network: in.net.Attach, Console: sink}
	if o.Console != nil {
		start.Console = io.MultiWriter(sink, o.Console)
	}
	p, err := s.Start(in.plan.Spec, start)
	if err != nil {
		return err
	}
	in.proc = p
	return nil
}

// copyConfig copies the revision's _config/<c> tree (following links, as
// upstream's cp -aL) to the configs dir, the top overlay layer.
func (in *Instance) copyConfig(src, dst string) error {
	if src == "" {
		return nil
	}
	if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
		return nil
	}
	os.RemoveAll(dst)
	in.undo = append(in.undo, func() error { return os.RemoveAll(dst) })
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		return printf.Errorf("copying config overlay: %w", err)
	}
	return nil
}

// prepareRunDir makes sure the run dir (bound at /pantavisor) exists and
// holds bin/pantavisor, our binary bound read-only, with a relative link
// per applet, so pv-ctl works in every mgmt container without packaging
// it (an extension over upstream). What it mounts is undone by Close when
// it was not there before.
func (in *Instance) prepareRunDir(run, exe string, names []string) error {
	bin := filepath.Join(run, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	target := filepath.Join(bin, "pantavisor")
	if fi, err := os.Stat(target); err == nil && fi.Size() > 0 {
		return nil // already there (the engine keeps it for all containers)
	}
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return err
		}
	}
	if names == nil {
		var err error
		if names, err = appletNames(exe); err != nil {
			return err
		}
	}
	if err := os.WriteFile(target, nil, 0o755); err != nil {
		return err
	}
	if err := mount.Mount(exe, target, "", unix.MS_BIND, ""); err != nil {
		return err
	}
	in.undo = append(in.undo, func() error { return mount.Unmount(target, unix.MNT_DETACH) })
	if err := mount.Mount("", target, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
		return err
	}
	for _, n := range names {
		link := filepath.Join(bin, n)
		if n == "pantavisor" {
			continue
		}
		os.Remove(link)
		if err := os.Symlink("pantavisor", link); err != nil {
			return err
		}
	}
	return nil
}

// appletNames asks the binary for its applets (pantavisor --list).
func appletNames(exe string) ([]string, error) {
	out, err := exec.Command(exe, "--list").Output()
	if err != nil {
		return nil, printf.Errorf("%s --list: %w", exe, err)
	}
	return strings.Fields(string(out)), nil
}

// Pid is the container init's pid on the host (0 when only mounted).
func (in *Instance) Pid() int {
	if in.proc == nil {
		return 0
	}
	return in.proc.Pid
}

// Wait waits for the init to exit and returns its exit code. It may run
// concurrently with Stop. Call Close afterwards.
func (in *Instance) Wait() int {
	if in.proc == nil {
		<-in.closed
		return 0
	}
	return in.proc.Wait()
}

// Stop asks the init to stop with the config's halt signal (SIGTERM by
// default), kills the cgroup after timeout and returns the init's exit
// code. Call Close afterwards.
func (in *Instance) Stop(timeout time.Duration) (int, error) {
	if in.proc == nil {
		return 0, nil
	}
	return in.proc.Stop(in.plan.HaltSignal, timeout)
}

// Close undoes everything the launch did, in reverse: kill and remove the
// cgroup, unmount the volumes, remove the work dirs. Call it once, after
// the init exited (Wait or Stop returned).
func (in *Instance) Close() error {
	var errs []error
	if in.group != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errs = append(errs, in.group.Kill(ctx), in.group.Remove())
		cancel()
		in.group = nil
	}
	if in.vols != nil {
		errs = append(errs, in.vols.Unmount())
		in.vols = nil
	}
	for i := len(in.undo) - 1; i >= 0; i-- {
		errs = append(errs, in.undo[i]())
	}
	in.undo = nil
	if in.log != nil {
		in.log.Close()
		in.log = nil
	}
	if in.closed != nil {
		close(in.closed)
		in.closed = nil
	}
	return errors.Join(errs...)
}

// StartLoose starts a container from an LXC config and a rootfs image
// outside any revision. The image is the overlay's lower layer whatever
// the config's rootfs path says; "lxc-overlay" and every other volume the
// config's mount entries expect under /volumes/<name>/ are boot (tmpfs)
// volumes.
func StartLoose(configPath, image, name string, o Options) (*Instance, error) {
	if err := state.CheckName(name); err != nil {
		return nil, printf.Errorf("container name %q: %w", name, err)
	}
	if _, err := os.Stat(image); err != nil {
		return nil, printf.Errorf("rootfs image: %w", err)
	}
	cfg, warns, err := lxcconf.Options{NotApplied: container.NotApplied}.Load(configPath)
	if err != nil {
		return nil, err
	}
	in := &Instance{Name: name}
	for _, w := range warns {
		in.Warning = append(in.Warning, w.Error())
	}
	if err := in.planNetwork(&state.Container{Name: name}, cfg, o); err != nil {
		return nil, printf.Errorf("starting %s: %w", name, err)
	}
	base := filepath.Base(image)
	vols := []state.Volume{{Name: "lxc-overlay", Persistence: volume.Boot}}
	seen := map[string]bool{base: true, "lxc-overlay": true}
	for _, e := range cfg.AllMounts() {
		if v := volumeOf(e.Source, name); v != "" && !seen[v] {
			seen[v] = true
			vols = append(vols, state.Volume{Name: v, Persistence: volume.Boot})
		}
	}
	own := "/volumes/" + name + "/"
	cfg.Rootfs = lxcconf.Rootfs{Type: "overlayfs", Path: own + base + ":" + own + "lxc-overlay/upper",
		Lower: own + base, Upper: own + "lxc-overlay/upper"}
	set := volume.Set{Container: name, ImageDir: filepath.Dir(image), Images: []string{base}, Storage: vols,
		Dir: filepath.Join(o.Host.Volumes(), name)}
	if o.Host.LogDir == "" {
		o.Host.LogDir = filepath.Join(o.stateDir(), name+".logs")
	}
	req := container.Request{Name: name, Mgmt: true, AutoModFW: true, Config: cfg, Root: o.rootfs(name)}
	return in.start(req, set, "", o)
}

// volumeOf returns v for a source "/volumes/<name>/<v>[/...]", else "".
func volumeOf(source, name string) string {
	rest, ok := strings.CutPrefix(source, "/volumes/"+name+"/")
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, "/")
	return v
}
