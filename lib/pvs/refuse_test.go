package pvs_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pvcert "pantavisor/lib/cert"
	"pantavisor/lib/pubkey/pubkeytest"
	"pantavisor/lib/pvs"
	"pantavisor/lib/pvs/sign"
	"pantavisor/lib/rawjson"
)

var testAt = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// cert is a test certificate and its key.
type cert struct {
	c   *x509.Certificate
	key crypto.Signer
}

// issue makes a certificate for cn with key (a new P-256 key when nil),
// signed by parent (self-signed when nil).
func issue(t *testing.T, cn string, ca bool, key crypto.Signer, parent *cert) *cert {
	t.Helper()
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		key = k
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             testAt.Add(-time.Hour),
		NotAfter:              testAt.Add(time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  ca,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	signer, parentCert := key, tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.c
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), signer)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &cert{c, key}
}

// anchors parses certificates for a Trust.
func anchors(t *testing.T, cs ...*cert) []*pvcert.Cert {
	t.Helper()
	out := make([]*pvcert.Cert, len(cs))
	for i, c := range cs {
		p, err := pvcert.Parse(c.c.Raw)
		require.NoError(t, err)
		out[i] = p
	}
	return out
}

func chainOf(cs ...*cert) [][]byte {
	out := make([][]byte, len(cs))
	for i, c := range cs {
		out[i] = c.c.Raw
	}
	return out
}

const baseState = `{
  "#spec": "pantavisor-service-system@1",
  "app/run.json": {"name": "app", "n": 1.50, "list": ["a", "\u00e9"]},
  "app/root.squashfs": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
  "app/config.json": {"debug": false},
  "bsp/run.json": {"linux": "kernel.img"}
}`

func signed(t *testing.T, state string, name string, opts sign.Options) string {
	t.Helper()
	out, err := sign.Add([]byte(state), name, opts)
	require.NoError(t, err)
	return string(out)
}

func parse(t *testing.T, s string) rawjson.Value {
	t.Helper()
	v, err := rawjson.Parse([]byte(s))
	require.NoError(t, err, s)
	return v
}

// mutate replaces the first old in s with new, which must be there.
func mutate(t *testing.T, s, old, new string) string {
	t.Helper()
	require.Contains(t, s, old)
	return strings.Replace(s, old, new, 1)
}

// TestRefusals signs a state and breaks it in each way a revision can be
// forged, then checks the verdict of every mode and the reason.
func TestRefusals(t *testing.T) {
	root := issue(t, "Test Root", true, nil, nil)
	leaf := issue(t, "test-signer", false, nil, root)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rsaLeaf := issue(t, "rsa-signer", false, rsaKey, root)
	stranger := issue(t, "Stranger Root", true, nil, nil)
	strangeLeaf := issue(t, "test-signer", false, nil, stranger)
	// root → 7 intermediates → leaf: 9 certificates with the root.
	long := []*cert{root}
	for i := 0; i < 7; i++ {
		long = append(long, issue(t, "intermediate", true, nil, long[len(long)-1]))
	}
	longLeaf := issue(t, "deep-signer", false, nil, long[len(long)-1])
	longX5C := [][]byte{longLeaf.c.Raw}
	for i := len(long) - 1; i >= 1; i-- {
		longX5C = append(longX5C, long[i].c.Raw)
	}
	trust := pvs.Trust{CA: anchors(t, root)}

	all := sign.Options{Key: leaf.key, Chain: chainOf(leaf), Include: []string{"**"}, Exclude: []string{"_sigs/*"}}
	good := signed(t, baseState, "_sigs/all.json", all)
	appOnly := sign.Options{Key: leaf.key, Chain: chainOf(leaf), Include: []string{"app/**", "#spec"}, Exclude: []string{"app/config.json", "bsp/**"}}
	bypass := signed(t, baseState, "_sigs/app.json", appOnly)
	with := func(o sign.Options, f func(*sign.Options)) sign.Options { f(&o); return o }

	type verdict struct{ lenient, audit, strict error } // disabled always accepts
	fail := func(reason error) verdict { return verdict{reason, reason, reason} }
	for _, tc := range []struct {
		name  string
		state string
		want  verdict
	}{
		{"correctly signed", good, verdict{}},
		{"RSA leaf", signed(t, baseState, "_sigs/all.json", with(all, func(o *sign.Options) { o.Key, o.Chain = rsaKey, chainOf(rsaLeaf) })), verdict{}},
		{"unsigned", baseState, verdict{nil, nil, pvs.ErrNotCovered}},
		{"flipped byte in a covered value", mutate(t, good, "0123456789abcdef", "1123456789abcdef"), fail(pvs.ErrBadSignature)},
		{"flipped byte in a nested value", mutate(t, good, `"kernel.img"`, `"kernel.imh"`), fail(pvs.ErrBadSignature)},
		{"number changed", mutate(t, good, `1.50`, `1.51`), fail(pvs.ErrBadSignature)},
		{"covered key removed", mutate(t, good, `"app/config.json":{"debug": false},`, ``), fail(pvs.ErrBadSignature)},
		{"key added under an included glob", mutate(t, good, `"app/config.json"`, `"app/evil.json":"x","app/config.json"`), fail(pvs.ErrBadSignature)},
		{"duplicate key", mutate(t, good, `"app/config.json":{"debug": false}`, `"app/config.json":{"debug": false},"app/config.json":{"debug":true}`), fail(pvs.ErrValidation)},
		{"signature replaced by junk", mutate(t, good, `{"#spec":"pvs@2"`, `{"#spec":"pvs@1"`), fail(pvs.ErrHeader)},
		// bsp/** is excluded but not included: upstream counts it covered,
		// which would let any signer vouch for the BSP by excluding it.
		{"exclude bypass attempt", bypass, verdict{nil, nil, pvs.ErrNotCovered}},
		{"exclude bypass, bsp changed", mutate(t, bypass, `"kernel.img"`, `"evil.img"`), verdict{nil, nil, pvs.ErrNotCovered}},
		// app/config.json is included and deliberately excluded: its signer
		// left it open (as pvr does with src.json), so it counts as covered.
		{"deliberately excluded key changed", mutate(t, signed(t, baseState, "_sigs/all.json", with(all, func(o *sign.Options) { o.Exclude = append(o.Exclude, "app/config.json") })), `"debug": false`, `"debug": true`), verdict{}},
		{"RS256 header with an EC key", signed(t, baseState, "_sigs/all.json", with(all, func(o *sign.Options) { o.Alg = "RS256" })), fail(pvs.ErrBadSignature)},
		{"ES384 header with a P-256 key", signed(t, baseState, "_sigs/all.json", with(all, func(o *sign.Options) { o.Alg = "ES384" })), fail(pvs.ErrBadSignature)},
		{"ES256 header with an RSA key", signed(t, baseState, "_sigs/all.json", with(all, func(o *sign.Options) { o.Key, o.Chain, o.Alg = rsaKey, chainOf(rsaLeaf), "ES256" })), fail(pvs.ErrBadSignature)},
		{"truncated signature", truncate(t, good, "_sigs/all.json"), fail(pvs.ErrBadSignature)},
		{"leaf signed by an untrusted CA", signed(t, baseState, "_sigs/all.json", with(all, func(o *sign.Options) { o.Key, o.Chain = strangeLeaf.key, chainOf(strangeLeaf, stranger) })), fail(pvs.ErrUntrusted)},
		{"trusted root's name, other key", signed(t, baseState, "_sigs/all.json", with(all, func(o *sign.Options) {
			o.Chain = chainOf(issue(t, "test-signer", false, leaf.key, issue(t, "Test Root", true, nil, nil)))
		})), fail(pvs.ErrUntrusted)},
		{"chain of 9 through the trust store", signed(t, baseState, "_sigs/all.json", with(all, func(o *sign.Options) { o.Key, o.Chain = longLeaf.key, longX5C })), fail(pvs.ErrUntrusted)},
		{"x5c of 9 certificates", signed(t, baseState, "_sigs/all.json", with(all, func(o *sign.Options) { o.Key, o.Chain = longLeaf.key, append(longX5C, root.c.Raw) })), fail(pvs.ErrHeader)},
		{"no x5c and no device key", signed(t, baseState, "_sigs/all.json", with(all, func(o *sign.Options) { o.Chain = nil })), fail(pvs.ErrUntrusted)},
	} {
		st := parse(t, tc.state)
		for mode, want := range map[pvs.Mode]error{pvs.Lenient: tc.want.lenient, pvs.Audit: tc.want.audit, pvs.Strict: tc.want.strict, pvs.Disabled: nil} {
			name := tc.name + " in " + mode.String()
			res, err := pvs.Check(st, pvs.Options{Mode: mode, Trust: trust, At: testAt})
			if want == nil {
				assert.NoError(t, err, name)
				continue
			}
			assert.ErrorIs(t, err, want, name)
			if want != pvs.ErrNotCovered {
				assert.ErrorIs(t, err, pvs.ErrValidation, name)
				assert.NotErrorIs(t, err, pvs.ErrNotCovered, name)
			} else {
				assert.Contains(t, res.Uncovered, "bsp/run.json", name)
			}
		}
	}
}

// truncate cuts the last 8 bytes off the signature of key name.
func truncate(t *testing.T, state, name string) string {
	t.Helper()
	v := parse(t, state)
	sig, ok := v.Get(name)
	require.True(t, ok)
	s, _ := sig.Get("signature")
	raw, err := base64.RawURLEncoding.DecodeString(s.Str)
	require.NoError(t, err)
	return mutate(t, state, s.Str, base64.RawURLEncoding.EncodeToString(raw[:len(raw)-8]))
}

// TestAuditReportsUncovered: audit accepts what strict refuses for
// coverage and names the keys.
func TestAuditReportsUncovered(t *testing.T) {
	root := issue(t, "Test Root", true, nil, nil)
	leaf := issue(t, "test-signer", false, nil, root)
	st := parse(t, signed(t, baseState, "_sigs/app.json", sign.Options{Key: leaf.key, Chain: chainOf(leaf), Include: []string{"app/**"}}))
	res, err := pvs.Check(st, pvs.Options{Mode: pvs.Audit, Trust: pvs.Trust{CA: anchors(t, root)}, At: testAt})
	require.NoError(t, err)
	assert.Equal(t, []string{"#spec", "bsp/run.json"}, res.Uncovered)
	require.Len(t, res.Sigs, 1)
	assert.Equal(t, pvs.SigResult{Name: "_sigs/app.json", Alg: "ES256", Keys: 3, Chain: []string{"test-signer", "Test Root"}}, res.Sigs[0])
}

// TestDeviceKey: a signature without x5c verifies with the device's
// pub.pem, and only with it.
func TestDeviceKey(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	other, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	st := parse(t, signed(t, baseState, "_sigs/all.json", sign.Options{Key: k, Include: []string{"**"}}))
	res, err := pvs.Check(st, pvs.Options{Mode: pvs.Strict, Trust: pvs.Trust{PubKey: pubkeytest.Must(k.Public())}})
	require.NoError(t, err)
	assert.Equal(t, []string{pvs.PubFile}, res.Sigs[0].Chain)
	assert.Equal(t, "ES384", res.Sigs[0].Alg)
	_, err = pvs.Check(st, pvs.Options{Mode: pvs.Strict, Trust: pvs.Trust{PubKey: pubkeytest.Must(other.Public())}})
	assert.ErrorIs(t, err, pvs.ErrBadSignature)
}

// TestOEMTrust: the OEM store vouches only for a leaf named PV_OEM_NAME
// whose signature covers nothing under bsp/ or the OEM's directory.
func TestOEMTrust(t *testing.T) {
	root := issue(t, "Test Root", true, nil, nil)
	oemRoot := issue(t, "OEM Root", true, nil, nil)
	acme := issue(t, "acme", false, nil, oemRoot)
	other := issue(t, "other", false, nil, oemRoot)
	state := `{"#spec":"pantavisor-service-system@1","app/run.json":{},"bsp/run.json":{},"acme/default.config":"x"}`
	trust := pvs.Trust{CA: anchors(t, root), OEMCA: anchors(t, oemRoot), OEMName: "acme"}
	for _, tc := range []struct {
		name    string
		leaf    *cert
		include []string
		exclude []string
		oemName string
		ok      bool
	}{
		{"app signed by the OEM", acme, []string{"app/**"}, nil, "acme", true},
		{"bsp signed by the OEM", acme, []string{"bsp/**"}, nil, "acme", false},
		{"OEM config signed by the OEM", acme, []string{"acme/**"}, nil, "acme", false},
		{"everything signed by the OEM", acme, []string{"**"}, nil, "acme", false},
		{"bsp excluded by the OEM's signature", acme, []string{"**"}, []string{"bsp/**", "acme/**"}, "acme", false},
		{"leaf named otherwise", other, []string{"app/**"}, nil, "acme", false},
		{"device without an OEM name", acme, []string{"app/**"}, nil, "", false},
	} {
		st := parse(t, signed(t, state, "_sigs/oem.json", sign.Options{Key: tc.leaf.key, Chain: chainOf(tc.leaf), Include: tc.include, Exclude: tc.exclude}))
		tr := trust
		tr.OEMName = tc.oemName
		_, err := pvs.Check(st, pvs.Options{Trust: tr, At: testAt})
		if tc.ok {
			assert.NoError(t, err, tc.name)
		} else {
			assert.ErrorIs(t, err, pvs.ErrUntrusted, tc.name)
		}
	}
}
