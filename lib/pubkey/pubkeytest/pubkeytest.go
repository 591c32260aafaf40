// Package pubkeytest converts crypto/rsa and crypto/ecdsa public keys to
// package pubkey's, for tests that make keys with the standard library.
package pubkeytest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"fmt"

	"pantavisor/lib/pubkey"
)

// From returns k (an *rsa.PublicKey or an *ecdsa.PublicKey on P-256, P-384
// or P-521) as a *pubkey.RSA or *pubkey.EC.
func From(k crypto.PublicKey) (crypto.PublicKey, error) {
	switch k := k.(type) {
	case *rsa.PublicKey:
		return &pubkey.RSA{N: k.N.Bytes(), E: k.E}, nil
	case *ecdsa.PublicKey:
		b, err := k.Bytes()
		if err != nil {
			return nil, err
		}
		for _, c := range []pubkey.Curve{pubkey.P256, pubkey.P384, pubkey.P521} {
			if c.String() == k.Curve.Params().Name {
				return pubkey.ParseUncompressed(c, b)
			}
		}
	}
	return nil, fmt.Errorf("pubkeytest: unsupported key %T", k)
}

// Must is From for keys known to convert; it panics otherwise.
func Must(k crypto.PublicKey) crypto.PublicKey {
	p, err := From(k)
	if err != nil {
		panic(err)
	}
	return p
}
