package ip4

import "strconv"

// Addr is an IPv4 address. The zero value is not a valid address: it
// means "none", as netip.Addr{} does. Addrs compare with ==.
type Addr struct {
	b     [4]byte
	valid bool
}

// AddrFrom4 returns the address with the bytes b, most significant first.
func AddrFrom4(b [4]byte) Addr { return Addr{b: b, valid: true} }

// AddrFromSlice returns the address in the 4 bytes of b; ok is false,
// and the Addr invalid, for any other length (an IPv6 address too).
func AddrFromSlice(b []byte) (a Addr, ok bool) {
	if len(b) != 4 {
		return Addr{}, false
	}
	return AddrFrom4([4]byte(b)), true
}

// parseError is the error of ParseAddr and ParsePrefix: the input, what
// is wrong with it, and where, worded as net/netip words it.
type parseError struct {
	fn, in, msg, at string
}

func (e *parseError) Error() string {
	s := e.fn + "(" + strconv.Quote(e.in) + "): " + e.msg
	if e.at != "" {
		s += " (at " + strconv.Quote(e.at) + ")"
	}
	return s
}

func addrErr(in, msg, at string) error { return &parseError{"ParseAddr", in, msg, at} }

// ParseAddr parses a dotted quad ("10.0.5.2"). It accepts exactly the
// IPv4 strings netip.ParseAddr accepts: four decimal fields of 0-255
// without leading zeros; anything else, IPv6 and IPv4-mapped IPv6
// included, is an error.
func ParseAddr(s string) (Addr, error) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '.':
			return parseFields(s)
		case ':':
			return Addr{}, addrErr(s, "not an IPv4 address", "")
		case '%':
			return Addr{}, addrErr(s, "missing IPv6 address", "")
		}
	}
	return Addr{}, addrErr(s, "unable to parse IP", "")
}

// parseFields reads the four fields of a dotted quad.
func parseFields(s string) (Addr, error) {
	var b [4]byte
	val, pos, digits := 0, 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if digits == 1 && val == 0 {
				return Addr{}, addrErr(s, "IPv4 field has octet with leading zero", "")
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return Addr{}, addrErr(s, "IPv4 field has value >255", "")
			}
		case c == '.':
			if i == 0 || i == len(s)-1 || s[i-1] == '.' {
				return Addr{}, addrErr(s, "IPv4 field must have at least one digit", s[i:])
			}
			if pos == 3 {
				return Addr{}, addrErr(s, "IPv4 address too long", "")
			}
			b[pos] = byte(val)
			pos, val, digits = pos+1, 0, 0
		default:
			return Addr{}, addrErr(s, "unexpected character", s[i:])
		}
	}
	if pos < 3 {
		return Addr{}, addrErr(s, "IPv4 address too short", "")
	}
	b[3] = byte(val)
	return AddrFrom4(b), nil
}

// MustParseAddr is ParseAddr that panics on error, for constants in tests.
func MustParseAddr(s string) Addr {
	a, err := ParseAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}

// IsValid reports whether a is an address (not the zero Addr).
func (a Addr) IsValid() bool { return a.valid }

// As4 returns the 4 bytes of a, most significant first (zeros if invalid).
func (a Addr) As4() [4]byte { return a.b }

// uint32 is a as a number, for arithmetic.
func (a Addr) uint32() uint32 {
	return uint32(a.b[0])<<24 | uint32(a.b[1])<<16 | uint32(a.b[2])<<8 | uint32(a.b[3])
}

// addrFromUint32 is the address of the number v.
func addrFromUint32(v uint32) Addr {
	return AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// Next returns the address after a; the zero Addr after 255.255.255.255
// or if a is invalid.
func (a Addr) Next() Addr {
	if !a.valid || a.uint32() == 1<<32-1 {
		return Addr{}
	}
	return addrFromUint32(a.uint32() + 1)
}

// Prev returns the address before a; the zero Addr before 0.0.0.0 or if
// a is invalid.
func (a Addr) Prev() Addr {
	if !a.valid || a.uint32() == 0 {
		return Addr{}
	}
	return addrFromUint32(a.uint32() - 1)
}

// Compare returns -1, 0 or 1 as a sorts before, with or after b; the
// zero Addr sorts before every address.
func (a Addr) Compare(b Addr) int {
	switch {
	case a.valid != b.valid:
		if a.valid {
			return 1
		}
		return -1
	case a.uint32() < b.uint32():
		return -1
	case a.uint32() > b.uint32():
		return 1
	}
	return 0
}

// Less reports whether a sorts before b (see Compare).
func (a Addr) Less(b Addr) bool { return a.Compare(b) < 0 }

// String returns the dotted quad, or "invalid IP" for the zero Addr.
func (a Addr) String() string {
	if !a.valid {
		return "invalid IP"
	}
	return string(a.appendTo(make([]byte, 0, 15)))
}

// appendTo appends the dotted quad of a valid a to b.
func (a Addr) appendTo(b []byte) []byte {
	for i, x := range a.b {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendUint(b, uint64(x), 10)
	}
	return b
}
