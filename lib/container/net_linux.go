package container

import (
	"errors"

	"pantavisor/lib/ip4"
	"pantavisor/lib/printf"
	"pantavisor/lib/rtnl"
)

// Network gives a started container its interfaces (rtnl.Veth,
// rtnl.Macvlan): Start calls Attach with the stage's pid after the cgroup
// join and before releasing the stage, so the links are in the
// container's network namespace when the stage configures them
// (Spec.Net). An error fails the start.
type Network interface {
	Attach(pid int) error
}

// errTwoGateways: a container has one default route.
var errTwoGateways = errors.New("more than one interface has a gateway")

// netConf is a NetIface parsed.
type netConf struct {
	iface NetIface
	mac   []byte     // nil = keep
	addr  ip4.Prefix // invalid = none
	gw    ip4.Addr   // invalid = none
}

// parseNet checks and parses the interfaces of a spec.
func parseNet(ifaces []NetIface) ([]netConf, error) {
	var out []netConf
	gateways := 0
	for _, n := range ifaces {
		c := netConf{iface: n}
		var err error
		if n.TempName == "" {
			return nil, printf.Errorf("interface %q: no temporary name", n.Name)
		}
		if n.MAC != "" {
			if c.mac, err = rtnl.ParseMAC(n.MAC); err != nil {
				return nil, printf.Errorf("interface %s: %w", n.TempName, err)
			}
		}
		if n.Addr != "" {
			if c.addr, err = ip4.ParsePrefix(n.Addr); err != nil {
				return nil, printf.Errorf("interface %s: address: %w", n.TempName, err)
			}
		}
		if n.Gateway != "" {
			if c.gw, err = ip4.ParseAddr(n.Gateway); err != nil {
				return nil, printf.Errorf("interface %s: gateway: %w", n.TempName, err)
			}
			gateways++
		}
		out = append(out, c)
	}
	if gateways > 1 {
		return nil, errTwoGateways
	}
	return out, nil
}

// setupNet configures Spec.Net inside the container's network namespace
// (the stage's own): lo up, then each interface renamed, its MAC set, its
// address added and brought up, and finally the default route, which
// needs its gateway's link up.
func setupNet(s *Spec) error {
	if len(s.Net) == 0 {
		return nil
	}
	confs, err := parseNet(s.Net)
	if err != nil {
		return err
	}
	c, err := rtnl.Dial()
	if err != nil {
		return err
	}
	defer c.Close()
	lo, err := c.LinkByName("lo")
	if err == nil {
		err = c.SetUp(lo)
	}
	if err != nil {
		return err
	}
	var gw ip4.Addr
	for _, n := range confs {
		if err := setupIface(c, n); err != nil {
			return err
		}
		if n.gw.IsValid() {
			gw = n.gw
		}
	}
	if gw.IsValid() {
		return c.AddDefaultRoute(gw)
	}
	return nil
}

// setupIface renames one (still down) interface, sets its MAC and
// address, and brings it up.
func setupIface(c *rtnl.Conn, n netConf) error {
	l, err := c.LinkByName(n.iface.TempName)
	if err != nil {
		return err
	}
	if name := n.iface.Name; name != "" && name != l.Name {
		if err := c.Rename(l, name); err != nil {
			return err
		}
		l.Name = name
	}
	if n.mac != nil {
		if err := c.SetHWAddr(l, n.mac); err != nil {
			return err
		}
	}
	if n.addr.IsValid() {
		if err := c.AddAddr(l, n.addr); err != nil {
			return err
		}
	}
	return c.SetUp(l)
}
