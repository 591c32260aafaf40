package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/state"
)

// transitionTo runs Transition's request through the loop's handler.
func transitionTo(e *Engine, next *state.State, r Runner, changed []string) error {
	return e.handle(event{apply: func() error { return e.begin(next, r, changed) }})
}

// names lists the containers as "name STATUS", state order.
func names(e *Engine) (out []string) {
	for _, c := range e.Containers() {
		out = append(out, c.Name+" "+c.Status.String())
	}
	return out
}

// running3 is os (system), app (no auto_recovery: an exit handled as a
// failure would roll back) and web, all started by r.
func running3(t *testing.T) (*state.State, *Engine, *fakeRunner) {
	t.Helper()
	cur := stateOf(t, ctrKeys("os", shaA, `,"group":"root"`),
		ctrKeys("app", shaA, `,"group":"app","auto_recovery":{"policy":"no"}`),
		ctrKeys("web", shaA, `,"group":"app"`))
	r := newRunner()
	e := New(cur, r, Options{})
	require.Nil(t, e.step(t0))
	require.Equal(t, "start os, start app, start web", r.log())
	return cur, e, r
}

func TestTransitionRestartsOnlyChanged(t *testing.T) {
	cur, e, r := running3(t)
	r.exit(t, e, "web", 1) // a retry, to see that kept counters survive
	require.Nil(t, e.step(t0))
	require.Nil(t, e.step(t0.Add(10*time.Second)))
	require.Equal(t, Started, e.find("web").status)
	osUnit, webUnit, appUnit := r.unit("os"), r.unit("web"), r.unit("app")

	next := stateOf(t, ctrKeys("os", shaA, `,"group":"root"`),
		ctrKeys("app", shaB, `,"group":"app","auto_recovery":{"policy":"no"}`),
		ctrKeys("web", shaA, `,"group":"app"`))
	reboot, changed, _ := Changes(cur, next)
	require.False(t, reboot)
	require.Equal(t, []string{"app"}, changed)

	r2 := newRunner()
	before := len(e.exits)
	require.NoError(t, transitionTo(e, next, r2, changed))
	assert.True(t, e.Transitioning(), "published before Transition returns")
	assert.False(t, e.GoalsReached())
	assert.Equal(t, []string{"os STARTED", "app STOPPING", "web STARTED"}, names(e))
	assert.Equal(t, Stopping, e.Status(), "not READY while a container is replaced")
	awaitExit(t, e, before)

	require.Nil(t, e.step(t0.Add(time.Minute)), "the stopped app neither recovers nor rolls back")
	assert.False(t, e.Transitioning())
	assert.True(t, e.GoalsReached())
	assert.Equal(t, "start app", r2.log(), "the new app is started by the next runner")
	assert.Equal(t, "start os, start app, start web, start web", r.log())
	assert.EqualValues(t, 1, appUnit.stops.Load())
	assert.True(t, appUnit.closed.Load())
	for _, u := range []*fakeUnit{osUnit, webUnit} {
		assert.Zero(t, u.stops.Load(), u.name)
		assert.False(t, u.closed.Load(), u.name)
	}
	assert.Same(t, osUnit, e.find("os").unit.(*fakeUnit), "unchanged: same unit")
	assert.Same(t, webUnit, e.find("web").unit.(*fakeUnit))
	assert.Same(t, r2.unit("app"), e.find("app").unit.(*fakeUnit))
	assert.Equal(t, 1, status(e, "web").Restarts, "counters kept")
	assert.False(t, status(e, "app").UserStopped)
	assert.Same(t, next.Container("os"), e.find("os").c, "records point at the next state")
	assert.True(t, e.o.Updating, "the transition is a try: failures roll back")
}

func TestTransitionRemovesAndAdds(t *testing.T) {
	cur, e, r := running3(t)
	webUnit := r.unit("web")
	next := stateOf(t, ctrKeys("os", shaA, `,"group":"root"`),
		ctrKeys("app", shaA, `,"group":"app","auto_recovery":{"policy":"no"}`),
		ctrKeys("new", shaA, `,"group":"app"`),
		ctrKeys("ui", shaA, `,"group":"platform","status_goal":"READY","restart_policy":"container"`))
	_, changed, _ := Changes(cur, next)
	require.Equal(t, []string{"new", "ui", "web"}, changed)

	r2 := newRunner()
	before := len(e.exits)
	require.NoError(t, transitionTo(e, next, r2, changed))
	assert.Equal(t, []string{"os STARTED", "app STARTED", "web STOPPING"}, names(e))
	awaitExit(t, e, before)
	require.Nil(t, e.step(t0.Add(time.Second)))
	assert.EqualValues(t, 1, webUnit.stops.Load())
	assert.True(t, webUnit.closed.Load())
	assert.Equal(t, "start ui", r2.log(), "new (app) waits for ui (platform) to be READY")
	assert.Equal(t, []string{"os STARTED", "app STARTED", "new BLOCKED", "ui STARTED"}, names(e),
		"web is dropped; the view is next's, in its order")
	var groups []string
	for _, g := range e.Groups() {
		groups = append(groups, g.Name+" "+g.Status.String())
	}
	assert.Equal(t, []string{"data READY", "root READY", "platform STARTED", "app BLOCKED"}, groups)
	assert.False(t, e.GoalsReached())

	require.NoError(t, e.handle(event{name: "ui", kind: "ready"}))
	require.Nil(t, e.step(t0.Add(2*time.Second)))
	assert.Equal(t, "start ui, start new", r2.log())
	assert.True(t, e.GoalsReached())
	assert.Equal(t, "start os, start app, start web", r.log(), "nothing else restarted")
}

func TestTransitionFailureRollsBack(t *testing.T) {
	cur, e, _ := running3(t)
	next := stateOf(t, ctrKeys("os", shaA, `,"group":"root"`),
		ctrKeys("app", shaA, `,"group":"app","auto_recovery":{"policy":"no"}`),
		ctrKeys("web", shaA, `,"group":"app"`),
		ctrKeys("new", shaA, `,"group":"platform","restart_policy":"container"`))
	_, changed, _ := Changes(cur, next)
	r2 := newRunner()
	r2.fail["new"] = true
	require.NoError(t, transitionTo(e, next, r2, changed))
	out := e.step(t0.Add(time.Second))
	require.NotNil(t, out)
	assert.Equal(t, *Failure(ContainerFailed, "container new could not be started and has no auto_recovery policy"), *out)
}

func TestTransitionBusy(t *testing.T) {
	cur, e, _ := running3(t)
	next := stateOf(t, ctrKeys("os", shaA, `,"group":"root"`), ctrKeys("web", shaA, `,"group":"app"`))
	_, changed, _ := Changes(cur, next)
	require.NoError(t, transitionTo(e, next, nil, changed))
	assert.ErrorIs(t, transitionTo(e, next, nil, changed), ErrBusy)
	assert.True(t, e.Transitioning(), "the first one goes on")
}

func TestTransitionDropsWaitingAtOnce(t *testing.T) {
	dev := `{"groups":[{"name":"first","status_goal":"READY"},{"name":"second","restart_policy":"container"}]}`
	cur := stateOf(t, `"device.json":`+dev, ctrKeys("a", shaA, `,"group":"first"`), ctrKeys("b", shaA, `,"group":"second"`))
	next := stateOf(t, `"device.json":`+dev, ctrKeys("a", shaA, `,"group":"first"`), ctrKeys("b", shaB, `,"group":"second"`))
	r := newRunner()
	e := New(cur, r, Options{})
	require.Nil(t, e.step(t0))
	require.Equal(t, Blocked, e.find("b").status)

	r2 := newRunner()
	require.NoError(t, transitionTo(e, next, r2, []string{"b"}))
	assert.Equal(t, Stopped, e.find("b").status, "not running: nothing to stop")
	require.NoError(t, control(e, "b", "start"), "a start request is accepted")
	require.NoError(t, e.handle(event{name: "a", kind: "ready"}))
	require.Nil(t, e.step(t0.Add(time.Second)))
	assert.Equal(t, "start a", r.log(), "the old b is never started")
	assert.Equal(t, "start b", r2.log())
}

func TestTransitionThroughRun(t *testing.T) {
	web := `,"group":"app","auto_recovery":{"policy":"no"}`
	cur := stateOf(t, ctrKeys("os", shaA, `,"group":"root"`), ctrKeys("web", shaA, web))
	next := stateOf(t, ctrKeys("os", shaA, `,"group":"root"`), ctrKeys("web", shaB, web))
	r := blockingRunner{newRunner(), make(chan struct{})}
	e := New(cur, r, Options{Tick: time.Millisecond})
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan Outcome)
	go func() { done <- e.Run(runCtx) }()

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, e.Transition(canceled, next, nil, []string{"web"}), context.Canceled, "the loop is busy starting")
	assert.ErrorIs(t, e.SetUpdating(canceled, true), context.Canceled)
	assert.False(t, e.Transitioning())
	close(r.release)
	require.Eventually(t, e.GoalsReached, 2*time.Second, time.Millisecond)

	ctx := context.Background()
	assert.Error(t, e.Transition(ctx, nil, nil, nil), "no next state")
	r2 := newRunner()
	require.NoError(t, e.Transition(ctx, next, r2, []string{"web"}))
	require.Eventually(t, e.GoalsReached, 2*time.Second, time.Millisecond)
	assert.Equal(t, "start web", r2.log())
	assert.Equal(t, []string{"os STARTED", "web STARTED"}, names(e))

	require.NoError(t, e.SetUpdating(ctx, false), "committed: no longer under test")
	r2.unit("web").done <- 1
	out := <-done
	assert.Equal(t, *Failure(ContainerFailed, "container web exited and has no auto_recovery policy"), out)
	assert.True(t, r.unit("os").closed.Load(), "all stopped")
	stop()
}

func TestRunEndsDuringTransition(t *testing.T) {
	cur, e, r := running3(t)
	next := stateOf(t, ctrKeys("os", shaA, `,"group":"root"`))
	_, changed, _ := Changes(cur, next)
	require.NoError(t, transitionTo(e, next, newRunner(), changed))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.Equal(t, Exit, e.Run(ctx).Action)
	for _, n := range []string{"os", "app", "web"} {
		assert.EqualValues(t, 1, r.unit(n).stops.Load(), "%s stopped once", n)
		assert.True(t, r.unit(n).closed.Load(), n)
	}
}

func TestSetUpdatingFails(t *testing.T) {
	st := stateOf(t, ctrKeys("os", shaA, `,"group":"root"`))
	r := newRunner()
	e := New(st, r, Options{Tick: time.Millisecond})
	done := make(chan Outcome)
	go func() { done <- e.Run(context.Background()) }()
	require.Eventually(t, func() bool { return status(e, "os").Status == Started }, 2*time.Second, time.Millisecond)
	require.NoError(t, e.SetUpdating(context.Background(), true))
	r.unit("os").done <- 1
	out := <-done
	assert.Equal(t, *Failure(ContainerFailed, "container os exited and has no auto_recovery policy"), out)
}

// slowUnit's Stop returns only once release is closed.
type slowUnit struct {
	*fakeUnit
	release chan struct{}
}

func (u slowUnit) Stop(d time.Duration) (int, error) {
	<-u.release
	return u.fakeUnit.Stop(d)
}

// slowRunner starts the container slow as a slowUnit.
type slowRunner struct {
	*fakeRunner
	slow    string
	release chan struct{}
}

func (r slowRunner) Start(name string) (Unit, error) {
	u, err := r.fakeRunner.Start(name)
	if err != nil || name != r.slow {
		return u, err
	}
	return slowUnit{u.(*fakeUnit), r.release}, nil
}

func TestTransitionWaitsForEveryStop(t *testing.T) {
	dev := `"device.json":{"groups":[{"name":"first","timeout":10,"status_goal":"READY","restart_policy":"container"}]}`
	cur := stateOf(t, dev, ctrKeys("a", shaA, ""), ctrKeys("s", shaA, `,"status_goal":"STARTED"`))
	next := stateOf(t, dev, ctrKeys("a", shaB, ""), ctrKeys("s", shaB, `,"status_goal":"STARTED"`))
	r := slowRunner{newRunner(), "s", make(chan struct{})}
	e := New(cur, r, Options{})
	require.Nil(t, e.step(t0))

	r2 := newRunner()
	before := len(e.exits)
	require.NoError(t, transitionTo(e, next, r2, []string{"a", "s"}))
	awaitExit(t, e, before)
	require.Nil(t, e.step(t0.Add(time.Minute)), "a is stopped past its timeout, s still stopping: no timeout, no swap")
	assert.Equal(t, []string{"a STOPPED", "s STOPPING"}, names(e))
	assert.True(t, e.Transitioning())

	before = len(e.exits)
	close(r.release)
	awaitExit(t, e, before)
	require.Nil(t, e.step(t0.Add(time.Minute)))
	assert.False(t, e.Transitioning())
	assert.Equal(t, "start a, start s", r2.log())
}
