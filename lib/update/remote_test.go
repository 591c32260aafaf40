package update

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/engine"
	"pantavisor/lib/progress"
	"pantavisor/lib/pvs"
)

// fakeRemote is a hub link set by the test.
type fakeRemote struct {
	follows   string // the revision that is a hub update
	reachable bool
	missed    uint64
}

func (r *fakeRemote) Follows(rev string) bool { return rev == r.follows }
func (r *fakeRemote) Reachable() bool         { return r.reachable }
func (r *fakeRemote) Missed() uint64          { return r.missed }

// hubFixture is a fixture whose step is a hub update, started and tried
// after its reboot.
func hubFixture(t *testing.T, r *fakeRemote, timeout time.Duration) *fixture {
	t.Helper()
	f := newFixture(t, true)
	f.remote = r
	f.u = f.updater(true)
	_, err := f.u.Start(stepRev, f.cur)
	require.NoError(t, err)
	f.reboot(stepRev, true)
	f.u.Config.NetworkTimeout = timeout
	f.requireStatus(stepRev, progress.InProgress, progress.MsgTrying)
	return f
}

// TestHubNotReachable: a hub update stays INPROGRESS until the hub client
// reports; not within PH_UPDATER_NETWORK_TIMEOUT, it rolls back with
// ERROR "Hub not reachable".
func TestHubNotReachable(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration // Config.NetworkTimeout; 0: upstream's 120 s
	}{{"default", 0}, {"configured", 10 * time.Second}} {
		t.Run(tc.name, func(t *testing.T) {
			r := &fakeRemote{follows: stepRev, missed: 7}
			f := hubFixture(t, r, tc.timeout)
			limit := tc.timeout
			if limit == 0 {
				limit = 120 * time.Second
			}
			assert.Nil(t, f.u.Tick(View{Ready: true, Stable: true}))
			f.now = f.now.Add(limit - time.Second)
			assert.Nil(t, f.u.Tick(View{Ready: true, Stable: true}))
			f.requireStatus(stepRev, progress.InProgress, progress.MsgTrying)
			f.now = f.now.Add(time.Second)
			out := f.u.Tick(View{Ready: true, Stable: true})
			require.NotNil(t, out)
			assert.Equal(t, engine.Outcome{Action: engine.Rollback, Cause: engine.HubUnreachable,
				Reason: "Hub not reachable: the hub client was not online and reporting within " + limit.String()}, *out)
			f.requireStatus(stepRev, progress.Error, progress.MsgHubUnreachable)
			assert.Empty(t, f.boot.Pending(), "Fail: the next boot runs pv_rev")
			assert.Equal(t, "0", f.boot.Committed())
			assert.False(t, f.u.Updating())
		})
	}
}

// TestHubReachedLate: the hub reached within the timeout lets the test
// go on: TESTING, then the commit, even if the client leaves its report
// state afterwards (it reached the hub once).
func TestHubReachedLate(t *testing.T) {
	r := &fakeRemote{follows: stepRev}
	f := hubFixture(t, r, 30*time.Second)
	assert.Nil(t, f.u.Tick(View{Ready: true}))
	f.now = f.now.Add(29 * time.Second)
	r.reachable = true
	assert.Nil(t, f.u.Tick(View{}))
	f.requireStatus(stepRev, progress.InProgress, progress.MsgTrying)
	r.reachable = false
	f.now = f.now.Add(5 * time.Second)
	assert.Nil(t, f.u.Tick(View{Ready: true}), "reached once: the timeout no longer applies")
	f.requireStatus(stepRev, progress.Testing, progress.MsgAwaitCommit)
	f.now = f.now.Add(25 * time.Second)
	assert.Nil(t, f.u.Tick(View{Ready: true, Stable: true}))
	f.requireStatus(stepRev, progress.Done, progress.MsgDone)
	assert.Equal(t, stepRev, f.boot.Committed())
}

// TestHubNotStable: a hub request without an answer while TESTING rolls
// the update back with ERROR "Hub communication not stable"; those
// before TESTING do not count.
func TestHubNotStable(t *testing.T) {
	r := &fakeRemote{follows: stepRev, reachable: true, missed: 3}
	f := hubFixture(t, r, 0)
	assert.Nil(t, f.u.Tick(View{Ready: true}))
	f.requireStatus(stepRev, progress.Testing, progress.MsgAwaitCommit)
	f.now = f.now.Add(10 * time.Second)
	assert.Nil(t, f.u.Tick(View{Ready: true, Stable: true}), "the misses before TESTING do not count")
	r.missed++
	out := f.u.Tick(View{Ready: true, Stable: true})
	require.NotNil(t, out)
	assert.Equal(t, engine.Outcome{Action: engine.Rollback, Cause: engine.HubUnstable,
		Reason: "Hub communication not stable: a hub request got no answer while TESTING"}, *out)
	f.requireStatus(stepRev, progress.Error, progress.MsgHubUnstable)
	assert.Empty(t, f.boot.Pending())
	assert.Equal(t, "0", f.boot.Committed())
}

// TestHubNotStableSwap: the same for a non-reboot update.
func TestHubNotStableSwap(t *testing.T) {
	r := &fakeRemote{follows: stepRev, reachable: true}
	f := newFixture(t, false)
	f.remote = r
	f.u = f.updater(false)
	_, err := f.u.Start(stepRev, f.cur)
	require.NoError(t, err)
	require.Nil(t, f.u.Transitioned(nil))
	assert.Nil(t, f.u.Tick(View{Ready: true}))
	f.requireStatus(stepRev, progress.Testing, progress.MsgAwaitStable)
	r.missed = 1
	out := f.u.Tick(View{Ready: true, Stable: true})
	require.NotNil(t, out)
	assert.Equal(t, engine.Rollback, out.Action)
	assert.Equal(t, engine.HubUnstable, out.Cause)
	f.requireStatus(stepRev, progress.Error, progress.MsgHubUnstable)
}

// TestLocalUpdateIgnoresHub: an update the Remote does not follow (a
// local one) neither waits for the hub nor fails on its misses.
func TestLocalUpdateIgnoresHub(t *testing.T) {
	r := &fakeRemote{follows: "1"}
	f := hubFixture(t, r, 10*time.Second)
	f.now = f.now.Add(60 * time.Second)
	assert.Nil(t, f.u.Tick(View{Ready: true}))
	f.requireStatus(stepRev, progress.Testing, progress.MsgAwaitCommit)
	r.missed = 5
	f.now = f.now.Add(25 * time.Second)
	assert.Nil(t, f.u.Tick(View{Ready: true, Stable: true}))
	f.requireStatus(stepRev, progress.Done, progress.MsgDone)
}

// TestFailMsg: each cause's progress message.
func TestFailMsg(t *testing.T) {
	for _, tc := range []struct {
		cause engine.Cause
		msg   string
	}{
		{engine.NoCause, progress.MsgContainerStart},
		{engine.GoalTimeout, progress.MsgGoalTimeout},
		{engine.ContainerFailed, progress.MsgContainerStart},
		{engine.BadObjects, progress.MsgBadObjects},
		{engine.SetupFailed, progress.MsgContainerStart},
		{engine.TryFailed, progress.MsgContainerStart},
		{engine.UpdateFailed, progress.MsgContainerStart},
		{engine.BadSignature, pvs.ErrValidation.Error()},
		{engine.NotCovered, pvs.ErrNotCovered.Error()},
		{engine.HubUnreachable, "Hub not reachable"},
		{engine.HubUnstable, "Hub communication not stable"},
	} {
		assert.Equal(t, tc.msg, failMsg(tc.cause), "%s", tc.cause)
	}
}
