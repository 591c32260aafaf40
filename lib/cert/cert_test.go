package cert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/pubkey/pubkeytest"
)

func TestDERNext(t *testing.T) {
	for _, tc := range []struct {
		in      []byte
		ok      bool
		content int
	}{
		{[]byte{0x04, 0x00}, true, 0},
		{[]byte{0x04, 0x02, 1, 2, 3}, true, 2},
		{[]byte{0x04, 0x81, 0x80}, false, 0}, // contents missing
		{append([]byte{0x04, 0x81, 0x80}, make([]byte, 128)...), true, 128},
		{[]byte{0x04, 0x81, 0x05, 1, 2, 3, 4, 5}, false, 0}, // long form for a short length
		{[]byte{0x04, 0x82, 0x00, 0x80}, false, 0},          // leading zero in the length
		{[]byte{0x04, 0x80}, false, 0},                      // indefinite length
		{[]byte{0x04, 0x85, 1, 0, 0, 0, 0}, false, 0},       // length of more than 3 bytes
		{[]byte{0x1f, 0x01, 0x00}, false, 0},                // high tag number
		{[]byte{0x04}, false, 0},
		{nil, false, 0},
	} {
		d := der(tc.in)
		_, content, _, ok := d.next()
		assert.Equal(t, tc.ok, ok, "% x", tc.in)
		if ok {
			assert.Len(t, content, tc.content, "% x", tc.in)
		}
	}
}

func TestIntegers(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want int
		ok   bool
	}{
		{[]byte{0}, 0, true},
		{[]byte{0x7f}, 127, true},
		{[]byte{0x00, 0x80}, 128, true},
		{[]byte{0x00, 0x7f}, 0, false}, // not minimal
		{[]byte{0x80}, 0, false},       // negative
		{[]byte{0x7f, 0xff, 0xff, 0xff}, 1<<31 - 1, true},
		{[]byte{0x00, 0x80, 0, 0, 0}, 0, false}, // 2^31
		{nil, 0, false},
	} {
		n, ok := uintValue(tc.in)
		assert.Equal(t, tc.ok, ok, "% x", tc.in)
		assert.Equal(t, tc.want, n, "% x", tc.in)
	}
	_, ok := bigIntBytes([]byte{0})
	assert.False(t, ok, "zero modulus")
	b, ok := bigIntBytes([]byte{0, 0x80, 1})
	assert.True(t, ok)
	assert.Equal(t, []byte{0x80, 1}, b)
	for in, want := range map[byte]bool{0: false, 0xff: true} {
		v, ok := boolValue([]byte{in})
		assert.True(t, ok)
		assert.Equal(t, want, v)
	}
	_, ok = boolValue([]byte{1})
	assert.False(t, ok, "BOOLEAN 1 is not DER")
	_, _, ok = bitString([]byte{1, 0x01})
	assert.False(t, ok, "non-zero padding bit")
	_, _, ok = bitString([]byte{8, 0})
	assert.False(t, ok, "eight unused bits")
}

func TestReadTime(t *testing.T) {
	for _, tc := range []struct {
		tag  byte
		s    string
		want time.Time
	}{
		{tagUTCTime, "491231235959Z", time.Date(2049, 12, 31, 23, 59, 59, 0, time.UTC)},
		{tagUTCTime, "500101000000Z", time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)},
		{tagGenTime, "20500101000000Z", time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC)},
		{tagGenTime, "20240229120000Z", time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)},
		{tagGenTime, "20230229120000Z", time.Time{}}, // no such day
		{tagUTCTime, "4912312359Z", time.Time{}},     // no seconds
		{tagUTCTime, "491231235959+0100", time.Time{}},
		{tagGenTime, "20500101000000.5Z", time.Time{}},
		{tagUTCTime, "49123123595aZ", time.Time{}},
		{tagUTCTime, "491231246000Z", time.Time{}},
		{tagOctetString, "491231235959Z", time.Time{}},
	} {
		d := der(append([]byte{tc.tag, byte(len(tc.s))}, tc.s...))
		got, err := readTime(&d)
		if tc.want.IsZero() {
			assert.Error(t, err, tc.s)
		} else if assert.NoError(t, err, tc.s) {
			assert.Equal(t, tc.want, got, tc.s)
		}
	}
}

// TestSigAlgs is the table from signature algorithm OID to sigAlg and hash.
func TestSigAlgs(t *testing.T) {
	for _, tc := range []struct {
		oid  asn1.ObjectIdentifier
		want sigAlg
		hash crypto.Hash
	}{
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, sigRSA256, crypto.SHA256},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}, sigRSA384, crypto.SHA384},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}, sigRSA512, crypto.SHA512},
		{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}, sigEC256, crypto.SHA256},
		{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}, sigEC384, crypto.SHA384},
		{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}, sigEC512, crypto.SHA512},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}, sigUnknown, 0},  // sha1WithRSAEncryption
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}, sigUnknown, 0}, // RSASSA-PSS
		{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}, sigUnknown, 0},      // ecdsa-with-SHA1
		{asn1.ObjectIdentifier{1, 3, 101, 112}, sigUnknown, 0},              // Ed25519
	} {
		der, err := asn1.Marshal(pkix.AlgorithmIdentifier{Algorithm: tc.oid})
		require.NoError(t, err)
		got, err := parseSigAlg(der)
		require.NoError(t, err, tc.oid)
		assert.Equal(t, tc.want, got, tc.oid.String())
		assert.Equal(t, tc.hash, got.hash(), tc.oid.String())
	}
}

// TestParsePublicKey covers the key table: RSA, the three curves, and the
// keys that are refused.
func TestParsePublicKey(t *testing.T) {
	keys := testKeys()
	for _, k := range keys {
		der, err := x509.MarshalPKIXPublicKey(k.Public())
		require.NoError(t, err)
		got, err := ParsePublicKey(der)
		supported := true
		switch k := k.(type) {
		case ed25519.PrivateKey:
			supported = false
		case *ecdsa.PrivateKey:
			supported = k.Curve != elliptic.P224()
		}
		if !supported {
			assert.Error(t, err, "%T", k)
			continue
		}
		require.NoError(t, err, "%T", k)
		assert.Equal(t, pubkeytest.Must(k.Public()), got, "%T", k)
	}
	_, err := ParsePublicKey([]byte{0x30, 0x00})
	assert.Error(t, err)
}

func TestPEMBlocks(t *testing.T) {
	block := func(typ, body string) string {
		return "-----BEGIN " + typ + "-----\n" + body + "\n-----END " + typ + "-----\n"
	}
	for _, tc := range []struct {
		name, in string
		want     []string // nil with err
		err      bool
	}{
		{"two blocks and text", "hello\n" + block("CERTIFICATE", "YWJj") + "between\n" + block("CERTIFICATE", "ZGVm\nZw=="), []string{"abc", "defg"}, false},
		{"CRLF and indent", "-----BEGIN CERTIFICATE-----\r\n  YW Jj\r\n-----END CERTIFICATE-----\r\n", []string{"abc"}, false},
		{"other types skipped", block("PUBLIC KEY", "YWJj") + block("CERTIFICATE", "ZGVm"), []string{"def"}, false},
		{"no END", "-----BEGIN CERTIFICATE-----\nYWJj\n", nil, true},
		{"header line", block("CERTIFICATE", "Proc-Type: 4,ENCRYPTED\nYWJj"), nil, true},
		{"bad base64", block("CERTIFICATE", "YWJ"), nil, true},
		{"empty block", block("CERTIFICATE", ""), nil, true},
		{"nested BEGIN", "-----BEGIN CERTIFICATE-----\n" + block("CERTIFICATE", "YWJj"), nil, true},
		{"nothing", "", []string{}, false},
	} {
		got, err := PEMBlocks([]byte(tc.in), "CERTIFICATE")
		if tc.err {
			assert.ErrorIs(t, err, ErrPEM, tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		s := []string{}
		for _, b := range got {
			s = append(s, string(b))
		}
		assert.Equal(t, tc.want, s, tc.name)
	}
	// What encoding/pem writes parses.
	ca := issueTest(t, "Root", true, nil, nil)
	got, err := PEMBlocks(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.c.Raw}), "CERTIFICATE")
	require.NoError(t, err)
	assert.Equal(t, [][]byte{ca.c.Raw}, got)
}

type testCert struct {
	c   *x509.Certificate
	key crypto.Signer
}

// issueTest makes a P-256 certificate valid at diffAt; edit changes the
// template.
func issueTest(t *testing.T, cn string, ca bool, parent *testCert, edit func(*x509.Certificate)) *testCert {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: diffAt.Add(-time.Hour), NotAfter: diffAt.Add(time.Hour),
		BasicConstraintsValid: true, IsCA: ca, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	if edit != nil {
		edit(tmpl)
	}
	p, signer := tmpl, crypto.Signer(k)
	if parent != nil {
		p, signer = parent.c, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p, k.Public(), signer)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCert{c, k}
}

func mustParse(t *testing.T, cs ...*testCert) []*Cert {
	t.Helper()
	var out []*Cert
	for _, c := range cs {
		p, err := Parse(c.c.Raw)
		require.NoError(t, err)
		out = append(out, p)
	}
	return out
}

// TestExtensions is the extension table: what each one does to Verify.
func TestExtensions(t *testing.T) {
	ext := func(oid asn1.ObjectIdentifier, critical bool, value []byte) func(*x509.Certificate) {
		return func(c *x509.Certificate) {
			c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{Id: oid, Critical: critical, Value: value})
		}
	}
	null := []byte{5, 0}
	for _, tc := range []struct {
		name string
		edit func(*x509.Certificate)
		want error
	}{
		{"none", nil, nil},
		{"unknown, not critical", ext(oidUnknown, false, null), nil},
		{"unknown, critical", ext(oidUnknown, true, null), ErrUnhandled},
		{"EKU, critical", ext(asn1.ObjectIdentifier{2, 5, 29, 37}, true, []byte{0x30, 0x03, 0x06, 0x01, 0x2a}), nil},
		{"SAN", func(c *x509.Certificate) { c.DNSNames = []string{"a.example"} }, nil},
		{"SAN, critical", ext(oidSAN, true, []byte{0x30, 0x03, 0x82, 0x01, 'a'}), ErrUnhandled},
		{"name constraints", func(c *x509.Certificate) { c.PermittedDNSDomains = []string{"example.com"} }, ErrConstraints},
		{"policy constraints", ext(oidPolicyConst, false, []byte{0x30, 0x03, 0x80, 0x01, 0x00}), ErrConstraints},
		{"inhibitAnyPolicy", ext(asn1.ObjectIdentifier{2, 5, 29, 54}, false, []byte{0x02, 0x01, 0x00}), ErrConstraints},
		{"policy mappings", ext(asn1.ObjectIdentifier{2, 5, 29, 33}, false, []byte{0x30, 0x00}), ErrConstraints},
	} {
		root := issueTest(t, "Root", true, nil, tc.edit)
		leaf := issueTest(t, "leaf", false, root, nil)
		_, err := Verify(mustParse(t, leaf)[0], Options{Roots: mustParse(t, root), At: diffAt})
		if tc.want == nil {
			assert.NoError(t, err, tc.name)
		} else {
			assert.ErrorIs(t, err, tc.want, tc.name)
		}
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: diffAt, NotAfter: diffAt,
		ExtraExtensions: []pkix.Extension{{Id: oidUnknown, Value: null}, {Id: oidUnknown, Value: null}}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	require.NoError(t, err)
	_, err = Parse(der)
	assert.ErrorIs(t, err, ErrParse, "duplicate extension")
}

// TestVerifyRefusals: each refusal of Verify with its sentinel.
func TestVerifyRefusals(t *testing.T) {
	root := issueTest(t, "Root", true, nil, nil)
	mid := issueTest(t, "Mid", true, root, func(c *x509.Certificate) { c.MaxPathLen, c.MaxPathLenZero = 0, true })
	mid2 := issueTest(t, "Mid2", true, mid, nil)
	notCA := issueTest(t, "NotCA", false, root, nil)
	leaf := issueTest(t, "leaf", false, root, nil)
	leafOfMid2 := issueTest(t, "leaf", false, mid2, nil)
	leafOfNotCA := issueTest(t, "leaf", false, notCA, nil)
	leafKU := issueTest(t, "leaf", false, root, func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageKeyEncipherment })
	roots := mustParse(t, root)
	for _, tc := range []struct {
		name string
		leaf *testCert
		mids []*testCert
		at   time.Time
		max  int
		want error
	}{
		{"ok", leaf, nil, diffAt, 0, nil},
		{"ok at NotAfter", leaf, nil, diffAt.Add(time.Hour), 0, nil},
		{"expired", leaf, nil, diffAt.Add(time.Hour + time.Second), 0, ErrExpired},
		{"not yet valid", leaf, nil, diffAt.Add(-2 * time.Hour), 0, ErrExpired},
		{"issuer not a CA", leafOfNotCA, []*testCert{notCA}, diffAt, 0, ErrNotCA},
		{"pathLen 0 with an intermediate below", leafOfMid2, []*testCert{mid2, mid}, diffAt, 0, ErrPathLen},
		{"leaf keyUsage without digitalSignature", leafKU, nil, diffAt, 0, ErrLeafUsage},
		{"chain too long", leaf, nil, diffAt, 1, ErrTooLong},
		{"missing intermediate", leafOfMid2, []*testCert{mid}, diffAt, 0, ErrUnknownAuthority},
	} {
		_, err := Verify(mustParse(t, tc.leaf)[0], Options{Roots: roots, Intermediates: mustParse(t, tc.mids...), At: tc.at, MaxChain: tc.max})
		if tc.want == nil {
			assert.NoError(t, err, tc.name)
		} else {
			assert.ErrorIs(t, err, tc.want, tc.name)
		}
	}
	_, err := Verify(mustParse(t, leaf)[0], Options{At: diffAt})
	assert.ErrorIs(t, err, ErrUnknownAuthority, "no roots")
	chain, err := Verify(roots[0], Options{Roots: roots, At: diffAt})
	require.NoError(t, err, "a trusted certificate is a chain of one")
	assert.Len(t, chain, 1)
}
