package pubkey

import (
	"errors"

	"pantavisor/lib/hexbytes"
)

// Curve names a NIST prime curve.
type Curve uint8

// The curves of ECDSA keys.
const (
	P256 Curve = iota + 1
	P384
	P521
)

// String returns the curve's name as crypto/elliptic writes it.
func (c Curve) String() string {
	switch c {
	case P256:
		return "P-256"
	case P384:
		return "P-384"
	case P521:
		return "P-521"
	}
	return "unknown curve"
}

// ByteSize returns the length in bytes of a coordinate or scalar.
func (c Curve) ByteSize() int {
	switch c {
	case P256:
		return 32
	case P384:
		return 48
	case P521:
		return 66
	}
	return 0
}

// params are a curve y² = x³ - 3x + b over GF(p) with base point (gx, gy)
// of order n (FIPS 186-4 D.1.2), as moduli and, for b, gx and gy, field
// elements in Montgomery form. They are built at each use, so the package
// keeps no state and does no work at init.
type params struct {
	p, n      *modulus
	b, gx, gy nat
	size      int // bytes of a coordinate or scalar
}

func (c Curve) params() *params {
	var h [5]string
	switch c {
	case P256:
		h = [5]string{
			"ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
			"ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
			"5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
			"6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
			"4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
		}
	case P384:
		h = [5]string{
			"fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
			"ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
			"b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
			"aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7",
			"3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f",
		}
	case P521:
		h = [5]string{
			"1ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
			"1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409",
			"51953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00",
			"c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66",
			"11839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650",
		}
	default:
		return nil
	}
	var v [5][]byte
	for i := range h {
		if len(h[i])%2 != 0 { // P-521's 521 bits: 131 digits
			h[i] = "0" + h[i]
		}
		v[i], _ = hexbytes.Decode(h[i])
	}
	p := &params{p: newModulus(v[0]), n: newModulus(v[1]), size: c.ByteSize()}
	n := p.p.size()
	b, _ := natFromBytes(v[2], n)
	gx, _ := natFromBytes(v[3], n)
	gy, _ := natFromBytes(v[4], n)
	p.b, p.gx, p.gy = p.p.toMont(b), p.p.toMont(gx), p.p.toMont(gy)
	return p
}

// element reads big-endian b as a field element in Montgomery form,
// refusing values of p or more.
func (p *params) element(b []byte) (nat, bool) {
	x, ok := natFromBytes(b, p.p.size())
	if !ok || x.cmp(p.p.m) >= 0 {
		return nil, false
	}
	return p.p.toMont(x), true
}

// onCurve reports whether y² = x³ - 3x + b for x, y in Montgomery form.
func (p *params) onCurve(x, y nat) bool {
	f := p.p
	y2 := f.mul(y, y)
	x3 := f.mul(f.mul(x, x), x)
	x3 = f.sub(x3, f.add(f.add(x, x), x))
	x3 = f.add(x3, p.b)
	return x3.cmp(y2) == 0
}

// EC is an ECDSA public key: a point of Curve other than infinity, its
// coordinates big-endian, ByteSize bytes each.
type EC struct {
	Curve Curve
	x, y  []byte
}

// ParseUncompressed reads an uncompressed point (SEC 1 §2.3.3: 0x04 ‖ x ‖
// y) on c, refusing coordinates out of range and points not on the curve.
func ParseUncompressed(c Curve, data []byte) (*EC, error) {
	p := c.params()
	if p == nil {
		return nil, errors.New("ecdsa: unsupported curve")
	}
	n := c.ByteSize()
	if len(data) != 1+2*n || data[0] != 4 {
		return nil, errors.New("ecdsa: invalid uncompressed public key")
	}
	k := &EC{Curve: c, x: data[1 : 1+n : 1+n], y: data[1+n:]}
	if _, _, ok := k.point(p); !ok {
		return nil, errors.New("ecdsa: invalid public key: point not on curve")
	}
	return k, nil
}

// point returns the key's coordinates in Montgomery form, if they are a
// point of the curve.
func (k *EC) point(p *params) (x, y nat, ok bool) {
	x, okx := p.element(k.x)
	y, oky := p.element(k.y)
	if !okx || !oky || !p.onCurve(x, y) {
		return nil, nil, false
	}
	return x, y, true
}

// Verify checks the ECDSA signature (r, s), big-endian, of digest (FIPS
// 186-4 §6.4.2): r and s in [1, n-1], and r ≡ x(u₁G + u₂Q) mod n with
// w = s⁻¹, u₁ = e·w, u₂ = r·w, where e is the leftmost bits of digest, as
// many as n has.
func (k *EC) Verify(digest, r, s []byte) bool {
	p := k.Curve.params()
	if p == nil {
		return false
	}
	qx, qy, ok := k.point(p)
	if !ok {
		return false
	}
	n := p.n
	rn, okr := natFromBytes(r, n.size())
	sn, oks := natFromBytes(s, n.size())
	if !okr || !oks || rn.isZero() || sn.isZero() || rn.cmp(n.m) >= 0 || sn.cmp(n.m) >= 0 {
		return false
	}
	e := n.reduceOnce(hashToNat(digest, n))
	w := n.inverse(n.toMont(sn)) // in Montgomery form, as u1 and u2 until fromMont
	u1 := n.fromMont(n.mul(n.toMont(e), w))
	u2 := n.fromMont(n.mul(n.toMont(rn), w))
	x, ok := p.combinedMult(u1, u2, qx, qy)
	if !ok {
		return false
	}
	// x < p < 2n: one subtraction reduces it modulo n.
	xn, _ := natFromBytes(x.bytes(p.size), n.size())
	return n.reduceOnce(xn).cmp(rn) == 0
}

// hashToNat converts digest to an integer of at most n's bit length,
// keeping its leftmost bits (SEC 1 §4.1.4 step 5).
func hashToNat(digest []byte, n *modulus) nat {
	bitLen := n.m.bitLen()
	size := (bitLen + 7) / 8
	if len(digest) > size {
		digest = digest[:size]
	}
	e, _ := natFromBytes(digest, n.size())
	if excess := len(digest)*8 - bitLen; excess > 0 {
		e = e.shiftRight(uint(excess))
	}
	return e
}
