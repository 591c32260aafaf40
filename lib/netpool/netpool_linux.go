// Package netpool is the device side of container networks: the bridges
// of device.json's network pools with their gateway addresses, NAT and
// port forwards for them, the legacy LXC bridge, and for each container
// the links its run.json "network" or its lxc.net.* keys ask for.
//
// It ties lib/ipam (who gets which address), lib/rtnl (links and
// addresses) and lib/nft (NAT) together; the container's own side is
// configured by its stage (container.Spec.Net).
package netpool

import (
	"crypto/rand"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"

	"pantavisor/lib/container"
	"pantavisor/lib/ip4"
	"pantavisor/lib/ipam"
	"pantavisor/lib/lxcconf"
	"pantavisor/lib/nft"
	"pantavisor/lib/printf"
	"pantavisor/lib/rtnl"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
)

// ErrUnsupported is wrapped when a container asks for a network this
// device does not build (an lxc.net type other than veth, macvlan, empty
// and none).
var ErrUnsupported error = &sentinel.Error{Text: "not supported"}

// Bridge is a host bridge with its address (the legacy LXC bridge).
type Bridge struct {
	Name string
	Addr ip4.Prefix // the bridge's own address; invalid = none
}

// Firewall programs the pools' NAT, isolation and port forwards:
// nft.NAT implements it on the kernel. Each call replaces its part of
// the rules all at once, or, on error, changes nothing.
type Firewall interface {
	// SetPools replaces the masquerade rules and isolations, keeping the
	// forwards.
	SetPools(masq []nft.Rule, iso []nft.Isolation) error
	// ReplaceForwards drops the forwards to old (none for the zero
	// Addr) and adds fs.
	ReplaceForwards(old ip4.Addr, fs []nft.Forward) error
	// Unforward drops the forwards to to.
	Unforward(to ip4.Addr) error
}

// Networks holds the pools of the running revision and the leases of its
// containers. The zero value is not usable: see New.
type Networks struct {
	// Host is the namespace the bridges live in; 0 = the caller's
	// (tests point it at a namespace of their own).
	Host rtnl.Netns
	// Legacy is the bridge lxc.net.<n>.link may name without a pool
	// (PV_NET_BRDEV, PV_NET_BRADDRESS4/BRMASK4), created on first use.
	Legacy Bridge
	// Forwarding is the ip_forward switch of the host namespace, turned
	// on when a pool NATs or forwards a port.
	Forwarding string

	fw     Firewall
	mu     sync.Mutex
	reg    *ipam.Registry
	broken map[string]error    // pool name -> why its link could not be set up
	fwd    map[string]ip4.Addr // container -> the address its ports are forwarded to
	ruled  bool                // the firewall may hold pool rules
}

// New returns the networks of a device with no pools yet (SetPools adds
// them); fw programs NAT (nil: &nft.NAT{}).
func New(host rtnl.Netns, legacy Bridge, fw Firewall) *Networks {
	if fw == nil {
		fw = &nft.NAT{}
	}
	return &Networks{Host: host, Legacy: legacy, Forwarding: "/proc/sys/net/ipv4/ip_forward", fw: fw,
		reg: ipam.New(nil), broken: map[string]error{}, fwd: map[string]ip4.Addr{}}
}

// SetPools makes pools the device's pools (a revision's device.json):
// each bridge is created if missing with its gateway address, a macvlan
// pool's parent must exist, and the firewall's pool rules are replaced
// in one call by those of these pools: a masquerade rule per NAT pool
// and an isolation per bridge pool (nft.Isolation: its containers reach
// each other, the gateway and, through NAT, the world, but not the
// device's other addresses). A pool dropped or turned to nat: false
// loses its rules. Macvlan pools get no isolation: their traffic does not
// pass a bridge of the device, and a macvlan child cannot talk to its
// parent. A pool whose link cannot be set up is kept and refuses its
// containers with the reason; a failed firewall only warns (the pools
// still carry traffic between their containers), as upstream's failed
// NAT does. Leases of containers whose pool is still there are kept.
func (n *Networks) SetPools(pools []ipam.Pool) (warnings []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.reg = n.reg.Rebase(pools)
	n.broken = map[string]error{}
	c, err := dial(n.Host)
	if err != nil {
		for _, p := range pools {
			n.broken[p.Name] = err
		}
		return []string{"network pools: " + err.Error()}
	}
	defer c.Close()
	for _, p := range pools {
		if err := setupLink(c, p); err != nil {
			n.broken[p.Name] = err
			warnings = append(warnings, printf.Sprintf("network pool %s: %v", p.Name, err))
		} else if p.Type == ipam.TypeMacvlan && p.NAT {
			warnings = append(warnings, printf.Sprintf("network pool %s: no NAT: a macvlan pool's traffic does not pass the device's routing", p.Name))
		}
	}
	if err := n.setRules(pools); err != nil {
		warnings = append(warnings, err.Error())
	}
	return warnings
}

// setRules gives the firewall the pool rules of pools whose link is set
// up (see SetPools), in one call.
func (n *Networks) setRules(pools []ipam.Pool) error {
	var masq []nft.Rule
	var iso []nft.Isolation
	for _, p := range pools {
		if n.broken[p.Name] != nil || p.Type == ipam.TypeMacvlan {
			continue
		}
		iso = append(iso, nft.Isolation{Bridge: p.Bridge, Gateway: p.Gateway})
		if p.NAT {
			masq = append(masq, nft.Rule{Subnet: p.Subnet, Bridge: p.Bridge})
		}
	}
	if len(iso) == 0 && !n.ruled {
		return nil // no firewall call (and no netfilter modules) on a device without pools
	}
	err := inNetns(n.Host, func() error {
		if len(masq) > 0 {
			if err := n.forwarding(); err != nil {
				return err
			}
		}
		return n.fw.SetPools(masq, iso)
	})
	n.ruled = err != nil || len(iso) > 0
	if err != nil && len(iso) > 0 {
		return printf.Errorf("network pools: no NAT and no isolation: %w", err)
	}
	return nil
}

// setupLink makes a pool's host side: the bridge up with the gateway
// address, or the macvlan parent present.
func setupLink(c *rtnl.Conn, p ipam.Pool) error {
	if p.Type == ipam.TypeMacvlan {
		if _, err := c.LinkByName(p.Parent); err != nil {
			return printf.Errorf("parent interface %s: %w", p.Parent, err)
		}
		return nil
	}
	return ensureBridge(c, p.Bridge, ip4.PrefixFrom(p.Gateway, p.Subnet.Bits()))
}

func ensureBridge(c *rtnl.Conn, name string, addr ip4.Prefix) error {
	br, err := c.EnsureBridge(name)
	if err == nil && addr.IsValid() {
		err = c.AddAddr(br, addr)
	}
	return err
}

// forwarding turns on IPv4 forwarding in the calling thread's namespace
// (/proc/sys/net is the opener's).
func (n *Networks) forwarding() error {
	if n.Forwarding == "" {
		return nil
	}
	return os.WriteFile(n.Forwarding, []byte("1\n"), 0o644)
}

// Plan is what a container's start needs for its network.
type Plan struct {
	Attach container.Network    // creates the links; nil = none
	Ifaces []container.NetIface // what the stage configures
	Own    bool                 // the container needs its own network namespace
}

// Plan gives container c (its LXC config cfg) the network it asks for:
// interfaces on pools (run.json "network" mode "pool", which must not be
// mixed with lxc.net keys), or the lxc.net.<n> veth and macvlan links of
// its LXC config. A refusal names the pool or the key.
func (n *Networks) Plan(c *state.Container, cfg *lxcconf.Config) (Plan, []string, error) {
	reqs := []ipam.Request(nil)
	if c.Network != nil {
		reqs = ipam.Requests(c.Network)
	}
	if len(reqs) > 0 {
		if err := ipam.CheckLXCNet(cfg); err != nil {
			return Plan{}, nil, err
		}
		p, err := n.poolPlan(c, reqs)
		return p, nil, err
	}
	return n.lxcPlan(c.Name, cfg)
}

// Owns reports whether container c (LXC config cfg) gets a network
// namespace of its own from Plan, without leasing or linking anything:
// what lib/launch spawns a container's stage with ahead of its start. It
// is Plan's Own for every container Plan accepts.
func (n *Networks) Owns(c *state.Container, cfg *lxcconf.Config) bool {
	if c.Network != nil && len(ipam.Requests(c.Network)) > 0 {
		return true
	}
	for _, d := range cfg.Net {
		if d.Type != "none" {
			return true
		}
	}
	return false
}

// poolPlan leases addresses and plans one link per pool interface; the
// first interface carries the default route.
func (n *Networks) poolPlan(c *state.Container, reqs []ipam.Request) (Plan, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, q := range reqs {
		if err := n.broken[q.Pool]; err != nil {
			return Plan{}, printf.Errorf("network pool %s: %w", q.Pool, err)
		}
	}
	leases, err := n.reg.Allocate(c.Name, reqs)
	if err != nil {
		return Plan{}, err
	}
	var links links
	p := Plan{Own: true}
	for i, l := range leases {
		pool, _ := n.reg.Pool(l.Pool)
		tmp := "pvtmp" + strconv.Itoa(i)
		if pool.Type == ipam.TypeMacvlan {
			links = append(links, rtnl.Macvlan{Parent: pool.Parent, PeerName: tmp, Netns: n.Host})
		} else {
			links = append(links, rtnl.Veth{Bridge: pool.Bridge, HostName: rtnl.HostName(c.Name, i),
				PeerName: tmp, Netns: n.Host})
		}
		ifc := container.NetIface{TempName: tmp, Name: l.Iface, MAC: l.MAC, Addr: l.Addr.String()}
		if i == 0 {
			ifc.Gateway = l.Gateway.String()
		}
		p.Ifaces = append(p.Ifaces, ifc)
	}
	if err := n.forward(c, leases); err != nil {
		return Plan{}, err
	}
	p.Attach = links
	return p, nil
}

// forward makes the container's port forwards, to its first address,
// the ones its run.json asks for now, replacing those of its earlier
// start (another revision's run.json) in one firewall call: on error (a
// port another container has, say) the earlier ones stay as they were.
func (n *Networks) forward(c *state.Container, leases []ipam.Lease) error {
	var ports []state.Port
	if c.Network != nil {
		ports = c.Network.Ports
	}
	prev, had := n.fwd[c.Name]
	if len(ports) == 0 && !had {
		return nil
	}
	to := leases[0].Addr.Addr()
	fs := make([]nft.Forward, 0, len(ports))
	for _, pt := range ports {
		fs = append(fs, nft.Forward{Proto: pt.Proto, Port: pt.Port, To: ip4.AddrPortFrom(to, pt.To)})
	}
	err := inNetns(n.Host, func() error {
		if len(fs) > 0 {
			if err := n.forwarding(); err != nil {
				return err
			}
		}
		return n.fw.ReplaceForwards(prev, fs)
	})
	if err != nil {
		return printf.Errorf("network ports: %w", err)
	}
	delete(n.fwd, c.Name)
	if len(fs) > 0 {
		n.fwd[c.Name] = to
	}
	return nil
}

// lxcPlan plans the lxc.net.<n> networks of an LXC config: veth on a
// bridge (link; the legacy bridge is created on first use) and macvlan
// over a host interface; "empty" gives a namespace with only lo, "none"
// the host's (lxcconf.Config.CloneFlags).
func (n *Networks) lxcPlan(name string, cfg *lxcconf.Config) (Plan, []string, error) {
	var p Plan
	var links links
	var warns []string
	for i, d := range cfg.Net {
		key := "lxc.net." + strconv.Itoa(d.Index)
		tmp := "pvtmp" + strconv.Itoa(i)
		switch d.Type {
		case "none":
			continue
		case "empty":
			p.Own = true
			continue
		case "veth":
			if err := n.legacyBridge(d.Link); err != nil {
				return Plan{}, nil, printf.Errorf("%s.link %s: %w", key, d.Link, err)
			}
			host := rtnl.HostName(name, i)
			if v := setting(d.Other, "veth.pair"); v != "" {
				host = v
			}
			links = append(links, rtnl.Veth{Bridge: d.Link, HostName: host, PeerName: tmp, Netns: n.Host})
		case "macvlan":
			links = append(links, rtnl.Macvlan{Parent: d.Link, PeerName: tmp, Netns: n.Host})
		default:
			return Plan{}, nil, printf.Errorf("%s.type %s: %w", key, d.Type, ErrUnsupported)
		}
		if !d.Up {
			warns = append(warns, key+".flags: the interface is brought up all the same")
		}
		ifc, err := lxcIface(key, tmp, i, d)
		if err != nil {
			return Plan{}, nil, err
		}
		p.Own = true
		p.Ifaces = append(p.Ifaces, ifc)
	}
	if len(links) > 0 {
		p.Attach = links
	}
	return p, warns, nil
}

// lxcIface is the stage's side of one lxc.net: name (eth<i> by default),
// hwaddr (LXC's 'x' placeholders made random), the first IPv4 address
// and the gateway ("auto": the bridge's own address is not looked up,
// say so).
func lxcIface(key, tmp string, i int, d lxcconf.NetDev) (container.NetIface, error) {
	ifc := container.NetIface{TempName: tmp, Name: d.Name, Gateway: d.IPv4Gateway}
	if ifc.Name == "" {
		ifc.Name = "eth" + strconv.Itoa(i)
	}
	if d.HWAddr != "" {
		mac, err := fillMAC(d.HWAddr)
		if err != nil {
			return ifc, printf.Errorf("%s.hwaddr: %w", key, err)
		}
		ifc.MAC = mac
	}
	if len(d.IPv4) > 0 {
		f := strings.Fields(d.IPv4[0])
		if len(f) > 0 {
			ifc.Addr = f[0]
			if !strings.Contains(ifc.Addr, "/") {
				ifc.Addr += "/24" // LXC's default prefix when none is written
			}
		}
	}
	if ifc.Gateway == "auto" || ifc.Gateway == "dev" {
		return ifc, printf.Errorf("%s.ipv4.gateway %s: %w (write the address)", key, ifc.Gateway, ErrUnsupported)
	}
	return ifc, nil
}

// legacyBridge creates the legacy bridge when link names it; any other
// bridge must exist (a pool's, or one a BSP container made).
func (n *Networks) legacyBridge(link string) error {
	if link == "" {
		return errors.New("no bridge named")
	}
	if link != n.Legacy.Name {
		return nil
	}
	c, err := dial(n.Host)
	if err != nil {
		return err
	}
	defer c.Close()
	return ensureBridge(c, link, n.Legacy.Addr)
}

// Release drops container name's leases and port forwards (it left the
// running revision); a container that only stopped keeps them.
func (n *Networks) Release(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if to, ok := n.fwd[name]; ok {
		// Best effort: a failure leaves a rule to an address no one holds.
		_ = inNetns(n.Host, func() error { return n.fw.Unforward(to) })
		delete(n.fwd, name)
	}
	n.reg.Release(name)
}

// Leases are the addresses container name holds.
func (n *Networks) Leases(name string) []ipam.Lease {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.reg.Leases(name)
}

// links attaches several links in order.
type links []container.Network

func (ls links) Attach(pid int) error {
	for _, l := range ls {
		if err := l.Attach(pid); err != nil {
			return err
		}
	}
	return nil
}

// setting is the value of key among an lxc.net's other sub-keys.
func setting(ss []lxcconf.Setting, key string) string {
	for _, s := range ss {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}

// fillMAC replaces LXC's 'x' placeholders in a hwaddr by random hex
// digits, as LXC does, and checks the result.
func fillMAC(s string) (string, error) {
	b := []byte(s)
	var r [12]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	j := 0
	for i, c := range b {
		if c == 'x' || c == 'X' {
			b[i] = "0123456789abcdef"[r[j%len(r)]&15]
			j++
		}
	}
	if _, err := rtnl.ParseMAC(string(b)); err != nil {
		return "", err
	}
	return string(b), nil
}
