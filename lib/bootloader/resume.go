package bootloader

import "pantavisor/lib/progress"

// MsgUnexpectedRollback is upstream's progress message for a try that
// ended without being committed or failed (reset, power cut, watchdog).
const MsgUnexpectedRollback = "Unexpected rollback"

// ResumeState is what the updater knows at boot, before it acts.
type ResumeState struct {
	Booted       string // the running revision (Choose)
	Trying       bool   // the running revision is a try (Choose)
	EnvRev       string // pv_rev in the env ("" means FactoryRev)
	EnvTry       string // pv_try in the env
	BootedStatus string // progress status of Booted ("" when none)
	TryStatus    string // progress status of EnvTry ("" when none or unset)
}

// ResumeKind names a resume decision.
type ResumeKind int

// Resume decisions.
const (
	ResumeNothing    ResumeKind = iota // a committed revision with final progress
	ResumeTry                          // trying Booted: INPROGRESS "Trying new revision"
	ResumeRollback                     // trying Booted, already failed: Fail and reboot
	ResumeRolledBack                   // the try of EnvTry did not come back: record it, Fail
	ResumeRepairDone                   // Booted was committed, its DONE not written yet
	ResumeFactory                      // rev 0 without DONE: DONE "Factory revision"
)

// Resume is what the updater does at boot, in this order: Commit(Rev)
// when Commit; write progress Status/Msg on Rev when Status is set; Fail
// when Fail; reboot when Reboot.
type Resume struct {
	Kind   ResumeKind
	Rev    string // the revision the progress and Commit apply to
	Status string // progress status to write on Rev; "" for none
	Msg    string
	Commit bool // Boot.Commit(Rev) before writing Status
	Fail   bool // Boot.Fail() after writing Status
	Reboot bool
}

// DecideResume is upstream's pv_update_resume (§3.6) for our commit
// order, a pure function of what the device finds at boot:
//   - trying Booted: failed progress ⇒ Fail and reboot (the try is over);
//     else ⇒ INPROGRESS "Trying new revision" (also over a DONE: the env,
//     which says Booted is not committed, is the truth);
//   - not trying and pv_try names another revision: its try came back to
//     us: failed progress ⇒ Fail; else (a cut, watchdog or reset during
//     the try, or a DONE the env never got, as upstream's order can leave)
//     ⇒ ERROR "Unexpected rollback" on it and Fail;
//   - not trying, Booted is rev 0 without DONE ⇒ DONE "Factory revision";
//   - not trying, Booted is pv_rev with a running progress (INPROGRESS,
//     TESTING, UPDATED): the power went between our env commit and DONE
//     ⇒ Commit again (idempotent, clears the latch) and DONE;
//   - otherwise nothing.
//
// A pv_try equal to the booted, not-tried revision is stale: Fail clears
// it and the booted revision is judged on its own.
func DecideResume(s ResumeState) Resume {
	if s.Trying {
		if failed(s.BootedStatus) {
			return Resume{Kind: ResumeRollback, Rev: s.Booted, Fail: true, Reboot: true}
		}
		return Resume{Kind: ResumeTry, Rev: s.Booted, Status: progress.InProgress, Msg: progress.MsgTrying}
	}
	if s.EnvTry != "" && s.EnvTry != s.Booted {
		r := Resume{Kind: ResumeRolledBack, Rev: s.EnvTry, Fail: true}
		if !failed(s.TryStatus) {
			r.Status, r.Msg = progress.Error, MsgUnexpectedRollback
		}
		return r
	}
	r := decideBooted(s)
	r.Fail = s.EnvTry != ""
	return r
}

// decideBooted judges a booted revision that is not a try.
func decideBooted(s ResumeState) Resume {
	envRev := s.EnvRev
	if envRev == "" {
		envRev = FactoryRev
	}
	switch {
	case s.Booted == FactoryRev && s.BootedStatus != progress.Done:
		return Resume{Kind: ResumeFactory, Rev: s.Booted, Status: progress.Done, Msg: progress.MsgFactory}
	case s.Booted == envRev && running(s.BootedStatus):
		return Resume{Kind: ResumeRepairDone, Rev: s.Booted, Status: progress.Done, Msg: progress.MsgDone, Commit: true}
	}
	return Resume{Kind: ResumeNothing, Rev: s.Booted}
}

// failed reports a progress status that ended an update in failure.
func failed(status string) bool { return status == progress.Error || status == progress.WontGo }

// running reports a progress status of a revision that ran as an update
// and was not finished as committed.
func running(status string) bool {
	return status == progress.InProgress || status == progress.Testing || status == progress.Updated
}

// String names the decision for logs.
func (k ResumeKind) String() string {
	switch k {
	case ResumeNothing:
		return "nothing"
	case ResumeTry:
		return "try"
	case ResumeRollback:
		return "rollback"
	case ResumeRolledBack:
		return "rolled back"
	case ResumeRepairDone:
		return "repair done"
	case ResumeFactory:
		return "factory"
	}
	return "unknown"
}
