package device

import (
	"pantavisor/lib/bootloader"
	"pantavisor/lib/config"
	"pantavisor/lib/engine"
	"pantavisor/lib/state"
	"pantavisor/lib/update"
)

// newUpdater is the device's updater on its storage and bootloader env
// (o.Boot; without one, the direct env of the storage: no bootloader).
// A direct env opened with a problem is used all the same: warn says it.
func (d *Device) newUpdater() (u *update.Updater, warn, err error) {
	b := d.o.Boot
	if b == nil {
		b, warn = bootloader.Options{Writer: d.st.W}.OpenBoot(bootloader.KindDirect, d.st.Root)
		if b == nil {
			return nil, nil, warn
		}
	}
	cfg := d.cfg
	u = &update.Updater{Storage: d.st, Boot: b, Changes: engine.Changes, Log: d.log, Reporter: d.reporter(), Remote: d.hubRemote(),
		Config: update.Config{NetworkTimeout: cfg.Get(config.PHUpdaterNetworkTimeout).Duration(),
			Retries: cfg.Get(config.RevisionRetries).Int(), CommitDelay: cfg.Get(config.UpdaterCommitDelay).Duration(),
			GoalsTimeout: cfg.Get(config.UpdaterGoalsTimeout).Duration(), GCDefer: cfg.Get(config.StorageGcThresholdDefertime).Duration(),
			KeepFactory: cfg.Get(config.StorageGcKeepFactory).Bool(), Secureboot: d.o.Secureboot}}
	return u, warn, nil
}

// tick advances the update under test from the engine's loop. The engine
// must not be called synchronously here (SetUpdating goes through the
// loop), so switching rollback off after the end runs aside.
func (d *Device) tick() {
	if d.e == nil || !d.u.Updating() {
		return
	}
	out := d.u.Tick(update.View{Ready: d.e.GoalsReached(), Stable: allStable(d.e.Containers())})
	if out != nil {
		d.ctrl.end(*out)
		return
	}
	if !d.u.Updating() {
		go func() {
			// Fails only when the revision ended meanwhile: nothing to switch.
			_ = d.e.SetUpdating(d.ctx, false)
		}()
	}
}

// allStable reports whether every container is stable.
func allStable(cs []engine.ContainerStatus) bool {
	for _, c := range cs {
		if !c.Stable && !c.UserStopped {
			return false
		}
	}
	return true
}

// update carries out LOCAL_RUN, LOCAL_RUN_COMMIT and MAKE_FACTORY
// (reference pantavisor-control §2.3, §6): start the update, then reboot
// or swap as the plan says. LOCAL_RUN_COMMIT reboots right after a swap
// too, so the next boot tries and commits the revision.
func (d *Device) update(op, payload string, commit, factory bool) {
	var plan update.Plan
	var err error
	if factory {
		plan, err = d.u.MakeFactory(payload, d.cur)
	} else {
		plan, err = d.u.Start(payload, d.cur)
	}
	if err != nil {
		d.log(engine.LevelError, op+" "+payload+": "+err.Error())
	}
	d.follow(op, plan, commit)
}

// follow carries out plan: reboot, or swap (then reboot if commit).
func (d *Device) follow(op string, plan update.Plan, commit bool) {
	switch plan.Action {
	case update.Reboot:
		d.ctrl.end(engine.Outcome{Action: engine.Reboot, Reason: "update to revision " + plan.Rev + ": " + plan.Reason})
	case update.Transition:
		if d.swap(plan) && commit {
			d.ctrl.end(engine.Outcome{Action: engine.Reboot, Reason: op + ": revision " + plan.Rev + " tried at the next boot"})
		}
	}
}

// swap runs a Plan Transition: the engine stops the changed containers
// and starts next's; the others keep running untouched.
func (d *Device) swap(plan update.Plan) bool {
	k := d.newStarts(plan.Rev)
	old := d.cur
	d.setPools(plan.Next)
	err := d.e.Transition(d.ctx, plan.Next, d.runner(plan.Rev, plan.Next, k), plan.Changed)
	if out := d.u.Transitioned(err); out != nil {
		d.retire(k)
		d.ctrl.end(*out)
		return false
	}
	d.retire(d.starts) // its containers still running release their mounts when they stop
	d.starts = k
	d.releaseLeft(old, plan.Next)
	d.moved(plan.Rev, plan.Next)
	return true
}

// moved makes rev, swapped in without a reboot, the running revision:
// pv-ctrl serves its state, device-meta names it, and the log server
// writes to its tree (logs/current, set by the updater, names it).
func (d *Device) moved(rev string, next *state.State) {
	d.running(next)
	d.ctrl.srv.SetRevision(next, d.e)
	if err := d.devmeta.SetRevision(rev); err != nil {
		d.log(engine.LevelWarn, "device-meta: "+err.Error())
	}
	if d.logsOn {
		if err := d.o.Logs.SetRev(rev); err != nil {
			d.log(engine.LevelWarn, "log server: "+err.Error())
		}
	}
}
