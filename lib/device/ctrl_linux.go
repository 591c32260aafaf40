package device

import (
	"context"
	"path/filepath"
	"sync"

	"pantavisor/lib/cgroup"
	"pantavisor/lib/config"
	"pantavisor/lib/ctrl"
	"pantavisor/lib/engine"
	"pantavisor/lib/storage"
)

// CtrlSocketName is the pv-ctrl socket's name in the run dir.
const CtrlSocketName = "pv-ctrl"

// control is the pv-ctrl socket of a running revision and the consumer of
// its commands. A command that ends the revision (reboot, poweroff, an
// update that reboots) cancels the engine's context and records the
// outcome Run returns.
type control struct {
	d      *Device
	srv    *ctrl.Server
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	outcome *engine.Outcome // the first end asked for
}

// serveControl opens the pv-ctrl socket for the running engine.
func (d *Device) serveControl(cancel context.CancelFunc) (*control, error) {
	m := cgroup.Manager{Parent: d.o.Launch.CgroupParent}
	c := &control{d: d, cancel: cancel}
	remote, claimed := d.ctrlRemote()
	c.srv = &ctrl.Server{
		Socket: filepath.Join(d.o.Paths.RunDir, CtrlSocketName), Storage: d.st, State: d.cur, Engine: d.e,
		DevMeta: d.devmeta, UsrMeta: d.usrmeta, Config: d.cfg, AppEngine: d.o.AppEngine,
		Identify: m.NameOf, Commands: make(chan ctrl.Command, 1),
		Updating: d.u.Updating, Remote: remote, Claimed: claimed,
		BuildInfo: d.o.BuildInfo, Drivers: d.drv,
		Log: func(msg string) { d.log(engine.LevelInfo, "pv-ctrl: "+msg) },
	}
	d.ctrl = c
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

// run carries out one command (reference pantavisor-control §2.3).
func (c *control) run(cmd ctrl.Command) {
	d := c.d
	d.log(engine.LevelInfo, "command "+cmd.Op+" "+cmd.Payload)
	switch cmd.Op {
	case ctrl.OpReboot:
		c.end(engine.Outcome{Action: engine.Reboot, Reason: "reboot requested: " + cmd.Payload})
	case ctrl.OpPoweroff:
		c.end(engine.Outcome{Action: engine.PowerOff, Reason: "poweroff requested: " + cmd.Payload})
	case ctrl.OpRunGC:
		if r, err := d.st.GC(storage.GCOptions{Keep: d.keep()}); err != nil {
			d.log(engine.LevelError, "garbage collector: "+err.Error())
		} else {
			d.log(engine.LevelInfo, "garbage collector: "+r.String())
		}
	case ctrl.OpEnableSSH, ctrl.OpDisableSSH:
		v := "0"
		if cmd.Op == ctrl.OpEnableSSH {
			v = "1"
		}
		if err := d.cfg.Set(config.LevelCmd, "PV_DEBUG_SSH", v); err != nil {
			d.log(engine.LevelWarn, err.Error())
		}
	case ctrl.OpGoRemote:
		d.goRemote()
	case ctrl.OpUpdateMetadata:
		d.updateMetadata(cmd.Payload)
	case ctrl.OpUnclaim:
		d.unclaim()
	case ctrl.OpDeferReboot:
		d.deferEnd(cmd.Payload)
	case ctrl.OpLocalRun, ctrl.OpLocalRunCommit, ctrl.OpMakeFactory:
		d.update(cmd.Op, cmd.Payload, cmd.Op == ctrl.OpLocalRunCommit, cmd.Op == ctrl.OpMakeFactory)
	default:
		d.log(engine.LevelWarn, "command "+cmd.Op+" is not handled: ignoring")
	}
}

// keep lists what GC must not remove besides its own rules: the running
// revision, the one under update and the committed one (pv_rev).
func (d *Device) keep() []string {
	keep := []string{d.u.Boot.Committed()}
	if cur, err := d.st.Current(); err == nil {
		keep = append(keep, cur)
	}
	if rev := d.u.Rev(); rev != "" {
		keep = append(keep, rev)
	}
	return keep
}

// end ends the revision with out, unless an end was asked for already.
// With a Holder observer the first end waits for it on a goroutine, and
// later ones leave the cancelling to that goroutine.
func (c *control) end(out engine.Outcome) {
	c.mu.Lock()
	first := c.outcome == nil
	if first {
		c.outcome = &out
	}
	c.mu.Unlock()
	if h, ok := c.d.obs.(Holder); ok {
		if first {
			go func() { h.HoldEnd(out); c.cancel() }()
		}
		return
	}
	c.cancel()
}
