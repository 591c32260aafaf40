package pubkey

import (
	"bytes"
	"crypto"
	"math/big"

	"pantavisor/lib/printf"
)

// RSA is an RSA public key.
type RSA struct {
	N *big.Int // modulus
	E int      // public exponent
}

// Size returns the modulus length in bytes.
func (k *RSA) Size() int { return (k.N.BitLen() + 7) / 8 }

// check refuses the keys crypto/rsa refuses: a modulus under 1024 bits
// or even, an exponent under 2, even, or over 2³¹-1.
func (k *RSA) check() error {
	switch {
	case k.N == nil || k.N.Sign() <= 0:
		return printf.Errorf("rsa: missing public modulus")
	case k.N.BitLen() < 1024:
		return printf.Errorf("rsa: %d-bit keys are insecure", k.N.BitLen())
	case k.N.Bit(0) == 0:
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
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(k.N) >= 0 {
		return ErrVerification
	}
	em := s.Exp(s, big.NewInt(int64(k.E)), k.N).FillBytes(make([]byte, size))
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
