package pubkey

import (
	"bytes"
	"crypto"
	"math/bits"

	"pantavisor/lib/printf"
)

// RSA is an RSA public key.
type RSA struct {
	N []byte // modulus, big-endian
	E int    // public exponent
}

// modulus returns N without its leading zero bytes.
func (k *RSA) modulus() []byte {
	n := k.N
	for len(n) > 0 && n[0] == 0 {
		n = n[1:]
	}
	return n
}

// bitLen is the modulus length in bits.
func (k *RSA) bitLen() int {
	n := k.modulus()
	if len(n) == 0 {
		return 0
	}
	return 8*(len(n)-1) + bits.Len8(n[0])
}

// Size returns the modulus length in bytes.
func (k *RSA) Size() int { return (k.bitLen() + 7) / 8 }

// check refuses the keys crypto/rsa refuses: a modulus under 1024 bits
// or even, an exponent under 2, even, or over 2³¹-1.
func (k *RSA) check() error {
	n := k.modulus()
	switch {
	case len(n) == 0:
		return printf.Errorf("rsa: missing public modulus")
	case k.bitLen() < 1024:
		return printf.Errorf("rsa: %d-bit keys are insecure", k.bitLen())
	case n[len(n)-1]&1 == 0:
		return printf.Errorf("rsa: public modulus is even")
	case k.E < 2:
		return printf.Errorf("rsa: public exponent too small or negative")
	case k.E&1 == 0:
		return printf.Errorf("rsa: public exponent is even")
	case k.E > 1<<31-1:
		return printf.Errorf("rsa: public exponent too large")
	}
	return nil
}

// VerifyPKCS1v15 checks sig, an RSASSA-PKCS1-v1_5 signature (RFC 8017
// §8.2.2) of digest, the h (SHA-256, -384 or -512) hash of the message.
// It returns nil, a key error, or ErrVerification.
func (k *RSA) VerifyPKCS1v15(h crypto.Hash, digest, sig []byte) error {
	if err := k.check(); err != nil {
		return err
	}
	prefix := digestInfo(h)
	size := k.Size()
	if prefix == nil || len(digest) != h.Size() || len(sig) != size || size < len(prefix)+len(digest)+11 {
		return ErrVerification
	}
	m := newModulus(k.modulus())
	s, ok := natFromBytes(sig, m.size())
	if !ok || s.cmp(m.m) >= 0 {
		return ErrVerification
	}
	em := m.fromMont(m.exp(m.toMont(s), smallNat(uint64(k.E), 1))).bytes(size)
	// EM = 0x00 || 0x01 || PS (0xff...) || 0x00 || DigestInfo || digest.
	want := make([]byte, size)
	want[1] = 1
	t := size - len(prefix) - len(digest)
	for i := 2; i < t-1; i++ {
		want[i] = 0xff
	}
	copy(want[t:], prefix)
	copy(want[t+len(prefix):], digest)
	if !bytes.Equal(em, want) {
		return ErrVerification
	}
	return nil
}
