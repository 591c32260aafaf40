package ipam

import (
	"pantavisor/lib/ip4"
	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/state"
)

// Pool types of device.json network.pools.
const (
	TypeBridge  = "bridge"
	TypeMacvlan = "macvlan"
)

// Pool is one device.json network.pools entry, checked.
type Pool struct {
	Name    string
	Type    string     // TypeBridge or TypeMacvlan
	Bridge  string     // host bridge of a bridge pool, created if missing
	Parent  string     // parent netdev of a macvlan pool
	Subnet  ip4.Prefix // IPv4, masked ("10.0.5.1/24" reads as 10.0.5.0/24)
	Gateway ip4.Addr   // a host address of Subnet, set on the bridge
	NAT     bool       // masquerade the subnet's traffic leaving the pool
}

// Broadcast returns the last address of the pool's subnet.
func (p *Pool) Broadcast() ip4.Addr {
	return lastAddr(p.Subnet)
}

// lastAddr is the highest address of an IPv4 prefix.
func lastAddr(p ip4.Prefix) ip4.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := (uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])) | host
	return ip4.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// maxPoolBits is the longest subnet prefix with a host address left for
// a container besides the gateway (a /30 has two host addresses).
const maxPoolBits = 30

// ParsePools reads device.json's "network" value (state.Device.Network):
// the pools of network.pools in the order written. An absent (Invalid) or
// null value, or one without pools, gives no pools. Each pool is checked
// as upstream's parser and ipam_add_pool do, and more strictly: type
// "bridge" (the default, as upstream) needs bridge, "macvlan" needs
// parent, another type is refused; subnet is IPv4 CIDR with room for a
// container; gateway is a host address of the subnet (not its network or
// broadcast address); nat is a boolean (or "true"/"false", which upstream
// also takes). Errors are *state.Error for key device.json, naming the
// pool and member: "network.pools.internal.gateway: 10.0.6.1 is outside
// 10.0.5.0/24".
func ParsePools(v rawjson.Value) ([]Pool, error) {
	if v.Kind == rawjson.Invalid || v.Kind == rawjson.Null {
		return nil, nil
	}
	if v.Kind != rawjson.Object {
		return nil, fail("network", "want an object, got %s", v.Kind)
	}
	pv, ok := v.Get("pools")
	if !ok || pv.Kind == rawjson.Null {
		return nil, nil
	}
	if pv.Kind != rawjson.Object {
		return nil, fail("network.pools", "want an object, got %s", pv.Kind)
	}
	var pools []Pool
	for _, m := range pv.Members {
		at := "network.pools." + m.Key
		if m.Key == "" {
			return nil, fail("network.pools", "empty pool name")
		}
		for _, p := range pools {
			if p.Name == m.Key {
				return nil, fail(at, "duplicate pool")
			}
		}
		p, err := parsePool(at, m.Key, m.Value)
		if err != nil {
			return nil, err
		}
		pools = append(pools, p)
	}
	return pools, nil
}

// fail is a device.json error at member path at. Not inlined: one copy
// instead of one per check.
//
//go:noinline
func fail(at, format string, args ...any) *state.Error {
	return &state.Error{Key: "device.json", Reason: at + ": " + printf.Sprintf(format, args...)}
}

// parsePool reads and checks one pool. Steps: the strings, the type and
// its interface, the subnet, the gateway, nat.
func parsePool(at, name string, v rawjson.Value) (Pool, error) {
	if v.Kind != rawjson.Object {
		return Pool{}, fail(at, "want an object, got %s", v.Kind)
	}
	var str [5]string // type, bridge, parent, subnet, gateway
	for i, k := range [...]string{"type", "bridge", "parent", "subnet", "gateway"} {
		m, ok := v.Get(k)
		if !ok || m.Kind == rawjson.Null {
			continue
		}
		if m.Kind != rawjson.String {
			return Pool{}, fail(at+"."+k, "want a string, got %s", m.Kind)
		}
		str[i] = m.Str
	}
	p := Pool{Name: name, Type: str[0], Bridge: str[1], Parent: str[2]}
	if err := p.checkType(at); err != nil {
		return Pool{}, err
	}
	var err error
	if p.Subnet, err = parseSubnet(at+".subnet", str[3]); err != nil {
		return Pool{}, err
	}
	if p.Gateway, err = parseGateway(at+".gateway", str[4], p.Subnet); err != nil {
		return Pool{}, err
	}
	p.NAT, err = parseNAT(at+".nat", v)
	return p, err
}

// checkType defaults the type to bridge and checks the interface the type
// needs.
func (p *Pool) checkType(at string) error {
	key, ifname := "bridge", &p.Bridge
	switch p.Type {
	case "":
		p.Type = TypeBridge
	case TypeBridge:
	case TypeMacvlan:
		key, ifname = "parent", &p.Parent
	default:
		return fail(at+".type", "unknown pool type %q, want %q or %q", p.Type, TypeBridge, TypeMacvlan)
	}
	if *ifname == "" {
		return fail(at+"."+key, "missing for type %q", p.Type)
	}
	if err := state.CheckIfName(*ifname); err != nil {
		return fail(at+"."+key, "%v", err)
	}
	return nil
}

func parseSubnet(at, s string) (ip4.Prefix, error) {
	if s == "" {
		return ip4.Prefix{}, fail(at, "missing")
	}
	p, err := ip4.ParsePrefix(s)
	if err != nil {
		return ip4.Prefix{}, fail(at, "want an IPv4 CIDR like 10.0.5.0/24, got %q", s)
	}
	if p.Bits() > maxPoolBits {
		return ip4.Prefix{}, fail(at, "%s leaves no address for a container besides the gateway", s)
	}
	return p.Masked(), nil
}

func parseGateway(at, s string, subnet ip4.Prefix) (ip4.Addr, error) {
	if s == "" {
		return ip4.Addr{}, fail(at, "missing")
	}
	gw, err := ip4.ParseAddr(s)
	switch {
	case err != nil:
		return ip4.Addr{}, fail(at, "want an IPv4 address, got %q", s)
	case !subnet.Contains(gw):
		return ip4.Addr{}, fail(at, "%s is outside %s", gw, subnet)
	case gw == subnet.Addr():
		return ip4.Addr{}, fail(at, "%s is the network address of %s", gw, subnet)
	case gw == lastAddr(subnet):
		return ip4.Addr{}, fail(at, "%s is the broadcast address of %s", gw, subnet)
	}
	return gw, nil
}

// parseNAT reads nat: a boolean, or the strings "true"/"false" (upstream
// compares the token's text with "true").
func parseNAT(at string, v rawjson.Value) (bool, error) {
	m, ok := v.Get("nat")
	if !ok || m.Kind == rawjson.Null {
		return false, nil
	}
	s := string(m.Raw)
	if m.Kind == rawjson.String {
		s = m.Str
	}
	switch {
	case (m.Kind == rawjson.Bool || m.Kind == rawjson.String) && s == "true":
		return true, nil
	case (m.Kind == rawjson.Bool || m.Kind == rawjson.String) && s == "false":
		return false, nil
	}
	return false, fail(at, "want true or false, got %s", m.Raw)
}
