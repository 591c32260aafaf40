package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/cert"
	"pantavisor/lib/pvs"
	"pantavisor/lib/rawjson"
)

// TestSignVerifies signs a state with a key and a self-made CA's leaf and
// checks that lib/pvs accepts it in strict mode against that CA.
func TestSignVerifies(t *testing.T) {
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	leafKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	caT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Dev CA"}, IsCA: true,
		BasicConstraintsValid: true, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caT, caT, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	leafT := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "dev-signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafT, ca, &leafKey.PublicKey, caKey)
	require.NoError(t, err)
	pk, err := x509.MarshalPKCS8PrivateKey(leafKey)
	require.NoError(t, err)
	write := func(name string, blocks ...*pem.Block) string {
		var b []byte
		for _, bl := range blocks {
			b = append(b, pem.EncodeToMemory(bl)...)
		}
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	key := write("key.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: pk})
	chain := write("chain.pem", &pem.Block{Type: "CERTIFICATE", Bytes: leafDER})
	st := filepath.Join(dir, "state.json")
	require.NoError(t, os.WriteFile(st, []byte(`{"#spec":"pantavisor-service-system@1", "app/run.json": {"name":"app", "n": 1.0}}`), 0o644))

	var out, errb bytes.Buffer
	code := run([]string{"-key", key, "-chain", chain, "-name", "_sigs/all.json", "-include", "**", st}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	v, err := rawjson.Parse(out.Bytes())
	require.NoError(t, err)
	root, err := cert.Parse(ca.Raw)
	require.NoError(t, err)
	res, err := pvs.Check(v, pvs.Options{Mode: pvs.Strict, Trust: pvs.Trust{CA: []*cert.Cert{root}}})
	require.NoError(t, err)
	assert.Equal(t, []string{"dev-signer", "Dev CA"}, res.Sigs[0].Chain)
	assert.Equal(t, "ES384", res.Sigs[0].Alg)
	assert.Equal(t, 2, res.Sigs[0].Keys)

	assert.Equal(t, 2, run([]string{"-key", key, st}, &out, &errb), "no -name, no -include")
	assert.Equal(t, 1, run([]string{"-key", chain, "-name", "_sigs/a.json", "-include", "**", st}, &out, &errb), "a certificate is no key")
}
