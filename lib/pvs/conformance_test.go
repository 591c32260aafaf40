package pvs

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/b64"
	"pantavisor/lib/cert"
	"pantavisor/lib/rawjson"
)

const (
	confStates = "../../testdata/conformance/pvtx/resources"
	confTrust  = "../../testdata/conformance/pvs/trust"
)

// During the conformance leaf pv-developer-01's validity (2022-06-12 …
// 2024-09-14).
var confAt = time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)

func confState(t *testing.T, name string) rawjson.Value {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(confStates, name))
	require.NoError(t, err)
	v, err := rawjson.Parse(data)
	require.NoError(t, err)
	return v
}

func confTrustStore(t *testing.T) Trust {
	t.Helper()
	tr, err := LoadTrust(confTrust, CAFile, OEMCAFile)
	require.NoError(t, err)
	require.NotEmpty(t, tr.CA)
	require.Nil(t, tr.PubKey)
	return tr
}

var devChain = []string{"pv-developer-01", "Pantavisor Dev CA"}

// confSigs is every signature of the conformance states, made by
// upstream's pvr: whether it verifies against its own x5c leaf key over
// the canonical payload, and the chain it has to the conformance
// ca-certificates.crt (nil: none).
var confSigs = []struct {
	file, sig, alg string
	keys           int
	verifies       bool
	chain          []string
}{
	{"awconnect.json", "_sigs/awconnect.json", "RS256", 9, true, devChain},
	{"bsp_init.json", "_sigs/bsp.json", "ES384", 8, true, nil}, // chain ends at "PVS Developer Root CA (EC)", in neither store
	{"bsp_init_groups.json", "_sigs/bsp.json", "RS256", 9, true, devChain},
	{"bsp_update.json", "_sigs/bsp.json", "RS256", 8, true, devChain},
	{"config_a.json", "_sigs/config_a.json", "RS256", 18, true, devChain},
	{"config_a_glob.json", "_sigs/config_a.json", "RS256", 18, true, devChain},
	{"config_b.json", "_sigs/config_b.json", "RS256", 15, true, devChain},
	{"config_b_glob.json", "_sigs/config_b.json", "RS256", 14, true, devChain},
	// Includes only _hostconfig/**, and the state has no such key: it was
	// signed over keys that were later removed, so its payload is {}.
	{"initial_state.json", "_sigs/_hostconfig.json", "RS256", 0, false, devChain},
	{"initial_state.json", "_sigs/awconnect.json", "RS256", 9, true, devChain},
	{"initial_state.json", "_sigs/bsp.json", "RS256", 10, true, devChain},
	{"initial_state.json", "_sigs/pv-avahi.json", "RS256", 5, true, devChain},
	{"initial_state.json", "_sigs/pvr-sdk.json", "RS256", 7, true, devChain},
	{"os.json", "_sigs/os.json", "RS256", 4, true, devChain},
	{"pvws_with_config.json", "_sigs/pvws.json", "RS256", 5, true, devChain},
	{"pvws_without_config.json", "_sigs/pvws.json", "RS256", 4, true, devChain},
	{"state-1.json", "_sigs/nginx-config.json", "RS256", 1, true, devChain},
	{"state-1.json", "_sigs/nginx.json", "RS256", 4, true, devChain},
	{"vaultwarden.json", "_sigs/vaultwarden.json", "RS256", 4, true, devChain},
}

// TestConformanceSignatures checks every conformance signature against its
// own x5c leaf key (18 of 19 verify: the canonical payload is byte-equal
// to what pvr signed) and every chain against the conformance trust store.
func TestConformanceSignatures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(confStates, "*.json"))
	require.NoError(t, err)
	seen := 0
	for _, f := range files {
		for _, m := range confState(t, filepath.Base(f)).Members {
			if IsSignature(m.Value) {
				seen++
			}
		}
	}
	require.Equal(t, len(confSigs), seen, "a conformance signature is missing from the table")
	tr := confTrustStore(t)
	verified := 0
	for _, tc := range confSigs {
		name := tc.file + " " + tc.sig
		st := confState(t, tc.file)
		v, ok := st.Get(tc.sig)
		require.True(t, ok, name)
		sig, err := ParseSignature(v)
		require.NoError(t, err, name)
		assert.Equal(t, tc.alg, sig.Header.Alg, name)
		payload, signed, _, err := Payload(st, sig.Header)
		require.NoError(t, err, name)
		assert.Len(t, signed, tc.keys, name)
		leaf, err := cert.Parse(sig.Header.X5C[0])
		require.NoError(t, err, name)
		input := b64.AppendURL([]byte(sig.Protected+"."), payload)
		err = VerifyJWS(sig.Header.Alg, leaf.PublicKey, input, sig.Sig)
		if assert.Equal(t, tc.verifies, err == nil, "%s: %v", name, err) && err == nil {
			verified++
		} else if err != nil {
			assert.ErrorIs(t, err, ErrBadSignature, name)
		}
		cr, err := tr.verifyChain(sig.Header.X5C, signed, confAt, time.Now())
		if tc.chain == nil {
			assert.ErrorIs(t, err, ErrUntrusted, name)
		} else if assert.NoError(t, err, name) {
			assert.Equal(t, tc.chain, cr.names, name)
		}
	}
	assert.Equal(t, 18, verified)
}

// TestConformanceCheck runs Check on whole conformance states in each mode.
func TestConformanceCheck(t *testing.T) {
	tr := confTrustStore(t)
	for _, tc := range []struct {
		file string
		mode Mode
		want error // nil, ErrValidation or ErrNotCovered
	}{
		{"bsp_update.json", Strict, nil}, // one signature covers every key
		{"bsp_update.json", Lenient, nil},
		{"bsp_init_groups.json", Strict, nil},
		{"awconnect.json", Lenient, nil},
		{"awconnect.json", Audit, nil},            // #spec uncovered: reported only
		{"awconnect.json", Strict, ErrNotCovered}, // #spec uncovered
		{"state_with_spaces.json", Lenient, nil},  // no signature at all
		{"state_with_spaces.json", Strict, ErrNotCovered},
		{"initial_state.json", Lenient, ErrValidation}, // _sigs/_hostconfig.json fails
		{"initial_state.json", Audit, ErrValidation},
		{"initial_state.json", Disabled, nil},
		{"bsp_init.json", Lenient, ErrValidation}, // untrusted chain
	} {
		name := tc.file + " " + tc.mode.String()
		res, err := Check(confState(t, tc.file), Options{Mode: tc.mode, Trust: tr, At: confAt})
		if tc.want == nil {
			assert.NoError(t, err, name)
		} else {
			assert.ErrorIs(t, err, tc.want, name)
		}
		if tc.mode == Audit && tc.want == nil {
			assert.Equal(t, []string{"#spec"}, res.Uncovered, name)
		}
	}
}

// TestCheckClock covers certificate dates: checked as of At, as of the
// clock once it is past the build date, and without a trusted clock only
// for consistency.
func TestCheckClock(t *testing.T) {
	tr := confTrustStore(t)
	st := confState(t, "bsp_update.json")
	expired := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

	_, err := Check(st, Options{Trust: tr, At: expired})
	assert.ErrorIs(t, err, ErrValidation)
	assert.ErrorIs(t, err, ErrUntrusted)

	_, err = Check(st, Options{Trust: tr, Now: func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }})
	assert.ErrorIs(t, err, ErrValidation, "a trusted clock past NotAfter")

	res, err := Check(st, Options{Trust: tr, Now: func() time.Time { return time.Unix(0, 0) }})
	require.NoError(t, err, "a clock at the epoch is not trusted")
	assert.True(t, res.ClockUntrusted)
	assert.Equal(t, time.Date(2022, 6, 12, 10, 0, 18, 0, time.UTC), res.At.UTC(), "checked as of the leaf's NotBefore")

	res, err = Check(st, Options{Trust: tr, At: confAt})
	require.NoError(t, err)
	assert.False(t, res.ClockUntrusted)
	assert.Equal(t, confAt, res.At)
}

func TestLoadTrustErrors(t *testing.T) {
	dir := t.TempDir()
	tr, err := LoadTrust(dir, CAFile, OEMCAFile)
	require.NoError(t, err, "missing files leave the store empty")
	assert.Empty(t, tr.CA)
	res, err := Check(confState(t, "bsp_update.json"), Options{Trust: tr, At: confAt})
	assert.ErrorIs(t, err, ErrUntrusted, "an empty store trusts nothing (never the system roots)")
	assert.NotNil(t, res.Sigs[0].Err)

	require.NoError(t, os.WriteFile(filepath.Join(dir, CAFile), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o644))
	_, err = LoadTrust(dir, CAFile, OEMCAFile)
	assert.Error(t, err)
	require.NoError(t, os.Remove(filepath.Join(dir, CAFile)))
	require.NoError(t, os.WriteFile(filepath.Join(dir, PubFile), []byte("junk"), 0o644))
	_, err = LoadTrust(dir, CAFile, OEMCAFile)
	assert.Error(t, err)
	assert.False(t, errors.Is(err, os.ErrNotExist))
}

// TestConformanceChainsDifferential: on every conformance x5c chain, at
// times before, during and after the certificates' validity, with each
// trust store, lib/cert's verdict is crypto/x509's (test code only; the
// device binary does not link crypto/x509).
func TestConformanceChainsDifferential(t *testing.T) {
	tr := confTrustStore(t)
	stores := map[string][]*cert.Cert{"ca": tr.CA, "oem+ca": append(append([]*cert.Cert(nil), tr.OEMCA...), tr.CA...)}
	times := []time.Time{time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), confAt,
		time.Date(2024, 9, 14, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)}
	accepted := 0
	for _, tc := range confSigs {
		v, _ := confState(t, tc.file).Get(tc.sig)
		sig, err := ParseSignature(v)
		require.NoError(t, err)
		for name, roots := range stores {
			for _, at := range times {
				opts := x509.VerifyOptions{Roots: x509.NewCertPool(), Intermediates: x509.NewCertPool(),
					CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
				for _, r := range roots {
					c, err := x509.ParseCertificate(r.Raw)
					require.NoError(t, err)
					opts.Roots.AddCert(c)
				}
				for _, der := range sig.Header.X5C[1:] {
					c, err := x509.ParseCertificate(der)
					require.NoError(t, err)
					opts.Intermediates.AddCert(c)
				}
				leaf, err := x509.ParseCertificate(sig.Header.X5C[0])
				require.NoError(t, err)
				_, xerr := leaf.Verify(opts)
				_, err = (&Trust{CA: roots}).verifyChain(sig.Header.X5C, nil, at, at)
				assert.Equal(t, xerr == nil, err == nil, "%s %s %s at %s: x509 %v, ours %v", tc.file, tc.sig, name, at, xerr, err)
				if err == nil {
					accepted++
				}
			}
		}
	}
	assert.Positive(t, accepted)
}
