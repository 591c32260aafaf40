package rtnl

import (
	"pantavisor/lib/printf"
)

// Veth puts a container on a bridge: Attach creates a veth pair, the host
// end HostName in the host namespace enslaved to Bridge and up, the peer
// PeerName directly in the container's network namespace (down: the
// container's stage configures it, see container.NetIface). The pair
// disappears with the container's namespace.
type Veth struct {
	Bridge   string // existing bridge in the host namespace (see EnsureBridge)
	HostName string // host end, unique there and at most MaxNameLen bytes (see HostName)
	PeerName string // container end, its name inside the container (e.g. "eth0")
	// Netns is the host namespace to work in; 0 (the zero value) means
	// the caller's. Tests point it at a namespace of their own.
	Netns Netns
}

// Attach creates the pair for the container whose init is pid. Steps:
// open pid's network namespace, find the bridge, create the pair, then
// enslave and raise the host end; the host end is deleted again if a
// step after its creation fails.
func (v Veth) Attach(pid int) error {
	target, err := NetnsOfPid(pid)
	if err != nil {
		return printf.Errorf("rtnl: network namespace of pid %d: %w", pid, err)
	}
	defer target.Close()
	c, err := dialHost(v.Netns)
	if err != nil {
		return err
	}
	defer c.Close()
	br, err := c.LinkByName(v.Bridge)
	if err != nil {
		return err
	}
	if err := c.AddVeth(v.HostName, v.PeerName, int(target)); err != nil {
		return err
	}
	host, err := c.LinkByName(v.HostName)
	if err == nil {
		err = c.SetMaster(host, br)
	}
	if err == nil {
		err = c.SetUp(host)
	}
	if err != nil && host.Index != 0 {
		_ = c.DelLink(host) // best effort: the error above is what failed
	}
	return err
}

// Macvlan puts a container on the network of a host interface: Attach
// creates PeerName, a bridge-mode macvlan over Parent, directly in the
// container's network namespace (down: the stage configures it).
type Macvlan struct {
	Parent   string // host interface, e.g. "eth0"
	PeerName string // its name inside the container
	Netns    Netns  // host namespace; 0 = the caller's
}

// Attach creates the macvlan for the container whose init is pid.
func (m Macvlan) Attach(pid int) error {
	target, err := NetnsOfPid(pid)
	if err != nil {
		return printf.Errorf("rtnl: network namespace of pid %d: %w", pid, err)
	}
	defer target.Close()
	c, err := dialHost(m.Netns)
	if err != nil {
		return err
	}
	defer c.Close()
	parent, err := c.LinkByName(m.Parent)
	if err != nil {
		return err
	}
	return c.AddMacvlan(m.PeerName, parent, int(target))
}

// dialHost opens a Conn in h, or in the caller's namespace for 0.
func dialHost(h Netns) (*Conn, error) {
	if h == 0 {
		return Dial()
	}
	return DialNetns(h)
}
