package device

import (
	"context"
	"errors"

	"pantavisor/lib/bootloader"
	"pantavisor/lib/config"
	"pantavisor/lib/engine"
	"pantavisor/lib/launch"
	"pantavisor/lib/state"
	"pantavisor/lib/storage"
	"pantavisor/lib/update"
)

// newUpdater is the device's updater on st and its bootloader env
// (o.Boot; without one, the direct env of the storage: no bootloader).
func newUpdater(o Options, st *storage.Storage, log func(engine.Level, string)) (*update.Updater, error) {
	b := o.Boot
	if b == nil {
		var err error
		b, err = bootloader.Options{Writer: st.W}.OpenBoot(bootloader.KindDirect, st.Root)
		if b == nil {
			return nil, err
		}
		if err != nil {
			log(engine.LevelWarn, err.Error())
		}
	}
	cfg := o.Config
	if cfg == nil {
		cfg = config.New()
	}
	return &update.Updater{Storage: st, Boot: b, Changes: engine.Changes, Log: log,
		Config: update.Config{Retries: cfg.Int("PV_REVISION_RETRIES"), CommitDelay: cfg.Duration("PV_UPDATER_COMMIT_DELAY"),
			GoalsTimeout: cfg.Duration("PV_UPDATER_GOALS_TIMEOUT"), GCDefer: cfg.Duration("PV_STORAGE_GC_THRESHOLD_DEFERTIME"),
			KeepFactory: cfg.Bool("PV_STORAGE_GC_KEEP_FACTORY")}}, nil
}

// updates connects the updater to the running engine: the commands that
// start updates, and the ticks that test and commit them.
type updates struct {
	u      *update.Updater
	e      *engine.Engine
	ctx    context.Context // the engine's: ends with the revision
	launch launch.Options
	run    func(rev string, st *state.State) engine.Runner
	end    func(engine.Outcome)              // ends the engine with an outcome
	moved  func(rev string, st *state.State) // a swap made rev the running revision
	cur    *state.State                      // the running state (command goroutine only)
	log    func(engine.Level, string)
}

// tick advances the update under test from the engine's loop. The engine
// must not be called synchronously here (SetUpdating goes through the
// loop), so switching rollback off after the end runs aside.
func (d *updates) tick() {
	if d.e == nil || !d.u.Updating() {
		return
	}
	out := d.u.Tick(update.View{Ready: d.e.GoalsReached(), Stable: allStable(d.e.Containers())})
	if out != nil {
		d.end(*out)
		return
	}
	if !d.u.Updating() {
		go d.e.SetUpdating(d.ctx, false)
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

// command carries out LOCAL_RUN, LOCAL_RUN_COMMIT and MAKE_FACTORY
// (reference pantavisor-control §2.3, §6): start the update, then reboot
// or swap as the plan says. LOCAL_RUN_COMMIT reboots right after a swap
// too, so the next boot tries and commits the revision.
func (d *updates) command(op, payload string, commit, factory bool) {
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
	switch plan.Action {
	case update.Reboot:
		d.end(engine.Outcome{Action: engine.Reboot, Reason: "update to revision " + plan.Rev + ": " + plan.Reason})
	case update.Transition:
		if d.swap(plan) && commit {
			d.end(engine.Outcome{Action: engine.Reboot, Reason: op + ": revision " + plan.Rev + " tried at the next boot"})
		}
	}
}

// swap runs a Plan Transition: the engine stops the changed containers
// and starts next's; the others keep running untouched.
func (d *updates) swap(plan update.Plan) bool {
	err := errors.New("no engine")
	if d.e != nil {
		err = d.e.Transition(d.ctx, plan.Next, d.run(plan.Rev, plan.Next), plan.Changed)
	}
	if out := d.u.Transitioned(err); out != nil {
		d.end(*out)
		return false
	}
	d.cur = plan.Next
	d.moved(plan.Rev, plan.Next)
	return true
}
