package ip4

import "strconv"

// Prefix is an IPv4 address with a prefix length, 0 to 32 ("10.0.5.2/24").
// The address keeps its host bits; Masked clears them. The zero value is
// not a valid prefix: it means "none", as netip.Prefix{} does. Prefixes
// compare with ==.
type Prefix struct {
	addr        Addr
	bitsPlusOne uint8 // 0 = invalid
}

// PrefixFrom returns the prefix a/bits; it is invalid if a is or if bits
// is outside 0-32 (its Addr is still a then, as with netip.PrefixFrom).
func PrefixFrom(a Addr, bits int) Prefix {
	if !a.valid || bits < 0 || bits > 32 {
		return Prefix{addr: a}
	}
	return Prefix{addr: a, bitsPlusOne: uint8(bits) + 1}
}

// prefixErr words a ParsePrefix error as net/netip does, its package
// name included, so messages read as they did before this package.
func prefixErr(in, msg string) error { return &parseError{"netip.ParsePrefix", in, msg, ""} }

// ParsePrefix parses "address/bits" ("10.0.5.2/24"). It accepts exactly
// the IPv4 strings netip.ParsePrefix accepts: an address ParseAddr takes,
// then 0-32 in decimal without sign or leading zeros.
func ParsePrefix(s string) (Prefix, error) {
	i := len(s) - 1
	for i >= 0 && s[i] != '/' {
		i--
	}
	if i < 0 {
		return Prefix{}, prefixErr(s, "no '/'")
	}
	a, err := ParseAddr(s[:i])
	if err != nil {
		return Prefix{}, prefixErr(s, err.Error())
	}
	bits, ok := parseBits(s[i+1:])
	if !ok {
		return Prefix{}, prefixErr(s, "bad bits after slash: "+strconv.Quote(s[i+1:]))
	}
	if bits > 32 {
		return Prefix{}, prefixErr(s, "prefix length out of range")
	}
	return PrefixFrom(a, bits), nil
}

// parseBits reads a prefix length: decimal digits, no leading zero but
// "0" itself; ok is false for anything else. Values past 32 are returned
// (capped) so the caller can say "out of range".
func parseBits(s string) (n int, ok bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		if n <= 32 {
			n = n*10 + int(s[i]-'0')
		}
	}
	// netip.ParsePrefix reads the bits with strconv.Atoi: a number past
	// an int is bad bits there, not out of range.
	if _, err := strconv.Atoi(s); err != nil {
		return 0, false
	}
	return n, true
}

// MustParsePrefix is ParsePrefix that panics on error, for constants in
// tests.
func MustParsePrefix(s string) Prefix {
	p, err := ParsePrefix(s)
	if err != nil {
		panic(err)
	}
	return p
}

// IsValid reports whether p is a prefix (a valid address and length).
func (p Prefix) IsValid() bool { return p.bitsPlusOne > 0 }

// Addr returns p's address, host bits included.
func (p Prefix) Addr() Addr { return p.addr }

// Bits returns p's length, or -1 if p is invalid.
func (p Prefix) Bits() int { return int(p.bitsPlusOne) - 1 }

// mask is the netmask of a length 0-32 as a number.
func mask(bits int) uint32 {
	if bits == 0 {
		return 0
	}
	return ^uint32(0) << (32 - bits)
}

// Masked returns p with its host bits cleared (10.0.5.2/24 is
// 10.0.5.0/24); the zero Prefix if p is invalid.
func (p Prefix) Masked() Prefix {
	if !p.IsValid() {
		return Prefix{}
	}
	return PrefixFrom(addrFromUint32(p.addr.uint32()&mask(p.Bits())), p.Bits())
}

// Contains reports whether a is in p's subnet; false if either is invalid.
func (p Prefix) Contains(a Addr) bool {
	if !p.IsValid() || !a.valid {
		return false
	}
	m := mask(p.Bits())
	return a.uint32()&m == p.addr.uint32()&m
}

// String returns "address/bits", or "invalid Prefix" if p is invalid.
func (p Prefix) String() string {
	if !p.IsValid() {
		return "invalid Prefix"
	}
	b := p.addr.appendTo(make([]byte, 0, 18))
	b = append(b, '/')
	return string(strconv.AppendUint(b, uint64(p.Bits()), 10))
}
