package pantavisor

import (
	"strings"

	"pantavisor/lib/ipam"
	"pantavisor/lib/printf"
	"pantavisor/lib/state"
)

// poolLines writes one "pool" line per device.json pool, in its order.
func poolLines(b *strings.Builder, pools []ipam.Pool) {
	for _, p := range pools {
		link := "bridge=" + word(p.Bridge)
		if p.Type == ipam.TypeMacvlan {
			link = "parent=" + word(p.Parent)
		}
		printf.Fprintf(b, "pool %s: type=%s %s subnet=%s gateway=%s nat=%t\n",
			word(p.Name), p.Type, link, p.Subnet, p.Gateway, p.NAT)
	}
}

// networkLines writes a container's "network" line and, in pool mode,
// one "iface" line per interface. A dynamic address prints as "auto" (it
// depends on the start order), and so does the MAC derived from it.
func networkLines(b *strings.Builder, c *state.Container, leases []ipam.Lease) {
	n := c.Network
	if n == nil {
		return
	}
	printf.Fprintf(b, "network %s: mode=%s hostname=%s\n", word(c.Name), word(n.Mode), word(n.Hostname))
	for _, it := range n.Ifaces() {
		addr, mac := "auto", "auto"
		for _, l := range leases {
			if l.Iface != it.Name {
				continue
			}
			if it.IPv4Address != "" {
				addr, mac = l.Addr.String(), l.MAC
			}
			if it.MACAddress != "" {
				mac = l.MAC
			}
		}
		printf.Fprintf(b, "iface %s/%s: pool=%s addr=%s mac=%s\n", word(c.Name), word(it.Name), word(it.Pool), addr, mac)
	}
}
