// Package signtest makes throwaway signing material for tests: a CA
// written as a trust store and signing options for a leaf it issued.
// Test code only; the device binary never imports it.
package signtest

import (
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

	"pantavisor/lib/pvs/sign"
)

// TrustStore writes dir/ca-certificates.crt holding a new ECDSA P-256 CA
// ("<name> CA") and returns signing options for a leaf it issued (CN
// name), both valid from an hour ago to an hour from now, including "**".
func TrustStore(t testing.TB, dir, name string) sign.Options {
	t.Helper()
	ca, caKey := issue(t, name+" CA", true, nil, nil)
	leaf, leafKey := issue(t, name, false, ca, caKey)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	crt := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
	if err := os.WriteFile(filepath.Join(dir, "ca-certificates.crt"), crt, 0o644); err != nil {
		t.Fatal(err)
	}
	return sign.Options{Key: leafKey, Chain: [][]byte{leaf.Raw}, Include: []string{"**"}}
}

// issue makes a certificate for cn signed by parent (self-signed when
// parent is nil).
func issue(t testing.TB, cn string, ca bool, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		BasicConstraintsValid: true, IsCA: ca, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	if parent == nil {
		parent, parentKey = tmpl, k
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &k.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}
