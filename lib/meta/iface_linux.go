package meta

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"syscall"

	"pantavisor/lib/printf"
)

// readInterfaces lists the network interfaces with their addresses over
// rtnetlink (RTM_GETLINK, then RTM_GETADDR), as getifaddrs(3) does, with
// the syscall package's netlink helpers rather than package net (which
// would link the whole network stack). Like upstream's getifaddrs +
// getnameinfo: an IPv4 address is listed under its label (eth0:1 for an
// alias), IFA_LOCAL is preferred over IFA_ADDRESS (the peer on
// point-to-point links), and a link-local IPv6 address gets "%<name>".
// Interfaces are returned in kernel (index) order.
func readInterfaces() ([]Interface, error) {
	var l ifList
	if err := l.readLinks(); err != nil {
		return nil, err
	}
	if err := l.readAddrs(); err != nil {
		return nil, err
	}
	return l.out, nil
}

// ifList collects interfaces by name, in the order they first appear.
type ifList struct {
	out    []Interface
	byName map[string]int    // name -> index in out
	names  map[uint32]string // ifindex -> link name
}

func (l *ifList) get(name string) *Interface {
	i, ok := l.byName[name]
	if !ok {
		i = len(l.out)
		l.byName[name] = i
		l.out = append(l.out, Interface{Name: name})
	}
	return &l.out[i]
}

// readLinks lists the links (RTM_GETLINK): names, indexes and MACs.
func (l *ifList) readLinks() error {
	msgs, err := netlinkDump(syscall.RTM_GETLINK)
	if err != nil {
		return err
	}
	l.byName, l.names = map[string]int{}, map[uint32]string{}
	for _, m := range msgs {
		if m.Header.Type != syscall.RTM_NEWLINK || len(m.Data) < syscall.SizeofIfInfomsg {
			continue
		}
		index := binary.NativeEndian.Uint32(m.Data[4:8]) // ifinfomsg.ifi_index
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			return printf.Errorf("parsing link %d: %w", index, err)
		}
		var name, mac string
		for _, a := range attrs {
			switch a.Attr.Type {
			case syscall.IFLA_IFNAME:
				name = cString(a.Value)
			case syscall.IFLA_ADDRESS:
				mac = formatMAC(a.Value)
			}
		}
		if name != "" {
			l.names[index] = name
			l.get(name).MAC = mac
		}
	}
	return nil
}

// readAddrs adds the IPv4 and IPv6 addresses (RTM_GETADDR).
func (l *ifList) readAddrs() error {
	msgs, err := netlinkDump(syscall.RTM_GETADDR)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if m.Header.Type != syscall.RTM_NEWADDR || len(m.Data) < syscall.SizeofIfAddrmsg {
			continue
		}
		family, index := m.Data[0], binary.NativeEndian.Uint32(m.Data[4:8]) // ifaddrmsg
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			return printf.Errorf("parsing address of link %d: %w", index, err)
		}
		var addr, local []byte
		name := l.names[index]
		for _, a := range attrs {
			switch a.Attr.Type {
			case syscall.IFA_ADDRESS:
				addr = a.Value
			case syscall.IFA_LOCAL:
				local = a.Value
			case syscall.IFA_LABEL:
				if family == syscall.AF_INET {
					name = cString(a.Value)
				}
			}
		}
		if local != nil {
			addr = local
		}
		switch {
		case name == "":
		case family == syscall.AF_INET && len(addr) == 4:
			it := l.get(name)
			it.IPv4 = append(it.IPv4, formatIPv4(addr))
		case family == syscall.AF_INET6 && len(addr) == 16:
			s := formatIPv6(addr)
			if addr[0] == 0xfe && addr[1]&0xc0 == 0x80 { // fe80::/10
				s += "%" + name
			}
			it := l.get(name)
			it.IPv6 = append(it.IPv6, s)
		}
	}
	return nil
}

// netlinkDump runs one rtnetlink dump request for all address families.
func netlinkDump(req int) ([]syscall.NetlinkMessage, error) {
	b, err := syscall.NetlinkRIB(req, syscall.AF_UNSPEC)
	if err != nil {
		return nil, printf.Errorf("netlink dump %d: %w", req, err)
	}
	msgs, err := syscall.ParseNetlinkMessage(b)
	if err != nil {
		return nil, printf.Errorf("parsing netlink dump %d: %w", req, err)
	}
	return msgs, nil
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// formatMAC writes a hardware address as lowercase hex pairs joined by
// ':'; an all-zero address (loopback, tunnels) is "".
func formatMAC(b []byte) string {
	if len(b) == 0 || bytes.Count(b, []byte{0}) == len(b) {
		return ""
	}
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 3*len(b))
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, hex[c>>4], hex[c&0xf])
	}
	return string(out)
}

// formatIPv4 writes a 4-byte address in dotted decimal.
func formatIPv4(b []byte) string {
	out := make([]byte, 0, 15)
	for i, c := range b {
		if i > 0 {
			out = append(out, '.')
		}
		out = strconv.AppendUint(out, uint64(c), 10)
	}
	return string(out)
}

// formatIPv6 writes a 16-byte address as RFC 5952 text, like inet_ntop:
// lowercase hex groups without leading zeros, the longest run of two or
// more zero groups (the first of equal runs) written as "::".
func formatIPv6(b []byte) string {
	var g [8]uint16
	for i := range g {
		g[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	start, n := -1, 0
	for i := 0; i < 8; {
		if g[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && g[j] == 0 {
			j++
		}
		if j-i > n && j-i >= 2 {
			start, n = i, j-i
		}
		i = j
	}
	out := make([]byte, 0, 39)
	for i := 0; i < 8; i++ {
		if i == start {
			out = append(out, ':', ':')
			i += n - 1
			continue
		}
		if i > 0 && (len(out) == 0 || out[len(out)-1] != ':') {
			out = append(out, ':')
		}
		out = strconv.AppendUint(out, uint64(g[i]), 16)
	}
	return string(out)
}
