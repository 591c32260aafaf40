package pubkey

import "math/bits"

// nat is a non-negative integer in little-endian 64-bit limbs, as long as
// the modulus it belongs to. Verification handles public values only,
// so nothing here runs in constant time.
type nat []uint64

// modulus is an odd modulus m with the constants of Montgomery
// multiplication for R = 2^(64·len(m)): m0 = -m⁻¹ mod 2⁶⁴, rr = R² mod m.
type modulus struct {
	m  nat
	m0 uint64
	rr nat
}

// natFromBytes reads big-endian b into n limbs; false if it does not fit.
func natFromBytes(b []byte, n int) (nat, bool) {
	x := make(nat, n)
	for i := range b {
		v := b[len(b)-1-i]
		if i/8 >= n {
			if v != 0 {
				return nil, false
			}
			continue
		}
		x[i/8] |= uint64(v) << (8 * (i % 8))
	}
	return x, true
}

// bytes writes x big-endian into size bytes (x must fit).
func (x nat) bytes(size int) []byte {
	b := make([]byte, size)
	for i := range size {
		if i/8 < len(x) {
			b[size-1-i] = byte(x[i/8] >> (8 * (i % 8)))
		}
	}
	return b
}

func (x nat) isZero() bool {
	for _, v := range x {
		if v != 0 {
			return false
		}
	}
	return true
}

// cmp compares x and y (same length): -1, 0 or 1.
func (x nat) cmp(y nat) int {
	for i := len(x) - 1; i >= 0; i-- {
		switch {
		case x[i] < y[i]:
			return -1
		case x[i] > y[i]:
			return 1
		}
	}
	return 0
}

// bitLen is the length of x in bits.
func (x nat) bitLen() int {
	for i := len(x) - 1; i >= 0; i-- {
		if x[i] != 0 {
			return 64*i + bits.Len64(x[i])
		}
	}
	return 0
}

func (x nat) bit(i int) uint { return uint(x[i/64]>>(i%64)) & 1 }

// subInPlace sets x = x - y and returns the borrow.
func (x nat) subInPlace(y nat) uint64 {
	var b uint64
	for i := range x {
		x[i], b = bits.Sub64(x[i], y[i], b)
	}
	return b
}

// addInPlace sets x = x + y and returns the carry.
func (x nat) addInPlace(y nat) uint64 {
	var c uint64
	for i := range x {
		x[i], c = bits.Add64(x[i], y[i], c)
	}
	return c
}

// newModulus returns the modulus of big-endian b, which must be odd.
func newModulus(b []byte) *modulus {
	n := (len(b) + 7) / 8
	m, _ := natFromBytes(b, n)
	// m0: the inverse of m[0] mod 2⁶⁴ by Newton's iteration (each step
	// doubles the correct low bits, from 3 for an odd number), negated.
	inv := m[0]
	for range 5 {
		inv *= 2 - m[0]*inv
	}
	mod := &modulus{m: m, m0: -inv}
	// rr = R² mod m. With x_k = 2^k·R mod m (2^k in Montgomery form),
	// mul(x_k, x_k) = x_2k: from R mod m (the top bit of m, doubled up
	// to R), double to x_t for t the odd part of 64·n, then square to
	// x_(64·n) = R².
	k := m.bitLen()
	x := make(nat, n)
	x[(k-1)/64] = 1 << ((k - 1) % 64)
	double := func() {
		if x.addInPlace(x) != 0 || x.cmp(m) >= 0 {
			x.subInPlace(m)
		}
	}
	for range 64*n - k + 1 {
		double()
	}
	t, squarings := 64*n, 0
	for t%2 == 0 {
		t, squarings = t/2, squarings+1
	}
	for range t {
		double()
	}
	for range squarings {
		x = mod.mul(x, x)
	}
	mod.rr = x
	return mod
}

// size is the modulus length in limbs.
func (m *modulus) size() int { return len(m.m) }

// mul returns a·b·R⁻¹ mod m (a, b < m), by coarsely integrated operand
// scanning.
func (m *modulus) mul(a, b nat) nat {
	n := len(m.m)
	t := make([]uint64, n+2)
	for i := range n {
		var c uint64
		for j := range n {
			hi, lo := bits.Mul64(a[i], b[j])
			var c1, c2 uint64
			lo, c1 = bits.Add64(lo, t[j], 0)
			lo, c2 = bits.Add64(lo, c, 0)
			t[j], c = lo, hi+c1+c2
		}
		t[n], c = bits.Add64(t[n], c, 0)
		t[n+1] = c
		u := t[0] * m.m0
		hi, lo := bits.Mul64(u, m.m[0])
		_, c1 := bits.Add64(lo, t[0], 0)
		c = hi + c1
		for j := 1; j < n; j++ {
			hi, lo := bits.Mul64(u, m.m[j])
			var c1, c2 uint64
			lo, c1 = bits.Add64(lo, t[j], 0)
			lo, c2 = bits.Add64(lo, c, 0)
			t[j-1], c = lo, hi+c1+c2
		}
		t[n-1], c = bits.Add64(t[n], c, 0)
		t[n] = t[n+1] + c
	}
	r := nat(t[:n])
	if t[n] != 0 || r.cmp(m.m) >= 0 {
		r.subInPlace(m.m)
	}
	return r
}

// toMont returns a·R mod m; fromMont returns a·R⁻¹ mod m.
func (m *modulus) toMont(a nat) nat { return m.mul(a, m.rr) }

func (m *modulus) fromMont(a nat) nat { return m.mul(a, smallNat(1, len(m.m))) }

// add returns a + b mod m; sub a - b mod m (a, b < m).
func (m *modulus) add(a, b nat) nat {
	r := append(nat(nil), a...)
	if r.addInPlace(b) != 0 || r.cmp(m.m) >= 0 {
		r.subInPlace(m.m)
	}
	return r
}

func (m *modulus) sub(a, b nat) nat {
	r := append(nat(nil), a...)
	if r.subInPlace(b) != 0 {
		r.addInPlace(m.m)
	}
	return r
}

// one is 1 in Montgomery form: R² · 1 · R⁻¹ = R mod m.
func (m *modulus) one() nat { return m.mul(m.rr, smallNat(1, len(m.m))) }

// exp returns a^e in Montgomery form for a in Montgomery form, e a nat of
// any length (left to right, square and multiply).
func (m *modulus) exp(a, e nat) nat {
	r := m.one()
	for i := e.bitLen() - 1; i >= 0; i-- {
		r = m.mul(r, r)
		if e.bit(i) == 1 {
			r = m.mul(r, a)
		}
	}
	return r
}

// inverse returns a⁻¹ for a in Montgomery form, in Montgomery form, as
// a^(m-2): m must be prime (Fermat).
func (m *modulus) inverse(a nat) nat {
	e := append(nat(nil), m.m...)
	e.subInPlace(smallNat(2, len(m.m)))
	return m.exp(a, e)
}

// smallNat is v in n limbs.
func smallNat(v uint64, n int) nat {
	x := make(nat, n)
	x[0] = v
	return x
}

// shiftRight returns x >> k for k < 64.
func (x nat) shiftRight(k uint) nat {
	r := make(nat, len(x))
	for i := range x {
		r[i] = x[i] >> k
		if i+1 < len(x) && k > 0 {
			r[i] |= x[i+1] << (64 - k)
		}
	}
	return r
}

// reduceOnce returns x mod m for x < 2m, x as long as m.
func (m *modulus) reduceOnce(x nat) nat {
	r := append(nat(nil), x...)
	if r.cmp(m.m) >= 0 {
		r.subInPlace(m.m)
	}
	return r
}
