package device

import (
	"pantavisor/lib/config"
	"pantavisor/lib/engine"
	"pantavisor/lib/ipam"
	"pantavisor/lib/kmod"
	"pantavisor/lib/netpool"
	"pantavisor/lib/state"
)

// networks are the device's container networks, with the legacy LXC
// bridge of PV_NET_BRDEV (PV_NET_BRADDRESS4, PV_NET_BRMASK4); a bad
// address only leaves that bridge without one, with a warning.
func networks(cfg *config.Config) (*netpool.Networks, error) {
	name := cfg.Get(config.NetBrdev).String()
	br, err := netpool.LegacyBridge(name, cfg.Get(config.NetBraddress4).String(), cfg.Get(config.NetBrmask4).String())
	if err != nil {
		br = netpool.Bridge{Name: name}
	}
	return netpool.New(0, br, nil), err
}

// setPools gives the device the network pools of revision s (its
// device.json): their bridges and NAT are set up, and the containers
// that keep running keep their addresses. A device.json whose pools do
// not parse leaves the revision without pools: its containers on pools
// fail to start, naming the pool, and the revision fails as any failed
// start does.
func (d *Device) setPools(s *state.State) {
	if d.o.Networks == nil {
		return
	}
	pools, err := ipam.ParsePools(s.Device.Network)
	if err != nil {
		d.log(engine.LevelError, "network pools: "+err.Error())
	}
	if len(pools) > 0 && !d.poolModules {
		d.poolModules = true
		loadPoolModules(&kmod.Loader{})
	}
	for _, w := range d.o.Networks.SetPools(pools) {
		d.log(engine.LevelWarn, w)
	}
}

// poolModules are the names the kernel's request_module asks for when
// pools are set up (modules.alias resolves them): bridges, veth and
// macvlan links, nftables with its NAT chain type, masquerade, NAT, fib
// and conntrack expressions (NAT pools, port forwards, the isolation
// chain).
var poolModules = [...]string{"rtnl-link-bridge", "rtnl-link-veth", "rtnl-link-macvlan", "net-pf-16-proto-12",
	"nfnetlink-subsys-10", "nft-chain-2-nat", "nft-expr-masq", "nft-expr-nat", "nft-expr-2-fib", "nft-expr-ct"}

// loadPoolModules loads poolModules in this process (modules.dep and
// modules.alias read once), once per boot, before the first pools are
// set up. Otherwise the kernel loads them
// one request_module at a time, each an exec of the modprobe applet.
// Best effort: a name that is built in or missing is left to the kernel
// as before.
func loadPoolModules(l *kmod.Loader) {
	_ = l.ProbeEach(poolModules[:]...) // best effort, as above
}

// releaseLeft gives back the addresses of the containers of old that
// next no longer has (kept across stop and start; gone with the
// container's revision, as upstream).
func (d *Device) releaseLeft(old, next *state.State) {
	if d.o.Networks == nil || old == nil {
		return
	}
	for _, c := range old.Containers {
		if next.Container(c.Name) == nil {
			d.o.Networks.Release(c.Name)
			_ = d.devmeta.Delete(NetworkKey(c.Name)) // absent when it had no pool
		}
	}
}
