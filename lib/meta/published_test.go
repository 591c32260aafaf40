package meta

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPublished(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{KeyArch, true}, {KeyVersion, true}, {KeyDTModel, true}, {KeyCPUModel, true}, {KeyUname, true},
		{KeySysinfo, true}, {KeyStorage, true}, {KeyTime, true}, {KeyInterfaces, true},
		{KeyStatus, true}, {KeyRevision, true}, {KeyMode, true}, {KeyClaimed, true},
		{KeyHubOnline, true}, {KeyHubClaimed, true}, {KeyHubState, true}, {KeyHubAddress, true},
		{"pantavisor.future", true}, // the whole namespace is Pantavisor's
		{"pantahub.future", true},
		{"k", false},
		{"app.status", false},
		{"pantavisor", false}, // no dot: not in the namespace
		{"pantavisorx.status", false},
		{"storage.x", false},
		{"interfacesx", false},
		{"Pantavisor.status", false}, // keys are case-sensitive files
		{"", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Published(tt.key), tt.key)
	}
	for _, k := range SystemKeys() {
		assert.True(t, Published(k), k)
	}
}

// TestClientWrites: a client can neither set nor delete a device-meta key
// Pantavisor publishes; Pantavisor can, and user-meta is the user's.
func TestClientWrites(t *testing.T) {
	f := newFixture(t)
	dev := f.store(Device)
	require.NoError(t, dev.SetStatus("READY"))
	require.NoError(t, dev.SetRevision("locals/a"))

	err := dev.ClientSet(KeyStatus, "FORGED")
	assert.ErrorIs(t, err, ErrReadOnly)
	assert.EqualError(t, err, `device-meta "pantavisor.status": metadata key is published by pantavisor`)
	assert.ErrorIs(t, dev.ClientDelete(KeyRevision), ErrReadOnly)
	assert.ErrorIs(t, dev.ClientDelete(KeyHubState), ErrReadOnly, "refused even when not set")
	assert.ErrorIs(t, dev.ClientSet(KeyInterfaces, "{}"), ErrReadOnly)
	assert.Equal(t, map[string]string{
		"device-meta/pantavisor.status":   "READY",
		"device-meta/pantavisor.revision": "locals/a",
		"device-meta.pantavisor/status":   "READY",
		"device-meta.pantavisor/revision": "locals/a",
	}, tree(t, f.run))
	assert.Equal(t, map[string]string{"pantavisor.status": "READY", "pantavisor.revision": "locals/a"}, tree(t, f.persist))

	require.NoError(t, dev.ClientSet("app.k", "v"))
	require.NoError(t, dev.ClientDelete("app.k"))
	assert.ErrorIs(t, dev.ClientDelete("app.k"), ErrNotFound)
	assert.ErrorIs(t, dev.ClientSet("../x", "v"), ErrInvalidKey)
	require.NoError(t, dev.SetStatus("UPDATED"), "pantavisor itself still writes")

	usr := f.store(User)
	require.NoError(t, usr.ClientSet(KeyStatus, "mine"))
	require.NoError(t, usr.ClientDelete(KeyStatus))
}
