// Package device runs a revision of a storage: it checks the revision's
// integrity, points trails/current at it, publishes device metadata and
// drives the engine with the container launcher, the updater and the
// pv-ctrl socket. PID 1 (embedded mode) and appengine mode both build one
// Device with New and call Run.
package device

import (
	"context"
	"errors"
	"io"
	"runtime/debug"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"pantavisor/lib/bootloader"
	"pantavisor/lib/cgroup"
	"pantavisor/lib/config"
	"pantavisor/lib/disk"
	"pantavisor/lib/drivers"
	"pantavisor/lib/engine"
	"pantavisor/lib/instance"
	"pantavisor/lib/launch"
	"pantavisor/lib/logs"
	"pantavisor/lib/meta"
	"pantavisor/lib/netpool"
	"pantavisor/lib/printf"
	"pantavisor/lib/pvs"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/state"
	"pantavisor/lib/storage"
	"pantavisor/lib/update"
)

// Options say what to run and where. Zero values take defaults.
type Options struct {
	Paths    config.Paths     // Storage and RunDir must be set; an empty DevMeta, UsrMeta or Logs is under Storage
	Rev      string           // revision to run; "" = trails/current, else "0"
	Trying   bool             // the bootloader is trying Rev (Boot.Choose): the updater resumes its test
	Boot     *bootloader.Boot // pv_rev/pv_try; nil: the direct env of the storage (no bootloader)
	NoVerify bool             // skip the integrity check (PV_SECUREBOOT_CHECKSUM=0)
	// Secureboot checks the signatures of every state that runs or is
	// installed (PV_SECUREBOOT_MODE, the trust stores); nil: none.
	Secureboot *pvs.Options
	Launch     launch.Options // ConsoleLog, Host.RunDir and Host.Cgroups are the device's
	Engine     engine.Options // Tick, StopTimeout, Now; Log, OnStatus, OnTick, Updating and BeforeStop are the device's
	Logs       *logs.Server   // if set: started for the revision (logs/<rev>/…), gets the device's log too
	BSP        *BSP           // if set (embedded mode): mount the BSP firmware and modules
	Drivers    drivers.Loader // loads the containers' driver aliases; nil: the running kernel's modules (lib/kmod)
	Disks      disk.Options   // where device.json's disks go and the board's key hardware
	Hooks      string         // system hooks directory (hooks.Dir); "" = none
	KernelLog  bool           // capture /dev/kmsg into the log server as pantavisor/dmesg (embedded)
	Config     *config.Config // the device's configuration (/config, commands, user-meta overrides); nil: defaults
	BuildInfo  []byte         // GET /buildinfo
	AppEngine  bool           // appengine mode: container names may carry a -<n> suffix
	Console    io.Writer      // the device's log lines as "pantavisor: <msg>" (the console, stderr); nil: none
	// Hub configures the hub client, run in remote mode (FromConfig; the
	// nohub build has none); nil: no hub client, the device stays local.
	Hub *HubOptions
	// Networks are the containers' networks (pools, the legacy LXC
	// bridge), set up for each revision; nil: containers on pools are
	// refused and lxc.net links are not made.
	Networks *netpool.Networks
}

// Observer is what a front end (PID 1's main loop, appengine) sees of a
// running device. Status and Tick are called from the engine's loop and
// must not block it.
type Observer interface {
	Status(s engine.Status)             // the revision status changed
	Tick()                              // every loop iteration: the watchdog keepalive
	Exit(out engine.Outcome, err error) // Run is returning out (or err)
}

// Device is one device running revisions of one storage. New builds it;
// Run runs it once.
type Device struct {
	o   Options
	obs Observer
	lk  *instance.Lock // the storage is this device's until Run returns
	st  *storage.Storage
	cfg *config.Config
	u   *update.Updater
	rev string // the revision Run starts with

	// Set by Run's steps, in order, before anything that reads them runs.
	cur     *state.State             // the running state (the command goroutine's once the engine runs)
	mgmt    atomic.Pointer[[]string] // cur's containers with the mgmt role, for the log server's goroutines
	devmeta *meta.Store
	usrmeta *meta.Store
	logsOn  bool // the log server runs: the device's lines go to it too
	e       *engine.Engine
	starts  starts           // what the running revision's starts keep
	drv     *drivers.Manager // the revision's driver aliases (bsp/drivers.json)
	ctx     context.Context  // the engine's: ends with the revision
	ctrl    *control
	ready   bool // READY was seen once: system-done ran (engine loop only)
	// poolModules: the network pools' kernel modules were loaded
	// (loadPoolModules, once per boot).
	poolModules bool
	remote      remote
}

// New locks the storage (instance.ErrLocked: another engine runs on it,
// or on the appengine's cgroup parent), opens it, chooses the revision
// (o.Rev, else trails/current, else "0") and builds the updater on the
// bootloader env (o.Boot; without one the storage's direct env). Run
// releases the lock. A nil obs observes nothing.
func New(o Options, obs Observer) (d *Device, err error) {
	lk, err := lock(o)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lk.Release()
		}
	}()
	st, err := storage.Open(o.Paths.Storage, storage.Options{})
	if err != nil {
		return nil, err
	}
	if obs == nil {
		obs = nopObserver{}
	}
	cfg := o.Config
	if cfg == nil {
		cfg = config.New()
	}
	d = &Device{o: o, obs: obs, lk: lk, st: st, cfg: cfg, rev: o.Rev}
	if d.rev == "" {
		if d.rev, err = st.Current(); err != nil {
			d.rev = "0"
		}
	}
	if d.o.Launch.Host.RunDir == "" {
		d.o.Launch.Host.RunDir = o.Paths.RunDir
	}
	if d.o.Launch.Host.Cgroups.Mode == 0 { // read the hierarchy once, not at every start
		m := cgroup.Manager{Parent: o.Launch.CgroupParent}
		d.o.Launch.Host.Cgroups, _ = m.Layout()
	}
	if o.Networks != nil {
		d.o.Launch.Networks = o.Networks
	}
	if srv := o.Logs; srv != nil {
		d.o.Launch.ConsoleLog = func(c string) io.Writer { return consoleWriter{srv: srv, platform: c} }
		// The log server's senders are named and classed as pv-ctrl's are:
		// by the container cgroup below the launcher's parent.
		srv.Identify, srv.Mgmt = identify(o.Launch.CgroupParent), d.isMgmt
	}
	u, warn, err := d.newUpdater()
	if err != nil {
		return nil, err
	}
	d.u = u
	if warn != nil {
		d.log(engine.LevelWarn, warn.Error())
	}
	return d, nil
}

// Run runs the revision until ctx ends (all containers are stopped), a
// command ends it, or it fails; a failure is turned into a reboot or a
// rollback by the updater (Decide). Steps: clean what a previous
// instance left, resume the update state machine (a failed try booted
// again ends here with its rollback), load
// and verify the revision, set trails/current, mount the BSP, set up
// the disks (swap, the ones its volumes use), publish
// the metadata, run the system-start hooks, start the log server, then
// run the engine with pv-ctrl until it returns. The hub client (remote
// mode) runs beside the engine from when pv-ctrl is up and the running
// revision is a rollback point, and stops before pv-ctrl.
func (d *Device) Run(ctx context.Context) (out engine.Outcome, err error) {
	defer func() { d.obs.Exit(out, err) }()
	defer d.lk.Release()
	if err := d.cleanLeftovers(ctx); err != nil {
		return engine.Outcome{}, err
	}
	r := d.u.Resume(d.rev, d.o.Trying)
	if out := r.Outcome(d.rev); out != nil {
		return *out, nil
	}
	out, err = d.run(ctx, r.Updating)
	if err != nil || out.Action != engine.Fail {
		return out, err
	}
	out = d.u.Decide(out)
	d.log(engine.LevelError, out.Error())
	return out, nil
}

// run is Run once the update state machine resumed.
func (d *Device) run(ctx context.Context, updating bool) (engine.Outcome, error) {
	data, err := d.load()
	if err != nil {
		return engine.Outcome{}, err
	}
	if out := d.checkSignatures(data); out != nil {
		return *out, nil
	}
	if err := d.verify(); err != nil {
		return *engine.Failure(engine.BadObjects, err.Error()), nil
	}
	if err := d.st.SetCurrent(d.rev); err != nil {
		return engine.Outcome{}, err
	}
	if d.o.BSP != nil {
		vols, err := mountBSP(*d.o.BSP, d.st, d.rev, d.cur.BSP)
		if err != nil {
			return *engine.Failure(engine.SetupFailed, "BSP volumes: "+err.Error()), nil
		}
		defer func() {
			if err := vols.Unmount(); err != nil {
				d.log(engine.LevelError, "BSP volumes: "+err.Error())
			}
		}()
	}
	undoDisks, failed := d.setupDisks()
	if failed != nil {
		return *failed, nil
	}
	defer undoDisks()
	defer d.publishMeta()()
	if err := d.runHooks(hookSystemStart, ""); err != nil {
		return *engine.Failure(engine.SetupFailed, err.Error()), nil
	}
	if d.o.Logs != nil {
		if err := d.startLogs(); err != nil {
			return engine.Outcome{}, err
		}
		defer d.o.Logs.Close()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.drv = d.newDrivers()
	d.startEngine(ctx, updating)
	defer func() { d.retire(d.starts) }() // the engine stopped every container
	c, err := d.serveControl(cancel)
	if err != nil {
		return engine.Outcome{}, printf.Errorf("control socket: %w", err)
	}
	d.maybeStartHub()
	out := d.e.Run(ctx)
	d.stopHub() // before pv-ctrl: a step it hands over waits on pv-ctrl's command goroutine
	if asked := c.close(); asked != nil && out.Action == engine.Exit {
		out = *asked
		d.log(engine.LevelInfo, out.Error())
	}
	return out, nil
}

// load reads and parses the revision's state; it returns its bytes.
func (d *Device) load() ([]byte, error) {
	data, err := d.st.StateJSON(d.rev)
	if err != nil {
		return nil, err
	}
	s, err := state.Parse(data, state.Options{KernelRelease: d.o.Launch.Host.KernelRelease,
		FitConfig: d.cfg.Get(config.BootloaderFitconfig).String()})
	if err != nil {
		return nil, printf.Errorf("revision %s: %w", d.rev, err)
	}
	d.running(s)
	return data, nil
}

// checkSignatures refuses a revision whose state's signatures the secure
// boot mode refuses (a try then rolls back; a committed revision stops:
// update.Updater.Decide). The result is logged signature by signature.
func (d *Device) checkSignatures(data []byte) *engine.Outcome {
	if d.o.Secureboot == nil {
		return nil
	}
	v, err := rawjson.Parse(data)
	if err != nil {
		return engine.Failure(engine.BadSignature, err.Error()) // state.Parse took it: cannot happen
	}
	res, err := pvs.Check(v, *d.o.Secureboot)
	if res.ClockUntrusted {
		d.log(engine.LevelWarn, "secureboot: clock before the build date: certificate dates checked as of "+
			res.At.UTC().Format(time.RFC3339))
	}
	for _, s := range res.Sigs {
		if s.Err != nil {
			d.log(engine.LevelError, "secureboot: "+s.Name+": "+s.Err.Error())
		}
	}
	for _, k := range res.Uncovered {
		d.log(engine.LevelWarn, "secureboot: "+k+": "+pvs.ErrNotCovered.Error())
	}
	switch {
	case errors.Is(err, pvs.ErrNotCovered):
		return engine.Failure(engine.NotCovered, "revision "+d.rev+": "+err.Error())
	case err != nil:
		return engine.Failure(engine.BadSignature, "revision "+d.rev+": "+err.Error())
	}
	d.log(engine.LevelInfo, "secureboot "+res.Mode.String()+": revision "+d.rev+": "+strconv.Itoa(len(res.Sigs))+" signatures ok")
	return nil
}

// running makes s the running state.
func (d *Device) running(s *state.State) {
	d.cur = s
	var mgmt []string
	for _, c := range s.Containers {
		if c.Mgmt {
			mgmt = append(mgmt, c.Name)
		}
	}
	d.mgmt.Store(&mgmt)
}

// isMgmt reports whether container name of the running state has the
// mgmt role.
func (d *Device) isMgmt(name string) bool {
	p := d.mgmt.Load()
	return p != nil && slices.Contains(*p, name)
}

// identify names the container of a pid by its cgroup below parent, ""
// for pantavisor and the host, logs.UnknownPlatform when unreadable.
func identify(parent string) func(pid int) string {
	m := cgroup.Manager{Parent: parent}
	return func(pid int) string {
		name, err := m.NameOf(pid)
		if err != nil {
			return logs.UnknownPlatform
		}
		return name
	}
}

// verify checks the revision's objects unless told not to.
func (d *Device) verify() error {
	if d.o.NoVerify {
		return nil
	}
	rep, err := d.st.VerifyState(d.rev, d.cur)
	if err != nil {
		return err
	}
	d.log(engine.LevelInfo, verifyLine(rep))
	// The hash buffers were the boot's largest allocation: give their
	// pages back now rather than at the scavenger's pace.
	debug.FreeOSMemory()
	return nil
}

// verifyLine is the console line of a passed check: how each object was
// checked and, when fs-verity was not used for some, why.
func verifyLine(rep storage.VerifyReport) string {
	line := printf.Sprintf("verify: %d objects: %d by fs-verity digest, %d hashed (%d sealed with fs-verity now), %d skipped",
		rep.Objects, rep.Measured, rep.Hashed, rep.Sealed, rep.Skipped)
	if rep.Verity != nil {
		line += "; fs-verity not used: " + rep.Verity.Error()
	}
	return line
}

// startEngine builds the engine for the loaded revision.
func (d *Device) startEngine(ctx context.Context, updating bool) {
	eo := d.o.Engine
	eo.Updating, eo.Log, eo.OnStatus, eo.OnTick = updating, d.log, d.onStatus, d.onTick
	if h, ok := d.obs.(Holder); ok {
		eo.BeforeStop = h.HoldEnd
	}
	d.ctx = ctx
	d.starts = d.newStarts(d.rev)
	d.setPools(d.cur)
	d.e = engine.New(d.cur, d.runner(d.rev, d.cur, d.starts), eo)
}

// onStatus follows the revision status from the engine's loop:
// device-meta pantavisor.status, the console line, the system-done hook
// once READY, the front end, and the update under test.
func (d *Device) onStatus(s engine.Status) {
	if err := d.devmeta.SetStatus(s.String()); err != nil {
		d.log(engine.LevelWarn, "device-meta: "+err.Error())
	}
	running, err := d.devmeta.Get(meta.KeyRevision) // moves with a non-reboot swap
	if err != nil {
		running = d.rev
	}
	d.log(engine.LevelInfo, "revision "+running+" status "+s.String())
	if s == engine.Ready && !d.ready {
		d.ready = true
		_ = d.runHooks(hookSystemDone, s.String()) // failure is only logged (runHooks does), as upstream
		// The boot's garbage (state parsing, container starts) is
		// collected: give its pages back now, not at the scavenger's
		// pace, so the device settles at its steady footprint.
		debug.FreeOSMemory()
	}
	d.obs.Status(s)
	d.tick()
}

// onTick is every iteration of the engine's loop.
func (d *Device) onTick() {
	d.obs.Tick()
	d.tick()
	d.publishHub()
	d.maybeStartHub()
}

// log writes one of the device's lines to the console, to the log server
// once it runs, and notes it for the updater.
func (d *Device) log(l engine.Level, msg string) {
	if d.o.Console != nil {
		printf.Fprintf(d.o.Console, "pantavisor: %s\n", logs.Escape(msg))
	}
	if d.logsOn {
		_ = d.o.Logs.Log(logs.Level(l), "pantavisor", msg) // the console has the line; the server reports its own errors
	}
	d.u.Note(l, msg)
}

type nopObserver struct{}

func (nopObserver) Status(engine.Status)       {}
func (nopObserver) Tick()                      {}
func (nopObserver) Exit(engine.Outcome, error) {}
