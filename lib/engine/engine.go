// Package engine runs a revision: it starts containers group by group in
// state order, tracks their status against their goals and timeouts,
// restarts them per auto_recovery, and decides when the device must
// reboot or roll back. One goroutine (Run) owns all its state.
package engine

import (
	"context"
	"sync"
	"time"

	"pantavisor/lib/printf"
	"pantavisor/lib/state"
)

// Runner mounts and starts the containers of one revision (lib/launch in
// production, fakes in tests).
type Runner interface {
	Mount(name string) (Unit, error) // volumes only: goal MOUNTED
	Start(name string) (Unit, error) // volumes and the container
}

// Preparer is a Runner that can do ahead of a start what does not depend
// on its moment (lib/launch spawns the container's stage, whose runtime
// then comes up while earlier groups start or a restart waits). The
// engine prepares a blocked container at every step (again and again
// until it starts, so Prepare must be cheap when it has nothing to do), a
// container as soon as its restart is scheduled, and one stopping for a
// restart requested through Control. Preparing is a hint: what fails
// shows at the start.
type Preparer interface {
	Prepare(name string)
}

// Unit is a mounted or started container.
type Unit interface {
	Wait() int                               // blocks until the init exits (mount-only: until Close)
	Stop(timeout time.Duration) (int, error) // halt signal, then SIGKILL after timeout
	Close() error                            // unmount volumes, remove the cgroup
}

// Action is what ends a running revision. The engine returns Exit or
// Fail; what a failure means for the device (Reboot or Rollback) is the
// updater's decision alone (lib/update Updater.Decide); commands ask for
// Reboot and PowerOff.
type Action uint8

// The actions.
const (
	Exit     Action = iota // the context ended: containers are stopped
	Reboot                 // the device reboots (a command, an update, a failure outside a try)
	Rollback               // the revision under test failed: go back to the last good one
	PowerOff               // asked for by a command
	Fail                   // the revision failed: Cause says how, the updater decides what follows
)

var actionNames = [...]string{"exit", "reboot", "rollback", "poweroff", "fail"}

func (a Action) String() string { return actionNames[a] }

// Cause says what failed, for an Outcome whose Action is Fail (and kept
// on the Reboot or Rollback decided from it).
type Cause uint8

// The causes.
const (
	NoCause         Cause = iota
	GoalTimeout           // a status goal was not reached in time (revision under test)
	ContainerFailed       // a container could not be started, or exited with no recovery left
	BadObjects            // the revision's objects failed the integrity check (device)
	SetupFailed           // the revision's setup failed before any container: BSP volumes, a system-start hook (device)
	TryFailed             // the revision under test was booted again after its try ended (updater)
	UpdateFailed          // the update itself failed: a bootloader env or progress write, a swap (updater)
	BadSignature          // a signature of the revision's state failed (device, PV_SECUREBOOT_MODE)
	NotCovered            // the state is not fully covered by signatures (device, strict mode)
	HubUnreachable        // a hub update's revision did not reach the hub in time (updater)
	HubUnstable           // a hub request got no answer while a hub update was TESTING (updater)
)

var causeNames = [...]string{"", "goal timeout", "container failed", "bad objects", "setup failed", "try failed",
	"update failed", "bad signature", "not covered", "hub unreachable", "hub unstable"}

func (c Cause) String() string { return causeNames[c] }

// Outcome is why Run returned: the action, and for a failure its cause
// and what failed (Reason, for the log).
type Outcome struct {
	Action Action
	Cause  Cause
	Reason string
}

func (o Outcome) Error() string { return o.Action.String() + ": " + o.Reason }

// Failure is the Outcome of a failure of kind cause: what failed, why.
func Failure(cause Cause, reason string) *Outcome {
	return &Outcome{Action: Fail, Cause: cause, Reason: reason}
}

// Level grades engine log messages (upstream levels).
type Level uint8

// The levels used by the engine.
const (
	LevelError Level = 1
	LevelWarn  Level = 2
	LevelInfo  Level = 3
	LevelDebug Level = 4
)

// Options tune the engine; zero values take upstream defaults.
type Options struct {
	Tick        time.Duration // main loop period (2 s)
	StopTimeout time.Duration // grace before SIGKILL on stop (5 s)
	Updating    bool          // the revision is under test: a goal timeout and exhausted retries are failures
	Log         func(Level, string)
	OnStatus    func(Status)     // the revision status changed (device-meta pantavisor.status)
	OnTick      func()           // called every loop iteration (the watchdog keepalive)
	Now         func() time.Time // clock seam for tests
	// BeforeStop is called with a failure before the containers stop
	// (nil: none); it may block (the console debug shell delays the end
	// while it is open), the loop waiting meanwhile.
	BeforeStop func(Outcome)
}

// Engine runs one revision. Create it with New, then call Run once.
type Engine struct {
	st      *state.State
	runner  Runner
	o       Options
	cs      []*ctr
	exits   chan exited
	pending []exited // exits received by Run, handled by the next step
	events  chan event
	trans   *transition // under way, nil when none

	mu            sync.Mutex // guards the rest: the copy other goroutines read
	view          []ContainerStatus
	groups        []GroupStatus
	status        Status
	transitioning bool
}

// ContainerStatus is a container's state as reported to other goroutines.
// Roles and AutoRecovery are shared with the state: read only.
type ContainerStatus struct {
	Name, Group, Goal string
	Status            Status
	RestartPolicy     string              // "system" or "container"
	Roles             []string            // as in run.json ("mgmt" …)
	AutoRecovery      *state.AutoRecovery // nil: policy "no"
	Retries           int                 // current_retries: restarts since the count last reset
	Restarts          int                 // restarts since the revision started
	Stable            bool
	UserStopped       bool // stopped through Control("stop")
}

// GroupStatus is a group's state: its members' lowest status, READY when
// all reached their goal or it has none (upstream pv_group_check_goals).
// AutoRecovery is shared with the state: read only.
type GroupStatus struct {
	Name, Goal, RestartPolicy string
	Status                    Status
	Timeout                   int                 // seconds
	AutoRecovery              *state.AutoRecovery // the group's default; nil: policy "no"
}

type exited struct {
	c    *ctr
	u    Unit
	gen  int // the start it belongs to (units need not be comparable)
	code int
}

// event is a request to the loop: a signal of type kind, with control set
// the Control action kind, with apply set a call to make in the loop.
type event struct {
	name, kind string
	control    bool
	apply      func() error
	reply      chan error
}

// New prepares an engine for the containers of st.
func New(st *state.State, r Runner, o Options) *Engine {
	if o.Tick == 0 {
		o.Tick = 2 * time.Second
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = func(Level, string) {}
	}
	e := &Engine{st: st, runner: r, o: o, exits: make(chan exited, 16), events: make(chan event)}
	for i, c := range st.Containers {
		e.cs = append(e.cs, newCtr(st, c, i))
	}
	e.publish()
	return e
}

// newCtr is the record of container sc, number i of st, not yet started.
func newCtr(st *state.State, sc *state.Container, i int) *ctr {
	c := &ctr{status: Installed}
	c.link(st, sc, i)
	return c
}

// link points c at container sc, number i of st, and its group.
func (c *ctr) link(st *state.State, sc *state.Container, i int) {
	c.c, c.group, c.groupIndex, c.order = sc, st.Group(sc.Group), groupIndex(st, sc.Group), i
}

func groupIndex(st *state.State, name string) int {
	for i, g := range st.Device.Groups {
		if g.Name == name {
			return i
		}
	}
	return -1
}

func (e *Engine) logf(l Level, format string, args ...any) {
	e.o.Log(l, printf.Sprintf(format, args...))
}

// Run is the main loop: every tick (and whenever a container exits or an
// event arrives) it takes one step. It returns when a step finds the
// revision failed (Action Fail, with its Cause), or when ctx ends; in
// every case it stops all containers first.
func (e *Engine) Run(ctx context.Context) Outcome {
	ticker := time.NewTicker(e.o.Tick)
	defer ticker.Stop()
	for {
		if e.o.OnTick != nil {
			e.o.OnTick()
		}
		if out := e.step(e.o.Now()); out != nil {
			e.logf(LevelError, "revision failed (%s): %s", out.Cause, out.Reason)
			if e.o.BeforeStop != nil {
				e.o.BeforeStop(*out)
			}
			e.stopAll()
			return *out
		}
		select {
		case <-ctx.Done():
			e.logf(LevelInfo, "stopping all containers")
			e.stopAll()
			return Outcome{Action: Exit, Reason: "stopped"}
		case ex := <-e.exits:
			e.pending = append(e.pending, ex)
		case ev := <-e.events:
			ev.reply <- e.handle(ev)
		case <-ticker.C:
		}
	}
}

// Signal delivers a container's signal (type "ready") to the loop; it
// fails when the container does not exist or does not wait for it. A
// READY signal to a container already READY is accepted again.
func (e *Engine) Signal(ctx context.Context, name, kind string) error {
	return e.send(ctx, event{name: name, kind: kind})
}

// Control asks the loop to "start", "stop" or "restart" a container with
// restart_policy "container" and returns its verdict: nil (the change is
// requested; it completes asynchronously), ErrNoContainer,
// ErrSystemPolicy, ErrBadAction, ErrNotStartable, ErrNotRestartable, or
// ctx's error when the loop did not take the request in time.
func (e *Engine) Control(ctx context.Context, name, action string) error {
	return e.send(ctx, event{name: name, kind: action, control: true})
}

// send hands ev to Run and waits for its answer (which is immediate once
// taken: the loop never blocks handling an event).
func (e *Engine) send(ctx context.Context, ev event) error {
	ev.reply = make(chan error, 1)
	select {
	case e.events <- ev:
		return <-ev.reply
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Containers returns the current status of every container, state order.
func (e *Engine) Containers() []ContainerStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]ContainerStatus(nil), e.view...)
}

// Groups returns every group's status, in state order.
func (e *Engine) Groups() []GroupStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]GroupStatus(nil), e.groups...)
}

// Status returns the revision status.
func (e *Engine) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.status
}

// handle answers an event and publishes what it changed.
func (e *Engine) handle(ev event) error {
	var err error
	switch {
	case ev.apply != nil:
		err = ev.apply()
	case ev.control:
		err = e.control(e.find(ev.name), ev.kind)
	default:
		err = e.signal(e.find(ev.name), ev.name, ev.kind)
	}
	if err == nil {
		e.publish()
	}
	return err
}

// signal applies a container's signal: "ready" moves a STARTED container
// whose goal is READY to READY.
func (e *Engine) signal(c *ctr, name, kind string) error {
	if c == nil {
		return printf.Errorf("no container %q", name)
	}
	if kind != "ready" {
		return printf.Errorf("unknown signal %q", kind)
	}
	if c.c.StatusGoal != state.GoalReady || (c.status != Started && c.status != Ready) {
		return printf.Errorf("container %s does not wait for ready (goal %s, status %s)", c.c.Name, c.c.StatusGoal, c.status)
	}
	if c.status == Started {
		c.status = Ready
		e.logf(LevelInfo, "container %s signalled ready", c.c.Name)
	}
	return nil
}

func (e *Engine) find(name string) *ctr {
	for _, c := range e.cs {
		if c.c.Name == name {
			return c
		}
	}
	return nil
}
