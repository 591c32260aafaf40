// Package update moves a device from revision to revision: the progress
// state machine of upstream Pantavisor (trails/<rev>/.pv/progress), the
// local update flow (LOCAL_RUN), reboot and non-reboot transitions,
// try-boot, commit and rollback through the bootloader env, and the
// resume decision at every boot.
//
// An Updater is one component with its dependencies injected: the
// storage, the try-boot logic (lib/bootloader's Boot), the transition
// rule (engine.Changes), a clock and the configuration. The device drives
// it: Resume at boot, Start on LOCAL_RUN, Transitioned after a
// non-reboot swap, Tick from the engine's loop, Decide when the revision
// fails. Only the updater decides between reboot and rollback, and only
// it chooses the progress texts.
package update

import (
	"strings"
	"sync"
	"time"

	"pantavisor/lib/engine"
	"pantavisor/lib/printf"
	"pantavisor/lib/progress"
	"pantavisor/lib/pvs"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
	"pantavisor/lib/storage"
)

// Boot is the try-boot logic the updater uses (*bootloader.Boot).
type Boot interface {
	Committed() string        // pv_rev, "0" when unset
	Pending() string          // pv_try, "" when none
	Install(rev string) error // pv_try=rev: the next boot tries rev once
	Commit(rev string) error  // pv_rev=rev, unset pv_try and the latch
	Fail() error              // unset pv_try: the next boot runs pv_rev
}

// ChangesFunc says whether moving from cur to next needs a reboot and
// which containers a non-reboot transition swaps (engine.Changes).
type ChangesFunc func(cur, next *state.State) (reboot bool, changed []string, reason string)

// Config holds the updater's configuration keys; zero values take the
// upstream defaults.
type Config struct {
	Retries      int           // PV_REVISION_RETRIES (10)
	CommitDelay  time.Duration // PV_UPDATER_COMMIT_DELAY (25 s)
	GoalsTimeout time.Duration // PV_UPDATER_GOALS_TIMEOUT (120 s)
	GCDefer      time.Duration // PV_STORAGE_GC_THRESHOLD_DEFERTIME (600 s): younger new locals survive GC
	// NetworkTimeout is PH_UPDATER_NETWORK_TIMEOUT (120 s): how long a
	// hub update's revision may stay INPROGRESS without reaching the hub.
	NetworkTimeout time.Duration
	KeepFactory    bool // PV_STORAGE_GC_KEEP_FACTORY
	// Secureboot checks a step's signatures (PV_SECUREBOOT_MODE, the
	// trust stores, PV_OEM_NAME) before it runs; nil: not checked.
	Secureboot *pvs.Options
}

// Sentinels callers branch on.
var (
	// ErrBusy: an update is already in progress (ctrl answers 503).
	ErrBusy error = &sentinel.Error{Text: "an update is already in progress"}
	// ErrNoStep: the revision to run is not a valid installed step.
	ErrNoStep error = &sentinel.Error{Text: "no such step"}
)

// Messages of ours next to lib/progress's upstream texts.
const (
	MsgMaxRetries         = "Max update processing retries reached"
	MsgUnexpectedRollback = "Unexpected rollback"
)

// maxLogLines bounds the log lines kept for a failed revision's "logs".
const maxLogLines = 32

// phase is where the update under way stands.
type phase uint8

const (
	idle     phase = iota // no update
	starting              // Start runs: validating, installing, deciding
	swapping              // non-reboot: waiting for the device's Transitioned
	trial                 // the new revision runs: goals, then commit delay
)

// Reporter is told every progress the updater records, once it is
// durable: the QUEUED of a start, INPROGRESS, TESTING and every final
// status, those written at a resume after a reboot included. The device
// forwards a hub revision's to its hub client. Recorded is called with
// no lock of the updater held and must not block.
type Reporter interface {
	Recorded(rev string, p progress.Progress)
}

// ReporterFunc is a function used as a Reporter.
type ReporterFunc func(rev string, p progress.Progress)

// Recorded calls f(rev, p).
func (f ReporterFunc) Recorded(rev string, p progress.Progress) { f(rev, p) }

// Remote is the link to the hub as seen by an update that came from the
// hub (the device's hub client). Its test depends on the link (reference
// pantahub-protocol §2.2): the revision must reach the hub within
// Config.NetworkTimeout, and no hub request may go unanswered while it
// is TESTING. Methods are called from Tick and must not block.
type Remote interface {
	// Follows reports whether revision rev is a hub update that depends
	// on the hub: a hub step, with the device in remote mode. A local
	// update never does.
	Follows(rev string) bool
	// Reachable reports whether the hub client is online and in its
	// report state (pantahub.state "report").
	Reachable() bool
	// Missed counts the hub requests that got no HTTP response (an HTTP
	// error status is an answer) since the client started; it never
	// decreases.
	Missed() uint64
}

// Updater is the update state machine of one device. Set the exported
// fields, then use it from any goroutine; one lock guards its state and
// is never held while calling out to the engine.
type Updater struct {
	Storage *storage.Storage
	Boot    Boot
	Changes ChangesFunc
	Config  Config
	Now     func() time.Time           // nil: time.Now
	Log     func(engine.Level, string) // nil: discard
	// Reporter is told each progress recorded; nil: nobody.
	Reporter Reporter
	// Remote is the hub link hub updates depend on; nil: no hub, no
	// update depends on one.
	Remote Remote

	mu       sync.Mutex
	rev      string    // the revision under update, "" when idle
	phase    phase     //
	reboot   bool      // rev was reached by a reboot (commit) rather than a swap (UPDATED)
	since    time.Time // the new revision started running: goals timer
	testedAt time.Time // TESTING since; zero before
	reached  bool      // a hub update's revision reached the hub (Remote.Reachable) while INPROGRESS
	missed   uint64    // Remote.Missed when TESTING started
	logs     []string  // error and warning lines while updating
}

func (u *Updater) now() time.Time {
	if u.Now == nil {
		return time.Now()
	}
	return u.Now()
}

func (u *Updater) logf(l engine.Level, format string, args ...any) {
	if u.Log != nil {
		u.Log(l, "updater: "+printf.Sprintf(format, args...))
	}
}

func (u *Updater) config() Config {
	c := u.Config
	if c.Retries <= 0 {
		c.Retries = 10
	}
	if c.CommitDelay <= 0 {
		c.CommitDelay = 25 * time.Second
	}
	if c.GoalsTimeout <= 0 {
		c.GoalsTimeout = 120 * time.Second
	}
	if c.GCDefer <= 0 {
		c.GCDefer = 600 * time.Second
	}
	if c.NetworkTimeout <= 0 {
		c.NetworkTimeout = 120 * time.Second
	}
	return c
}

// Updating reports whether an update is in progress: from Start (or a
// resumed try) until its final status. ctrl answers 503 meanwhile.
func (u *Updater) Updating() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.phase != idle
}

// Rev returns the revision under update, "" when none.
func (u *Updater) Rev() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.rev
}

// Note records a log line; warnings and errors seen while an update is
// in progress become the "logs" of its progress should it fail (upstream
// keeps the ERROR-level log lines of a failed revision in .pv/logs).
func (u *Updater) Note(l engine.Level, msg string) {
	if l > engine.LevelWarn {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.phase == idle {
		return
	}
	if len(u.logs) == maxLogLines {
		u.logs = u.logs[1:]
	}
	u.logs = append(u.logs, msg)
}

// read returns rev's progress (zero when none or unreadable).
func (u *Updater) read(rev string) progress.Progress {
	data, err := u.Storage.Progress(rev)
	if err != nil || data == nil {
		return progress.Progress{}
	}
	p, _ := progress.Parse(data)
	return p
}

// status returns the status in rev's progress, "" when none.
func (u *Updater) status(rev string) string { return u.read(rev).Status }

// set writes status and msg to rev's progress, keeping its retries; an
// ERROR carries the log lines noted during the update.
func (u *Updater) set(rev, status, msg string) error {
	p := u.read(rev)
	p.Status, p.Msg, p.Progress, p.Downloads = status, msg, progress.Percent(status), nil
	if status == progress.Error {
		u.mu.Lock()
		if len(u.logs) > 0 {
			p.Logs = strings.Join(u.logs, "\n")
		}
		u.mu.Unlock()
	}
	if err := u.Storage.SetProgress(rev, p.Bytes()); err != nil {
		return printf.Errorf("progress of %s: %w", rev, err)
	}
	// Logged once durable: whoever reads the line may cut the power.
	u.logf(engine.LevelInfo, "revision %s: %s %q", rev, status, msg)
	u.announce(rev, p)
	return nil
}

// announce tells the Reporter that p was recorded for rev.
func (u *Updater) announce(rev string, p progress.Progress) {
	if u.Reporter != nil {
		u.Reporter.Recorded(rev, p)
	}
}

// record is set where the caller goes on whatever happens: a failed
// write is logged, never dropped.
func (u *Updater) record(rev, status, msg string) {
	if err := u.set(rev, status, msg); err != nil {
		u.logf(engine.LevelError, "%v", err)
	}
}

// finish ends the update under way (its final status is written).
func (u *Updater) finish() {
	u.mu.Lock()
	u.rev, u.phase, u.reboot, u.logs = "", idle, false, nil
	u.since, u.testedAt, u.reached, u.missed = time.Time{}, time.Time{}, false, 0
	u.mu.Unlock()
}
