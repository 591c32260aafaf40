package state

import (
	"strconv"
	"strings"

	"pantavisor/lib/ip4"
	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/sentinel"
)

// Network modes of run.json "network".
const (
	NetHost = "host" // the device's network namespace
	NetPool = "pool" // a veth on a device.json pool (lib/ipam)
	NetNone = "none" // pantavisor leaves networking to the LXC config
)

// DefaultIface is the container-side name of a pool interface that does
// not name itself.
const DefaultIface = "eth0"

// Network is the container's "network" object. Mode is "host", "pool" or
// "none" as written, or "pool" when absent and a pool is named (upstream's
// shorthand); "" when the object names neither (upstream's NONE). Pool, IP
// and MAC are the shorthand for one interface eth0 (upstream's parser reads
// "ip" and "mac" only here, at the top level of "network"); Interfaces is
// "interfaces[]" as written. Addresses and MACs are checked when parsed.
type Network struct {
	Mode, Pool, Hostname, IP, MAC string
	Interfaces                    []Interface
	// Ports are "ports": ["8080:80", "5353:53/udp"], the device's ports
	// forwarded to the container's first interface. An extension of this
	// implementation: upstream has no way to reach a pool container's
	// service from outside the device.
	Ports []Port
}

// Port forwards Port on the device to To on the container.
type Port struct {
	Proto    string // "tcp" (default) or "udp"
	Port, To uint16
}

// Interface is one container interface on a pool: an "interfaces[]"
// entry, or the one network.pool/ip/mac describe.
type Interface struct {
	Name        string // container side; "" means DefaultIface
	Pool        string // "" means network.pool
	IPv4Address string // static address, bare or CIDR; "" allocates one
	MACAddress  string // static MAC; "" derives 02:00:<ip octets>
}

// Ifaces returns the interfaces a pool-mode network asks for with the
// defaults applied (name eth0, pool network.pool): "interfaces[]" when
// given, else one eth0 from network.pool, ip and mac. Nil for a nil
// network or another mode.
func (n *Network) Ifaces() []Interface {
	if n == nil || n.Mode != NetPool {
		return nil
	}
	if len(n.Interfaces) == 0 {
		return []Interface{{Name: DefaultIface, Pool: n.Pool, IPv4Address: n.IP, MACAddress: n.MAC}}
	}
	out := make([]Interface, len(n.Interfaces))
	for i, it := range n.Interfaces {
		if it.Name == "" {
			it.Name = DefaultIface
		}
		if it.Pool == "" {
			it.Pool = n.Pool
		}
		out[i] = it
	}
	return out
}

// network reads "network". Steps: the members, the mode (pool when
// absent and a pool is named), then the rules between them.
func (f *fields) network() *Network {
	v, ok := f.obj("network")
	if !ok {
		return nil
	}
	n := newFields(f.key, "network.", v)
	out := &Network{Mode: n.oneOf("mode", NetHost, NetPool, NetNone), Pool: n.str("pool"), Hostname: n.str("hostname"),
		IP: n.str("ip"), MAC: n.str("mac")}
	out.Interfaces = n.interfaces()
	out.Ports = n.ports()
	n.checkAddrs(out.IP, out.MAC, "ip", "mac")
	if out.Mode == "" && (out.Pool != "" || out.Interfaces != nil) {
		out.Mode = NetPool
	}
	n.checkNetwork(out)
	if n.err != nil && f.err == nil {
		f.err = n.err
	}
	return out
}

// checkNetwork applies the rules between the members: pool settings only
// in pool mode, a pool for every interface, ip/mac or interfaces (not
// both), interface names unique.
func (f *fields) checkNetwork(out *Network) {
	if out.Mode != NetPool {
		for _, m := range []struct{ key, val string }{{"pool", out.Pool}, {"ip", out.IP}, {"mac", out.MAC}} {
			if m.val != "" {
				f.failf(m.key, "only for mode \"pool\", not %q", out.Mode)
			}
		}
		if out.Interfaces != nil {
			f.failf("interfaces", "only for mode \"pool\", not %q", out.Mode)
		}
		if out.Ports != nil {
			f.failf("ports", "only for mode \"pool\", not %q", out.Mode)
		}
		return
	}
	if len(out.Interfaces) == 0 {
		if out.Pool == "" {
			f.failf("pool", "missing for mode \"pool\"")
		}
		return
	}
	if out.IP != "" || out.MAC != "" {
		key := "mac"
		if out.IP != "" {
			key = "ip"
		}
		f.failf(key, "give it in interfaces[] (ipv4_address, mac_address) when interfaces is set")
	}
	seen := map[string]bool{}
	for i, it := range out.Ifaces() {
		at := "interfaces[" + strconv.Itoa(i) + "]."
		if it.Pool == "" {
			f.failf(at+"pool", "missing, and no network.pool")
		}
		if seen[it.Name] {
			f.failf(at+"name", "duplicate interface %q", it.Name)
		}
		seen[it.Name] = true
	}
}

// interfaces reads "interfaces[]". Upstream's spellings "ip" and "mac"
// belong to the top level; inside an entry they are refused, not ignored.
func (f *fields) interfaces() []Interface {
	v, ok := f.get("interfaces", rawjson.Array)
	if !ok {
		return nil
	}
	out := make([]Interface, 0, len(v.Items))
	for i, it := range v.Items {
		at := "interfaces[" + strconv.Itoa(i) + "]"
		if it.Kind != rawjson.Object {
			f.failf(at, "want an object, got %s", it.Kind)
			return out
		}
		e := newFields(f.key, f.path+at+".", it)
		iface := Interface{Name: e.str("name"), Pool: e.str("pool"),
			IPv4Address: e.str("ipv4_address"), MACAddress: e.str("mac_address")}
		if e.has("ip") {
			e.failf("ip", "write ipv4_address inside interfaces[]")
		}
		if e.has("mac") {
			e.failf("mac", "write mac_address inside interfaces[]")
		}
		if iface.Name != "" {
			if err := CheckIfName(iface.Name); err != nil {
				e.failf("name", "%v", err)
			}
		}
		e.checkAddrs(iface.IPv4Address, iface.MACAddress, "ipv4_address", "mac_address")
		if e.err != nil && f.err == nil {
			f.err = e.err
		}
		out = append(out, iface)
	}
	return out
}

// ports reads "ports": "DEVICE:CONTAINER[/tcp|/udp]" strings, each
// device port and protocol once.
func (f *fields) ports() []Port {
	list := f.strs("ports")
	if list == nil {
		return nil
	}
	out := make([]Port, 0, len(list))
	for i, s := range list {
		p, err := ParsePort(s)
		if err == nil {
			for _, q := range out {
				if q.Proto == p.Proto && q.Port == p.Port {
					err = printf.Errorf("%s port %d forwarded twice", p.Proto, p.Port)
				}
			}
		}
		if err != nil {
			f.failf("ports["+strconv.Itoa(i)+"]", "%v", err)
			continue
		}
		out = append(out, p)
	}
	return out
}

// ParsePort reads "DEVICE:CONTAINER[/tcp|/udp]", ports 1 to 65535.
func ParsePort(s string) (Port, error) {
	bad := printf.Errorf("want DEVICEPORT:CONTAINERPORT[/tcp|/udp], got %q", s)
	spec, proto, hasProto := strings.Cut(s, "/")
	if !hasProto {
		proto = "tcp"
	}
	from, to, ok := strings.Cut(spec, ":")
	a, errA := strconv.ParseUint(from, 10, 16)
	b, errB := strconv.ParseUint(to, 10, 16)
	if !ok || errA != nil || errB != nil || a == 0 || b == 0 || (proto != "tcp" && proto != "udp") {
		return Port{}, bad
	}
	return Port{Proto: proto, Port: uint16(a), To: uint16(b)}, nil
}

// checkAddrs checks a static address and MAC when given.
func (f *fields) checkAddrs(ip, mac, ipKey, macKey string) {
	if ip != "" {
		if _, _, err := ParseIPv4(ip); err != nil {
			f.failf(ipKey, "%v", err)
		}
	}
	if mac != "" {
		if _, err := ParseMAC(mac); err != nil {
			f.failf(macKey, "%v", err)
		}
	}
}

// ParseIPv4 reads a static address, bare ("10.0.5.7") or CIDR
// ("10.0.5.7/24"). bits is the written prefix length, -1 when bare.
func ParseIPv4(s string) (addr ip4.Addr, bits int, err error) {
	bits = -1
	if strings.Contains(s, "/") {
		p, perr := ip4.ParsePrefix(s)
		addr, bits, err = p.Addr(), p.Bits(), perr
	} else {
		addr, err = ip4.ParseAddr(s)
	}
	if err != nil {
		return ip4.Addr{}, 0, printf.Errorf("want an IPv4 address or CIDR, got %q", s)
	}
	return addr, bits, nil
}

// ParseMAC reads a unicast MAC written as six colon-separated hex pairs.
// A multicast or all-zero address is refused: the kernel refuses it on an
// Ethernet interface (EADDRNOTAVAIL).
func ParseMAC(s string) ([6]byte, error) {
	var mac [6]byte
	ok := len(s) == 17
	for i := 0; ok && i < len(mac); i++ {
		b, err := strconv.ParseUint(s[3*i:3*i+2], 16, 8)
		ok = err == nil && (i == 0 || s[3*i-1] == ':')
		mac[i] = byte(b)
	}
	if !ok || mac[0]&1 != 0 || mac == [6]byte{} {
		return [6]byte{}, printf.Errorf("want a unicast MAC like 02:00:0a:00:05:02, got %q", s)
	}
	return mac, nil
}

// ErrIfName is wrapped by CheckIfName's errors.
var ErrIfName error = &sentinel.Error{Text: "invalid interface name"}

// CheckIfName checks a network interface name as the kernel does
// (dev_valid_name): 1 to 15 bytes, not "." or "..", no '/', ':' or
// white space.
func CheckIfName(s string) error {
	switch {
	case s == "" || len(s) > 15:
		return printf.Errorf("%w %q: want 1 to 15 bytes", ErrIfName, s)
	case s == "." || s == "..":
		return printf.Errorf("%w %q", ErrIfName, s)
	case strings.ContainsAny(s, "/: \t\n\v\f\r"):
		return printf.Errorf("%w %q: '/', ':' or white space", ErrIfName, s)
	}
	return nil
}
