package ctrl

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/config"
	"pantavisor/lib/pvs/sign"
	"pantavisor/lib/pvs/sign/signtest"
	"pantavisor/lib/storage"
)

// testSigner writes a trust store with a new CA into dir and returns
// signing options for a leaf it issued, valid around now, covering all.
func testSigner(t *testing.T, dir string) sign.Options {
	return signtest.TrustStore(t, dir, "test-signer")
}

// TestPutLocalStepSecureboot: PUT /steps/locals checks signatures under
// PV_SECUREBOOT_MODE; a refused state is answered 422 "Secureboot: …"
// and nothing is stored, not even over an existing step.
func TestPutLocalStepSecureboot(t *testing.T) {
	dir := t.TempDir()
	trust := filepath.Join(dir, "trust")
	opts := testSigner(t, trust)
	signed, err := sign.Add([]byte(stepState), "_sigs/all.json", opts)
	require.NoError(t, err)
	i := strings.Index(string(signed), `"signature":"`) + len(`"signature":"`)
	flip := map[byte]byte{'A': 'B'}[signed[i]]
	if flip == 0 {
		flip = 'A'
	}
	tampered := string(signed[:i]) + string(flip) + string(signed[i+1:])
	unknownCA := testSigner(t, filepath.Join(dir, "other"))
	foreign, err := sign.Add([]byte(stepState), "_sigs/all.json", unknownCA)
	require.NoError(t, err)

	notCovered := errorBody("Secureboot: State not fully covered by signatures")
	failed := errorBody("Secureboot: Signature validation failed")
	for _, tc := range []struct {
		mode, body string
		code       int
		resp       string
	}{
		{"strict", string(signed), 200, ""},
		{"strict", stepState, 422, notCovered},
		{"strict", tampered, 422, failed},
		{"strict", string(foreign), 422, failed},
		{"audit", stepState, 200, ""},
		{"audit", tampered, 422, failed},
		{"lenient", stepState, 200, ""},
		{"lenient", string(signed), 200, ""},
		{"lenient", tampered, 422, failed},
		{"lenient", string(foreign), 422, failed},
		{"disabled", tampered, 200, ""},
	} {
		name := tc.mode + " " + tc.body
		cfg := config.New()
		require.NoError(t, cfg.Set(config.LevelEnv, "PV_SECUREBOOT_MODE", tc.mode))
		st, err := storage.Open(filepath.Join(t.TempDir(), "storage"), storage.Options{})
		require.NoError(t, err)
		socket := filepath.Join(t.TempDir(), "pv-ctrl")
		ss := &storageServer{Server: &Server{Socket: socket, Storage: st, Config: cfg, TrustDir: trust,
			Identify: func(int) (string, error) { return "", nil }}, socket: socket, st: st}
		require.NoError(t, ss.Start())
		code, _ := ss.call(t, "PUT", "/steps/locals/x", string(signed))
		require.Equal(t, 200, code, "an earlier signed step, in %s", tc.mode)
		code, body := ss.call(t, "PUT", "/steps/locals/x", tc.body)
		ss.Close()
		assert.Equal(t, tc.code, code, "%s: %s", name, body)
		if tc.resp != "" {
			assert.Equal(t, tc.resp, body, name)
		}
		kept, err := st.StateJSON("locals/x")
		require.NoError(t, err, name)
		if tc.code == 200 {
			assert.Equal(t, tc.body, string(kept), name)
		} else {
			assert.Equal(t, string(signed), string(kept), "%s: a refused state replaces nothing", name)
		}
		assert.Empty(t, leftovers(t, st.Root, false), name)
	}
}
