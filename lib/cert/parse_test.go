package cert

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/pubkey/pubkeytest"
)

const confTrust = "../../testdata/conformance/pvs/trust"

// sameAsX509 checks that the fields Parse reads equal crypto/x509's.
func sameAsX509(t *testing.T, c *Cert, x *x509.Certificate) {
	t.Helper()
	assert.True(t, bytes.Equal(x.Raw, c.Raw), "Raw")
	assert.True(t, bytes.Equal(x.RawTBSCertificate, c.RawTBS), "RawTBS")
	assert.True(t, bytes.Equal(x.RawIssuer, c.RawIssuer), "RawIssuer")
	assert.True(t, bytes.Equal(x.RawSubject, c.RawSubject), "RawSubject")
	assert.True(t, bytes.Equal(x.RawSubjectPublicKeyInfo, c.RawSPKI), "RawSPKI")
	assert.Equal(t, x.Subject.CommonName, c.CommonName)
	assert.Equal(t, x.Version, c.Version)
	assert.True(t, x.NotBefore.Equal(c.NotBefore), "NotBefore")
	assert.True(t, x.NotAfter.Equal(c.NotAfter), "NotAfter")
	assert.Equal(t, x.BasicConstraintsValid, c.BasicConstraints)
	assert.Equal(t, x.IsCA, c.IsCA)
	if x.BasicConstraintsValid {
		assert.Equal(t, x.MaxPathLen, c.MaxPathLen)
	}
	assert.Equal(t, int(x.KeyUsage), int(c.KeyUsage))
	assert.True(t, bytes.Equal(x.Signature, c.signature), "signature")
	if c.PublicKey != nil {
		assert.Equal(t, pubkeytest.Must(x.PublicKey), c.PublicKey, "public key")
	}
}

// TestParseConformance parses upstream's development trust stores and
// compares every field with crypto/x509.
func TestParseConformance(t *testing.T) {
	for _, f := range []string{"ca-certificates.crt", "ca-oem-certificates.crt"} {
		data, err := os.ReadFile(filepath.Join(confTrust, f))
		require.NoError(t, err)
		certs, err := ParseBundle(strings.NewReader(string(data)))
		require.NoError(t, err)
		require.Len(t, certs, 1, f)
		x, err := x509.ParseCertificate(certs[0].Raw)
		require.NoError(t, err)
		sameAsX509(t, certs[0], x)
		assert.NotNil(t, certs[0].PublicKey)
		assert.True(t, certs[0].IsCA)
	}
}

// FuzzParse: Parse never panics, and when it and crypto/x509 both accept
// the bytes they read the same fields.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"ca-certificates.crt", "ca-oem-certificates.crt"} {
		data, err := os.ReadFile(filepath.Join(confTrust, name))
		require.NoError(f, err)
		blocks, err := PEMBlocks(data, "CERTIFICATE")
		require.NoError(f, err)
		for _, b := range blocks {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		x, xerr := x509.ParseCertificate(b)
		if err == nil && xerr == nil {
			sameAsX509(t, c, x)
		}
	})
}
