package cert

import (
	"crypto"
	"errors"

	"pantavisor/lib/pubkey"
)

// DER contents of the OIDs of keys and signature algorithms.
const (
	oidRSA   = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01" // rsaEncryption
	oidEC    = "\x2a\x86\x48\xce\x3d\x02\x01"         // id-ecPublicKey
	oidP256  = "\x2a\x86\x48\xce\x3d\x03\x01\x07"     // prime256v1
	oidP384  = "\x2b\x81\x04\x00\x22"                 // secp384r1
	oidP521  = "\x2b\x81\x04\x00\x23"                 // secp521r1
	oidRSA1  = "\x2a\x86\x48\x86\xf7\x0d\x01\x01"     // pkcs-1 arc
	oidECDSA = "\x2a\x86\x48\xce\x3d\x04\x03"         // ecdsa-with-SHA2 arc
)

// sigAlg is a certificate signature algorithm this package checks.
type sigAlg int

const (
	sigUnknown sigAlg = iota
	sigRSA256
	sigRSA384
	sigRSA512
	sigEC256
	sigEC384
	sigEC512
)

// hash returns the digest algorithm of a.
func (a sigAlg) hash() crypto.Hash {
	switch a {
	case sigRSA256, sigEC256:
		return crypto.SHA256
	case sigRSA384, sigEC384:
		return crypto.SHA384
	case sigRSA512, sigEC512:
		return crypto.SHA512
	}
	return 0
}

// parseSigAlg reads an AlgorithmIdentifier (whole encoding). The
// parameters are not looked at, as in crypto/x509; an algorithm other than
// sha256/384/512WithRSAEncryption or ecdsa-with-SHA256/384/512 gives
// sigUnknown (not an error: such a certificate just cannot be checked).
func parseSigAlg(full []byte) (sigAlg, error) {
	d := der(full)
	body, ok := d.read(tagSequence)
	if !ok {
		return 0, errDER
	}
	bd := der(body)
	oid, ok := bd.read(tagOID)
	if !ok || !validOID(oid) {
		return 0, errors.New("malformed signature algorithm")
	}
	s := string(oid)
	if len(s) == len(oidRSA1)+1 && s[:len(oidRSA1)] == oidRSA1 {
		switch s[len(oidRSA1)] {
		case 11:
			return sigRSA256, nil
		case 12:
			return sigRSA384, nil
		case 13:
			return sigRSA512, nil
		}
	}
	if len(s) == len(oidECDSA)+1 && s[:len(oidECDSA)] == oidECDSA {
		switch s[len(oidECDSA)] {
		case 2:
			return sigEC256, nil
		case 3:
			return sigEC384, nil
		case 4:
			return sigEC512, nil
		}
	}
	return sigUnknown, nil
}

// parseSPKI reads a SubjectPublicKeyInfo's contents: an RSA key (NULL
// parameters, positive modulus and exponent, as crypto/x509 requires) or
// an EC key on P-256/384/521 (uncompressed point on the curve). Other key
// algorithms give a nil key and no error.
func parseSPKI(d der) (crypto.PublicKey, error) {
	alg, ok := d.read(tagSequence)
	if !ok {
		return nil, errDER
	}
	bitstr, ok := d.read(tagBitString)
	if !ok || len(d) != 0 {
		return nil, errDER
	}
	key, unused, ok := bitString(bitstr)
	if !ok {
		return nil, errDER
	}
	ad := der(alg)
	oid, ok := ad.read(tagOID)
	if !ok || !validOID(oid) {
		return nil, errDER
	}
	switch string(oid) {
	case oidRSA:
		if p, ok := ad.read(tagNull); !ok || len(p) != 0 || len(ad) != 0 || unused != 0 {
			return nil, errors.New("RSA key without NULL parameters")
		}
		return parseRSA(der(key))
	case oidEC:
		curve, ok := ad.read(tagOID)
		if !ok || len(ad) != 0 || unused != 0 {
			return nil, errors.New("malformed EC parameters")
		}
		c := namedCurve(string(curve))
		if c == 0 {
			return nil, nil
		}
		return pubkey.ParseUncompressed(c, key)
	}
	return nil, nil
}

func namedCurve(oid string) pubkey.Curve {
	switch oid {
	case oidP256:
		return pubkey.P256
	case oidP384:
		return pubkey.P384
	case oidP521:
		return pubkey.P521
	}
	return 0
}

// parseRSA reads an RSAPublicKey (PKCS #1): SEQUENCE { n, e }.
func parseRSA(d der) (*pubkey.RSA, error) {
	nb, eb, ok := twoIntegers(d)
	if !ok {
		return nil, errors.New("malformed RSA key")
	}
	n, ok := bigIntBytes(nb)
	if !ok {
		return nil, errors.New("RSA modulus is not a positive number")
	}
	e, ok := uintValue(eb)
	if !ok || e == 0 {
		return nil, errors.New("RSA public exponent is not a positive number")
	}
	return &pubkey.RSA{N: n, E: e}, nil
}

// ParsePublicKey decodes a DER SubjectPublicKeyInfo (a PEM "PUBLIC KEY"
// block's contents) holding an RSA key or an EC key on P-256/384/521.
func ParsePublicKey(b []byte) (crypto.PublicKey, error) {
	d := der(b)
	spki, ok := d.read(tagSequence)
	if !ok || len(d) != 0 {
		return nil, errDER
	}
	k, err := parseSPKI(der(spki))
	if err == nil && k == nil {
		err = errors.New("unsupported public key algorithm")
	}
	return k, err
}
