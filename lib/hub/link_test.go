package hub

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/progress"
)

// TestMissedCounts: State.Missed counts each request without an HTTP
// answer and never goes down; an HTTP error status does not count.
func TestMissedCounts(t *testing.T) {
	r := newRig(t, nil, "", true)
	id := r.idle()
	require.Zero(t, r.agent.State().Missed, "the way to idle was answered")
	steps := "/trails/" + id + "/steps"
	r.hub.Answer("GET", steps, 500, []byte(`{"Error":"down"}`))
	n0 := r.count("GET", steps)
	r.until("a 500", func() bool { return r.count("GET", steps) > n0 })
	assert.Zero(t, r.agent.State().Missed, "an HTTP error is an answer")
	r.hub.ClearFaults()
	r.hub.Refuse(true)
	r.until("a miss", func() bool { return r.agent.State().Missed > 0 })
	n := r.agent.State().Missed
	r.until("another miss", func() bool { return r.agent.State().Missed > n })
	r.hub.Refuse(false)
	r.until("online", func() bool { return r.agent.State().Online })
	assert.Greater(t, r.agent.State().Missed, n, "answers do not reset it")
}

// TestReporting: a queued report counts while the client has a session
// to send it with, until it was sent; without a session it does not
// (the device would wait for nothing).
func TestReporting(t *testing.T) {
	r := newRig(t, nil, "", true)
	r.agent.Report(1, progress.Make(progress.InProgress, progress.MsgRebooting))
	r.step(0)
	assert.False(t, r.agent.Reporting(), "no session yet")
	r.idle()
	assert.True(t, r.agent.Reporting(), "logged in and synced: it can be sent")
	r.step(0)
	assert.False(t, r.agent.Reporting(), "sent")
	r.agent.Report(1, progress.Make(progress.InProgress, progress.MsgRebooting))
	assert.True(t, r.agent.Reporting())
	r.step(0)
	assert.False(t, r.agent.Reporting())
}
