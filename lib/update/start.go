package update

import (
	"errors"
	"os"
	"strings"

	"pantavisor/lib/bootloader"
	"pantavisor/lib/engine"
	"pantavisor/lib/printf"
	"pantavisor/lib/progress"
	"pantavisor/lib/pvs"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/state"
	"pantavisor/lib/storage"
)

// Action is what the device does with a Plan.
type Action uint8

// The actions of a plan.
const (
	None       Action = iota // nothing: the running revision goes on (a final status is written)
	Reboot                   // reboot: the bootloader tries Rev once
	Transition               // swap Changed to Next without rebooting, then call Transitioned
)

// Plan is what Start decided.
type Plan struct {
	Action  Action
	Rev     string
	Next    *state.State // Transition: the state to swap in
	Changed []string     // Transition: the containers to stop and replace
	Reason  string       // Reboot: the key that forces it
}

// Start runs revision rev (LOCAL_RUN; the step and its objects were
// uploaded) while cur runs. Steps, each persisted in rev's progress:
//  1. retries: WONTGO "Max update processing retries reached" once
//     PV_REVISION_RETRIES starts were made, else QUEUED "Retried n of m";
//  2. load the state, check its signatures (Config.Secureboot) and parse
//     it: WONTGO "State JSON not found" / "Signature validation failed" /
//     "State not fully covered by signatures" / "State JSON has bad
//     format";
//  3. free space for the trail: WONTGO "Space required …";
//  4. install the trail from the stored objects and verify it: ERROR
//     "Object validation went wrong" (nothing was installed in the env);
//  5. decide the transition (Changes), set pv_try=rev (Boot.Install), then
//     INPROGRESS "Rebooting" (Plan Reboot) or "Transitioning to new
//     revision without rebooting" (Plan Transition).
//
// For Plan None the update is over and the running revision continues.
// Errors: ErrBusy while an update is in progress, ErrNoStep for a
// revision that is not installed; other errors are also recorded as
// ERROR "Internal error".
func (u *Updater) Start(rev string, cur *state.State) (Plan, error) {
	if err := u.claim(rev); err != nil {
		return Plan{}, err
	}
	plan, err := u.start(rev, cur)
	if plan.Action == None {
		u.finish()
	}
	return plan, err
}

// claim makes rev the update under way.
func (u *Updater) claim(rev string) error {
	if storage.CheckRevision(rev) != nil || !u.Storage.HasRevision(rev) {
		return printf.Errorf("%w: %q", ErrNoStep, rev)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.phase != idle {
		return printf.Errorf("%w (%s)", ErrBusy, u.rev)
	}
	u.rev, u.phase, u.reboot, u.logs = rev, starting, false, nil
	return nil
}

// start runs the steps of Start.
func (u *Updater) start(rev string, cur *state.State) (Plan, error) {
	c := u.config()
	p := u.read(rev)
	if p.Retries >= c.Retries {
		return Plan{}, u.set(rev, progress.WontGo, MsgMaxRetries)
	}
	p.Retries++
	p.Status, p.Msg, p.Progress, p.Logs = progress.Queued, printf.Sprintf("Retried %d of %d", p.Retries, c.Retries), progress.Percent(progress.Queued), ""
	if err := u.Storage.SetProgress(rev, p.Bytes()); err != nil {
		return Plan{}, u.abort(rev, err)
	}
	u.announce(rev, p)
	next, msg := u.load(rev)
	if msg == "" {
		msg = u.space(next)
	}
	if msg != "" {
		return Plan{}, u.set(rev, progress.WontGo, msg)
	}
	if err := u.install(rev, next); err != nil {
		u.logf(engine.LevelError, "%v", err)
		u.Note(engine.LevelError, err.Error())
		return Plan{}, u.set(rev, progress.Error, progress.MsgBadObjects)
	}
	return u.decide(rev, cur, next)
}

// load reads and parses rev's state; the message is the WONTGO text.
func (u *Updater) load(rev string) (*state.State, string) {
	data, err := u.Storage.StateJSON(rev)
	if err != nil {
		return nil, progress.MsgNoState
	}
	if msg := u.secureboot(rev, data); msg != "" {
		return nil, msg
	}
	st, err := state.Parse(data, state.Options{})
	if err != nil {
		u.logf(engine.LevelError, "revision %s: %v", rev, err)
		return nil, progress.MsgBadState
	}
	return st, ""
}

// secureboot checks rev's signatures when Config.Secureboot asks; the
// message is upstream's WONTGO text (the details go to the log), "" when
// the state is accepted or is not JSON (the parser's message follows).
func (u *Updater) secureboot(rev string, data []byte) string {
	opts := u.Config.Secureboot
	if opts == nil {
		return ""
	}
	v, err := rawjson.Parse(data)
	if err != nil {
		return ""
	}
	res, err := pvs.Check(v, *opts)
	for _, k := range res.Uncovered {
		u.logf(engine.LevelWarn, "revision %s: secureboot %s: %s: %v", rev, opts.Mode, k, pvs.ErrNotCovered)
	}
	switch {
	case err == nil:
		return ""
	case errors.Is(err, pvs.ErrNotCovered):
		u.logf(engine.LevelError, "revision %s: %v", rev, err)
		return pvs.ErrNotCovered.Error()
	}
	u.logf(engine.LevelError, "revision %s: %v", rev, err)
	return pvs.ErrValidation.Error()
}

// trailMargin is room left for directories and small files of a trail.
const trailMargin = 64 << 10

// space checks the storage has room for the files a trail adds (inline
// jsons and ".bind" copies; objects are already stored); the message is
// upstream's WONTGO text, "" when it fits.
func (u *Updater) space(st *state.State) string {
	need := uint64(trailMargin)
	for _, j := range st.JSONs {
		need += uint64(len(j.Raw))
	}
	for _, o := range st.Objects {
		if fi, err := os.Stat(u.Storage.ObjectPath(o.SHA)); err == nil && strings.HasSuffix(o.Name, ".bind") {
			need += uint64(fi.Size())
		}
	}
	sp, err := u.Storage.Space()
	if err != nil || need <= sp.Available() {
		return ""
	}
	return printf.Sprintf("Space required %d B, available %d B", need, sp.Available())
}

// install completes rev's trail from the stored objects and checks it.
func (u *Updater) install(rev string, st *state.State) error {
	if err := u.Storage.Prepare(rev, st); err != nil {
		return err
	}
	_, err := u.Storage.VerifyState(rev, st)
	return err
}

// decide is step 5 of Start.
func (u *Updater) decide(rev string, cur, next *state.State) (Plan, error) {
	reboot, changed, reason := true, []string(nil), "nothing runs"
	if cur != nil && u.Changes != nil {
		reboot, changed, reason = u.Changes(cur, next)
	}
	// The bootloader reads the storage without replaying its journal:
	// the trail must be in place before pv_try points at it.
	if _, err := u.Storage.Checkpoint(); err != nil {
		return Plan{}, u.abort(rev, err)
	}
	if err := u.Boot.Install(rev); err != nil {
		return Plan{}, u.abort(rev, err)
	}
	if reboot {
		u.logf(engine.LevelInfo, "revision %s needs a reboot: %s", rev, reason)
		u.mu.Lock()
		u.reboot = true
		u.mu.Unlock()
		if err := u.set(rev, progress.InProgress, progress.MsgRebooting); err != nil {
			return Plan{}, u.abort(rev, err)
		}
		return Plan{Action: Reboot, Rev: rev, Reason: reason}, nil
	}
	u.mu.Lock()
	u.phase = swapping
	u.mu.Unlock()
	if err := u.set(rev, progress.InProgress, progress.MsgTransitioning); err != nil {
		return Plan{}, u.abort(rev, err)
	}
	return Plan{Action: Transition, Rev: rev, Next: next, Changed: changed}, nil
}

// abort records an internal failure of the update of rev: ERROR "Internal
// error" and, when rev was installed in the env, Fail. It returns err.
func (u *Updater) abort(rev string, err error) error {
	u.logf(engine.LevelError, "revision %s: %v", rev, err)
	u.Note(engine.LevelError, err.Error())
	u.record(rev, progress.Error, progress.MsgInternal)
	if u.Boot.Pending() == rev {
		if ferr := u.Boot.Fail(); ferr != nil {
			err = errors.Join(err, ferr)
		}
	}
	return err
}

// Transitioned is told the outcome of the non-reboot swap of a Plan
// Transition. Success: trails/current points at the new revision and the
// updater tests it (Tick). Failure: see fail; the returned outcome (nil
// for none) is what the device must do.
func (u *Updater) Transitioned(err error) *engine.Outcome {
	rev := u.Rev()
	if err != nil {
		u.logf(engine.LevelError, "transition to %s: %v", rev, err)
		u.Note(engine.LevelError, err.Error())
		return u.fail(progress.MsgInternal, engine.UpdateFailed, "", true)
	}
	if err := u.Storage.SetCurrent(rev); err != nil {
		u.logf(engine.LevelWarn, "%v", err)
	}
	u.mu.Lock()
	u.phase, u.since = trial, u.now()
	u.mu.Unlock()
	return nil
}

// MakeFactory makes revision src (the current one when "") the factory
// revision 0 and runs it (MAKE_FACTORY, unclaimed devices only; the
// caller checks that): the state of src replaces trails/0/.pvr/json as a
// step not yet run, then Start("0"). Copying 0 onto itself only runs it.
func (u *Updater) MakeFactory(src string, cur *state.State) (Plan, error) {
	if src == "" {
		var err error
		if src, err = u.Storage.Current(); err != nil {
			return Plan{}, printf.Errorf("make factory: %w", err)
		}
	}
	if src != bootloader.FactoryRev {
		data, err := u.Storage.StateJSON(src)
		if err != nil {
			return Plan{}, printf.Errorf("make factory: %w", err)
		}
		if _, err := u.Storage.PutState(bootloader.FactoryRev, int64(len(data)), strings.NewReader(string(data))); err != nil {
			return Plan{}, printf.Errorf("make factory: %w", err)
		}
	}
	return u.Start(bootloader.FactoryRev, cur)
}
