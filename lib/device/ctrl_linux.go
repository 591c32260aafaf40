package device

import (
	"context"
	"path/filepath"
	"sync"

	"pantavisor/lib/cgroup"
	"pantavisor/lib/config"
	"pantavisor/lib/ctrl"
	"pantavisor/lib/engine"
	"pantavisor/lib/meta"
	"pantavisor/lib/state"
	"pantavisor/lib/storage"
)

// CtrlSocketName is the pv-ctrl socket's name in the run dir.
const CtrlSocketName = "pv-ctrl"

// control is the pv-ctrl socket of a running revision and the consumer of
// its commands. A command that ends the revision (reboot, poweroff)
// cancels the engine's context and records the outcome Run returns.
type control struct {
	srv    *ctrl.Server
	cancel context.CancelFunc
	log    func(engine.Level, string)
	st     *storage.Storage
	cfg    *config.Config
	dev    *meta.Store
	ups    *updates
	wg     sync.WaitGroup

	mu      sync.Mutex
	outcome *engine.Outcome // set by REBOOT_DEVICE / POWEROFF_DEVICE
}

// startControl opens the pv-ctrl socket for the revision run by e.
func startControl(o Options, st *storage.Storage, s *state.State, e *engine.Engine, dev, usr *meta.Store,
	cancel context.CancelFunc, log func(engine.Level, string), ups *updates) (*control, error) {
	cfg := o.Config
	if cfg == nil {
		cfg = config.New()
	}
	m := cgroup.Manager{Parent: o.Launch.CgroupParent}
	c := &control{cancel: cancel, log: log, st: st, cfg: cfg, dev: dev, ups: ups}
	c.srv = &ctrl.Server{
		Socket: filepath.Join(o.RunDir, CtrlSocketName), Storage: st, State: s, Engine: e,
		DevMeta: dev, UsrMeta: usr, Config: cfg, AppEngine: o.AppEngine,
		Identify: m.NameOf, Commands: make(chan ctrl.Command, 1),
		Updating: ups.u.Updating, Remote: func() bool { return false }, Claimed: func() bool { return false },
		BuildInfo: o.BuildInfo,
		Log:       func(msg string) { log(engine.LevelInfo, "pv-ctrl: "+msg) },
	}
	ups.end = c.end
	ups.moved = func(rev string, next *state.State) {
		c.srv.SetRevision(next, e)
		dev.SetRevision(rev)
	}
	if err := c.srv.Start(); err != nil {
		return nil, err
	}
	c.wg.Add(1)
	go c.commands()
	return c, nil
}

// close stops the socket and the command consumer; it returns the outcome
// a command asked for, nil if none.
func (c *control) close() *engine.Outcome {
	c.srv.Close()
	close(c.srv.Commands)
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.outcome
}

func (c *control) commands() {
	defer c.wg.Done()
	for cmd := range c.srv.Commands {
		c.run(cmd)
		c.srv.Done()
	}
}

// run carries out one command (reference pantavisor-control §2.3).
func (c *control) run(cmd ctrl.Command) {
	c.log(engine.LevelInfo, "command "+cmd.Op+" "+cmd.Payload)
	switch cmd.Op {
	case ctrl.OpReboot:
		c.end(engine.Outcome{Action: engine.Reboot, Reason: "reboot requested: " + cmd.Payload})
	case ctrl.OpPoweroff:
		c.end(engine.Outcome{Action: engine.PowerOff, Reason: "poweroff requested: " + cmd.Payload})
	case ctrl.OpRunGC:
		if r, err := c.st.GC(storage.GCOptions{Keep: c.keep()}); err != nil {
			c.log(engine.LevelError, "garbage collector: "+err.Error())
		} else {
			c.log(engine.LevelInfo, "garbage collector: "+r.String())
		}
	case ctrl.OpEnableSSH, ctrl.OpDisableSSH:
		v := "0"
		if cmd.Op == ctrl.OpEnableSSH {
			v = "1"
		}
		c.cfg.Set(config.LevelCmd, "PV_DEBUG_SSH", v)
	case ctrl.OpGoRemote:
		c.dev.SetMode(true)
	case ctrl.OpLocalRun, ctrl.OpLocalRunCommit, ctrl.OpMakeFactory:
		c.ups.command(cmd.Op, cmd.Payload, cmd.Op == ctrl.OpLocalRunCommit, cmd.Op == ctrl.OpMakeFactory)
	default:
		c.log(engine.LevelWarn, "command "+cmd.Op+" is not handled: ignoring")
	}
}

// keep lists what GC must not remove besides its own rules: the running
// revision, the one under update and the committed one (pv_rev).
func (c *control) keep() []string {
	keep := []string{c.ups.u.Boot.Committed()}
	if cur, err := c.st.Current(); err == nil {
		keep = append(keep, cur)
	}
	if rev := c.ups.u.Rev(); rev != "" {
		keep = append(keep, rev)
	}
	return keep
}

func (c *control) end(out engine.Outcome) {
	c.mu.Lock()
	if c.outcome == nil {
		c.outcome = &out
	}
	c.mu.Unlock()
	c.cancel()
}
