// Package device runs a revision of a storage: it checks the revision's
// integrity, points trails/current at it, publishes device metadata and
// drives the engine with the container launcher. PID 1 (embedded mode)
// and appengine mode both use it.
package device

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"

	"pantavisor/lib/bootloader"
	"pantavisor/lib/cgroup"
	"pantavisor/lib/config"
	"pantavisor/lib/engine"
	"pantavisor/lib/hooks"
	"pantavisor/lib/launch"
	"pantavisor/lib/logs"
	"pantavisor/lib/meta"
	"pantavisor/lib/state"
	"pantavisor/lib/storage"
	"pantavisor/lib/update"
)

// Options say what to run and where. Zero values take defaults.
type Options struct {
	Storage   string           // the storage directory (/storage)
	Rev       string           // revision to run; "" = trails/current, else "0"
	RunDir    string           // run dir (/run/pantavisor/pv): metadata views, control sockets
	Updating  bool             // the revision is being tried: failures roll back
	Trying    bool             // the bootloader is trying Rev (Boot.Choose): the updater resumes its test
	Boot      *bootloader.Boot // pv_rev/pv_try; nil: the direct env of the storage (no bootloader)
	NoVerify  bool             // skip the integrity check (PV_SECUREBOOT_CHECKSUM=0)
	Launch    launch.Options
	Engine    engine.Options // Log and OnStatus are wrapped, not replaced
	Logs      *logs.Server   // if set: started for the revision (logs/<rev>/…), gets the engine's log too
	BSP       *BSP           // if set (embedded mode): mount the BSP firmware and modules
	Hooks     string         // system hooks directory (hooks.Dir); "" = none
	Try       string         // pv_try: the revision the bootloader is trying, for the hooks
	KernelLog bool           // capture /dev/kmsg into the log server as pantavisor/dmesg (embedded)
	Config    *config.Config // the device's configuration (/config, commands, user-meta overrides); nil: defaults
	BuildInfo []byte         // GET /buildinfo
	AppEngine bool           // appengine mode: container names may carry a -<n> suffix
}

// Run runs a revision until ctx ends (all containers are stopped) or the
// engine asks for a reboot or a rollback. Steps: open the storage, choose
// the revision, resume the update state machine (Resume: a failed try
// booted again ends here with a rollback), parse and verify the revision,
// set trails/current, publish pantavisor.revision and the system
// device-meta, run the engine with the updater testing a revision under
// update; a failure of that revision is recorded (ERROR) before Run
// returns the rollback.
func Run(ctx context.Context, o Options) (engine.Outcome, error) {
	st, err := storage.Open(o.Storage, storage.Options{})
	if err != nil {
		return engine.Outcome{}, err
	}
	rev := o.Rev
	if rev == "" {
		if rev, err = st.Current(); err != nil {
			rev = "0"
		}
	}
	sink := &logSink{log: eoLog(o)}
	u, err := newUpdater(o, st, sink.Log)
	if err != nil {
		return engine.Outcome{}, err
	}
	r := u.Resume(rev, o.Trying)
	if out := r.Outcome(rev); out != nil {
		return *out, nil
	}
	o.Updating = o.Updating || r.Updating
	out, err := run(ctx, o, st, rev, u, sink)
	if err != nil {
		return out, err
	}
	if out.Action != engine.Fail {
		return out, nil
	}
	out = u.Decide(out)
	sink.Log(engine.LevelError, out.Error())
	return out, nil
}

// logSink forwards log lines to the log in effect (the engine's, once the
// log server wraps it) and notes them for the updater.
type logSink struct {
	log  func(engine.Level, string)
	note func(engine.Level, string)
}

// Log writes one line.
func (s *logSink) Log(l engine.Level, msg string) {
	s.log(l, msg)
	if s.note != nil {
		s.note(l, msg)
	}
}

// run is Run once the revision is chosen.
func run(ctx context.Context, o Options, st *storage.Storage, rev string, u *update.Updater, sink *logSink) (engine.Outcome, error) {
	data, err := st.StateJSON(rev)
	if err != nil {
		return engine.Outcome{}, err
	}
	s, err := state.Parse(data, state.Options{KernelRelease: o.Launch.Host.KernelRelease})
	if err != nil {
		return engine.Outcome{}, fmt.Errorf("revision %s: %w", rev, err)
	}
	if !o.NoVerify {
		if _, err := st.VerifyState(rev, s); err != nil {
			return *engine.Failure(engine.BadObjects, err.Error()), nil
		}
		// The hash buffers were the boot's largest allocation: give their
		// pages back now rather than at the scavenger's pace.
		debug.FreeOSMemory()
	}
	if err := st.SetCurrent(rev); err != nil {
		return engine.Outcome{}, err
	}
	if o.BSP != nil {
		vols, err := mountBSP(*o.BSP, st, rev, s.BSP)
		if err != nil {
			return *engine.Failure(engine.SetupFailed, "BSP volumes: "+err.Error()), nil
		}
		defer vols.Unmount()
	}
	devmeta, usrmeta := metaStores(o, st)
	if err := usrmeta.Load(); err != nil && o.Engine.Log != nil {
		o.Engine.Log(engine.LevelWarn, "user-meta: "+err.Error())
	}
	devmeta.SetRevision(rev)
	// The system entries are files written durably one by one (about
	// 0.1 s under QEMU TCG): off the path to the first container, done
	// before run returns and the storage is unmounted.
	published := make(chan struct{})
	go func() {
		defer close(published)
		if entries, err := (&meta.System{Storage: st.Root}).Collect(); err == nil || len(entries) > 0 {
			devmeta.Publish(entries)
		}
	}()
	defer func() { <-published }()
	if err := runHooks(o, hooks.SystemStart, rev, "", eoLog(o)); err != nil {
		return *engine.Failure(engine.SetupFailed, err.Error()), nil
	}
	eo := o.Engine
	eo.Updating = o.Updating
	eo.Log = eoLog(o)
	if o.Logs != nil {
		stopLogs, err := startLogs(o.Logs, st, rev, &eo)
		if err != nil {
			return engine.Outcome{}, err
		}
		defer stopLogs()
		srv := o.Logs
		if o.KernelLog {
			if err := srv.Capture(); err != nil {
				eo.Log(engine.LevelWarn, "kernel log: "+err.Error())
			}
		}
		o.Launch.ConsoleLog = func(c string) io.Writer { return consoleWriter{srv: srv, platform: c} }
	}
	sink.log, sink.note = eo.Log, u.Note
	eo.Log = sink.Log
	if o.Launch.Host.RunDir == "" {
		o.Launch.Host.RunDir = o.RunDir
	}
	if o.Launch.Host.Cgroups.Mode == 0 { // read the hierarchy once, not at every start
		m := cgroup.Manager{Parent: o.Launch.CgroupParent}
		o.Launch.Host.Cgroups, _ = m.Layout()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ups := &updates{u: u, ctx: ctx, log: eo.Log, cur: s,
		run: func(rev string, s *state.State) engine.Runner {
			return runner{rev: &launch.Revision{Storage: st, Rev: rev, State: s}, o: o.Launch, logs: o.Logs}
		}}
	watch(o, &eo, rev, devmeta, ups)
	e := engine.New(s, ups.run(rev, s), eo)
	ups.e = e
	devmeta.SetMode(false) // no Hub client yet: always local
	c, err := startControl(o, st, s, e, devmeta, usrmeta, cancel, eo.Log, ups)
	if err != nil {
		return engine.Outcome{}, fmt.Errorf("control socket: %w", err)
	}
	out := e.Run(ctx)
	if asked := c.close(); asked != nil && out.Action == engine.Exit {
		out = *asked
		eo.Log(engine.LevelInfo, out.Error())
	}
	return out, nil
}

// watch hooks the engine's status and ticks: device-meta
// pantavisor.status, the system-done hook once READY, and the updater.
func watch(o Options, eo *engine.Options, rev string, devmeta *meta.Store, ups *updates) {
	onStatus, onTick := eo.OnStatus, eo.OnTick
	done := false
	log := eo.Log
	eo.OnStatus = func(s engine.Status) {
		devmeta.SetStatus(s.String())
		running, err := devmeta.Get(meta.KeyRevision) // moves with a non-reboot swap
		if err != nil {
			running = rev
		}
		log(engine.LevelInfo, "revision "+running+" status "+s.String())
		if s == engine.Ready && !done {
			done = true // system-done: failure is only logged, as upstream
			runHooks(o, hooks.SystemDone, rev, s.String(), log)
		}
		if onStatus != nil {
			onStatus(s)
		}
		ups.tick()
	}
	eo.OnTick = func() {
		if onTick != nil {
			onTick()
		}
		ups.tick()
	}
}

// consoleWriter sends a container's console to the log server as
// <platform>/lxc/console.log, raw, as upstream's fd subscription does.
type consoleWriter struct {
	srv      *logs.Server
	platform string
}

func (w consoleWriter) Write(p []byte) (int, error) {
	err := w.srv.Write(logs.Message{Proto: logs.Raw, Level: logs.Level(engine.LevelInfo), Platform: w.platform,
		Source: "lxc/console.log", Data: append([]byte(nil), p...)})
	return len(p), err
}

// startLogs starts the log server on the revision's log tree and copies
// the engine's messages to it.
func startLogs(srv *logs.Server, st *storage.Storage, rev string, eo *engine.Options) (func(), error) {
	if srv.StorageLogs == "" {
		srv.StorageLogs = filepath.Join(st.Root, "logs")
	}
	// A local revision logs to logs/locals/<name>, as upstream: the log
	// server takes one directory name, so its root moves down one level.
	srv.Rev = rev
	if dir, name, ok := strings.Cut(rev, "/"); ok {
		srv.StorageLogs, srv.Rev = filepath.Join(srv.StorageLogs, dir), name
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("log server: %w", err)
	}
	log := eo.Log
	eo.Log = func(l engine.Level, msg string) {
		srv.Log(logs.Level(l), "pantavisor", msg)
		if log != nil {
			log(l, msg)
		}
	}
	return func() { srv.Close() }, nil
}

// runHooks runs the system hooks of point op and logs what they printed.
func runHooks(o Options, op, rev, status string, log func(engine.Level, string)) error {
	if o.Hooks == "" {
		return nil
	}
	res, err := hooks.Run(o.Hooks, hooks.Env{Op: op, Rev: rev, Try: o.Try, Status: status, Storage: o.Storage})
	for _, r := range res {
		log(engine.LevelInfo, "hook "+r.Path+": "+string(r.Output))
	}
	if err != nil {
		log(engine.LevelError, err.Error())
	}
	return err
}

func eoLog(o Options) func(engine.Level, string) {
	if o.Engine.Log != nil {
		return o.Engine.Log
	}
	return func(engine.Level, string) {}
}


// metaStores are the device-meta and user-meta stores: views in the run
// dir (meta derives them), persisted in the storage's cache/devmeta and
// cache/meta; each user-meta key is also applied to the configuration.
func metaStores(o Options, st *storage.Storage) (dev, usr *meta.Store) {
	dev = &meta.Store{Kind: meta.Device, RunDir: o.RunDir, Persist: filepath.Join(st.Root, "cache", "devmeta")}
	usr = &meta.Store{Kind: meta.User, RunDir: o.RunDir, Persist: filepath.Join(st.Root, "cache", "meta")}
	if cfg := o.Config; cfg != nil {
		usr.OnChange = func(key, value string, deleted bool) {
			// Keys that are not configuration keys are plain metadata.
			if deleted {
				cfg.Unset(config.LevelMeta, key)
			} else {
				cfg.Set(config.LevelMeta, key, value)
			}
		}
	}
	return dev, usr
}

// runner adapts lib/launch to the engine.
type runner struct {
	rev  *launch.Revision // its state is the one the engine runs
	o    launch.Options
	logs *logs.Server // nil: no file loggers
}

func (r runner) Start(name string) (engine.Unit, error) {
	in, err := r.rev.Start(name, r.o)
	if err != nil {
		return nil, err
	}
	if r.logs == nil || in.Pid() == 0 {
		return in, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	for _, t := range fileLoggers(r.rev.State.Container(name), in.Pid()) {
		go t.Run(ctx, r.logs)
	}
	return &tailedUnit{Instance: in, stop: cancel}, nil
}

// defaultLoggers are the files followed when run.json has no "logs", as
// upstream: syslog and messages, truncated past 2 MiB.
var defaultLoggers = [...]string{"/var/log/syslog", "/var/log/messages"}

// fileLoggers are the Tails of a container's run.json "logs" (file
// entries), read through /proc/<pid>/root.
func fileLoggers(c *state.Container, pid int) []logs.Tail {
	if c == nil {
		return nil
	}
	root := "/proc/" + strconv.Itoa(pid) + "/root"
	var out []logs.Tail
	if len(c.Logs) == 0 {
		for _, f := range defaultLoggers {
			out = append(out, logs.Tail{Path: root + f, Platform: c.Name, Source: strings.TrimPrefix(f, "/"),
				MaxSize: 2 << 20, Truncate: true})
		}
		return out
	}
	for _, l := range c.Logs {
		if l.File == "" || !strings.HasPrefix(l.File, "/") {
			continue
		}
		max, _ := strconv.ParseInt(l.MaxSize, 10, 64)
		out = append(out, logs.Tail{Path: root + l.File, Platform: c.Name, Source: strings.TrimPrefix(l.File, "/"),
			MaxSize: max, Truncate: l.Truncate == "true"})
	}
	return out
}

// tailedUnit stops a container's file loggers when it is closed.
type tailedUnit struct {
	*launch.Instance
	stop context.CancelFunc
}

func (u *tailedUnit) Close() error {
	u.stop()
	return u.Instance.Close()
}

func (r runner) Mount(name string) (engine.Unit, error) {
	in, err := r.rev.Mount(name, r.o)
	if err != nil {
		return nil, err
	}
	return in, nil
}
