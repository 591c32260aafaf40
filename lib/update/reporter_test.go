package update

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/progress"
)

// recorder is a Reporter that keeps "rev STATUS msg" lines.
type recorder struct{ lines []string }

func (r *recorder) Recorded(rev string, p progress.Progress) {
	r.lines = append(r.lines, rev+" "+p.Status+" "+p.Msg)
}

// TestReporterNonReboot: every progress the updater records, the start's
// QUEUED included, is announced once, in order, with the stored values.
func TestReporterNonReboot(t *testing.T) {
	f := newFixture(t, false)
	r := &recorder{}
	f.u.Reporter = r
	_, err := f.u.Start(stepRev, f.cur)
	require.NoError(t, err)
	assert.Nil(t, f.u.Transitioned(nil))
	f.now = f.now.Add(time.Second)
	assert.Nil(t, f.u.Tick(View{Ready: true}))
	f.now = f.now.Add(25 * time.Second)
	assert.Nil(t, f.u.Tick(View{Ready: true, Stable: true}))
	assert.Equal(t, []string{
		stepRev + " QUEUED Retried 1 of 10",
		stepRev + " INPROGRESS " + progress.MsgTransitioning,
		stepRev + " TESTING " + progress.MsgAwaitStable,
		stepRev + " UPDATED " + progress.MsgUpdated,
	}, r.lines)
}

// TestReporterResume: the statuses a resume writes after a reboot (the
// try, then DONE at the commit) and refusals are announced too.
func TestReporterResume(t *testing.T) {
	f := newFixture(t, true)
	_, err := f.u.Start(stepRev, f.cur)
	require.NoError(t, err)
	r := &recorder{}
	f.u = f.updater(true)
	f.u.Reporter = ReporterFunc(r.Recorded)
	f.u.Resume(stepRev, true)
	require.NoError(t, f.st.SetCurrent(stepRev))
	assert.Nil(t, f.u.Tick(View{Ready: true}))
	f.now = f.now.Add(25 * time.Second)
	assert.Nil(t, f.u.Tick(View{Ready: true, Stable: true}))
	assert.Equal(t, []string{
		stepRev + " INPROGRESS " + progress.MsgTrying,
		stepRev + " TESTING " + progress.MsgAwaitCommit,
		stepRev + " DONE " + progress.MsgDone,
	}, r.lines)

	f.upload("locals/bad", "bad")
	p := progress.Make(progress.Error, progress.MsgGoalTimeout)
	p.Retries = 10
	require.NoError(t, f.st.SetProgress("locals/bad", p.Bytes()))
	r.lines = nil
	_, err = f.u.Start("locals/bad", f.cur)
	require.NoError(t, err)
	assert.Equal(t, []string{"locals/bad WONTGO " + MsgMaxRetries}, r.lines)
}
