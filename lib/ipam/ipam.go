package ipam

import (
	"strconv"
	"sync"

	"pantavisor/lib/ip4"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
)

// Conditions Allocate and ReserveStatic report, wrapped in an *Error that
// names the pool.
var (
	ErrUnknownPool   error = &sentinel.Error{Text: "unknown pool"}
	ErrExhausted     error = &sentinel.Error{Text: "no free address"}
	ErrAddrInUse     error = &sentinel.Error{Text: "address in use"}
	ErrOutsideSubnet error = &sentinel.Error{Text: "address outside the pool's subnet"}
	ErrInvalid       error = &sentinel.Error{Text: "invalid request"}
)

// Error is a refusal about one pool: "ipam: pool "internal": no free
// address in 10.0.5.0/24". errors.Is matches Err, one of the sentinels.
type Error struct {
	Pool string // "" when no pool is concerned
	Err  error  // the sentinel
	Msg  string // what happened, naming the addresses
}

func (e *Error) Error() string {
	if e.Pool == "" {
		return "ipam: " + e.Msg
	}
	return "ipam: pool " + strconv.Quote(e.Pool) + ": " + e.Msg
}

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }

// poolErr builds an *Error. Not inlined: one copy instead of one per
// refusal (about 2 KB of the device binary).
//
//go:noinline
func poolErr(pool string, sentinel error, format string, args ...any) *Error {
	return &Error{Pool: pool, Err: sentinel, Msg: printf.Sprintf(format, args...)}
}

// Request is one interface a container asks for (state.Interface with
// defaults applied, see Requests).
type Request struct {
	Name string // container-side interface; "" means state.DefaultIface
	Pool string
	Addr string // static address, bare or CIDR (the pool's prefix length if CIDR); "" allocates
	MAC  string // static MAC; "" derives 02:00:<address octets>
}

// Requests returns the interfaces a container's run.json network asks
// for; none unless its mode is "pool".
func Requests(n *state.Network) []Request {
	var out []Request
	for _, it := range n.Ifaces() {
		out = append(out, Request{Name: it.Name, Pool: it.Pool, Addr: it.IPv4Address, MAC: it.MACAddress})
	}
	return out
}

// Lease is an address a container holds on a pool for one interface.
type Lease struct {
	Pool      string
	Container string
	Iface     string     // container-side name
	Addr      ip4.Prefix // the address with the pool's prefix length
	Gateway   ip4.Addr
	MAC       string // "02:00:0a:00:05:02": static, or derived from Addr
}

// Registry is the leases of one revision's pools, safe for concurrent use.
// Upstream keeps one such registry in memory: leases survive container
// stop/start and auto-recovery, and go with the revision.
type Registry struct {
	mu    sync.Mutex
	pools []*pool
}

// pool is a Pool with its allocation state.
type pool struct {
	Pool
	next     ip4.Addr // upstream's next_ip: where the next search starts
	leases   []*Lease
	reserved []reservation
}

// reservation is upstream's "pv:static:<source>" lease: an address a
// backend config hard-codes, kept from the allocator.
type reservation struct {
	addr   ip4.Addr
	source string
}

// New returns a registry of pools (from ParsePools) without leases.
func New(pools []Pool) *Registry {
	r := &Registry{}
	for _, p := range pools {
		r.pools = append(r.pools, &pool{Pool: p, next: p.Gateway.Next()})
	}
	return r
}

// Rebase returns a registry of pools (a new revision's) that keeps the
// leases, and the allocation point, of each pool whose name, type, subnet
// and gateway are unchanged: containers that keep running across a
// revision change keep their addresses. Static reservations are not
// carried over (the new revision's configs give them again).
func (r *Registry) Rebase(pools []Pool) *Registry {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := New(pools)
	for _, np := range out.pools {
		op := r.pool(np.Name)
		if op == nil || op.Type != np.Type || op.Subnet != np.Subnet || op.Gateway != np.Gateway {
			continue
		}
		np.next, np.leases = op.next, op.leases
		for _, l := range np.leases {
			l.Gateway = np.Gateway
		}
	}
	return out
}

// Pools returns the registry's pools in device.json order.
func (r *Registry) Pools() []Pool {
	out := make([]Pool, len(r.pools))
	for i, p := range r.pools {
		out[i] = p.Pool
	}
	return out
}

// Pool returns the pool named name.
func (r *Registry) Pool(name string) (Pool, bool) {
	if p := r.pool(name); p != nil {
		return p.Pool, true
	}
	return Pool{}, false
}

func (r *Registry) pool(name string) *pool {
	for _, p := range r.pools {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Leases returns a copy of the container's leases, pool by pool in
// device.json order.
func (r *Registry) Leases(container string) []Lease {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Lease
	for _, p := range r.pools {
		for _, l := range p.leases {
			if l.Container == container {
				out = append(out, *l)
			}
		}
	}
	return out
}

// Release drops every lease of the container (its teardown). Static
// reservations stay.
func (r *Registry) Release(container string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.pools {
		p.drop(func(l *Lease) bool { return l.Container == container })
	}
}

// drop removes the leases for which gone is true.
//
//go:noinline
func (p *pool) drop(gone func(*Lease) bool) {
	kept := p.leases[:0]
	for _, l := range p.leases {
		if !gone(l) {
			kept = append(kept, l)
		}
	}
	clear(p.leases[len(kept):])
	p.leases = kept
}

// ReserveStatic keeps ip from the allocator as upstream's
// pv_ipam_reserve_static: a reservation "pv:static:<source>" in the first
// pool whose subnet holds ip. An address already leased or reserved is
// left as it is (nil). Errors: ErrOutsideSubnet when no pool holds ip
// (upstream ignores that address: the container runs its own network),
// ErrAddrInUse when ip is a pool's gateway (upstream warns, not reserved).
func (r *Registry) ReserveStatic(ip ip4.Addr, source string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.pools {
		if !p.Subnet.Contains(ip) {
			continue
		}
		if ip == p.Gateway {
			return poolErr(p.Name, ErrAddrInUse, "%s (from %s) is the gateway: not reserved", ip, source)
		}
		if p.owner(ip) == "" {
			p.reserved = append(p.reserved, reservation{addr: ip, source: source})
		}
		return nil
	}
	return poolErr("", ErrOutsideSubnet, "%s (from %s) is in no pool's subnet", ip, source)
}
