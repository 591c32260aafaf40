package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/state"
)

// control runs one Control action through the loop's handler.
func control(e *Engine, name, action string) error {
	return e.handle(event{name: name, kind: action, control: true})
}

// controlAndExit runs an action that stops name and waits for the exit.
func controlAndExit(t *testing.T, e *Engine, name, action string) {
	t.Helper()
	before := len(e.exits)
	require.NoError(t, control(e, name, action))
	require.Equal(t, Stopping, e.find(name).status)
	awaitExit(t, e, before)
}

func status(e *Engine, name string) ContainerStatus {
	for _, c := range e.Containers() {
		if c.Name == name {
			return c
		}
	}
	return ContainerStatus{}
}

func TestControlErrors(t *testing.T) {
	st := revision(t, "", [2]string{"os", `,"group":"root"`}, [2]string{"web", `,"group":"app"`})
	for _, tc := range []struct {
		name, action string
		want         error
		body         string
	}{
		{"nope", "stop", ErrNoContainer, "Container not found"},
		{"nope", "jump", ErrNoContainer, "Container not found"},
		{"os", "stop", ErrSystemPolicy, "Container has restart_policy 'system' and cannot be controlled via API"},
		{"os", "jump", ErrSystemPolicy, "Container has restart_policy 'system' and cannot be controlled via API"},
		{"web", "jump", ErrBadAction, "Invalid action. Use 'start', 'stop', or 'restart'"},
		{"web", "", ErrBadAction, "Invalid action. Use 'start', 'stop', or 'restart'"},
		{"web", "start", ErrNotStartable, "Container must be in STOPPED, STOPPING, or RECOVERING state to start"},
		{"web", "restart", ErrNotRestartable, "Container state does not allow restart"},
	} {
		t.Run(tc.name+" "+tc.action, func(t *testing.T) {
			e := New(st, newRunner(), Options{}) // not stepped: web is INSTALLED
			err := control(e, tc.name, tc.action)
			require.ErrorIs(t, err, tc.want)
			assert.Equal(t, tc.body, err.Error(), "the HTTP body is the error text")
		})
	}
}

func TestUserStopNeverRecovers(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		updating    bool
	}{
		{"app default recovery", `,"group":"app"`, false},
		{"no policy would reboot", `,"group":"root","restart_policy":"container"`, false},
		{"no policy would roll back", `,"group":"root","restart_policy":"container"`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := revision(t, "", [2]string{"c", tc.extra})
			r := newRunner()
			e := New(st, r, Options{Updating: tc.updating})
			require.Nil(t, e.step(t0))
			u := r.unit("c")

			controlAndExit(t, e, "c", "stop")
			cs := status(e, "c")
			assert.Equal(t, Stopping, cs.Status, "published at once")
			assert.True(t, cs.UserStopped)
			for _, now := range []time.Time{t0.Add(time.Second), t0.Add(time.Hour)} {
				require.Nil(t, e.step(now), "no reboot, no rollback, no timeout")
			}
			assert.Equal(t, Stopped, e.find("c").status)
			assert.Equal(t, "start c", r.log(), "not restarted")
			assert.EqualValues(t, 1, u.stops.Load())
			assert.True(t, u.closed.Load())
			assert.Equal(t, Ready, e.Status(), "a user-stopped container does not keep the revision from READY")
			assert.Zero(t, status(e, "c").Retries)
		})
	}
}

func TestUserStopWaitingOrRecovering(t *testing.T) {
	dev := `{"groups":[{"name":"first","timeout":10,"status_goal":"READY"},{"name":"second","restart_policy":"container",` +
		`"auto_recovery":{"policy":"always","retry_delay":5}},{"name":"third"}]}`
	st := revision(t, dev, [2]string{"a", `,"group":"first","restart_policy":"container"`},
		[2]string{"b", `,"group":"second"`}, [2]string{"c", `,"group":"third"`})
	r := newRunner()
	e := New(st, r, Options{})
	require.Nil(t, e.step(t0))
	require.Equal(t, Blocked, e.find("b").status)
	require.NoError(t, control(e, "b", "stop"))
	assert.Equal(t, Stopped, e.find("b").status, "a blocked container will not start")
	controlAndExit(t, e, "a", "stop")
	require.Nil(t, e.step(t0))
	assert.Equal(t, "start a, start c", r.log(), "user-stopped a and b no longer hold c back")

	require.NoError(t, control(e, "b", "start"))
	require.Nil(t, e.step(t0))
	r.exit(t, e, "b", 1)
	require.Nil(t, e.step(t0))
	require.Equal(t, Recovering, e.find("b").status)
	require.NoError(t, control(e, "b", "stop"))
	require.Nil(t, e.step(t0.Add(time.Minute)))
	assert.Equal(t, Stopped, e.find("b").status, "a pending recovery is cancelled")
	assert.Equal(t, "start a, start c, start b", r.log())
}

func TestUserStart(t *testing.T) {
	st := revision(t, "", [2]string{"web", `,"group":"app"`})
	r := newRunner()
	e := New(st, r, Options{})
	require.Nil(t, e.step(t0))

	require.NoError(t, control(e, "web", "start"), "running: a no-op")
	require.Nil(t, e.step(t0))
	assert.Equal(t, "start web", r.log())

	r.exit(t, e, "web", 1)
	require.Nil(t, e.step(t0))
	require.Equal(t, Recovering, e.find("web").status)
	require.Equal(t, 1, status(e, "web").Retries)
	require.NoError(t, control(e, "web", "start"), "recovering: reinstalled without waiting for the delay")
	assert.Equal(t, Installed, status(e, "web").Status)
	assert.Zero(t, status(e, "web").Retries, "start resets the retries")
	require.Nil(t, e.step(t0))
	assert.Equal(t, Started, e.find("web").status)

	controlAndExit(t, e, "web", "stop")
	require.Nil(t, e.step(t0))
	require.NoError(t, control(e, "web", "start"))
	assert.False(t, status(e, "web").UserStopped)
	require.Nil(t, e.step(t0))
	assert.Equal(t, Started, e.find("web").status)
	assert.Equal(t, "start web, start web, start web", r.log())
}

func TestUserStartWhileStopping(t *testing.T) {
	st := revision(t, "", [2]string{"web", `,"group":"app"`})
	r := newRunner()
	e := New(st, r, Options{})
	require.Nil(t, e.step(t0))
	controlAndExit(t, e, "web", "stop")
	require.NoError(t, control(e, "web", "start"), "STOPPING: started once the stop completes")
	assert.Equal(t, Stopping, e.find("web").status)
	require.ErrorIs(t, control(e, "web", "restart"), ErrNotRestartable, "never restarted twice")
	require.Nil(t, e.step(t0))
	assert.Equal(t, Started, e.find("web").status)
	assert.Equal(t, "start web, start web", r.log())
}

func TestUserRestart(t *testing.T) {
	st := revision(t, "", [2]string{"web", `,"group":"app"`})
	r := newRunner()
	e := New(st, r, Options{})
	require.Nil(t, e.step(t0))
	first := r.unit("web")

	controlAndExit(t, e, "web", "restart")
	assert.False(t, status(e, "web").UserStopped)
	require.ErrorIs(t, control(e, "web", "restart"), ErrNotRestartable, "a restart is already under way")
	require.Nil(t, e.step(t0.Add(time.Hour)), "no recovery, no timeout")
	assert.Equal(t, Started, e.find("web").status, "reinstalled and started in the same step")
	assert.Equal(t, "start web, start web", r.log())
	assert.EqualValues(t, 1, first.stops.Load())
	assert.True(t, first.closed.Load())

	controlAndExit(t, e, "web", "stop")
	require.Nil(t, e.step(t0))
	require.NoError(t, control(e, "web", "restart"), "stopped: reinstalled directly")
	require.Nil(t, e.step(t0))
	assert.Equal(t, Started, e.find("web").status)
	assert.Equal(t, "start web, start web, start web", r.log())
}

func TestControlMountOnly(t *testing.T) {
	st := revision(t, "", [2]string{"vol", `,"group":"data","restart_policy":"container"`})
	r := newRunner()
	e := New(st, r, Options{})
	require.Nil(t, e.step(t0))
	require.Equal(t, Mounted, e.find("vol").status)
	controlAndExit(t, e, "vol", "restart")
	require.Nil(t, e.step(t0))
	assert.Equal(t, Mounted, e.find("vol").status)
	assert.Equal(t, "mount vol, mount vol", r.log())
}

func TestStopAllDuringUserStop(t *testing.T) {
	st := revision(t, "", [2]string{"web", `,"group":"app"`}, [2]string{"x", `,"group":"app"`})
	r := newRunner()
	e := New(st, r, Options{})
	require.Nil(t, e.step(t0))
	require.NoError(t, control(e, "web", "restart"))
	e.stopAll()
	for _, n := range []string{"web", "x"} {
		assert.EqualValues(t, 1, r.unit(n).stops.Load(), "%s stopped once", n)
		assert.True(t, r.unit(n).closed.Load(), n)
		assert.Equal(t, Stopped, status(e, n).Status, n)
	}
	require.Nil(t, e.step(t0), "the late exits are ignored")
	assert.Equal(t, "start web, start x", r.log(), "the pending restart is dropped")
}

func TestContainerStatusFields(t *testing.T) {
	st := revision(t, "", [2]string{"os", `,"group":"root","roles":["mgmt"]`},
		[2]string{"web", `,"group":"app"`},
		[2]string{"off", `,"group":"app","auto_recovery":{"policy":"no"}`})
	r := newRunner()
	e := New(st, r, Options{})
	require.Nil(t, e.step(t0))
	r.exit(t, e, "web", 1)
	require.Nil(t, e.step(t0))

	cs := e.Containers()
	require.Len(t, cs, 3)
	assert.Equal(t, ContainerStatus{Name: "os", Group: "root", Goal: state.GoalStarted, Status: Started,
		RestartPolicy: state.PolicySystem, Roles: []string{"mgmt"}, Stable: true}, cs[0])
	assert.Equal(t, state.PolicyContainer, cs[1].RestartPolicy)
	require.NotNil(t, cs[1].AutoRecovery)
	assert.Equal(t, "on-failure", cs[1].AutoRecovery.Policy, "the group's default")
	assert.Equal(t, 1, cs[1].Retries)
	assert.Equal(t, Recovering, cs[1].Status)
	assert.Nil(t, cs[2].AutoRecovery, "policy no is reported as none")
}

func TestGroups(t *testing.T) {
	st := revision(t, "", [2]string{"vol", `,"group":"data"`}, [2]string{"os", `,"group":"root"`},
		[2]string{"ui", `,"group":"platform","status_goal":"READY"`}) // app has no members
	e := New(st, newRunner(), Options{})
	names := func() (out []string) {
		for _, g := range e.Groups() {
			out = append(out, g.Name+" "+g.Status.String())
		}
		return out
	}
	assert.Equal(t, []string{"data INSTALLED", "root INSTALLED", "platform INSTALLED", "app READY"}, names(),
		"an empty group has reached its goal")
	require.Nil(t, e.step(t0))
	assert.Equal(t, []string{"data READY", "root READY", "platform STARTED", "app READY"}, names())
	assert.Equal(t, Started, e.Status())
	require.NoError(t, e.handle(event{name: "ui", kind: "ready"}))
	assert.Equal(t, []string{"data READY", "root READY", "platform READY", "app READY"}, names())
	assert.Equal(t, Ready, e.Status())

	g := e.Groups()
	assert.Equal(t, GroupStatus{Name: "data", Goal: state.GoalMounted, RestartPolicy: state.PolicySystem,
		Status: Ready, Timeout: 30}, g[0])
	assert.Equal(t, state.PolicyContainer, g[3].RestartPolicy)
	require.NotNil(t, g[3].AutoRecovery)
	assert.Equal(t, 5, g[3].AutoRecovery.MaxRetries)
}

func TestReadyGoalThroughRun(t *testing.T) {
	st := revision(t, "", [2]string{"ui", `,"group":"platform","status_goal":"READY"`},
		[2]string{"web", `,"group":"app"`})
	r := newRunner()
	e := New(st, r, Options{Tick: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan Outcome)
	go func() { done <- e.Run(ctx) }()
	require.Eventually(t, func() bool { return status(e, "ui").Status == Started }, 2*time.Second, time.Millisecond)
	assert.Equal(t, Blocked, status(e, "web").Status, "app waits for platform's READY")

	assert.Error(t, e.Signal(ctx, "web", "ready"), "web's goal is STARTED")
	assert.Error(t, e.Signal(ctx, "ui", "alive"))
	assert.Error(t, e.Signal(ctx, "nope", "ready"))
	require.NoError(t, e.Signal(ctx, "ui", "ready"))
	assert.Equal(t, Ready, status(e, "ui").Status, "published before Signal returns")
	require.NoError(t, e.Signal(ctx, "ui", "ready"), "again: accepted")
	require.Eventually(t, func() bool { return e.Status() == Ready }, 2*time.Second, time.Millisecond)
	assert.Equal(t, Started, status(e, "web").Status)

	require.NoError(t, e.Control(ctx, "web", "stop"))
	require.Eventually(t, func() bool { return status(e, "web").Status == Stopped }, 2*time.Second, time.Millisecond)
	assert.Equal(t, Ready, e.Status())
	cancel()
	assert.Equal(t, Exit, (<-done).Action)
}

// blockingRunner's Start waits until release is closed.
type blockingRunner struct {
	*fakeRunner
	release chan struct{}
}

func (r blockingRunner) Start(name string) (Unit, error) {
	<-r.release
	return r.fakeRunner.Start(name)
}

func TestControlWhileLoopBusy(t *testing.T) {
	st := revision(t, "", [2]string{"web", `,"group":"app"`})
	r := blockingRunner{newRunner(), make(chan struct{})}
	e := New(st, r, Options{Tick: time.Millisecond})
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan Outcome)
	go func() { done <- e.Run(runCtx) }()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := e.Control(ctx, "web", "stop")
	assert.True(t, errors.Is(err, context.Canceled), "%v", err)
	assert.ErrorIs(t, e.Signal(ctx, "web", "ready"), context.Canceled)

	close(r.release)
	stop()
	<-done
}
