// Package pubkey verifies signatures with public keys: RSASSA-PKCS1-v1_5
// and ECDSA on P-256, P-384 and P-521, in math/big.
//
// It replaces crypto/rsa and crypto/ecdsa in the device binary, which
// only ever verifies. Those packages bring the FIPS module and the P-256
// assembly's precomputed table (about 120 KB of the xz binary) for speed
// that a few signatures per update do not need. Verification handles only
// public data, so nothing here needs to run in constant time. The checks
// of keys and signatures are crypto/rsa's and crypto/ecdsa's; the tests
// hold both against them.
package pubkey

import (
	"crypto"
	"crypto/sha256"
	"crypto/sha512"

	"pantavisor/lib/sentinel"
)

// ErrVerification is returned when an RSA signature does not verify.
var ErrVerification error = &sentinel.Error{Text: "rsa: verification error"}

// digestInfo returns the DER DigestInfo prefix of h for PKCS #1 v1.5
// (RFC 8017 §9.2, note 1), or nil for a hash this package does not take.
func digestInfo(h crypto.Hash) []byte {
	switch h {
	case crypto.SHA256:
		return []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}
	case crypto.SHA384:
		return []byte{0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30}
	case crypto.SHA512:
		return []byte{0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40}
	}
	return nil
}

// Digest returns the h hash of data, for SHA-256, SHA-384 and SHA-512 (any
// other h gives SHA-512's: callers pass only the hashes of the algorithms
// they accept).
func Digest(h crypto.Hash, data []byte) []byte {
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256(data)
		return d[:]
	case crypto.SHA384:
		d := sha512.Sum384(data)
		return d[:]
	}
	d := sha512.Sum512(data)
	return d[:]
}
