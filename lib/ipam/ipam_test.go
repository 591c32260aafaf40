package ipam

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/ip4"
	"pantavisor/lib/lxcconf"
	"pantavisor/lib/state"
)

func testPools(t testing.TB) []Pool {
	t.Helper()
	pools, err := ParsePools(parse(t, `{"pools":{
		"internal":{"bridge":"pvbr0","subnet":"10.0.5.0/24","gateway":"10.0.5.1","nat":true},
		"tiny":{"bridge":"pvbr1","subnet":"10.0.9.0/30","gateway":"10.0.9.1"},
		"high":{"bridge":"pvbr2","subnet":"10.0.7.0/29","gateway":"10.0.7.5"}}}`))
	require.NoError(t, err)
	return pools
}

func addrs(ls []Lease) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Addr.String())
	}
	return out
}

func TestAllocateDynamic(t *testing.T) {
	r := New(testPools(t))
	ls, err := r.Allocate("web", []Request{{Pool: "internal"}})
	require.NoError(t, err)
	assert.Equal(t, []Lease{{Pool: "internal", Container: "web", Iface: "eth0", Addr: ip4.MustParsePrefix("10.0.5.2/24"),
		Gateway: ip4.MustParseAddr("10.0.5.1"), MAC: "02:00:0a:00:05:02"}}, ls)
	ls, err = r.Allocate("db", []Request{{Pool: "internal"}, {Name: "lab", Pool: "internal", MAC: "06:AA:00:00:00:01"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.5.3/24", "10.0.5.4/24"}, addrs(ls))
	assert.Equal(t, "02:00:0a:00:05:03", ls[0].MAC)
	assert.Equal(t, "06:aa:00:00:00:01", ls[1].MAC, "a static MAC, canonical")
	assert.Equal(t, "lab", ls[1].Iface)
	assert.Equal(t, ls, r.Leases("db"))
	assert.Empty(t, r.Leases("nobody"))
}

// TestAllocateOrder: upstream's next_ip: after the gateway, onwards from
// the last allocation; then (our change) wrapping to the first host
// address, which upstream never reaches.
func TestAllocateOrder(t *testing.T) {
	r := New(testPools(t)) // high: 10.0.7.0/29, gateway .5, hosts .1-.6
	var got []string
	for _, c := range []string{"a", "b", "c", "d", "e"} {
		ls, err := r.Allocate(c, []Request{{Pool: "high"}})
		require.NoError(t, err, c)
		got = append(got, ls[0].Addr.Addr().String())
	}
	assert.Equal(t, []string{"10.0.7.6", "10.0.7.1", "10.0.7.2", "10.0.7.3", "10.0.7.4"}, got)
	_, err := r.Allocate("f", []Request{{Pool: "high"}})
	assert.ErrorIs(t, err, ErrExhausted)

	r.Release("b")
	ls, err := r.Allocate("f", []Request{{Pool: "high"}})
	require.NoError(t, err)
	assert.Equal(t, "10.0.7.1/29", ls[0].Addr.String(), "a released address is used again")
}

func TestExhaustionSlash30(t *testing.T) {
	r := New(testPools(t)) // tiny: 10.0.9.0/30, gateway .1: one address, .2
	ls, err := r.Allocate("a", []Request{{Pool: "tiny"}})
	require.NoError(t, err)
	assert.Equal(t, "10.0.9.2/30", ls[0].Addr.String())
	_, err = r.Allocate("b", []Request{{Pool: "tiny"}})
	require.ErrorIs(t, err, ErrExhausted)
	assert.EqualError(t, err, `ipam: pool "tiny": no free address in 10.0.9.0/30`)
	var ie *Error
	require.True(t, errors.As(err, &ie))
	assert.Equal(t, "tiny", ie.Pool)
	assert.Empty(t, r.Leases("b"))
}

// TestLeaseReuse: a container allocating again (stop/start,
// auto-recovery) gets the same leases, even after others allocated.
func TestLeaseReuse(t *testing.T) {
	r := New(testPools(t))
	reqs := []Request{{Pool: "internal"}, {Name: "eth1", Pool: "internal", Addr: "10.0.5.50"}}
	first, err := r.Allocate("web", reqs)
	require.NoError(t, err)
	_, err = r.Allocate("db", []Request{{Pool: "internal"}})
	require.NoError(t, err)
	again, err := r.Allocate("web", reqs)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	assert.Equal(t, []string{"10.0.5.2/24", "10.0.5.50/24"}, addrs(again))
	assert.Len(t, r.Leases("web"), 2)

	// Asking for fewer interfaces drops the others; another static
	// address replaces the old one.
	ls, err := r.Allocate("web", []Request{{Name: "eth1", Pool: "internal", Addr: "10.0.5.60/24"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.5.60/24"}, addrs(ls))
	assert.Equal(t, ls, r.Leases("web"))
	ls, err = r.Allocate("x", []Request{{Pool: "internal", Addr: "10.0.5.50"}})
	require.NoError(t, err, "the replaced static address is free")
	assert.Equal(t, "02:00:0a:00:05:32", ls[0].MAC)
}

func TestRelease(t *testing.T) {
	r := New(testPools(t))
	_, err := r.Allocate("web", []Request{{Pool: "internal"}, {Name: "eth1", Pool: "tiny"}})
	require.NoError(t, err)
	r.Release("web")
	r.Release("web") // twice is fine
	assert.Empty(t, r.Leases("web"))
	ls, err := r.Allocate("db", []Request{{Pool: "tiny"}})
	require.NoError(t, err, "the tiny pool's only address is free again")
	assert.Equal(t, "10.0.9.2/30", ls[0].Addr.String())
}

// TestAllocateErrors: each refusal, its sentinel and message; a failed
// Allocate leaves no new lease and keeps the container's earlier ones.
func TestAllocateErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		reqs []Request
		is   error
		msg  string
	}{
		{"unknown pool", []Request{{Pool: "nope"}}, ErrUnknownPool, `ipam: pool "nope": not in device.json network.pools`},
		{"no pool", []Request{{}}, ErrUnknownPool, `ipam: interface eth0 names no pool`},
		{"outside", []Request{{Pool: "internal", Addr: "10.0.6.7"}}, ErrOutsideSubnet, `ipam: pool "internal": 10.0.6.7 is outside 10.0.5.0/24`},
		{"other prefix", []Request{{Pool: "internal", Addr: "10.0.5.7/16"}}, ErrOutsideSubnet, `ipam: pool "internal": 10.0.5.7/16: the prefix length differs from 10.0.5.0/24`},
		{"network address", []Request{{Pool: "internal", Addr: "10.0.5.0"}}, ErrOutsideSubnet, `ipam: pool "internal": 10.0.5.0 is the network address of 10.0.5.0/24`},
		{"broadcast", []Request{{Pool: "internal", Addr: "10.0.5.255/24"}}, ErrOutsideSubnet, `ipam: pool "internal": 10.0.5.255 is the broadcast address of 10.0.5.0/24`},
		{"gateway", []Request{{Pool: "internal", Addr: "10.0.5.1"}}, ErrAddrInUse, `ipam: pool "internal": 10.0.5.1 is in use by the gateway`},
		{"other container", []Request{{Pool: "internal", Addr: "10.0.5.2"}}, ErrAddrInUse, `ipam: pool "internal": 10.0.5.2 is in use by container "web"`},
		{"static reservation", []Request{{Pool: "internal", Addr: "10.0.5.3"}}, ErrAddrInUse, `ipam: pool "internal": 10.0.5.3 is in use by pv:static:legacy`},
		{"same address twice", []Request{{Pool: "internal", Addr: "10.0.5.9"}, {Name: "eth1", Pool: "internal", Addr: "10.0.5.9"}}, ErrAddrInUse,
			`ipam: pool "internal": 10.0.5.9 is in use by container "c"`},
		{"second exhausts", []Request{{Pool: "internal"}, {Name: "eth1", Pool: "tiny"}}, ErrExhausted, `ipam: pool "tiny": no free address in 10.0.9.0/30`},
		{"bad address", []Request{{Pool: "internal", Addr: "10.0.5"}}, ErrInvalid, `ipam: pool "internal": interface eth0: static address: want an IPv4 address or CIDR, got "10.0.5"`},
		{"bad mac", []Request{{Pool: "internal", MAC: "01:00:00:00:00:00"}}, ErrInvalid, `ipam: pool "internal": interface eth0: static MAC: want a unicast MAC`},
		{"bad iface", []Request{{Name: "a:b", Pool: "internal"}}, ErrInvalid, `ipam: pool "internal": invalid interface name "a:b"`},
		{"iface twice", []Request{{Pool: "internal"}, {Name: "eth0", Pool: "tiny"}}, ErrInvalid, `ipam: pool "tiny": interface "eth0" asked twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := New(testPools(t))
			_, err := r.Allocate("web", []Request{{Pool: "internal"}}) // 10.0.5.2
			require.NoError(t, err)
			require.NoError(t, r.ReserveStatic(ip4.MustParseAddr("10.0.5.3"), "legacy"))
			_, err = r.Allocate("other", []Request{{Pool: "tiny"}}) // tiny is full
			require.NoError(t, err)
			before, err := r.Allocate("c", []Request{{Name: "old", Pool: "internal"}})
			require.NoError(t, err)

			_, err = r.Allocate("c", tc.reqs)
			require.ErrorIs(t, err, tc.is)
			assert.True(t, strings.HasPrefix(err.Error(), tc.msg), "%v", err)
			assert.Equal(t, before, r.Leases("c"), "earlier leases kept, none added")
		})
	}
	_, err := New(nil).Allocate("", nil)
	assert.ErrorIs(t, err, ErrInvalid)
}

// TestReserveStatic: upstream's pv_ipam_reserve_static rules.
func TestReserveStatic(t *testing.T) {
	r := New(testPools(t))
	ip := ip4.MustParseAddr
	require.NoError(t, r.ReserveStatic(ip("10.0.5.2"), "legacy"))
	require.NoError(t, r.ReserveStatic(ip("10.0.5.2"), "other"), "a duplicate is skipped")
	err := r.ReserveStatic(ip("10.0.3.5"), "lxcbr")
	assert.ErrorIs(t, err, ErrOutsideSubnet)
	assert.EqualError(t, err, "ipam: 10.0.3.5 (from lxcbr) is in no pool's subnet")
	err = r.ReserveStatic(ip("10.0.5.1"), "legacy")
	assert.ErrorIs(t, err, ErrAddrInUse)
	assert.EqualError(t, err, `ipam: pool "internal": 10.0.5.1 (from legacy) is the gateway: not reserved`)

	ls, err := r.Allocate("web", []Request{{Pool: "internal"}})
	require.NoError(t, err)
	assert.Equal(t, "10.0.5.3/24", ls[0].Addr.String(), "the reserved address is skipped")
	_, err = r.Allocate("x", []Request{{Pool: "internal", Addr: "10.0.5.2"}})
	assert.EqualError(t, err, `ipam: pool "internal": 10.0.5.2 is in use by pv:static:legacy`)
	r.Release("legacy")
	r.Release("pv:static:legacy")
	_, err = r.Allocate("x", []Request{{Pool: "internal", Addr: "10.0.5.2"}})
	assert.ErrorIs(t, err, ErrAddrInUse, "Release never drops a static reservation")

	// An address a container already leased is left to it.
	require.NoError(t, r.ReserveStatic(ip("10.0.5.3"), "late"))
	assert.Equal(t, ls, r.Leases("web"))
}

func TestRequests(t *testing.T) {
	assert.Nil(t, Requests(nil))
	assert.Nil(t, Requests(&state.Network{Mode: state.NetHost}))
	assert.Equal(t, []Request{{Name: "eth0", Pool: "p", Addr: "10.0.5.7", MAC: "02:00:00:00:00:07"}},
		Requests(&state.Network{Mode: state.NetPool, Pool: "p", IP: "10.0.5.7", MAC: "02:00:00:00:00:07"}))
	assert.Equal(t, []Request{{Name: "eth0", Pool: "p"}, {Name: "lan", Pool: "q", Addr: "10.0.6.2/24"}},
		Requests(&state.Network{Mode: state.NetPool, Pool: "p",
			Interfaces: []state.Interface{{}, {Name: "lan", Pool: "q", IPv4Address: "10.0.6.2/24"}}}))
}

func TestPoolsAccessors(t *testing.T) {
	r := New(testPools(t))
	assert.Equal(t, testPools(t), r.Pools())
	p, ok := r.Pool("tiny")
	assert.True(t, ok)
	assert.Equal(t, "pvbr1", p.Bridge)
	_, ok = r.Pool("nope")
	assert.False(t, ok)
}

func lxc(t *testing.T, text string) *lxcconf.Config {
	t.Helper()
	cfg, _, err := lxcconf.Parse(strings.NewReader(text), "lxc.container.conf")
	require.NoError(t, err)
	return cfg
}

func TestCheckLXCNet(t *testing.T) {
	for _, tc := range []struct {
		name, conf string
		refused    bool
	}{
		{"none", "lxc.uts.name = a\nlxc.namespace.keep = user net ipc\n", false},
		{"veth", "lxc.net.0.type = veth\nlxc.net.0.link = lxcbr0\n", true},
		{"type none", "lxc.net.0.type = none\n", true},
		{"second only", "lxc.net.1.type = veth\n", true},
		{"legacy", "lxc.network.type = veth\n", true},
		{"cleared", "lxc.net.0.type = veth\nlxc.net =\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckLXCNet(lxc(t, tc.conf))
			if !tc.refused {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrLXCNet)
		})
	}
	assert.EqualError(t, CheckLXCNet(lxc(t, "lxc.net.2.type = veth\n")),
		"ipam: lxc.net.2.* is set: a container on a pool must not set lxc.net.* in its LXC config (remove the lxc.net keys or the pool)")
}

func TestStaticAddrs(t *testing.T) {
	cfg := lxc(t, "lxc.net.0.type = veth\nlxc.net.0.ipv4.address = 10.0.3.5/24 10.0.3.255\n"+
		"lxc.net.0.ipv4.address = 10.0.5.9\nlxc.net.1.type = veth\nlxc.net.1.ipv4.address = auto\n"+
		"lxc.net.2.type = veth\nlxc.net.2.ipv4.address = dhcp\nlxc.net.2.ipv6.address = fd00::2/64\n")
	assert.Equal(t, []ip4.Addr{ip4.MustParseAddr("10.0.3.5"), ip4.MustParseAddr("10.0.5.9")}, StaticAddrs(cfg))
	assert.Empty(t, StaticAddrs(lxc(t, "")))
}

func TestRebase(t *testing.T) {
	a := Pool{Name: "a", Type: TypeBridge, Bridge: "pvbr0", Subnet: ip4.MustParsePrefix("10.0.5.0/24"), Gateway: ip4.MustParseAddr("10.0.5.1")}
	b := Pool{Name: "b", Type: TypeBridge, Bridge: "pvbr1", Subnet: ip4.MustParsePrefix("10.0.6.0/24"), Gateway: ip4.MustParseAddr("10.0.6.1")}
	r := New([]Pool{a, b})
	_, err := r.Allocate("web", []Request{{Pool: "a"}})
	require.NoError(t, err)
	_, err = r.Allocate("db", []Request{{Pool: "b"}})
	require.NoError(t, err)

	moved := b
	moved.Subnet, moved.Gateway = ip4.MustParsePrefix("10.0.7.0/24"), ip4.MustParseAddr("10.0.7.1")
	n := r.Rebase([]Pool{a, moved})
	// a is unchanged: web keeps its lease, and the next container does not get it.
	require.Len(t, n.Leases("web"), 1)
	assert.Equal(t, "10.0.5.2/24", n.Leases("web")[0].Addr.String())
	l, err := n.Allocate("api", []Request{{Pool: "a"}})
	require.NoError(t, err)
	assert.Equal(t, "10.0.5.3/24", l[0].Addr.String())
	// b changed its subnet: db's lease is gone, and a new one is in the new subnet.
	assert.Empty(t, n.Leases("db"))
	l, err = n.Allocate("db", []Request{{Pool: "b"}})
	require.NoError(t, err)
	assert.Equal(t, "10.0.7.2/24", l[0].Addr.String())
	// A pool that left the revision takes its leases with it.
	assert.Empty(t, n.Rebase(nil).Leases("web"))
}
