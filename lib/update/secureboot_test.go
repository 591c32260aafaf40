package update

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/progress"
	"pantavisor/lib/pubkey/pubkeytest"
	"pantavisor/lib/pvs"
	"pantavisor/lib/pvs/sign"
)

// TestStartSecureboot: with Config.Secureboot, a step the mode refuses
// ends WONTGO with upstream's signature text before anything is installed;
// an accepted one runs.
func TestStartSecureboot(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	signed := func(f *fixture) {
		j, _ := revState("new", "container")
		out, err := sign.Add(j, "_sigs/all.json", sign.Options{Key: key, Include: []string{"**"}})
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(f.trailFile(stepRev, ".pvr", "json"), out, 0o644))
	}
	unsigned := func(*fixture) {}
	for _, tc := range []struct {
		name string
		opts pvs.Options
		step func(*fixture)
		msg  string // "": accepted (the plan reboots)
	}{
		{"strict, signed", pvs.Options{Mode: pvs.Strict, Trust: pvs.Trust{PubKey: pubkeytest.Must(key.Public())}}, signed, ""},
		{"strict, unsigned", pvs.Options{Mode: pvs.Strict, Trust: pvs.Trust{PubKey: pubkeytest.Must(key.Public())}}, unsigned, "State not fully covered by signatures"},
		{"strict, other key", pvs.Options{Mode: pvs.Strict, Trust: pvs.Trust{PubKey: pubkeytest.Must(other.Public())}}, signed, "Signature validation failed"},
		{"lenient, unsigned", pvs.Options{Trust: pvs.Trust{PubKey: pubkeytest.Must(key.Public())}}, unsigned, ""},
		{"lenient, no device key", pvs.Options{}, signed, "Signature validation failed"},
		{"audit, unsigned", pvs.Options{Mode: pvs.Audit}, unsigned, ""},
		{"disabled, other key", pvs.Options{Mode: pvs.Disabled, Trust: pvs.Trust{PubKey: pubkeytest.Must(other.Public())}}, signed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			tc.step(f)
			opts := tc.opts
			f.u.Config.Secureboot = &opts
			plan, err := f.u.Start(stepRev, f.cur)
			require.NoError(t, err)
			if tc.msg == "" {
				assert.Equal(t, Reboot, plan.Action)
				f.requireStatus(stepRev, progress.InProgress, progress.MsgRebooting)
				assert.FileExists(t, f.trailFile(stepRev, "app", "run.json"), "installed")
				return
			}
			assert.Equal(t, None, plan.Action)
			f.requireStatus(stepRev, progress.WontGo, tc.msg)
			assert.Empty(t, f.boot.calls, "the env is untouched: the running revision goes on")
			assert.NoFileExists(t, f.trailFile(stepRev, "app", "run.json"), "nothing installed")
		})
	}
}
