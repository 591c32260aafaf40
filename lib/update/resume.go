package update

import (
	"pantavisor/lib/bootloader"
	"pantavisor/lib/engine"
	"pantavisor/lib/progress"
)

// Resumed is what the device does after Resume.
type Resumed struct {
	Kind     bootloader.ResumeKind
	Updating bool // booted is under test: run it with failures rolling back, Tick until the end
	Reboot   bool // reboot before running anything (a failed try booted again)
}

// Outcome is what the device does before running booted: nil to run it,
// else the rollback of a failed try booted again.
func (r Resumed) Outcome(booted string) *engine.Outcome {
	if !r.Reboot {
		return nil
	}
	return &engine.Outcome{Action: engine.Rollback, Cause: engine.TryFailed, Reason: "revision " + booted + " failed its try"}
}

// Resume decides, at boot, what the booted revision means for the update
// state machine (bootloader.DecideResume on the env and the progress
// files) and carries it out: Commit (repair of a cut between our env
// commit and DONE), the progress write ("Trying new revision", "Unexpected
// rollback", "Factory revision", DONE), Fail. Then any other revision
// whose progress is left in QUEUED, DOWNLOADING, INPROGRESS or TESTING (a
// cut before its pv_try was written, or a try abandoned by a newer
// update) gets ERROR "Unexpected rollback": no step stays in progress
// forever. trying is the bootloader's word (Boot.Choose).
func (u *Updater) Resume(booted string, trying bool) Resumed {
	s := bootloader.ResumeState{Booted: booted, Trying: trying, EnvTry: u.Boot.Pending(),
		BootedStatus: u.status(booted)}
	s.EnvRev = u.Boot.Committed()
	if s.EnvTry != "" && u.Storage.HasRevision(s.EnvTry) {
		s.TryStatus = u.status(s.EnvTry)
	}
	d := bootloader.DecideResume(s)
	u.logf(engine.LevelInfo, "resume: booted %s (trying %t, pv_rev %s, pv_try %q): %s", booted, trying, s.EnvRev, s.EnvTry, d.Kind)
	r := Resumed{Kind: d.Kind, Reboot: d.Reboot}
	if u.apply(d) && d.Kind == bootloader.ResumeTry {
		u.mu.Lock()
		u.rev, u.phase, u.reboot, u.since, u.logs = booted, trial, true, u.now(), nil
		u.mu.Unlock()
		r.Updating = true
	}
	if d.Kind == bootloader.ResumeRepairDone {
		u.gc(booted)
	}
	u.sweep(booted, trying)
	return r
}

// apply carries out decision d in its order: Commit, progress, Fail. It
// reports false when a step failed (what follows is skipped: the next
// boot decides again).
func (u *Updater) apply(d bootloader.Resume) bool {
	if d.Commit {
		if err := u.Boot.Commit(d.Rev); err != nil {
			u.logf(engine.LevelError, "resume: %v", err)
			return false
		}
	}
	if d.Status != "" && u.Storage.HasRevision(d.Rev) {
		var err error
		if d.Status == progress.Done {
			u.done(d.Rev, d.Msg)
		} else {
			err = u.set(d.Rev, d.Status, d.Msg)
		}
		if err != nil {
			u.logf(engine.LevelError, "resume: %v", err)
			return false
		}
	}
	if d.Fail {
		if err := u.Boot.Fail(); err != nil {
			u.logf(engine.LevelError, "resume: %v", err)
			return false
		}
	}
	return true
}

// sweep ends the progress of revisions left in an update status that no
// update will ever finish: all but the revision being tried.
func (u *Updater) sweep(booted string, trying bool) {
	revs, err := u.Storage.Revisions()
	if err != nil {
		return
	}
	for _, rev := range revs {
		if (trying && rev == booted) || rev == u.Boot.Pending() {
			continue
		}
		switch u.status(rev) {
		case progress.Queued, progress.Downloading, progress.InProgress, progress.Testing:
			u.record(rev, progress.Error, MsgUnexpectedRollback)
		}
	}
}
