package hub

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/hub/proto"
)

// TestUnclaim: a claimed, synced device told to Unclaim saves empty
// credentials, registers again as a new device and waits for its claim
// (challenge hint, state "claim"); once the new device is claimed it
// syncs its running revision to it. The old record stays on the hub.
func TestUnclaim(t *testing.T) {
	r := newRig(t, nil, "", false)
	r.until("registered", func() bool { return r.agent.State().DeviceID != "" })
	old := r.agent.State().DeviceID
	require.NoError(t, r.hub.Claim(old))
	r.idle()
	assert.True(t, r.agent.State().Claimed)

	r.agent.Unclaim()
	r.until("a new identity", func() bool {
		s := r.agent.State()
		return s.DeviceID != "" && s.DeviceID != old && s.Challenge != ""
	})
	s := r.agent.State()
	assert.False(t, s.Claimed)
	assert.Equal(t, StateClaim, s.State)
	assert.Len(t, r.hub.Devices(), 2, "registered again; the old record stays")
	c, err := proto.ReadCredsFile(r.opts.CredsFile)
	require.NoError(t, err)
	assert.Equal(t, s.DeviceID, c.ID, "the new identity is saved")
	hint, err := os.ReadFile(filepath.Join(r.opts.PVDir, HintDeviceID))
	require.NoError(t, err)
	assert.Equal(t, s.DeviceID, string(hint))
	hint, err = os.ReadFile(filepath.Join(r.opts.PVDir, HintChallenge))
	require.NoError(t, err)
	assert.Equal(t, s.Challenge, string(hint))
	assert.True(t, r.log.has("hub: device "+old+" unclaimed: registering again"))

	require.NoError(t, r.hub.Claim(s.DeviceID))
	r.idle()
	assert.True(t, r.agent.State().Claimed)
	assert.NotEmpty(t, r.hub.StepStatus(s.DeviceID, 0), "the running revision synced to the new device")
}
