package pubkey

// jacobian is the point (x/z², y/z³), coordinates in Montgomery form;
// z = 0 is the point at infinity.
type jacobian struct{ x, y, z nat }

// double returns 2a ("dbl-2001-b", for a = -3).
func (p *params) double(a jacobian) jacobian {
	if a.z.isZero() {
		return a
	}
	f := p.p
	delta := f.mul(a.z, a.z)
	gamma := f.mul(a.y, a.y)
	beta := f.mul(a.x, gamma)
	alpha := f.mul(f.sub(a.x, delta), f.add(a.x, delta))
	alpha = f.add(f.add(alpha, alpha), alpha)
	beta4 := f.add(beta, beta)
	beta4 = f.add(beta4, beta4)
	x := f.sub(f.mul(alpha, alpha), f.add(beta4, beta4))
	z := f.add(a.y, a.z)
	z = f.sub(f.sub(f.mul(z, z), gamma), delta)
	g2 := f.mul(gamma, gamma)
	g2 = f.add(g2, g2)
	g2 = f.add(g2, g2)
	g2 = f.add(g2, g2)
	y := f.sub(f.mul(alpha, f.sub(beta4, x)), g2)
	return jacobian{x, y, z}
}

// add returns a + b ("add-2007-bl"), doubling when a = b.
func (p *params) add(a, b jacobian) jacobian {
	if a.z.isZero() {
		return b
	}
	if b.z.isZero() {
		return a
	}
	f := p.p
	z1z1 := f.mul(a.z, a.z)
	z2z2 := f.mul(b.z, b.z)
	u1 := f.mul(a.x, z2z2)
	u2 := f.mul(b.x, z1z1)
	s1 := f.mul(a.y, f.mul(b.z, z2z2))
	s2 := f.mul(b.y, f.mul(a.z, z1z1))
	h := f.sub(u2, u1)
	r := f.sub(s2, s1)
	if h.isZero() {
		if r.isZero() {
			return p.double(a)
		}
		zero := make(nat, f.size())
		return jacobian{zero, zero, zero}
	}
	r = f.add(r, r)
	i := f.add(h, h)
	i = f.mul(i, i)
	j := f.mul(h, i)
	v := f.mul(u1, i)
	x := f.sub(f.sub(f.mul(r, r), j), f.add(v, v))
	sj := f.mul(s1, j)
	y := f.sub(f.mul(r, f.sub(v, x)), f.add(sj, sj))
	z := f.add(a.z, b.z)
	z = f.mul(f.sub(f.sub(f.mul(z, z), z1z1), z2z2), h)
	return jacobian{x, y, z}
}

// combinedMult returns the affine x, in normal form, of u1·G + u2·(qx, qy)
// (scalars in normal form, the point in Montgomery form), or false at
// infinity. It walks both scalars' bits together (Shamir's trick), adding
// G, Q or G+Q after each doubling.
func (p *params) combinedMult(u1, u2, qx, qy nat) (nat, bool) {
	f := p.p
	one := f.one()
	g := jacobian{p.gx, p.gy, one}
	q := jacobian{qx, qy, one}
	table := [4]jacobian{{}, g, q, p.add(g, q)}
	zero := make(nat, f.size())
	acc := jacobian{zero, zero, zero}
	for i := max(u1.bitLen(), u2.bitLen()) - 1; i >= 0; i-- {
		acc = p.double(acc)
		if sel := u1.bit(i) | u2.bit(i)<<1; sel != 0 {
			acc = p.add(acc, table[sel])
		}
	}
	if acc.z.isZero() {
		return nil, false
	}
	zinv := f.inverse(acc.z)
	return f.fromMont(f.mul(acc.x, f.mul(zinv, zinv))), true
}
