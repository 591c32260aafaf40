package lxcconf

import (
	"strconv"
	"strings"
)

// NetDev is one lxc.net.<Index>.* network. Values are kept as written;
// addresses are not checked (LXC checks them with inet_pton).
type NetDev struct {
	Index       int
	Type        string // none, empty, veth, macvlan, ipvlan, vlan or phys
	Link        string
	Name        string
	HWAddr      string // may hold LXC's 'x' placeholders for random digits
	MTU         string
	Up          bool     // lxc.net.<n>.flags = up
	IPv4        []string // ipv4.address lines in order: "ADDR/PREFIX [BCAST]"
	IPv6        []string // ipv6.address lines in order
	IPv4Gateway string
	IPv6Gateway string
	Other       []Setting // other sub-keys (veth.pair, vlan.id, script.up, …) without the prefix
}

// netDev returns the network of index i, adding it in index order.
func (c *Config) netDev(i int) *NetDev {
	at := 0
	for at < len(c.Net) && c.Net[at].Index < i {
		at++
	}
	if at == len(c.Net) || c.Net[at].Index != i {
		c.Net = append(c.Net, NetDev{})
		copy(c.Net[at+1:], c.Net[at:])
		c.Net[at] = NetDev{Index: i}
	}
	return &c.Net[at]
}

// setNet applies lxc.net.<n>.<sub>. An unknown sub-key is ignored with a
// warning, as a key LXC does not know.
func (p *parser) setNet(at pos, key, rest, v string) error {
	idx, sub, ok := strings.Cut(rest, ".")
	i, err := strconv.ParseUint(idx, 10, 31)
	if !ok || err != nil || sub == "" {
		return badValue("want lxc.net.<n>.<key>")
	}
	if !netKey(sub) {
		p.warn(at, key, ErrUnknownKey)
		return nil
	}
	return p.cfg.netDev(int(i)).set(sub, v)
}

// netKey reports whether sub is a key of LXC's network table.
func netKey(sub string) bool {
	switch sub {
	case "flags", "hwaddr", "ipv4.address", "ipv4.gateway", "ipv6.address", "ipv6.gateway",
		"ipvlan.isolation", "ipvlan.mode", "l2proxy", "link", "macvlan.mode", "mtu", "name",
		"script.down", "script.up", "type", "veth.ipv4.route", "veth.ipv6.route", "veth.mode",
		"veth.pair", "veth.vlan.id", "veth.vlan.tagged.id", "vlan.id":
		return true
	}
	return false
}

// set applies one sub-key; an empty value clears it.
func (d *NetDev) set(sub, v string) error {
	switch sub {
	case "type":
		switch v {
		case "", "none", "empty", "veth", "macvlan", "ipvlan", "vlan", "phys":
		default:
			return badValue("network type %q", v)
		}
		d.Type = v
	case "link":
		d.Link = v
	case "name":
		d.Name = v
	case "hwaddr":
		d.HWAddr = v
	case "mtu":
		d.MTU = v
	case "flags":
		d.Up = v != ""
	case "ipv4.address":
		d.IPv4 = appendOrClear(d.IPv4, v)
	case "ipv6.address":
		d.IPv6 = appendOrClear(d.IPv6, v)
	case "ipv4.gateway":
		d.IPv4Gateway = v
	case "ipv6.gateway":
		d.IPv6Gateway = v
	default:
		d.Other = setOther(d.Other, sub, v)
	}
	return nil
}

// setOther sets a kept-raw sub-key: routes and tagged VLAN ids accumulate,
// the rest replace; an empty value removes the key.
func setOther(list []Setting, sub, v string) []Setting {
	multi := strings.HasSuffix(sub, ".route") || sub == "veth.vlan.tagged.id"
	out := list[:0]
	for _, s := range list {
		if s.Key != sub || (multi && v != "") {
			out = append(out, s)
		}
	}
	if v != "" {
		out = append(out, Setting{sub, v})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// setNetLegacy maps the pre-3.0 lxc.network keys: lxc.network.<n>.<key>
// to lxc.net.<n>.<key>; unindexed lxc.network.<key> to the network the
// last lxc.network.type opened; ipv4 and ipv6 to ipv4.address and
// ipv6.address; bare lxc.network to lxc.net.
func (p *parser) setNetLegacy(at pos, key, v string) error {
	rest, _ := strings.CutPrefix(key, "lxc.network")
	rest, _ = strings.CutPrefix(rest, ".")
	nk := "lxc.net"
	if idx, sub, ok := strings.Cut(rest, "."); ok && isDigits(idx) {
		nk += "." + idx + "." + legacyNetSub(sub)
	} else if rest != "" {
		if rest == "type" {
			p.netLegacy = 0
			if n := len(p.cfg.Net); n > 0 {
				p.netLegacy = p.cfg.Net[n-1].Index + 1
			}
		} else if p.netLegacy < 0 {
			return badValue("%s before lxc.network.type", key)
		}
		nk += "." + strconv.Itoa(p.netLegacy) + "." + legacyNetSub(rest)
	}
	p.warn(at, key, legacyErr(nk))
	return p.set(at, nk, v)
}

// legacyNetSub renames the pre-3.0 address keys.
func legacyNetSub(sub string) string {
	if sub == "ipv4" || sub == "ipv6" {
		return sub + ".address"
	}
	return sub
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
