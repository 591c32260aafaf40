package pvs

import (
	"crypto"

	"pantavisor/lib/printf"
	"pantavisor/lib/pubkey"
	"pantavisor/lib/sentinel"
)

// ErrBadSignature is wrapped when the signature does not verify with the
// key, or the key does not suit the alg.
var ErrBadSignature error = &sentinel.Error{Text: "signature does not verify"}

// hashOf returns the hash of a JWS alg, or 0 for an unsupported alg.
func hashOf(alg string) crypto.Hash {
	switch alg {
	case "RS256", "ES256":
		return crypto.SHA256
	case "ES384":
		return crypto.SHA384
	case "ES512":
		return crypto.SHA512
	}
	return 0
}

// curveOf returns the curve an ES alg requires (0 for RS256).
func curveOf(alg string) pubkey.Curve {
	switch alg {
	case "ES256":
		return pubkey.P256
	case "ES384":
		return pubkey.P384
	case "ES512":
		return pubkey.P521
	}
	return 0
}

// VerifyJWS checks sig over input (protected "." b64url(payload)) with key
// for alg: RS256 is RSASSA-PKCS1-v1_5 with SHA-256; ES256/384/512 are ECDSA
// on P-256/384/521 with the raw r‖s signature of RFC 7518 §3.4. A key of the
// wrong type or curve for alg is refused.
func VerifyJWS(alg string, key crypto.PublicKey, input, sig []byte) error {
	h := hashOf(alg)
	if h == 0 {
		return printf.Errorf("%w: unsupported alg %q", ErrBadSignature, alg)
	}
	sum := pubkey.Digest(h, input)
	switch k := key.(type) {
	case *pubkey.RSA:
		if alg != "RS256" {
			return printf.Errorf("%w: alg %s with an RSA key", ErrBadSignature, alg)
		}
		if err := k.VerifyPKCS1v15(h, sum, sig); err != nil {
			return printf.Errorf("%w: %w", ErrBadSignature, err)
		}
		return nil
	case *pubkey.EC:
		c := curveOf(alg)
		if c == 0 || k.Curve != c {
			return printf.Errorf("%w: alg %s with an EC key on %s", ErrBadSignature, alg, k.Curve)
		}
		n := c.ByteSize()
		if len(sig) != 2*n {
			return printf.Errorf("%w: %s signature of %d bytes, want %d", ErrBadSignature, alg, len(sig), 2*n)
		}
		if !k.Verify(sum, sig[:n], sig[n:]) {
			return ErrBadSignature
		}
		return nil
	}
	return printf.Errorf("%w: alg %s: a key neither RSA nor EC", ErrBadSignature, alg)
}
