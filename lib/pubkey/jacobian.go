package pubkey

import "math/big"

// jacobian is the point (x/z², y/z³); z = 0 is the point at infinity.
type jacobian struct{ x, y, z *big.Int }

// mod reduces v into [0, p).
func (p *params) mod(v *big.Int) *big.Int { return v.Mod(v, p.p) }

// mul returns a·b mod p in a new integer.
func (p *params) mul(a, b *big.Int) *big.Int { return p.mod(new(big.Int).Mul(a, b)) }

// double returns 2a ("dbl-2001-b", for a = -3).
func (p *params) double(a jacobian) jacobian {
	if a.z.Sign() == 0 {
		return a
	}
	delta := p.mul(a.z, a.z)
	gamma := p.mul(a.y, a.y)
	beta := p.mul(a.x, gamma)
	alpha := p.mul(new(big.Int).Sub(a.x, delta), new(big.Int).Add(a.x, delta))
	alpha = p.mod(alpha.Mul(alpha, big.NewInt(3)))
	x := p.mul(alpha, alpha)
	x = p.mod(x.Sub(x, new(big.Int).Lsh(beta, 3)))
	z := new(big.Int).Add(a.y, a.z)
	z = p.mul(z, z)
	z = p.mod(z.Sub(z, gamma).Sub(z, delta))
	y := new(big.Int).Lsh(beta, 2)
	y = p.mul(alpha, y.Sub(y, x))
	g2 := p.mul(gamma, gamma)
	y = p.mod(y.Sub(y, g2.Lsh(g2, 3)))
	return jacobian{x, y, z}
}

// add returns a + b ("add-2007-bl"), doubling when a = b.
func (p *params) add(a, b jacobian) jacobian {
	if a.z.Sign() == 0 {
		return b
	}
	if b.z.Sign() == 0 {
		return a
	}
	z1z1 := p.mul(a.z, a.z)
	z2z2 := p.mul(b.z, b.z)
	u1 := p.mul(a.x, z2z2)
	u2 := p.mul(b.x, z1z1)
	s1 := p.mul(a.y, p.mul(b.z, z2z2))
	s2 := p.mul(b.y, p.mul(a.z, z1z1))
	h := p.mod(new(big.Int).Sub(u2, u1))
	r := p.mod(new(big.Int).Sub(s2, s1))
	if h.Sign() == 0 {
		if r.Sign() == 0 {
			return p.double(a)
		}
		return jacobian{new(big.Int), new(big.Int), new(big.Int)}
	}
	r = p.mod(r.Lsh(r, 1))
	i := new(big.Int).Lsh(h, 1)
	i = p.mul(i, i)
	j := p.mul(h, i)
	v := p.mul(u1, i)
	x := p.mul(r, r)
	x = p.mod(x.Sub(x, j).Sub(x, new(big.Int).Lsh(v, 1)))
	y := p.mul(r, new(big.Int).Sub(v, x))
	sj := p.mul(s1, j)
	y = p.mod(y.Sub(y, sj.Lsh(sj, 1)))
	z := new(big.Int).Add(a.z, b.z)
	z = p.mul(z, z)
	z = p.mul(z.Sub(z, z1z1).Sub(z, z2z2), h)
	return jacobian{x, y, z}
}

// combinedMult returns the affine x of u1·G + u2·(qx, qy), or false at
// infinity. It walks both scalars' bits together (Shamir's trick), adding
// G, Q or G+Q after each doubling.
func (p *params) combinedMult(u1, u2, qx, qy *big.Int) (*big.Int, bool) {
	one := big.NewInt(1)
	g := jacobian{p.gx, p.gy, one}
	q := jacobian{qx, qy, one}
	table := [4]jacobian{{}, g, q, p.add(g, q)}
	acc := jacobian{new(big.Int), new(big.Int), new(big.Int)}
	for i := max(u1.BitLen(), u2.BitLen()) - 1; i >= 0; i-- {
		acc = p.double(acc)
		if sel := u1.Bit(i) | u2.Bit(i)<<1; sel != 0 {
			acc = p.add(acc, table[sel])
		}
	}
	if acc.z.Sign() == 0 {
		return nil, false
	}
	zinv := new(big.Int).ModInverse(acc.z, p.p)
	return p.mul(acc.x, p.mul(zinv, zinv)), true
}
