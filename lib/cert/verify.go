package cert

import (
	"bytes"
	"time"

	"pantavisor/lib/printf"
	"pantavisor/lib/pubkey"
	"pantavisor/lib/sentinel"
)

// Errors of Verify. ErrExpired's text is crypto/x509's, which users know.
var (
	ErrUnknownAuthority error = &sentinel.Error{Text: "certificate signed by unknown authority"}
	ErrExpired          error = &sentinel.Error{Text: "x509: certificate has expired or is not yet valid"}
	ErrUnhandled        error = &sentinel.Error{Text: "unhandled critical extension"}
	ErrConstraints      error = &sentinel.Error{Text: "name or policy constraints are not supported"}
	ErrNotCA            error = &sentinel.Error{Text: "issuer is not a CA allowed to sign certificates"}
	ErrPathLen          error = &sentinel.Error{Text: "too many intermediates for path length constraint"}
	ErrLeafUsage        error = &sentinel.Error{Text: "leaf key usage lacks digitalSignature"}
	ErrSignature        error = &sentinel.Error{Text: "certificate signature does not verify"}
	ErrTooLong          error = &sentinel.Error{Text: "no chain short enough"}
	ErrTooManyChecks    error = &sentinel.Error{Text: "too many signature checks while building a chain"}
)

// maxSigChecks bounds the signatures one Verify checks, as crypto/x509's
// maxChainSignatureChecks does.
const maxSigChecks = 100

// Options are the inputs of Verify besides the leaf.
type Options struct {
	Roots         []*Cert // trust anchors; empty: nothing verifies
	Intermediates []*Cert // a pool, in any order
	At            time.Time
	MaxChain      int // longest chain, leaf and root included; 0: no limit
}

// Verify finds a chain from leaf through opts.Intermediates to one of
// opts.Roots and returns it, leaf first, as crypto/x509's Verify with
// KeyUsages ExtKeyUsageAny would (the steps below are its own):
//  1. every certificate of the chain is valid at opts.At (NotBefore and
//     NotAfter inclusive) and has no unhandled critical extension;
//  2. a leaf that is itself one of the roots (same DER) is a chain of one;
//  3. otherwise each issuer's subject is, byte for byte, its child's issuer;
//     it is not already in the chain (same subject and key); it has
//     basicConstraints with cA, keyCertSign when it has a keyUsage, its pathLen
//     (if any) is at least the number of intermediates below it, and its
//     key verifies the child's signature;
//  4. a chain longer than opts.MaxChain is not taken; some other chain may be.
//
// It refuses where crypto/x509 accepts (deliberately, each case also in the
// differential test): a leaf whose keyUsage lacks digitalSignature; a
// nameConstraints or policy mapping/constraints/inhibitAnyPolicy extension
// anywhere in the chain; a critical subjectAltName; an issuer that is not
// v3 (crypto/x509 takes a v1 root); a signature other than RSA PKCS #1 v1.5
// or ECDSA with SHA-256/384/512 (e.g. RSA-PSS, Ed25519); an issuer key
// other than RSA or ECDSA P-256/384/521; times other than the DER forms.
// One difference goes both ways: both give up after 100 signature checks
// (a bound against costly searches, not a rule about chains), but explore
// in different orders, so on a pool of many CAs with the same name that
// cross-sign each other one may find a chain the other gave up on.
func Verify(leaf *Cert, opts Options) ([]*Cert, error) {
	if err := leaf.valid(opts.At); err != nil {
		return nil, err
	}
	if leaf.KeyUsage != 0 && leaf.KeyUsage&UsageDigitalSignature == 0 {
		return nil, ErrLeafUsage
	}
	for _, r := range opts.Roots {
		if bytes.Equal(r.Raw, leaf.Raw) {
			return []*Cert{leaf}, nil
		}
	}
	b := builder{opts: &opts}
	if chain := b.build([]*Cert{leaf}); chain != nil {
		return chain, nil
	}
	if b.err == nil {
		return nil, ErrUnknownAuthority
	}
	return nil, b.err
}

// builder searches chains depth first and keeps the first error met, for
// the message.
type builder struct {
	opts   *Options
	checks int
	err    error
}

// build returns the first chain found that extends chain, or nil.
func (b *builder) build(chain []*Cert) []*Cert {
	child := chain[len(chain)-1]
	for i, pool := range [][]*Cert{b.opts.Roots, b.opts.Intermediates} {
		for _, p := range pool {
			if !bytes.Equal(p.RawSubject, child.RawIssuer) {
				continue
			}
			if b.checks++; b.checks > maxSigChecks {
				b.err = ErrTooManyChecks
				return nil
			}
			if b.note(b.parent(p, chain)) {
				continue
			}
			next := append(chain[:len(chain):len(chain)], p)
			if i == 0 {
				return next
			}
			if c := b.build(next); c != nil || b.checks > maxSigChecks {
				return c
			}
		}
	}
	return nil
}

// note keeps the first error; it reports whether err is not nil.
func (b *builder) note(err error) bool {
	if err != nil && b.err == nil {
		b.err = err
	}
	return err != nil
}

// parent checks p as the issuer of chain's last certificate (step 3).
func (b *builder) parent(p *Cert, chain []*Cert) error {
	if b.opts.MaxChain > 0 && len(chain) >= b.opts.MaxChain {
		return printf.Errorf("%w: longer than %d certificates", ErrTooLong, b.opts.MaxChain)
	}
	for _, c := range chain {
		if bytes.Equal(c.RawSubject, p.RawSubject) && bytes.Equal(c.RawSPKI, p.RawSPKI) {
			return ErrUnknownAuthority // a loop
		}
	}
	if p.Version != 3 {
		return printf.Errorf("%w: %q is a v%d certificate", ErrNotCA, p.CommonName, p.Version)
	}
	if !p.BasicConstraints || !p.IsCA || p.KeyUsage != 0 && p.KeyUsage&UsageCertSign == 0 {
		return printf.Errorf("%w: %q", ErrNotCA, p.CommonName)
	}
	if err := chain[len(chain)-1].checkSignature(p); err != nil {
		return err
	}
	if err := p.valid(b.opts.At); err != nil {
		return err
	}
	if p.MaxPathLen >= 0 && len(chain)-1 > p.MaxPathLen {
		return printf.Errorf("%w: %q", ErrPathLen, p.CommonName)
	}
	return nil
}

// valid checks dates and extensions (step 1).
func (c *Cert) valid(at time.Time) error {
	if c.unhandled != "" {
		return printf.Errorf("%w: %s in %q", ErrUnhandled, c.unhandled, c.CommonName)
	}
	if c.constraint != "" {
		return printf.Errorf("%w: %s in %q", ErrConstraints, c.constraint, c.CommonName)
	}
	if at.Before(c.NotBefore) {
		return printf.Errorf("%w: current time %s is before %s", ErrExpired, at.Format(time.RFC3339), c.NotBefore.Format(time.RFC3339))
	}
	if at.After(c.NotAfter) {
		return printf.Errorf("%w: current time %s is after %s", ErrExpired, at.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339))
	}
	return nil
}

// checkSignature verifies c's signature with p's key.
func (c *Cert) checkSignature(p *Cert) error {
	h := c.sigAlg.hash()
	if h == 0 {
		return printf.Errorf("%w: unsupported signature algorithm", ErrSignature)
	}
	sum := pubkey.Digest(h, c.RawTBS)
	var err error
	switch k := p.PublicKey.(type) {
	case *pubkey.RSA:
		if c.sigAlg > sigRSA512 {
			return printf.Errorf("%w: ECDSA signature by an RSA key", ErrSignature)
		}
		err = k.VerifyPKCS1v15(h, sum, c.signature)
	case *pubkey.EC:
		if c.sigAlg < sigEC256 {
			return printf.Errorf("%w: RSA signature by an EC key", ErrSignature)
		}
		if r, s, ok := ecdsaSig(c.signature); !ok || !k.Verify(sum, r, s) {
			err = ErrSignature
		}
	default:
		return printf.Errorf("%w: unsupported issuer key", ErrSignature)
	}
	if err != nil {
		return printf.Errorf("%w: %q by %q", ErrSignature, c.CommonName, p.CommonName)
	}
	return nil
}

// ecdsaSig decodes an ECDSA-Sig-Value (RFC 3279 §2.2.3): SEQUENCE { r
// INTEGER, s INTEGER }, both positive, in DER with nothing after; r and s
// are returned big-endian.
func ecdsaSig(b []byte) (r, s []byte, ok bool) {
	rb, sb, ok := twoIntegers(der(b))
	if !ok {
		return nil, nil, false
	}
	rv, ok1 := bigIntBytes(rb)
	sv, ok2 := bigIntBytes(sb)
	if !ok1 || !ok2 {
		return nil, nil, false
	}
	return rv, sv, true
}
