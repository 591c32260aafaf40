package rtnl

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"pantavisor/lib/ip4"
	"pantavisor/lib/printf"
)

// AddAddr gives l the address p (ip addr replace p dev l): the address
// p.Addr() on the subnet p.Masked(). Adding an address l already has
// changes nothing.
func (c *Conn) AddAddr(l Link, p ip4.Prefix) error {
	if !p.IsValid() {
		return printf.Errorf("rtnl: adding an address to %s: invalid prefix %s", l.Name, p)
	}
	a := p.Addr().As4()
	var w builder
	w.b = append(w.b, unix.AF_INET, byte(p.Bits()), 0, unix.RT_SCOPE_UNIVERSE)
	w.b = binary.NativeEndian.AppendUint32(w.b, uint32(l.Index))
	w.attr(unix.IFA_LOCAL, a[:])
	w.attr(unix.IFA_ADDRESS, a[:])
	_, err := c.request("adding address "+p.String()+" to "+l.Name, unix.RTM_NEWADDR,
		unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_REPLACE, w.b)
	return err
}

// IPv4Addrs lists l's IPv4 addresses with their prefix length, in the
// kernel's order (primary addresses first).
func (c *Conn) IPv4Addrs(l Link) ([]ip4.Prefix, error) {
	w := builder{b: []byte{unix.AF_INET, 0, 0, 0, 0, 0, 0, 0}}
	op := "listing the addresses of " + l.Name
	msgs, err := c.request(op, unix.RTM_GETADDR, unix.NLM_F_DUMP, w.b)
	if err != nil {
		return nil, err
	}
	var out []ip4.Prefix
	for _, m := range msgs {
		p, index, ok := parseAddr(m)
		if ok && index == l.Index {
			out = append(out, p)
		}
	}
	return out, nil
}

// parseAddr reads an RTM_NEWADDR: the address (IFA_LOCAL, or IFA_ADDRESS
// when there is no local one) with its prefix length, and the link index.
func parseAddr(m message) (ip4.Prefix, int, bool) {
	if m.Type != unix.RTM_NEWADDR || len(m.Data) < unix.SizeofIfAddrmsg {
		return ip4.Prefix{}, 0, false
	}
	bits, index := int(m.Data[1]), int(binary.NativeEndian.Uint32(m.Data[4:8]))
	var addr, local []byte
	for _, a := range parseAttrs(m.Data[unix.SizeofIfAddrmsg:]) {
		switch a.Type {
		case unix.IFA_ADDRESS:
			addr = a.Value
		case unix.IFA_LOCAL:
			local = a.Value
		}
	}
	if local != nil {
		addr = local
	}
	ip, ok := ip4.AddrFromSlice(addr)
	if !ok {
		return ip4.Prefix{}, 0, false
	}
	p := ip4.PrefixFrom(ip, bits)
	return p, index, p.IsValid()
}

// AddDefaultRoute routes everything without a more specific route via gw
// (ip route replace default via gw), in the main table. gw must be on a
// subnet of a link that is up. Setting the same route again changes
// nothing; another default route of the same family is replaced.
func (c *Conn) AddDefaultRoute(gw ip4.Addr) error {
	if !gw.IsValid() {
		return printf.Errorf("rtnl: adding a default route: invalid gateway")
	}
	var w builder
	a := gw.As4()
	w.b = append(w.b, unix.AF_INET, 0, 0, 0, unix.RT_TABLE_MAIN, unix.RTPROT_BOOT, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 0, 0, 0, 0)
	w.attr(unix.RTA_GATEWAY, a[:])
	_, err := c.request("adding a default route via "+gw.String(), unix.RTM_NEWROUTE,
		unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_REPLACE, w.b)
	return err
}
