package update

import (
	"time"

	"pantavisor/lib/bootloader"
	"pantavisor/lib/engine"
	"pantavisor/lib/progress"
	"pantavisor/lib/pvs"
	"pantavisor/lib/storage"
)

// View is what Tick needs to know of the running revision.
type View struct {
	Ready  bool // every group reached its status goal (engine status READY)
	Stable bool // every container is stable (its auto_recovery stable_timeout passed)
}

// Tick advances the test of a revision reached by a reboot or a swap; the
// device calls it from the engine's loop (OnTick, OnStatus). Steps:
//   - goals not reached within PV_UPDATER_GOALS_TIMEOUT ⇒ fail with
//     ERROR "Status goal not reached";
//   - a hub update (Remote.Follows) that has not reached the hub
//     (Remote.Reachable) within PH_UPDATER_NETWORK_TIMEOUT ⇒ fail with
//     ERROR "Hub not reachable"; it stays INPROGRESS until it has;
//   - goals reached ⇒ TESTING "Awaiting to set rollback point if update
//     is stable" (reboot) / "Awaiting to see if update is stable" (swap);
//   - a hub update whose hub request got no answer since TESTING
//     (Remote.Missed grew) ⇒ fail with ERROR "Hub communication not
//     stable";
//   - PV_UPDATER_COMMIT_DELAY later, with every container stable ⇒ commit
//     (reboot) or UPDATED (swap).
//
// It returns the outcome the device must act on (nil: keep running).
func (u *Updater) Tick(v View) *engine.Outcome {
	c := u.config()
	now := u.now()
	u.mu.Lock()
	rev, ph, reboot, tested, missed := u.rev, u.phase, u.reboot, u.testedAt, u.missed
	u.mu.Unlock()
	if ph != trial {
		return nil
	}
	hub := u.Remote != nil && u.Remote.Follows(rev)
	if tested.IsZero() {
		return u.tryTick(c, now, v.Ready, hub)
	}
	switch {
	case hub && u.Remote.Missed() > missed:
		return u.fail(progress.MsgHubUnstable, engine.HubUnstable,
			"a hub request got no answer while TESTING", true)
	case now.Sub(tested) >= c.CommitDelay && v.Stable && reboot:
		return u.commit(rev)
	case now.Sub(tested) >= c.CommitDelay && v.Stable:
		u.record(rev, progress.Updated, progress.MsgUpdated)
		u.finish()
	}
	return nil
}

// tryTick is Tick while the revision is INPROGRESS: the goals and, for a
// hub update, the hub to reach, then TESTING.
func (u *Updater) tryTick(c Config, now time.Time, ready, hub bool) *engine.Outcome {
	u.mu.Lock()
	rev, reboot, since := u.rev, u.reboot, u.since
	if hub && !u.reached && u.Remote.Reachable() {
		u.reached = true
	}
	reached := !hub || u.reached
	u.mu.Unlock()
	switch {
	case !ready && now.Sub(since) >= c.GoalsTimeout:
		return u.fail(progress.MsgGoalTimeout, engine.GoalTimeout, "", true)
	case !reached && now.Sub(since) >= c.NetworkTimeout:
		return u.fail(progress.MsgHubUnreachable, engine.HubUnreachable,
			"the hub client was not online and reporting within "+c.NetworkTimeout.String(), true)
	case !ready || !reached:
		return nil
	}
	msg := progress.MsgAwaitStable
	if reboot {
		msg = progress.MsgAwaitCommit
	}
	u.mu.Lock()
	u.testedAt = now
	if hub {
		u.missed = u.Remote.Missed()
	}
	u.mu.Unlock()
	u.record(rev, progress.Testing, msg)
	return nil
}

// commit makes the tried revision rev the rollback point. Steps:
//  1. Boot.Commit(rev): pv_rev=rev, unset pv_try, clear the latch;
//  2. the .pv/done marker;
//  3. progress DONE "Update finished, revision set as rollback point";
//  4. GC (keeping new locals uploaded within PV_STORAGE_GC_THRESHOLD_DEFERTIME).
//
// The order differs from upstream on purpose. Upstream writes DONE
// before the env commit: a power cut between the two leaves DONE on a
// revision the bootloader will not boot again (it falls back to the old
// pv_rev), and the device believes in a rollback point that is not one.
// Writing the env first, the commit point is the env write: a cut before
// it leaves TESTING on a try that the latch turns into "Unexpected
// rollback" at the next boot; a cut after it leaves a committed revision
// whose progress is TESTING, which Resume repairs (Commit again, DONE).
// At no point can DONE name a revision the bootloader does not boot.
//
// A failing env commit fails the update (the next boot rolls back).
func (u *Updater) commit(rev string) *engine.Outcome {
	if err := u.Boot.Commit(rev); err != nil {
		u.logf(engine.LevelError, "%v", err)
		u.Note(engine.LevelError, err.Error())
		return u.fail(progress.MsgInternal, engine.UpdateFailed, "", true)
	}
	u.done(rev, progress.MsgDone)
	u.finish()
	u.gc(rev)
	return nil
}

// done marks rev committed: the .pv/done marker, then progress DONE msg
// (after the env commit). DONE is written last so that a cut anywhere
// before it leaves a committed revision whose progress is not final yet,
// which Resume repairs (ResumeRepairDone); a DONE never lacks its marker.
func (u *Updater) done(rev, msg string) {
	if err := u.Storage.MarkDone(rev); err != nil {
		u.logf(engine.LevelError, "%v", err)
	}
	if err := u.set(rev, progress.Done, msg); err != nil {
		u.logf(engine.LevelError, "%v", err)
	}
}

// gc collects what the commit of rev made garbage (reference §2.3):
// every revision but rev (running and committed), the factory one when
// configured, and local steps not yet run that were uploaded within the
// defer time; then unlinked objects not uploaded within it.
func (u *Updater) gc(rev string) {
	c := u.config()
	since := u.now().Add(-c.GCDefer)
	rep, err := u.Storage.GC(storage.GCOptions{Keep: []string{rev}, KeepFactory: c.KeepFactory,
		KeepNewSince: since, KeepObjectsSince: since})
	if err != nil {
		u.logf(engine.LevelWarn, "garbage collector: %v", err)
		return
	}
	u.logf(engine.LevelInfo, "garbage collector: %s", rep.String())
}

// Decide is the one place that turns a failed revision (an Outcome with
// Action Fail, from the engine or the device's checks before it) into
// what the device does, and chooses the progress text:
//   - the revision under test: progress ERROR with the cause's message
//     (see fail), then Rollback, or Reboot into a revision that cannot be
//     rolled back;
//   - any other revision: Reboot (upstream reboots on a failure outside
//     an update), except a state whose signatures fail (BadSignature,
//     NotCovered): PowerOff, as booting it again would fail again.
//
// Any other outcome (Exit, a Reboot or PowerOff asked for) is returned
// as is.
func (u *Updater) Decide(out engine.Outcome) engine.Outcome {
	if out.Action != engine.Fail {
		return out
	}
	u.mu.Lock()
	ph := u.phase
	u.mu.Unlock()
	if ph != trial {
		if out.Cause == engine.BadSignature || out.Cause == engine.NotCovered {
			// A committed revision that no longer verifies is not run,
			// and rebooting into it again would loop: the device stops.
			return engine.Outcome{Action: engine.PowerOff, Cause: out.Cause, Reason: failMsg(out.Cause) + ": " + out.Reason}
		}
		return engine.Outcome{Action: engine.Reboot, Cause: out.Cause, Reason: out.Reason}
	}
	return *u.fail(failMsg(out.Cause), out.Cause, out.Reason, false)
}

// failMsg is upstream's progress message for a failure of kind cause.
func failMsg(cause engine.Cause) string {
	switch cause {
	case engine.GoalTimeout:
		return progress.MsgGoalTimeout
	case engine.BadObjects:
		return progress.MsgBadObjects
	case engine.BadSignature:
		return pvs.ErrValidation.Error()
	case engine.NotCovered:
		return pvs.ErrNotCovered.Error()
	case engine.HubUnreachable:
		return progress.MsgHubUnreachable
	case engine.HubUnstable:
		return progress.MsgHubUnstable
	}
	return progress.MsgContainerStart
}

// fail ends the update under way in failure: progress ERROR msg (with the
// noted log lines), then Boot.Fail so the next boot runs pv_rev, and the
// outcome Rollback (reboot into it). The order makes a cut between the
// two harmless: the latch boots pv_rev anyway, and Resume sees the
// failed progress and only completes the Fail.
//
// Revision 0 (or any revision that is also pv_rev) cannot be rolled
// back: there is nothing older to boot. It gets ERROR and keeps running:
// no outcome when the engine still runs it (running), else Reboot into it.
//
// The outcome carries cause, and msg and detail as its reason.
func (u *Updater) fail(msg string, cause engine.Cause, detail string, running bool) *engine.Outcome {
	rev := u.Rev()
	u.record(rev, progress.Error, msg)
	if u.Boot.Pending() != "" {
		if err := u.Boot.Fail(); err != nil {
			u.logf(engine.LevelError, "%v", err)
		}
	}
	u.finish()
	if rev == u.Boot.Committed() || rev == bootloader.FactoryRev {
		u.logf(engine.LevelError, "revision %s failed and cannot be rolled back: keeping it", rev)
		if running {
			return nil
		}
		return &engine.Outcome{Action: engine.Reboot, Cause: cause, Reason: reason(msg, detail) + ": revision " + rev + " cannot be rolled back"}
	}
	return &engine.Outcome{Action: engine.Rollback, Cause: cause, Reason: reason(msg, detail)}
}

// reason is an outcome's reason: the progress message, then the detail.
func reason(msg, detail string) string {
	if detail == "" {
		return msg
	}
	return msg + ": " + detail
}
