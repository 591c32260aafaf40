// Package sign makes pvs@2 signatures of Pantavisor states, as pvr does:
// a host-side tool for image builders and tests, never linked into the
// device binary.
package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"pantavisor/lib/pvs"
	"pantavisor/lib/rawjson"
)

// Options says what to sign and with what.
type Options struct {
	Key     crypto.Signer // *rsa.PrivateKey or *ecdsa.PrivateKey
	Chain   [][]byte      // DER certificates, leaf first; nil: no x5c (the device's pub.pem)
	Include []string      // pvs.include globs
	Exclude []string      // pvs.exclude globs
	// Alg overrides the algorithm the key implies (RS256 for RSA; ES256,
	// ES384, ES512 by curve); tests use it to make mismatched signatures.
	Alg string
}

// Header returns the protected header's JSON for opts, and its alg.
func Header(opts Options) ([]byte, string, error) {
	alg := opts.Alg
	if alg == "" {
		var err error
		if alg, err = algFor(opts.Key.Public()); err != nil {
			return nil, "", err
		}
	}
	h := []byte(`{"alg":`)
	h = rawjson.AppendString(h, alg)
	h = append(h, `,"pvs":{"include":`...)
	h = appendStrings(h, opts.Include)
	h = append(h, `,"exclude":`...)
	h = appendStrings(h, opts.Exclude)
	h = append(h, `},"typ":"PVS"`...)
	if opts.Chain != nil {
		x5c := make([]string, len(opts.Chain))
		for i, der := range opts.Chain {
			x5c[i] = base64.StdEncoding.EncodeToString(der)
		}
		h = append(h, `,"x5c":`...)
		h = appendStrings(h, x5c)
	}
	return append(h, '}'), alg, nil
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = rawjson.AppendString(dst, s)
	}
	return append(dst, ']')
}

// Signature returns the signature value ({"#spec":"pvs@2",…}) of state for
// opts: the payload is what pvs.Payload selects, signed per the alg. It
// does not check what a device would refuse (a chain longer than
// pvs.MaxChain, an alg that does not suit the key): tests make those.
func Signature(state rawjson.Value, opts Options) ([]byte, error) {
	hdrJSON, alg, err := Header(opts)
	if err != nil {
		return nil, err
	}
	payload, _, _, err := pvs.Payload(state, pvs.Header{Alg: alg, Include: opts.Include, Exclude: opts.Exclude})
	if err != nil {
		return nil, err
	}
	prot := base64.RawURLEncoding.EncodeToString(hdrJSON)
	input := prot + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := signJWS(alg, opts.Key, []byte(input))
	if err != nil {
		return nil, err
	}
	out := []byte(`{"#spec":"pvs@2","protected":`)
	out = rawjson.AppendString(out, prot)
	out = append(out, `,"signature":`...)
	out = rawjson.AppendString(out, base64.RawURLEncoding.EncodeToString(sig))
	return append(out, '}'), nil
}

// Add signs state for opts and returns the state with the signature under
// key name (e.g. "_sigs/app.json"), replacing a value of that name. Like
// pvr, it adds name to the excludes (a signature cannot sign itself). The
// other members keep their bytes and order; the result is compact JSON.
func Add(state []byte, name string, opts Options) ([]byte, error) {
	if !slices.Contains(opts.Exclude, name) {
		opts.Exclude = append(slices.Clip(opts.Exclude), name)
	}
	v, err := rawjson.Parse(state)
	if err != nil {
		return nil, err
	}
	if v.Kind != rawjson.Object {
		return nil, errors.New("state is not a JSON object")
	}
	sig, err := Signature(v, opts)
	if err != nil {
		return nil, err
	}
	return Set(v, name, sig), nil
}

// Set returns state with member name set to raw (replaced in place, or
// appended), written compactly with every other member's raw bytes.
func Set(state rawjson.Value, name string, raw []byte) []byte {
	out := []byte{'{'}
	done := false
	for _, m := range state.Members {
		val := m.Value.Raw
		if m.Key == name {
			if done {
				continue
			}
			val, done = raw, true
		}
		out = appendMember(out, m.Key, val)
	}
	if !done {
		out = appendMember(out, name, raw)
	}
	return append(out, '}')
}

func appendMember(out []byte, key string, raw []byte) []byte {
	if len(out) > 1 {
		out = append(out, ',')
	}
	out = rawjson.AppendString(out, key)
	out = append(out, ':')
	return append(out, raw...)
}

func algFor(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RS256", nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "ES256", nil
		case elliptic.P384():
			return "ES384", nil
		case elliptic.P521():
			return "ES512", nil
		}
	}
	return "", fmt.Errorf("no pvs algorithm for key %T", pub)
}

// signJWS signs input per alg; ECDSA signatures are raw r‖s, each padded
// to the curve's size (the size alg implies, so a mismatched alg makes a
// signature the verifier refuses rather than an error here).
func signJWS(alg string, key crypto.Signer, input []byte) ([]byte, error) {
	var h crypto.Hash
	var sum []byte
	switch alg {
	case "RS256", "ES256":
		d := sha256.Sum256(input)
		h, sum = crypto.SHA256, d[:]
	case "ES384":
		d := sha512.Sum384(input)
		h, sum = crypto.SHA384, d[:]
	case "ES512":
		d := sha512.Sum512(input)
		h, sum = crypto.SHA512, d[:]
	default:
		return nil, fmt.Errorf("unsupported alg %q", alg)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return rsa.SignPKCS1v15(rand.Reader, k, h, sum)
	case *ecdsa.PrivateKey:
		// A nil random source makes the signature deterministic (RFC
		// 6979): the same state signs to the same bytes, so images and
		// update packages stay reproducible.
		der, err := k.Sign(nil, sum, h)
		if err != nil {
			return nil, err
		}
		var rs struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(der, &rs); err != nil {
			return nil, err
		}
		n := (k.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*n)
		rs.R.FillBytes(out[:n])
		rs.S.FillBytes(out[n:])
		return out, nil
	}
	return nil, fmt.Errorf("unsupported key %T", key)
}
