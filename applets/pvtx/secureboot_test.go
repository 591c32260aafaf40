package pvtx

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/ctrl/ctrltest"
	"pantavisor/lib/pvs/sign"
	"pantavisor/lib/pvs/sign/signtest"
)

// sigState is a state without objects, so a local transaction deploys it
// without an objects directory to fill.
const sigState = `{"#spec":"pantavisor-service-system@1","app/run.json":{"name":"app","type":"lxc"},"app/config.json":"debug=false"}`

// testSigner writes a trust store with a new CA into dir and returns
// signing options for a leaf it issued, valid around now, covering all.
func testSigner(t *testing.T, dir string) sign.Options {
	return signtest.TrustStore(t, dir, "pvtx-test-signer")
}

// sigStates writes the signed, tampered and unsigned states into dir and
// returns their paths; the tampered one flips a covered value after
// signing.
func sigStates(t *testing.T, dir string, opts sign.Options) (signed, tampered, unsigned string) {
	t.Helper()
	s, err := sign.Add([]byte(sigState), "_sigs/all.json", opts)
	require.NoError(t, err)
	bad := bytes.Replace(s, []byte("debug=false"), []byte("debug=true!"), 1)
	require.NotEqual(t, s, bad)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o644))
		return p
	}
	return write("signed.json", s), write("tampered.json", bad), write("unsigned.json", []byte(sigState))
}

// TestSecurebootCommitAndDeploy: commit and deploy check the state under
// PV_SECUREBOOT_MODE with the trust stores of PVTX_TRUST_DIR; a refused
// state exits 255 with "Secureboot: <reason>", nothing is sent to pv-ctrl
// or written next to the deploy directory, and the transaction stays
// active.
func TestSecurebootCommitAndDeploy(t *testing.T) {
	trust := filepath.Join(t.TempDir(), "trust")
	signed, tampered, unsigned := sigStates(t, t.TempDir(), testSigner(t, trust))
	const validation = "Secureboot: Signature validation failed: _sigs/all.json: "
	const notCovered = "Secureboot: State not fully covered by signatures"
	for _, c := range []struct {
		name, state, mode string
		refused           string // in stderr; "" when accepted
		warning           string // in stderr of an accepted one
	}{
		{"signed lenient", signed, "", "", ""},
		{"signed strict", signed, "strict", "", ""},
		{"tampered lenient", tampered, "", validation, ""},
		{"tampered strict", tampered, "strict", validation, ""},
		{"tampered audit", tampered, "audit", validation, ""},
		{"tampered disabled", tampered, "disabled", "", ""},
		{"unsigned lenient", unsigned, "lenient", "", ""},
		{"unsigned strict", unsigned, "strict", notCovered, ""},
		{"unsigned audit", unsigned, "audit", "", "WARNING: CMD: Secureboot: audit: app/run.json: State not fully covered by signatures"},
	} {
		for _, cmd := range []string{"commit", "deploy"} {
			t.Run(c.name+" "+cmd, func(t *testing.T) {
				f := ctrltest.New(t)
				x := newTester(t, f.Sock)
				x.env["PVTX_TRUST_DIR"] = trust
				if c.mode != "" {
					x.env["PV_SECUREBOOT_MODE"] = c.mode
				}
				deploy := filepath.Join(x.tmp, "out", "rev")
				require.NoError(t, os.MkdirAll(filepath.Dir(deploy), 0o755))
				args := []string{"commit"}
				if cmd == "deploy" {
					x.ok("begin", c.state, filepath.Join(x.tmp, "objects"))
					args = []string{"deploy", deploy}
				} else {
					x.ok("begin", c.state)
				}
				code, out, errs := x.run(nil, args...)
				if c.refused == "" {
					require.Equal(t, 0, code, errs)
					if c.warning != "" {
						assert.Contains(t, errs, strings.ReplaceAll(c.warning, "CMD", cmd))
					} else {
						assert.Empty(t, errs)
					}
					if cmd == "commit" {
						require.Len(t, f.Requests(), 1)
						assert.Equal(t, string(read(t, c.state)), f.Requests()[0].Body)
					} else {
						assert.Equal(t, read(t, c.state), read(t, filepath.Join(deploy, ".pvr", "json")))
					}
					return
				}
				assert.Equal(t, 255, code)
				assert.Empty(t, out)
				assert.Contains(t, errs, "ERROR: "+cmd+": "+c.refused)
				assert.Empty(t, f.Requests(), "nothing sent to pv-ctrl")
				entries, err := os.ReadDir(filepath.Dir(deploy))
				require.NoError(t, err)
				assert.Empty(t, entries, "nothing written next to the deploy directory")
				assert.Equal(t, string(read(t, c.state))+"\n", x.show(), "the transaction stays active")
			})
		}
	}
}

// TestSecurebootWhenChecked: without PV_SECUREBOOT_MODE and
// PVTX_TRUST_DIR pvtx checks only when the default trust directory
// exists (a device); elsewhere a state is committed unchecked, as
// upstream pvtx does.
func TestSecurebootWhenChecked(t *testing.T) {
	trust := filepath.Join(t.TempDir(), "trust")
	_, tampered, _ := sigStates(t, t.TempDir(), testSigner(t, trust))
	for _, c := range []struct {
		name     string
		env      map[string]string
		trustDir string // the default
		code     int
		err      string
	}{
		{"no trust dir, no env: unchecked", nil, filepath.Join(trust, "absent"), 0, ""},
		{"default trust dir exists: lenient", nil, trust, 255, "ERROR: commit: Secureboot: Signature validation failed"},
		{"mode set, default dir absent: empty trust", map[string]string{"PV_SECUREBOOT_MODE": "lenient"}, filepath.Join(trust, "absent"), 255, "empty trust store"},
		{"trust dir env set", map[string]string{"PVTX_TRUST_DIR": trust}, filepath.Join(trust, "absent"), 255, "Signature validation failed"},
		{"disabled over an existing dir", map[string]string{"PV_SECUREBOOT_MODE": "disabled"}, trust, 0, ""},
		{"unknown mode", map[string]string{"PV_SECUREBOOT_MODE": "paranoid"}, trust, 255, `ERROR: commit: Secureboot: PV_SECUREBOOT_MODE: unknown secure-boot mode "paranoid"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := ctrltest.New(t)
			x := newTester(t, f.Sock)
			x.trustDir = c.trustDir
			for k, v := range c.env {
				x.env[k] = v
			}
			x.ok("begin", tampered)
			code, _, errs := x.run(nil, "commit")
			assert.Equal(t, c.code, code, errs)
			assert.Contains(t, errs, c.err)
			if c.code == 0 {
				assert.Len(t, f.Requests(), 1)
			} else {
				assert.Empty(t, f.Requests())
			}
		})
	}
}

// TestSecurebootBadTrustStore: a trust store that does not parse refuses
// the commit (the device must not check with less trust than it has).
func TestSecurebootBadTrustStore(t *testing.T) {
	trust := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(trust, "ca-certificates.crt"), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o644))
	f := ctrltest.New(t)
	x := newTester(t, f.Sock)
	x.env["PVTX_TRUST_DIR"] = trust
	x.ok("begin", "empty")
	code, _, errs := x.run(nil, "commit")
	assert.Equal(t, 255, code)
	assert.Contains(t, errs, "ERROR: commit: Secureboot: trust stores in "+trust)
	assert.Empty(t, f.Requests())
}

// TestSecurebootUpstreamStates: upstream's conformance state carries
// signatures whose certificates expired in 2024. Unchecked (no trust
// directory, as on a build host) it commits as with upstream pvtx; with
// upstream's development trust store it is refused, which is why pvtx
// checks only on a device or when asked.
func TestSecurebootUpstreamStates(t *testing.T) {
	const conformanceTrust = "../../../shared/conformance/pvs/trust"
	if _, err := os.Stat(conformanceTrust); err != nil {
		t.Skipf("conformance trust store absent: %v", err)
	}
	state := filepath.Join(testdata, "initial_state.json")
	f := ctrltest.New(t)
	x := newTester(t, f.Sock)
	x.ok("begin", state)
	x.ok("commit")
	require.Len(t, f.Requests(), 1)

	x.env["PVTX_TRUST_DIR"] = conformanceTrust
	x.ok("begin", state)
	code, _, errs := x.run(nil, "commit")
	assert.Equal(t, 255, code)
	assert.Contains(t, errs, "ERROR: commit: Secureboot: Signature validation failed: _sigs/")
	assert.Len(t, f.Requests(), 1, "the refused commit sent nothing")
}
