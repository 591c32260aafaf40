package ip4

import (
	"errors"
	"strconv"
)

// AddrPort is an IPv4 address and a port ("10.0.5.2:80"). The zero value
// has an invalid address. AddrPorts compare with ==.
type AddrPort struct {
	addr Addr
	port uint16
}

// AddrPortFrom returns the pair a:port.
func AddrPortFrom(a Addr, port uint16) AddrPort { return AddrPort{addr: a, port: port} }

// ParseAddrPort parses "address:port" ("10.0.5.2:80"), the address as
// ParseAddr does and the port as a decimal 0-65535.
func ParseAddrPort(s string) (AddrPort, error) {
	i := len(s) - 1
	for i >= 0 && s[i] != ':' {
		i--
	}
	if i < 0 {
		return AddrPort{}, errors.New("not an ip:port: " + strconv.Quote(s))
	}
	port, err := strconv.ParseUint(s[i+1:], 10, 16)
	if err != nil {
		return AddrPort{}, errors.New("invalid port " + strconv.Quote(s[i+1:]) + " parsing " + strconv.Quote(s))
	}
	a, err := ParseAddr(s[:i])
	if err != nil {
		return AddrPort{}, err
	}
	return AddrPortFrom(a, uint16(port)), nil
}

// MustParseAddrPort is ParseAddrPort that panics on error, for constants
// in tests.
func MustParseAddrPort(s string) AddrPort {
	p, err := ParseAddrPort(s)
	if err != nil {
		panic(err)
	}
	return p
}

// Addr returns p's address.
func (p AddrPort) Addr() Addr { return p.addr }

// Port returns p's port.
func (p AddrPort) Port() uint16 { return p.port }

// IsValid reports whether p's address is valid (the port may be 0).
func (p AddrPort) IsValid() bool { return p.addr.valid }

// String returns "address:port", or "invalid AddrPort" if the address is
// invalid.
func (p AddrPort) String() string {
	if !p.addr.valid {
		return "invalid AddrPort"
	}
	b := p.addr.appendTo(make([]byte, 0, 21))
	b = append(b, ':')
	return string(strconv.AppendUint(b, uint64(p.port), 10))
}
