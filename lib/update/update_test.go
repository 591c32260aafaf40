package update

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/bootloader"
	"pantavisor/lib/engine"
	"pantavisor/lib/progress"
)

func TestStartReboot(t *testing.T) {
	f := newFixture(t, true)
	plan, err := f.u.Start(stepRev, f.cur)
	require.NoError(t, err)
	assert.Equal(t, Plan{Action: Reboot, Rev: stepRev, Reason: "bsp changed"}, plan)
	f.requireStatus(stepRev, progress.InProgress, progress.MsgRebooting)
	assert.Equal(t, 1, f.progress(stepRev).Retries)
	assert.Equal(t, []string{"install " + stepRev}, f.boot.calls)
	assert.True(t, f.u.Updating(), "until the reboot")
	_, err = f.st.Verify(stepRev)
	assert.NoError(t, err, "the trail is complete")

	_, err = f.u.Start(stepRev, f.cur)
	assert.ErrorIs(t, err, ErrBusy)
	asked := engine.Outcome{Action: engine.Reboot, Reason: "update"}
	assert.Equal(t, asked, f.u.Decide(asked), "the reboot Start asked for is no failure")
	f.requireStatus(stepRev, progress.InProgress, progress.MsgRebooting)
	_, err = (&Updater{Storage: f.st, Boot: f.boot}).Start("locals/nope", f.cur)
	assert.ErrorIs(t, err, ErrNoStep)
}

func TestStartRefused(t *testing.T) {
	for _, tc := range []struct {
		name, status, msg string
		spoil             func(f *fixture)
	}{
		{"no state", progress.WontGo, progress.MsgNoState, func(f *fixture) {
			require.NoError(t, os.Remove(f.trailFile(stepRev, ".pvr", "json")))
		}},
		{"bad state", progress.WontGo, progress.MsgBadState, func(f *fixture) {
			require.NoError(t, os.WriteFile(f.trailFile(stepRev, ".pvr", "json"), []byte(`{"#spec":`), 0o644))
		}},
		{"retries", progress.WontGo, MsgMaxRetries, func(f *fixture) {
			p := progress.Make(progress.Error, progress.MsgGoalTimeout)
			p.Retries = 10
			require.NoError(t, f.st.SetProgress(stepRev, p.Bytes()))
		}},
		{"space", progress.WontGo, "", func(f *fixture) { f.st.Reserved = 100 }},
		{"missing object", progress.Error, progress.MsgBadObjects, func(f *fixture) { f.removeObjects(stepRev) }},
		{"corrupt object", progress.Error, progress.MsgBadObjects, func(f *fixture) {
			j, objs := revState("new", "container")
			_ = j
			require.NoError(t, os.Chmod(f.st.ObjectPath(sum(objs[0])), 0o644))
			require.NoError(t, os.WriteFile(f.st.ObjectPath(sum(objs[0])), []byte("bad"), 0o644))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			tc.spoil(f)
			plan, err := f.u.Start(stepRev, f.cur)
			require.NoError(t, err)
			assert.Equal(t, None, plan.Action)
			p := f.progress(stepRev)
			assert.Equal(t, tc.status, p.Status)
			assert.Equal(t, 100, p.Progress)
			if tc.msg != "" {
				assert.Equal(t, tc.msg, p.Msg)
			} else {
				assert.Regexp(t, `^Space required \d+ B, available 0 B$`, p.Msg)
			}
			assert.Empty(t, f.boot.calls, "the env is untouched: the running revision goes on")
			assert.False(t, f.u.Updating())
			cur, _ := f.st.Current()
			assert.Equal(t, "0", cur)
		})
	}
}

func TestRetriesCounted(t *testing.T) {
	f := newFixture(t, false)
	for i := 1; i <= 10; i++ {
		_, err := f.u.Start(stepRev, f.cur)
		require.NoError(t, err)
		assert.Equal(t, i, f.progress(stepRev).Retries)
		f.u.Transitioned(nil)
		f.u.Decide(*engine.Failure(engine.ContainerFailed, "x"))
	}
	plan, err := f.u.Start(stepRev, f.cur)
	require.NoError(t, err)
	assert.Equal(t, None, plan.Action)
	f.requireStatus(stepRev, progress.WontGo, MsgMaxRetries)
	assert.Equal(t, 10, f.progress(stepRev).Retries)
}

func TestNonRebootUpdated(t *testing.T) {
	f := newFixture(t, false)
	plan, err := f.u.Start(stepRev, f.cur)
	require.NoError(t, err)
	assert.Equal(t, Transition, plan.Action)
	assert.Equal(t, []string{"app"}, plan.Changed)
	require.NotNil(t, plan.Next)
	f.requireStatus(stepRev, progress.InProgress, progress.MsgTransitioning)
	assert.Nil(t, f.u.Tick(View{Ready: true, Stable: true}), "nothing before the swap is done")
	f.requireStatus(stepRev, progress.InProgress, progress.MsgTransitioning)

	assert.Nil(t, f.u.Transitioned(nil))
	cur, _ := f.st.Current()
	assert.Equal(t, stepRev, cur)
	assert.Nil(t, f.u.Tick(View{}))
	f.requireStatus(stepRev, progress.InProgress, progress.MsgTransitioning)
	f.now = f.now.Add(time.Second)
	assert.Nil(t, f.u.Tick(View{Ready: true}))
	f.requireStatus(stepRev, progress.Testing, progress.MsgAwaitStable)
	f.now = f.now.Add(25 * time.Second)
	assert.Nil(t, f.u.Tick(View{Ready: true}), "not stable yet")
	assert.True(t, f.u.Updating())
	assert.Nil(t, f.u.Tick(View{Ready: true, Stable: true}))
	f.requireStatus(stepRev, progress.Updated, progress.MsgUpdated)
	assert.False(t, f.u.Updating())
	assert.Equal(t, "0", f.boot.Committed(), "not a rollback point")
	assert.Equal(t, stepRev, f.boot.Pending(), "the next reboot tries it, as upstream")
}

func TestNonRebootFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		act  func(f *fixture) *engine.Outcome
		msg  string
	}{
		{"container", func(f *fixture) *engine.Outcome {
			f.u.Transitioned(nil)
			f.u.Note(engine.LevelError, "container app exited with code 1")
			f.u.Note(engine.LevelInfo, "not kept")
			out := f.u.Decide(*engine.Failure(engine.ContainerFailed, "app exited"))
			return &out
		}, progress.MsgContainerStart},
		{"goals", func(f *fixture) *engine.Outcome {
			f.u.Transitioned(nil)
			f.now = f.now.Add(119 * time.Second)
			require.Nil(t, f.u.Tick(View{}))
			f.now = f.now.Add(time.Second)
			return f.u.Tick(View{})
		}, progress.MsgGoalTimeout},
		{"swap", func(f *fixture) *engine.Outcome { return f.u.Transitioned(os.ErrInvalid) }, progress.MsgInternal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, false)
			_, err := f.u.Start(stepRev, f.cur)
			require.NoError(t, err)
			out := tc.act(f)
			require.NotNil(t, out)
			assert.Equal(t, engine.Rollback, out.Action)
			f.requireStatus(stepRev, progress.Error, tc.msg)
			assert.Equal(t, []string{"install " + stepRev, "fail"}, f.boot.calls)
			assert.False(t, f.u.Updating())
			if tc.name == "container" {
				assert.Equal(t, "container app exited with code 1", f.progress(stepRev).Logs)
			}
		})
	}
}

// reboot simulates the reboot of a Plan Reboot: a fresh updater resumes,
// the device runs the booted revision.
func (f *fixture) reboot(booted string, trying bool) Resumed {
	f.u = f.updater(true)
	r := f.u.Resume(booted, trying)
	require.NoError(f.t, f.st.SetCurrent(booted), "as device.Run does")
	return r
}

func TestTryCommit(t *testing.T) {
	f := newFixture(t, true)
	_, err := f.u.Start(stepRev, f.cur)
	require.NoError(t, err)
	f.upload("locals/fresh", "fresh")
	f.upload("locals/stale", "stale")
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(f.st.TrailPath("locals/stale"), old, old))

	r := f.reboot(stepRev, true)
	assert.Equal(t, Resumed{Kind: bootloader.ResumeTry, Updating: true}, r)
	f.requireStatus(stepRev, progress.InProgress, progress.MsgTrying)
	assert.Nil(t, f.u.Tick(View{}))
	assert.Nil(t, f.u.Tick(View{Ready: true}))
	f.requireStatus(stepRev, progress.Testing, progress.MsgAwaitCommit)
	f.now = f.now.Add(24 * time.Second)
	assert.Nil(t, f.u.Tick(View{Ready: true, Stable: true}), "the commit delay")
	f.now = f.now.Add(time.Second)
	f.boot.onCommit = func(rev string) {
		assert.Equal(t, progress.Testing, f.progress(rev).Status, "the env commit comes before DONE")
		assert.False(t, f.st.IsDone(rev))
	}
	assert.Nil(t, f.u.Tick(View{Ready: true, Stable: true}))
	f.requireStatus(stepRev, progress.Done, progress.MsgDone)
	assert.True(t, f.st.IsDone(stepRev))
	assert.Equal(t, stepRev, f.boot.Committed())
	assert.Empty(t, f.boot.Pending())
	assert.False(t, f.u.Updating())
	assert.True(t, f.st.HasRevision("locals/fresh"), "a step uploaded within the defer time survives GC")
	assert.False(t, f.st.HasRevision("locals/stale"), "an old step is collected")
	assert.False(t, f.st.HasRevision("0"), "the old revision is collected (no PV_STORAGE_GC_KEEP_FACTORY)")
}

func TestTryFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		act  func(f *fixture) engine.Outcome
		msg  string
	}{
		{"goal timeout", func(f *fixture) engine.Outcome {
			f.now = f.now.Add(120 * time.Second)
			return *f.u.Tick(View{})
		}, progress.MsgGoalTimeout},
		{"container", func(f *fixture) engine.Outcome {
			return f.u.Decide(*engine.Failure(engine.ContainerFailed, "container app exhausted its retries"))
		}, progress.MsgContainerStart},
		{"engine goal", func(f *fixture) engine.Outcome {
			return f.u.Decide(*engine.Failure(engine.GoalTimeout, "container app did not reach READY within 30s"))
		}, progress.MsgGoalTimeout},
		{"objects", func(f *fixture) engine.Outcome {
			return f.u.Decide(*engine.Failure(engine.BadObjects, "checksum"))
		}, progress.MsgBadObjects},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			_, err := f.u.Start(stepRev, f.cur)
			require.NoError(t, err)
			f.reboot(stepRev, true)
			out := tc.act(f)
			assert.Equal(t, engine.Rollback, out.Action)
			f.requireStatus(stepRev, progress.Error, tc.msg)
			assert.Empty(t, f.boot.Pending(), "Fail: the next boot runs pv_rev")
			assert.Equal(t, "0", f.boot.Committed())

			r := f.reboot("0", false)
			assert.Equal(t, Resumed{Kind: bootloader.ResumeNothing}, r, "the rolled back boot has nothing to do")
			f.requireStatus(stepRev, progress.Error, tc.msg)
		})
	}
}

func TestResume(t *testing.T) {
	for _, tc := range []struct {
		name           string
		setup          func(f *fixture)
		booted         string
		trying         bool
		want           Resumed
		rev, status    string
		msg            string
		pending, envRv string
	}{
		{"reset while trying", func(f *fixture) {
			f.boot.try = stepRev
			f.set(stepRev, progress.Testing, progress.MsgAwaitCommit)
		}, "0", false, Resumed{Kind: bootloader.ResumeRolledBack}, stepRev, progress.Error, MsgUnexpectedRollback, "", "0"},
		{"failed try booted again", func(f *fixture) {
			f.boot.try = stepRev
			f.set(stepRev, progress.Error, progress.MsgGoalTimeout)
		}, stepRev, true, Resumed{Kind: bootloader.ResumeRollback, Reboot: true}, stepRev, progress.Error, progress.MsgGoalTimeout, "", "0"},
		{"cut between env commit and DONE", func(f *fixture) {
			f.boot.rev = stepRev
			f.set(stepRev, progress.Testing, progress.MsgAwaitCommit)
		}, stepRev, false, Resumed{Kind: bootloader.ResumeRepairDone}, stepRev, progress.Done, progress.MsgDone, "", stepRev},
		{"upstream DONE on a revision the env did not commit", func(f *fixture) {
			f.boot.try = stepRev
			f.set(stepRev, progress.Done, progress.MsgDone)
		}, "0", false, Resumed{Kind: bootloader.ResumeRolledBack}, stepRev, progress.Error, MsgUnexpectedRollback, "", "0"},
		{"factory", func(f *fixture) {
			require.NoError(t, os.Remove(f.trailFile("0", ".pv", "progress")))
		}, "0", false, Resumed{Kind: bootloader.ResumeFactory}, "0", progress.Done, progress.MsgFactory, "", "0"},
		{"cut before pv_try", func(f *fixture) {
			f.set(stepRev, progress.Queued, "Retried 1 of 10")
		}, "0", false, Resumed{Kind: bootloader.ResumeNothing}, stepRev, progress.Error, MsgUnexpectedRollback, "", "0"},
		{"new step untouched", func(f *fixture) {}, "0", false, Resumed{Kind: bootloader.ResumeNothing}, stepRev,
			progress.New, progress.MsgReady, "", "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			tc.setup(f)
			r := f.reboot(tc.booted, tc.trying)
			assert.Equal(t, tc.want, r)
			f.requireStatus(tc.rev, tc.status, tc.msg)
			assert.Equal(t, tc.pending, f.boot.Pending())
			assert.Equal(t, tc.envRv, f.boot.Committed())
			assert.Equal(t, tc.status == progress.Done, f.st.IsDone(tc.rev))
		})
	}
}

func (f *fixture) set(rev, status, msg string) {
	require.NoError(f.t, f.st.SetProgress(rev, progress.Make(status, msg).Bytes()))
}

func TestRevisionZeroKeepsRunning(t *testing.T) {
	f := newFixture(t, false)
	plan, err := f.u.MakeFactory(stepRev, f.cur)
	require.NoError(t, err)
	assert.Equal(t, Transition, plan.Action)
	assert.Equal(t, "0", plan.Rev)
	assert.Equal(t, "0", f.u.Rev())
	f.u.Transitioned(nil)
	f.now = f.now.Add(2 * time.Minute)
	assert.Nil(t, f.u.Tick(View{}), "rev 0 cannot roll back: it keeps running")
	f.requireStatus("0", progress.Error, progress.MsgGoalTimeout)
	assert.False(t, f.u.Updating())

	f.boot.calls = nil
	_, err = f.u.Start("0", f.cur)
	require.NoError(t, err)
	f.u.Transitioned(nil)
	out := f.u.Decide(*engine.Failure(engine.ContainerFailed, "app"))
	assert.Equal(t, engine.Reboot, out.Action, "the engine stopped: boot rev 0 again, never a rollback")
	assert.Equal(t, []string{"install 0", "fail"}, f.boot.calls)
}

// TestDecide: the updater alone turns a failure into a reboot or a
// rollback; anything else passes through.
func TestDecide(t *testing.T) {
	f := newFixture(t, false)
	fail := *engine.Failure(engine.ContainerFailed, "container web exited and has no auto_recovery policy")
	assert.Equal(t, engine.Outcome{Action: engine.Reboot, Cause: engine.ContainerFailed,
		Reason: "container web exited and has no auto_recovery policy"}, f.u.Decide(fail), "no update: a failure reboots")
	assert.Equal(t, engine.Outcome{Action: engine.PowerOff, Cause: engine.BadSignature,
		Reason: "Signature validation failed: revision 0: x"}, f.u.Decide(*engine.Failure(engine.BadSignature, "revision 0: x")),
		"a committed revision that no longer verifies stops the device")
	for _, a := range []engine.Action{engine.Exit, engine.Reboot, engine.PowerOff} {
		assert.Equal(t, engine.Outcome{Action: a, Reason: "x"}, f.u.Decide(engine.Outcome{Action: a, Reason: "x"}))
	}
	_, err := f.u.Start(stepRev, f.cur)
	require.NoError(t, err)
	f.u.Transitioned(nil)
	assert.Equal(t, engine.Outcome{Action: engine.Rollback, Cause: engine.ContainerFailed,
		Reason: "A container could not be started: container web exited and has no auto_recovery policy"}, f.u.Decide(fail))
	_, err = f.u.Start(stepRev, f.cur)
	require.NoError(t, err)
	f.u.Transitioned(nil)
	assert.Equal(t, engine.Outcome{Action: engine.Rollback, Cause: engine.NotCovered,
		Reason: "State not fully covered by signatures: revision x"}, f.u.Decide(*engine.Failure(engine.NotCovered, "revision x")),
		"a try that does not verify rolls back")
	f.requireStatus(stepRev, progress.Error, "State not fully covered by signatures")

	assert.Nil(t, Resumed{Kind: bootloader.ResumeTry, Updating: true}.Outcome("1"))
	assert.Equal(t, &engine.Outcome{Action: engine.Rollback, Cause: engine.TryFailed, Reason: "revision 1 failed its try"},
		Resumed{Kind: bootloader.ResumeRollback, Reboot: true}.Outcome("1"))
}
