package ipam

import (
	"slices"
	"strconv"

	"pantavisor/lib/ip4"
	"pantavisor/lib/printf"
	"pantavisor/lib/state"
)

// Allocate gives the container an address on each requested interface
// and returns the leases in request order. Steps:
//  1. check the requests: interface names valid and distinct, static
//     addresses and MACs readable (ErrInvalid);
//  2. for each, reuse the container's lease of that interface on that
//     pool if it has one and no other static address is asked (stop/start
//     and auto-recovery keep the address), else reserve the static
//     address or take the next free one;
//  3. drop the container's leases no request kept.
//
// A failure undoes this call's new leases and keeps the earlier ones; the
// *Error names the pool and wraps ErrUnknownPool, ErrExhausted,
// ErrAddrInUse, ErrOutsideSubnet or ErrInvalid.
//
// Dynamic addresses follow upstream's next_ip: the search starts after
// the pool's last allocation (at first: after the gateway) and takes the
// first address that is not the gateway, leased or reserved. Upstream
// stops at the broadcast address; this search then wraps to the first
// host address, so released addresses and those below the gateway are
// used again instead of reporting the pool exhausted.
func (r *Registry) Allocate(container string, reqs []Request) ([]Lease, error) {
	if err := checkRequests(container, reqs); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var added, kept []*Lease
	out := make([]Lease, 0, len(reqs))
	for _, q := range reqs {
		l, isNew, err := r.lease(container, q)
		if err != nil {
			for _, p := range r.pools {
				p.drop(func(l *Lease) bool { return slices.Contains(added, l) })
			}
			return nil, err
		}
		if isNew {
			added = append(added, l)
		}
		kept = append(kept, l)
		out = append(out, *l)
	}
	for _, p := range r.pools {
		p.drop(func(l *Lease) bool { return l.Container == container && !slices.Contains(kept, l) })
	}
	return out, nil
}

// ifaceName is the request's interface name with the default applied.
func (q Request) ifaceName() string {
	if q.Name == "" {
		return state.DefaultIface
	}
	return q.Name
}

// checkRequests checks what does not depend on the pools.
func checkRequests(container string, reqs []Request) error {
	if container == "" {
		return poolErr("", ErrInvalid, "no container name")
	}
	seen := map[string]bool{}
	for _, q := range reqs {
		name := q.ifaceName()
		if err := state.CheckIfName(name); err != nil {
			return poolErr(q.Pool, ErrInvalid, "%v", err)
		}
		if seen[name] {
			return poolErr(q.Pool, ErrInvalid, "interface %q asked twice", name)
		}
		seen[name] = true
		if q.Addr != "" {
			if _, _, err := state.ParseIPv4(q.Addr); err != nil {
				return poolErr(q.Pool, ErrInvalid, "interface %s: static address: %v", name, err)
			}
		}
		if q.MAC != "" {
			if _, err := state.ParseMAC(q.MAC); err != nil {
				return poolErr(q.Pool, ErrInvalid, "interface %s: static MAC: %v", name, err)
			}
		}
	}
	return nil
}

// lease returns the container's lease for one (checked) request, reused
// or new (isNew, already in the pool's list).
func (r *Registry) lease(container string, q Request) (l *Lease, isNew bool, err error) {
	p := r.pool(q.Pool)
	if q.Pool == "" {
		return nil, false, poolErr("", ErrUnknownPool, "interface %s names no pool", q.ifaceName())
	}
	if p == nil {
		return nil, false, poolErr(q.Pool, ErrUnknownPool, "not in device.json network.pools")
	}
	name := q.ifaceName()
	var static ip4.Addr
	bits := -1
	if q.Addr != "" {
		static, bits, _ = state.ParseIPv4(q.Addr)
	}
	if old := p.find(container, name); old != nil && (!static.IsValid() || old.Addr.Addr() == static) {
		old.MAC = macFor(q.MAC, old.Addr.Addr())
		return old, false, nil
	}
	addr := static
	if static.IsValid() {
		err = p.checkStatic(static, bits)
	} else {
		addr, err = p.nextFree()
	}
	if err != nil {
		return nil, false, err
	}
	l = &Lease{Pool: p.Name, Container: container, Iface: name,
		Addr: ip4.PrefixFrom(addr, p.Subnet.Bits()), Gateway: p.Gateway, MAC: macFor(q.MAC, addr)}
	p.leases = append(p.leases, l)
	return l, true, nil
}

// find returns the container's lease of interface iface, or nil.
func (p *pool) find(container, iface string) *Lease {
	for _, l := range p.leases {
		if l.Container == container && l.Iface == iface {
			return l
		}
	}
	return nil
}

// checkStatic checks that a static address (bits: its written prefix
// length, -1 if bare) is a free host address of the pool.
func (p *pool) checkStatic(addr ip4.Addr, bits int) error {
	switch {
	case !p.Subnet.Contains(addr):
		return poolErr(p.Name, ErrOutsideSubnet, "%s is outside %s", addr, p.Subnet)
	case bits >= 0 && bits != p.Subnet.Bits():
		return poolErr(p.Name, ErrOutsideSubnet, "%s/%d: the prefix length differs from %s", addr, bits, p.Subnet)
	case addr == p.Subnet.Addr():
		return poolErr(p.Name, ErrOutsideSubnet, "%s is the network address of %s", addr, p.Subnet)
	case addr == p.Broadcast():
		return poolErr(p.Name, ErrOutsideSubnet, "%s is the broadcast address of %s", addr, p.Subnet)
	}
	if who := p.owner(addr); who != "" {
		return poolErr(p.Name, ErrAddrInUse, "%s is in use by %s", addr, who)
	}
	return nil
}

// nextFree returns the first free host address from p.next, wrapping to
// the first host address, and moves p.next past it.
func (p *pool) nextFree() (ip4.Addr, error) {
	first, last := p.Subnet.Addr().Next(), p.Broadcast().Prev()
	start := p.next
	if start.Less(first) || last.Less(start) {
		start = first
	}
	for _, span := range [][2]ip4.Addr{{start, last}, {first, start.Prev()}} {
		for a := span[0]; a.IsValid() && !span[1].Less(a); a = a.Next() {
			if p.owner(a) == "" {
				p.next = a.Next()
				return a, nil
			}
		}
	}
	return ip4.Addr{}, poolErr(p.Name, ErrExhausted, "no free address in %s", p.Subnet)
}

// macFor is the static MAC, canonical, or upstream's 02:00:<ip octets>.
func macFor(static string, addr ip4.Addr) string {
	var b [6]byte
	if static != "" {
		b, _ = state.ParseMAC(static)
	} else {
		a := addr.As4()
		b = [6]byte{0x02, 0x00, a[0], a[1], a[2], a[3]}
	}
	return printf.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

// owner names who holds ip in the pool: "the gateway", `container "web"`
// or "pv:static:<source>"; "" when free.
func (p *pool) owner(ip ip4.Addr) string {
	if ip == p.Gateway {
		return "the gateway"
	}
	for _, l := range p.leases {
		if l.Addr.Addr() == ip {
			return "container " + strconv.Quote(l.Container)
		}
	}
	for _, s := range p.reserved {
		if s.addr == ip {
			return "pv:static:" + s.source
		}
	}
	return ""
}
