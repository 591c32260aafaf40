package engine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/state"
)

// fakeUnit is a container whose init exits when the test says so.
// Stop and Close may run on other goroutines than the test's.
type fakeUnit struct {
	name   string
	done   chan int
	closed atomic.Bool
	stops  atomic.Int32
}

func (u *fakeUnit) Wait() int { return <-u.done }
func (u *fakeUnit) Stop(time.Duration) (int, error) {
	u.stops.Add(1)
	select {
	case u.done <- 143:
	default:
	}
	return 143, nil
}
func (u *fakeUnit) Close() error { u.closed.Store(true); return nil }

// fakeRunner records starts and mounts.
type fakeRunner struct {
	mu     sync.Mutex
	events []string
	units  map[string]*fakeUnit
	fail   map[string]bool
}

func newRunner() *fakeRunner {
	return &fakeRunner{units: map[string]*fakeUnit{}, fail: map[string]bool{}}
}

func (r *fakeRunner) add(kind, name string) (Unit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, kind+" "+name)
	if r.fail[name] {
		return nil, errors.New("boom")
	}
	u := &fakeUnit{name: name, done: make(chan int, 1)}
	r.units[name] = u
	return u, nil
}

func (r *fakeRunner) Mount(name string) (Unit, error) { return r.add("mount", name) }
func (r *fakeRunner) Start(name string) (Unit, error) { return r.add("start", name) }

func (r *fakeRunner) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.events, ", ")
}

// exit makes a container's init exit and waits until the engine got it.
func (r *fakeRunner) exit(t *testing.T, e *Engine, name string, code int) {
	t.Helper()
	before := len(e.exits)
	r.unit(name).done <- code
	awaitExit(t, e, before)
}

func (r *fakeRunner) unit(name string) *fakeUnit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.units[name]
}

// awaitExit waits until an exit reached the engine's channel (it holds
// more than before).
func awaitExit(t *testing.T, e *Engine, before int) {
	t.Helper()
	require.Eventually(t, func() bool { return len(e.exits) > before }, 2*time.Second, time.Millisecond)
}

const sha = "1111111111111111111111111111111111111111111111111111111111111111"

// revision builds a state with default groups (or device.json groups) and
// containers given as run.json extras.
func revision(t *testing.T, device string, containers ...[2]string) *state.State {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"#spec":"pantavisor-service-system@1"`)
	if device != "" {
		b.WriteString(`,"device.json":` + device)
	}
	for _, c := range containers {
		b.WriteString(`,"` + c[0] + `/lxc.container.conf":"` + sha + `","` + c[0] + `/run.json":{"name":"` + c[0] +
			`","type":"lxc","config":"lxc.container.conf"` + c[1] + `}`)
	}
	b.WriteString("}")
	st, err := state.Parse([]byte(b.String()), state.Options{})
	require.NoError(t, err)
	return st
}

var t0 = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)

func TestGroupOrderAndGoals(t *testing.T) {
	st := revision(t, "",
		[2]string{"app1", `,"group":"app"`},
		[2]string{"os", `,"group":"root"`},
		[2]string{"data1", `,"group":"data"`},
		[2]string{"ui", `,"group":"platform","status_goal":"READY"`})
	r := newRunner()
	var statuses []Status
	e := New(st, r, Options{OnStatus: func(s Status) { statuses = append(statuses, s) }})

	require.Nil(t, e.step(t0))
	assert.Equal(t, "mount data1, start os, start ui", r.log(),
		"data (MOUNTED) first, then root and platform: each earlier group reached its goal in the same step")
	assert.Equal(t, Blocked, e.find("app1").status, "app waits for platform's READY")
	assert.Equal(t, Blocked, e.Status(), "the revision is as low as its lowest unfinished container")

	require.NoError(t, e.handle(event{name: "ui", kind: "ready"}))
	require.Nil(t, e.step(t0.Add(time.Second)))
	assert.Equal(t, "mount data1, start os, start ui, start app1", r.log())
	assert.Equal(t, Ready, e.Status())
	assert.Equal(t, Ready, statuses[len(statuses)-1], "OnStatus saw READY")

	assert.ErrorContains(t, e.handle(event{name: "os", kind: "ready"}), "does not wait for ready")
	assert.ErrorContains(t, e.handle(event{name: "nope", kind: "ready"}), `no container "nope"`)
	assert.ErrorContains(t, e.handle(event{name: "ui", kind: "other"}), "unknown signal")
}

func TestGoalTimeoutUnblocksOrRollsBack(t *testing.T) {
	dev := `{"groups":[{"name":"first","timeout":10,"status_goal":"READY"},{"name":"second"}]}`
	st := revision(t, dev, [2]string{"a", `,"group":"first"`}, [2]string{"b", `,"group":"second"`})

	r := newRunner()
	e := New(st, r, Options{})
	require.Nil(t, e.step(t0))
	require.Nil(t, e.step(t0.Add(9*time.Second)))
	assert.Equal(t, "start a", r.log(), "b waits while a has time to become READY")
	require.Nil(t, e.step(t0.Add(11*time.Second)))
	assert.Equal(t, "start a, start b", r.log(), "on a normal boot a timeout only unblocks the next group")

	r = newRunner()
	e = New(st, r, Options{Updating: true})
	require.Nil(t, e.step(t0))
	out := e.step(t0.Add(11 * time.Second))
	require.NotNil(t, out)
	assert.Equal(t, Outcome{Action: Fail, Cause: GoalTimeout, Reason: "container a did not reach READY within 10s"}, *out)
}

func TestRecoveryBackoff(t *testing.T) {
	st := revision(t, "", [2]string{"web", `,"group":"app"`}) // app: on-failure, 5 retries, 5 s × 2^(n-1), then reboot
	r := newRunner()
	e := New(st, r, Options{})
	now := t0
	require.Nil(t, e.step(now))
	var delays []time.Duration
	for i := 0; i < 5; i++ {
		r.exit(t, e, "web", 1)
		require.Nil(t, e.step(now))
		c := e.find("web")
		require.Equal(t, Recovering, c.status)
		delays = append(delays, c.nextTry.Sub(now))
		require.Nil(t, e.step(c.nextTry.Add(-time.Millisecond)))
		require.Equal(t, Recovering, c.status, "not before the delay")
		now = c.nextTry
		require.Nil(t, e.step(now))
		require.Equal(t, Started, c.status, "restarted after the delay")
	}
	assert.Equal(t, []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second}, delays)
	assert.Equal(t, 5, e.Containers()[0].Restarts)
	r.exit(t, e, "web", 1)
	out := e.step(now)
	require.NotNil(t, out)
	assert.Equal(t, Fail, out.Action, "backoff_policy reboot: the revision fails (the updater decides the reboot)")
	assert.Equal(t, ContainerFailed, out.Cause)
	assert.Contains(t, out.Reason, "web exhausted its 5 retries")
	assert.True(t, r.units["web"].closed.Load(), "an exited container is cleaned up")
}

func TestRecoveryPolicies(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		updating    bool
		want        *Outcome
		status      Status
	}{
		{"no policy fails", `,"group":"root"`, false, Failure(ContainerFailed, "container c exited and has no auto_recovery policy"), Stopped},
		{"no policy fails the same while trying", `,"group":"root"`, true,
			Failure(ContainerFailed, "container c exited and has no auto_recovery policy"), Stopped},
		{"unless-stopped is not handled (upstream)", `,"auto_recovery":{"policy":"unless-stopped"}`, false,
			Failure(ContainerFailed, "container c exited and has no auto_recovery policy"), Stopped},
		{"unlimited retries without delay restart at once", `,"auto_recovery":{"policy":"always","max_retries":0}`, false, nil, Started},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := revision(t, "", [2]string{"c", tc.extra})
			r := newRunner()
			e := New(st, r, Options{Updating: tc.updating})
			require.Nil(t, e.step(t0))
			r.exit(t, e, "c", 0)
			out := e.step(t0.Add(time.Second))
			assert.Equal(t, tc.want, out)
			assert.Equal(t, tc.status, e.find("c").status)
		})
	}
}

func TestBackoffPolicyNeverAndDuration(t *testing.T) {
	st := revision(t, "", [2]string{"n", `,"group":"app","auto_recovery":{"policy":"always","max_retries":1,"retry_delay":1,"backoff_policy":"never"}`},
		[2]string{"d", `,"group":"app","auto_recovery":{"policy":"on-failure","max_retries":1,"retry_delay":1,"backoff_policy":"1min"}`})
	r := newRunner()
	e := New(st, r, Options{})
	require.Nil(t, e.step(t0))
	for _, n := range []string{"n", "d"} {
		r.exit(t, e, n, 1)
	}
	require.Nil(t, e.step(t0))
	require.Nil(t, e.step(t0.Add(time.Second)))
	for _, n := range []string{"n", "d"} {
		r.exit(t, e, n, 1)
	}
	require.Nil(t, e.step(t0.Add(2*time.Second)))
	assert.Equal(t, Stopped, e.find("n").status, "never: stays stopped after its retries")
	d := e.find("d")
	assert.Equal(t, Recovering, d.status)
	assert.Equal(t, t0.Add(62*time.Second), d.nextTry, "duration: pause, then the count resets")
	require.Nil(t, e.step(d.nextTry))
	assert.Equal(t, Started, d.status)
	assert.Equal(t, 0, d.retries)
}

func TestResetWindowAndStable(t *testing.T) {
	st := revision(t, "", [2]string{"c", `,"auto_recovery":{"policy":"always","max_retries":1,"retry_delay":0,"reset_window":60,"stable_timeout":30}`})
	r := newRunner()
	e := New(st, r, Options{})
	require.Nil(t, e.step(t0))
	require.Nil(t, e.step(t0.Add(29*time.Second)))
	assert.False(t, e.find("c").stable)
	require.Nil(t, e.step(t0.Add(30*time.Second)))
	assert.True(t, e.find("c").stable, "stable once the goal held for stable_timeout")

	r.exit(t, e, "c", 1)
	require.Nil(t, e.step(t0.Add(31*time.Second)))
	require.Nil(t, e.step(t0.Add(31*time.Second)))
	require.Equal(t, Started, e.find("c").status, "first retry")
	r.exit(t, e, "c", 1)
	require.Nil(t, e.step(t0.Add(100*time.Second)), "ran longer than reset_window: the count starts over")
}

func TestStartFailureAndStopAll(t *testing.T) {
	st := revision(t, "", [2]string{"a", `,"group":"root"`}, [2]string{"b", `,"group":"platform"`})
	r := newRunner()
	r.fail["b"] = true
	e := New(st, r, Options{})
	out := e.step(t0)
	require.NotNil(t, out)
	assert.Equal(t, *Failure(ContainerFailed, "container b could not be started and has no auto_recovery policy"), *out)

	r = newRunner()
	e = New(st, r, Options{Tick: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Outcome)
	go func() { done <- e.Run(ctx) }()
	require.Eventually(t, func() bool { return e.Status() == Ready }, 2*time.Second, time.Millisecond)
	cancel()
	res := <-done
	assert.Equal(t, Exit, res.Action)
	for _, n := range []string{"a", "b"} {
		assert.EqualValues(t, 1, r.units[n].stops.Load(), n)
		assert.True(t, r.units[n].closed.Load(), n)
	}
	for _, c := range e.Containers() {
		assert.Equal(t, Stopped, c.Status)
	}
}

func TestSignalThroughRun(t *testing.T) {
	st := revision(t, "", [2]string{"a", `,"status_goal":"READY"`})
	e := New(st, newRunner(), Options{Tick: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Run(ctx)
	require.Eventually(t, func() bool { return len(e.Containers()) == 1 && e.Containers()[0].Status == Started }, time.Second, time.Millisecond)
	require.NoError(t, e.Signal(ctx, "a", "ready"))
	require.Eventually(t, func() bool { return e.Status() == Ready }, time.Second, time.Millisecond)
}

func TestStatusNames(t *testing.T) {
	for s, n := range map[Status]string{None: "NONE", Installed: "INSTALLED", Mounted: "MOUNTED", Blocked: "BLOCKED",
		Starting: "STARTING", Started: "STARTED", Ready: "READY", Recovering: "RECOVERING", Stopping: "STOPPING",
		Stopped: "STOPPED", 99: "UNKNOWN"} {
		assert.Equal(t, n, s.String())
	}
}

// uncomparableUnit holds a func, so == on it would panic: the engine must
// never compare units.
type uncomparableUnit struct {
	*fakeUnit
	f func()
}

type uncomparableRunner struct{ *fakeRunner }

func (r uncomparableRunner) Start(name string) (Unit, error) {
	u, err := r.fakeRunner.Start(name)
	if err != nil {
		return nil, err
	}
	return uncomparableUnit{fakeUnit: u.(*fakeUnit), f: func() {}}, nil
}

func TestUnitsNeedNotBeComparable(t *testing.T) {
	st := revision(t, "", [2]string{"c", `,"group":"app"`})
	r := newRunner()
	e := New(st, uncomparableRunner{r}, Options{})
	require.Nil(t, e.step(t0))
	r.exit(t, e, "c", 1)
	require.NotPanics(t, func() { require.Nil(t, e.step(t0)) })
	assert.Equal(t, Recovering, e.find("c").status)
}

// preparingRunner is a fakeRunner that is a Preparer, its prepares in
// the same log.
type preparingRunner struct{ *fakeRunner }

func (r preparingRunner) Prepare(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "prepare "+name)
}

// TestPrepare: a Preparer runner hears of every container left blocked
// after a step's starts (mount-only ones aside), again at every step
// while it waits, and of a restart as soon as it is scheduled, not at
// its time; a container started at once is not prepared; a plain Runner
// needs no Prepare.
func TestPrepare(t *testing.T) {
	st := revision(t, "",
		[2]string{"os", `,"group":"root"`},
		[2]string{"data1", `,"group":"data"`},
		[2]string{"ui", `,"group":"platform","status_goal":"READY"`},
		[2]string{"web", `,"group":"app"`}) // app: on-failure, retry_delay 5 s
	r := preparingRunner{newRunner()}
	e := New(st, r, Options{})
	require.Nil(t, e.step(t0))
	assert.Equal(t, "mount data1, start os, start ui, prepare web", r.log(),
		"web, blocked behind ui's READY, is prepared once the others started")
	r.events = nil
	require.Nil(t, e.step(t0.Add(time.Second)))
	assert.Equal(t, "prepare web", r.log(), "web, still blocked, is told again; the started ones are not")
	require.NoError(t, e.handle(event{name: "ui", kind: "ready"}))
	r.events = nil
	require.Nil(t, e.step(t0.Add(2*time.Second)))
	assert.Equal(t, "start web", r.log())

	r.events = nil
	r.exit(t, e, "web", 1)
	require.Nil(t, e.step(t0.Add(3*time.Second)))
	assert.Equal(t, "prepare web", r.log(), "the restart is prepared when scheduled")
	require.Nil(t, e.step(t0.Add(8*time.Second)))
	assert.Equal(t, "prepare web, start web", r.log(), "and started at its time")
}

// TestUserRestartPrepares: a restart requested through Control prepares
// the container's next start as soon as its stop begins.
func TestUserRestartPrepares(t *testing.T) {
	st := revision(t, "", [2]string{"web", `,"group":"app"`})
	r := preparingRunner{newRunner()}
	e := New(st, r, Options{})
	require.Nil(t, e.step(t0))
	r.events = nil
	require.NoError(t, control(e, "web", "restart"))
	assert.Equal(t, "prepare web", r.log(), "prepared while it stops")
	r.exit(t, e, "web", 143)
	require.Nil(t, e.step(t0.Add(time.Second)))
	assert.Equal(t, "prepare web, start web", r.log())
}
