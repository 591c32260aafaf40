package netpool

import (
	"math/bits"

	"pantavisor/lib/ip4"
	"pantavisor/lib/printf"
)

// LegacyBridge is the bridge of PV_NET_BRDEV with the address of
// PV_NET_BRADDRESS4 and the dotted netmask of PV_NET_BRMASK4.
func LegacyBridge(name, addr, mask string) (Bridge, error) {
	a, err := ip4.ParseAddr(addr)
	if err != nil {
		return Bridge{}, printf.Errorf("PV_NET_BRADDRESS4 %q: not an IPv4 address", addr)
	}
	m, err := ip4.ParseAddr(mask)
	if err != nil {
		return Bridge{}, printf.Errorf("PV_NET_BRMASK4 %q: not an IPv4 netmask", mask)
	}
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := bits.LeadingZeros32(^v)
	if v<<ones != 0 {
		return Bridge{}, printf.Errorf("PV_NET_BRMASK4 %q: not a contiguous netmask", mask)
	}
	return Bridge{Name: name, Addr: ip4.PrefixFrom(a, ones)}, nil
}
