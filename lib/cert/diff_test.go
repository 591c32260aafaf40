package cert

// The differential test: chains generated with crypto/x509 (in test code
// only; the device binary never links it), judged by crypto/x509's Verify
// and by Verify, must get the same verdict, except where Verify
// deliberately refuses more (exception lists those cases).

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	mrand "math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var diffAt = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// testKeys are made once: RSA-2048 is slow to generate.
var testKeys = sync.OnceValue(func() []crypto.Signer {
	var ks []crypto.Signer
	for range 2 {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		ks = append(ks, k)
	}
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P256(), elliptic.P256(), elliptic.P384(), elliptic.P384(), elliptic.P521(), elliptic.P224()} {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			panic(err)
		}
		ks = append(ks, k)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return append(ks, ed)
})

var (
	oidUnknown     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}
	oidNameConstr  = asn1.ObjectIdentifier{2, 5, 29, 30}
	oidPolicyConst = asn1.ObjectIdentifier{2, 5, 29, 36}
	oidSAN         = asn1.ObjectIdentifier{2, 5, 29, 17}
)

// scenario is one generated case: the DER of the leaf, the intermediates
// pool and the roots.
type scenario struct {
	leaf          []byte
	intermediates [][]byte
	roots         [][]byte
}

// pick returns a random element.
func pick[T any](r *mrand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// template makes a random certificate template; ca is the role it is
// meant to have (the flags may still say otherwise).
func template(r *mrand.Rand, cn string, ca, rough bool) *x509.Certificate {
	day := 24 * time.Hour
	t := &x509.Certificate{
		SerialNumber: big.NewInt(r.Int64N(1 << 62)),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    diffAt.Add(-time.Duration(r.IntN(700)) * day),
		NotAfter:     diffAt.Add(time.Duration(r.IntN(700)) * day),
	}
	t.BasicConstraintsValid, t.IsCA = true, ca
	t.KeyUsage = x509.KeyUsageDigitalSignature
	if ca {
		t.KeyUsage |= x509.KeyUsageCertSign
	}
	if r.IntN(4) == 0 {
		t.MaxPathLen = 1 + r.IntN(2)
	}
	if !rough {
		return t
	}
	switch r.IntN(20) {
	case 0:
		t.NotBefore = diffAt.Add(time.Second) // not yet valid
	case 1:
		t.NotAfter = diffAt.Add(-time.Second) // expired
	case 2:
		t.NotBefore = diffAt // boundaries are inclusive
	case 3:
		t.NotAfter = diffAt
	}
	t.BasicConstraintsValid = r.IntN(10) != 0
	t.IsCA = ca != (r.IntN(10) == 0)
	switch r.IntN(5) {
	case 0:
		t.MaxPathLenZero = true
	case 1, 2:
		t.MaxPathLen = 1 + r.IntN(2)
	}
	t.KeyUsage = pick(r, 0, x509.KeyUsageDigitalSignature, x509.KeyUsageCertSign,
		x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign, x509.KeyUsageKeyEncipherment,
		x509.KeyUsageCertSign|x509.KeyUsageCRLSign, x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign)
	if r.IntN(3) == 0 {
		t.ExtKeyUsage = []x509.ExtKeyUsage{pick(r, x509.ExtKeyUsageCodeSigning, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageAny)}
	}
	switch r.IntN(25) {
	case 0, 1:
		t.ExtraExtensions = append(t.ExtraExtensions, pkix.Extension{Id: oidUnknown, Critical: true, Value: []byte{5, 0}})
	case 2, 3:
		t.ExtraExtensions = append(t.ExtraExtensions, pkix.Extension{Id: oidUnknown, Value: []byte{5, 0}})
	case 4:
		t.PermittedDNSDomains = []string{"example.com"}
	case 5:
		t.ExtraExtensions = append(t.ExtraExtensions, pkix.Extension{Id: oidPolicyConst, Value: []byte{0x30, 0x03, 0x80, 0x01, 0x00}})
	case 6:
		t.DNSNames = []string{"a.example.com"}
	case 7:
		t.ExtraExtensions = append(t.ExtraExtensions, pkix.Extension{Id: oidSAN, Critical: true, Value: []byte{0x30, 0x03, 0x82, 0x01, 'a'}})
	}
	return t
}

// generate builds a scenario from r: a root, up to three intermediates
// and a leaf, each signed by the one before it, with random flags, dates,
// keys, signature algorithms, wrong signers, mismatched names, duplicate
// names and pools in any order with certificates missing or added.
func generate(t testing.TB, r *mrand.Rand) (scenario, bool) {
	keys := testKeys()
	n := 1 + r.IntN(4)
	type issued struct {
		c   *x509.Certificate
		key crypto.Signer
	}
	var ca []issued
	var sc scenario
	rough := r.IntN(3) != 0 // else a well-formed chain, perturbed only by the pools
	for i := 0; i <= n; i++ {
		leaf := i == n
		cn := pick(r, "CA A", "CA B", "CA C", "Root")
		if leaf {
			cn = "signer"
		}
		tmpl := template(r, cn, !leaf, rough)
		key := keys[r.IntN(len(keys))]
		parent, signer := tmpl, key
		if i > 0 {
			p := *ca[i-1].c
			parent, signer = &p, ca[i-1].key
			if rough && r.IntN(20) == 0 { // wrong signer
				signer = keys[r.IntN(len(keys))]
				p.PublicKey = nil
			}
			if rough && r.IntN(20) == 0 { // issuer name that is not the parent's
				p.RawSubject, p.Subject = nil, pkix.Name{CommonName: "Other CA"}
			}
		}
		if _, ok := signer.(*rsa.PrivateKey); ok && r.IntN(8) == 0 {
			tmpl.SignatureAlgorithm = pick(r, x509.SHA256WithRSAPSS, x509.SHA384WithRSA, x509.SHA512WithRSA)
		}
		if k, ok := signer.(*ecdsa.PrivateKey); ok && k.Curve != elliptic.P224() && r.IntN(8) == 0 {
			tmpl.SignatureAlgorithm = pick(r, x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512)
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
		if err != nil {
			return sc, false // a combination crypto/x509 does not make
		}
		c, err := x509.ParseCertificate(der)
		require.NoError(t, err)
		ca = append(ca, issued{c, key})
	}
	sc.leaf = ca[n].c.Raw
	sc.roots = [][]byte{ca[0].c.Raw}
	for i := n - 1; i >= 1; i-- {
		if r.IntN(12) != 0 {
			sc.intermediates = append(sc.intermediates, ca[i].c.Raw)
		}
	}
	switch r.IntN(12) {
	case 0:
		sc.roots = nil // the root is missing
	case 1:
		sc.intermediates = append(sc.intermediates, ca[0].c.Raw) // the root as an intermediate
	case 2:
		sc.roots = append(sc.roots, sc.leaf) // a trusted leaf
	case 3:
		sc.roots = append(sc.roots, sc.intermediates...) // an intermediate trusted
	}
	r.Shuffle(len(sc.intermediates), func(i, j int) {
		sc.intermediates[i], sc.intermediates[j] = sc.intermediates[j], sc.intermediates[i]
	})
	return sc, true
}

// exception reports whether Verify deliberately refuses a chain that
// crypto/x509 accepts (see Verify's comment).
func exception(chain []*x509.Certificate) bool {
	if ku := chain[0].KeyUsage; ku != 0 && ku&x509.KeyUsageDigitalSignature == 0 {
		return true
	}
	for i, c := range chain {
		for _, e := range c.Extensions {
			if e.Id.Equal(oidNameConstr) || e.Id.Equal(oidPolicyConst) || e.Id.Equal(oidSAN) && e.Critical ||
				e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 33}) || e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 54}) {
				return true
			}
		}
		if i == 0 {
			continue
		}
		if c.Version != 3 {
			return true
		}
		switch chain[i-1].SignatureAlgorithm {
		case x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA,
			x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512:
		default:
			return true
		}
		if k, ok := c.PublicKey.(*ecdsa.PublicKey); ok && k.Curve == elliptic.P224() {
			return true
		}
	}
	return false
}

// x509Verdict is crypto/x509's verdict: some chain of at most maxChain
// certificates that is not an exception.
func x509Verdict(t testing.TB, sc scenario, maxChain int) (bool, [][]*x509.Certificate) {
	parse := func(b []byte) *x509.Certificate {
		c, err := x509.ParseCertificate(b)
		require.NoError(t, err)
		return c
	}
	opts := x509.VerifyOptions{Roots: x509.NewCertPool(), Intermediates: x509.NewCertPool(),
		CurrentTime: diffAt, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	for _, b := range sc.roots {
		opts.Roots.AddCert(parse(b))
	}
	for _, b := range sc.intermediates {
		opts.Intermediates.AddCert(parse(b))
	}
	chains, err := parse(sc.leaf).Verify(opts)
	if err != nil {
		return false, nil
	}
	for _, ch := range chains {
		if len(ch) <= maxChain && !exception(ch) {
			return true, chains
		}
	}
	return false, chains
}

// ourVerdict is Verify's.
func ourVerdict(t testing.TB, sc scenario, maxChain int) ([]*Cert, error) {
	parse := func(bs [][]byte) []*Cert {
		var out []*Cert
		for _, b := range bs {
			c, err := Parse(b)
			require.NoError(t, err)
			out = append(out, c)
		}
		return out
	}
	leaf := parse([][]byte{sc.leaf})[0]
	return Verify(leaf, Options{Roots: parse(sc.roots), Intermediates: parse(sc.intermediates), At: diffAt, MaxChain: maxChain})
}

// agree checks one scenario; a chain Verify returns must be one crypto/x509
// found.
func agree(t testing.TB, sc scenario) (ok, excepted bool) {
	maxChain := 8
	if len(sc.intermediates) > 1 {
		maxChain = 3 // sometimes a shorter limit than the chain
	}
	want, chains := x509Verdict(t, sc, maxChain)
	got, err := ourVerdict(t, sc, maxChain)
	require.Equal(t, want, err == nil, "crypto/x509 says %v, Verify says %v; x509 chains %d", want, err, len(chains))
	if got != nil {
		found := false
		for _, ch := range chains {
			if len(ch) == len(got) {
				same := true
				for i := range ch {
					same = same && bytes.Equal(ch[i].Raw, got[i].Raw)
				}
				found = found || same
			}
		}
		require.True(t, found, "Verify's chain is not one of crypto/x509's")
	}
	return want, !want && len(chains) > 0
}

// TestDifferential runs a fixed set of generated scenarios.
func TestDifferential(t *testing.T) {
	n, ok, exc := 0, 0, 0
	for seed := uint64(0); n < 300; seed++ {
		sc, made := generate(t, mrand.New(mrand.NewPCG(seed, 0x5eed)))
		if !made {
			continue
		}
		n++
		a, e := agree(t, sc)
		if a {
			ok++
		}
		if e {
			exc++
		}
	}
	t.Logf("%d scenarios, %d verified, %d refused only by a deliberate difference or the length limit", n, ok, exc)
	require.Positive(t, exc, "the deliberate differences are not exercised")
	require.Greater(t, ok, n/10, "too few accepted chains to mean anything")
	require.Less(t, ok, n*9/10, "too few refusals to mean anything")
}

// FuzzDifferential lets the fuzzer choose the scenario seeds.
func FuzzDifferential(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Fuzz(func(t *testing.T, a, b uint64) {
		if sc, made := generate(t, mrand.New(mrand.NewPCG(a, b))); made {
			agree(t, sc)
		}
	})
}
