package cert

import (
	"bytes"
	"crypto"
	"errors"
	"time"

	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// ErrParse is wrapped by every error of Parse.
var ErrParse error = &sentinel.Error{Text: "malformed certificate"}

// KeyUsage is the keyUsage extension's first nine bits (RFC 5280 4.2.1.3),
// bit 0 (digitalSignature) as 1, as crypto/x509 numbers them.
type KeyUsage int

// The key usages Verify looks at.
const (
	UsageDigitalSignature KeyUsage = 1 << 0
	UsageCertSign         KeyUsage = 1 << 5
)

// Cert is a parsed certificate. Raw fields alias the DER given to Parse.
type Cert struct {
	Raw        []byte // the whole certificate
	RawTBS     []byte // the signed TBSCertificate
	RawIssuer  []byte // issuer Name
	RawSubject []byte // subject Name
	RawSPKI    []byte // SubjectPublicKeyInfo
	CommonName string // the subject's last CN; empty when it has none
	Version    int    // 1, 2 or 3
	NotBefore  time.Time
	NotAfter   time.Time
	// PublicKey is a *pubkey.RSA or a *pubkey.EC (P-256, P-384 or
	// P-521); nil for other algorithms (the certificate then
	// signs nothing).
	PublicKey crypto.PublicKey

	// BasicConstraints: the extension is present; IsCA and MaxPathLen
	// (-1: no limit) are its fields.
	BasicConstraints bool
	IsCA             bool
	MaxPathLen       int
	KeyUsage         KeyUsage // 0: no keyUsage extension (or no bit set)

	sigAlg     sigAlg // of Signature; 0: not supported
	signature  []byte
	unhandled  string // an unknown critical extension (OID in hex)
	constraint string // a nameConstraints or policy extension Verify refuses
}

// Parse decodes one DER certificate. It checks the structure crypto/x509
// checks for the fields it reads; an unsupported signature or key
// algorithm is not an error (see Cert.PublicKey), so a trust bundle with
// such roots still loads.
func Parse(b []byte) (*Cert, error) {
	c := &Cert{MaxPathLen: -1}
	if err := c.parse(b); err != nil {
		return nil, printf.Errorf("%w: %w", ErrParse, err)
	}
	return c, nil
}

func (c *Cert) parse(b []byte) error {
	top := der(b)
	body, raw, ok := top.readFull(tagSequence)
	if !ok || len(top) != 0 {
		return errDER
	}
	c.Raw = raw
	d := der(body)
	tbs, rawTBS, ok := d.readFull(tagSequence)
	if !ok {
		return printf.Errorf("tbsCertificate: %w", errDER)
	}
	c.RawTBS = rawTBS
	_, outerAlg, ok := d.readFull(tagSequence)
	if !ok {
		return printf.Errorf("signatureAlgorithm: %w", errDER)
	}
	sig, ok := d.read(tagBitString)
	if !ok || len(d) != 0 {
		return printf.Errorf("signatureValue: %w", errDER)
	}
	bits, unused, ok := bitString(sig)
	if !ok || unused != 0 {
		return printf.Errorf("signatureValue: %w", errDER)
	}
	c.signature = bits
	innerAlg, err := c.parseTBS(der(tbs))
	if err != nil {
		return err
	}
	if !bytes.Equal(innerAlg, outerAlg) {
		return errors.New("inner and outer signature algorithm identifiers differ")
	}
	c.sigAlg, err = parseSigAlg(outerAlg)
	return err
}

// parseTBS reads the TBSCertificate's fields and returns the raw
// signature AlgorithmIdentifier inside it.
func (c *Cert) parseTBS(d der) (sigAlg []byte, err error) {
	c.Version = 1
	if d.peek(tagExplicit0) {
		v, _ := d.read(tagExplicit0)
		vd := der(v)
		n, ok := vd.read(tagInteger)
		ver, ok2 := uintValue(n)
		if !ok || !ok2 || len(vd) != 0 || ver > 2 {
			return nil, errors.New("malformed version")
		}
		c.Version = ver + 1
	}
	if _, ok := d.read(tagInteger); !ok {
		return nil, errors.New("malformed serial number")
	}
	_, sigAlg, ok := d.readFull(tagSequence)
	if !ok {
		return nil, printf.Errorf("signature algorithm: %w", errDER)
	}
	if c.RawIssuer, err = readName(&d, nil); err != nil {
		return nil, printf.Errorf("issuer: %w", err)
	}
	if err := c.parseValidity(&d); err != nil {
		return nil, err
	}
	if c.RawSubject, err = readName(&d, &c.CommonName); err != nil {
		return nil, printf.Errorf("subject: %w", err)
	}
	spki, rawSPKI, ok := d.readFull(tagSequence)
	if !ok {
		return nil, printf.Errorf("public key: %w", errDER)
	}
	c.RawSPKI = rawSPKI
	if c.PublicKey, err = parseSPKI(der(spki)); err != nil {
		return nil, printf.Errorf("public key: %w", err)
	}
	if c.Version > 1 {
		for _, t := range []byte{tagImplicit1, tagImplicit2} {
			if d.peek(t) {
				d.read(t)
			}
		}
	}
	if c.Version == 3 && d.peek(tagExplicit3) {
		if err := c.parseExtensions(&d); err != nil {
			return nil, err
		}
	}
	if len(d) != 0 {
		return nil, errors.New("trailing data in tbsCertificate")
	}
	return sigAlg, nil
}

func (c *Cert) parseValidity(d *der) error {
	v, ok := d.read(tagSequence)
	if !ok {
		return printf.Errorf("validity: %w", errDER)
	}
	vd := der(v)
	var err error
	if c.NotBefore, err = readTime(&vd); err != nil {
		return printf.Errorf("notBefore: %w", err)
	}
	if c.NotAfter, err = readTime(&vd); err != nil {
		return printf.Errorf("notAfter: %w", err)
	}
	if len(vd) != 0 {
		return printf.Errorf("validity: %w", errDER)
	}
	return nil
}
