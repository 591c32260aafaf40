package hub

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
