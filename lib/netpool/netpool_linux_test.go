package netpool

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/ip4"
	"pantavisor/lib/ipam"
	"pantavisor/lib/lxcconf"
	"pantavisor/lib/nft"
	"pantavisor/lib/state"
)

// fakeFirewall records what Networks asks of the firewall; fail, when
// set, is returned by the next call.
type fakeFirewall struct {
	calls []string
	fail  error
}

func (f *fakeFirewall) SetPools(masq []nft.Rule, iso []nft.Isolation) error {
	call := "pools"
	for _, r := range masq {
		call += "; " + r.String()
	}
	for _, i := range iso {
		call += "; " + i.String()
	}
	return f.record(call)
}

func (f *fakeFirewall) ReplaceForwards(old ip4.Addr, fs []nft.Forward) error {
	call := "replace " + old.String()
	for _, fw := range fs {
		call += "; " + fw.String()
	}
	return f.record(call)
}

func (f *fakeFirewall) Unforward(to ip4.Addr) error {
	return f.record("unforward " + to.String())
}

func (f *fakeFirewall) record(call string) error {
	f.calls = append(f.calls, call)
	err := f.fail
	f.fail = nil
	return err
}

// TestPlanPorts: a container's forwards follow its run.json of the
// start: new ports replace the old ones, no ports drop them, Release
// drops them, and a container that never had any costs no firewall call.
func TestPlanPorts(t *testing.T) {
	fw := &fakeFirewall{}
	n := New(0, Bridge{}, fw)
	n.Forwarding = filepath.Join(t.TempDir(), "ip_forward") // never the machine's
	n.reg = ipam.New([]ipam.Pool{{Name: "web", Type: ipam.TypeBridge, Bridge: "pvbr0",
		Subnet: ip4.MustParsePrefix("10.9.0.0/24"), Gateway: ip4.MustParseAddr("10.9.0.1")}})
	plan := func(name string, ports ...state.Port) {
		t.Helper()
		c := &state.Container{Name: name, Network: &state.Network{Mode: state.NetPool, Pool: "web", Ports: ports}}
		p, warns, err := n.Plan(c, &lxcconf.Config{})
		require.NoError(t, err)
		assert.Empty(t, warns)
		assert.True(t, p.Own)
	}
	step := func(want ...string) {
		t.Helper()
		assert.Equal(t, want, fw.calls)
		fw.calls = nil
	}

	plan("plain")
	step()
	plan("web", state.Port{Proto: "tcp", Port: 8080, To: 80})
	step("replace invalid IP; fib daddr type local tcp dport 8080 dnat to 10.9.0.3:80")
	fwd, err := os.ReadFile(n.Forwarding)
	require.NoError(t, err)
	assert.Equal(t, "1\n", string(fwd), "forwarding on")
	plan("web", state.Port{Proto: "tcp", Port: 8081, To: 80}, state.Port{Proto: "udp", Port: 53, To: 53})
	step("replace 10.9.0.3; fib daddr type local tcp dport 8081 dnat to 10.9.0.3:80; fib daddr type local udp dport 53 dnat to 10.9.0.3:53")
	plan("web")
	step("replace 10.9.0.3")
	plan("web", state.Port{Proto: "tcp", Port: 8080, To: 80})
	step("replace invalid IP; fib daddr type local tcp dport 8080 dnat to 10.9.0.3:80")
	n.Release("web")
	step("unforward 10.9.0.3")
	assert.Empty(t, n.Leases("web"))
	assert.Len(t, n.Leases("plain"), 1, "the others keep theirs")
	n.Release("plain")
	step()
	assert.Empty(t, n.Leases("plain"))
}

// TestSetRules: every SetPools gives the firewall, in one call, the
// whole pool part of the rules: a masquerade rule per NAT bridge pool
// and an isolation per bridge pool, none for macvlan pools or pools
// whose link failed. A pool dropped or turned to nat: false is simply
// left out, so the firewall (nft.NAT.SetPools) drops its rules. A device
// that never had pools costs no firewall call.
func TestSetRules(t *testing.T) {
	fw := &fakeFirewall{}
	n := New(0, Bridge{}, fw)
	n.Forwarding = filepath.Join(t.TempDir(), "ip_forward") // never the machine's
	pool := func(name, typ, ifname, subnet string, nat bool) ipam.Pool {
		p := ipam.Pool{Name: name, Type: typ, Subnet: ip4.MustParsePrefix(subnet), NAT: nat}
		p.Gateway = p.Subnet.Addr().Next()
		if typ == ipam.TypeMacvlan {
			p.Parent = ifname
		} else {
			p.Bridge = ifname
		}
		return p
	}
	web := pool("web", ipam.TypeBridge, "pvbr0", "10.9.0.0/24", true)
	lan := pool("lan", ipam.TypeBridge, "pvbr1", "10.8.0.0/24", false)
	mv := pool("mv", ipam.TypeMacvlan, "eth0", "192.168.1.0/24", true)
	dead := pool("dead", ipam.TypeBridge, "pvbr2", "10.7.0.0/24", true)
	step := func(pools []ipam.Pool, wantErr string, want ...string) {
		t.Helper()
		err := n.setRules(pools)
		if wantErr == "" {
			assert.NoError(t, err)
		} else {
			assert.EqualError(t, err, wantErr)
		}
		assert.Equal(t, want, fw.calls)
		fw.calls = nil
	}

	step(nil, "") // no pools, never had any: no call
	step([]ipam.Pool{mv}, "")
	_, err := os.Stat(n.Forwarding)
	assert.ErrorIs(t, err, os.ErrNotExist, "no forwarding without a NAT pool")

	n.broken["dead"] = errors.New("no bridge")
	step([]ipam.Pool{web, lan, mv, dead}, "", `pools; ip saddr 10.9.0.0/24 oifname != "pvbr0" masquerade; `+
		`iifname "pvbr0" ip daddr != 10.9.0.1 ct state ! established,related drop; `+
		`iifname "pvbr1" ip daddr != 10.8.0.1 ct state ! established,related drop`)
	fwd, err := os.ReadFile(n.Forwarding)
	require.NoError(t, err)
	assert.Equal(t, "1\n", string(fwd), "forwarding on for the NAT pool")

	web.NAT = false
	step([]ipam.Pool{web, lan}, "", `pools; iifname "pvbr0" ip daddr != 10.9.0.1 ct state ! established,related drop; `+
		`iifname "pvbr1" ip daddr != 10.8.0.1 ct state ! established,related drop`)
	fw.fail = errors.New("boom")
	step([]ipam.Pool{lan}, "network pools: no NAT and no isolation: boom",
		`pools; iifname "pvbr1" ip daddr != 10.8.0.1 ct state ! established,related drop`)
	step([]ipam.Pool{mv}, "", "pools") // the rules of the last pools go
	step([]ipam.Pool{mv}, "")          // and then nothing is left to drop
}

// TestSetPoolsMacvlanNAT: a macvlan pool asking for NAT gets a warning
// and no firewall call (its parent, lo, exists in any namespace).
func TestSetPoolsMacvlanNAT(t *testing.T) {
	fw := &fakeFirewall{}
	n := New(0, Bridge{}, fw)
	n.Forwarding = filepath.Join(t.TempDir(), "ip_forward")
	warns := n.SetPools([]ipam.Pool{{Name: "mv", Type: ipam.TypeMacvlan, Parent: "lo",
		Subnet: ip4.MustParsePrefix("192.168.1.0/24"), Gateway: ip4.MustParseAddr("192.168.1.1"), NAT: true}})
	assert.Equal(t, []string{"network pool mv: no NAT: a macvlan pool's traffic does not pass the device's routing"}, warns)
	assert.Empty(t, fw.calls)
}

// TestPlanPortsAllOrNothing: a container's forwards are replaced in one
// firewall call; when it fails (a port clash), the container keeps the
// forwards of its earlier start, and none of the new ones is made. With
// nft.NAT as the firewall, a second port that clashes with another
// container's leaves no first port behind.
func TestPlanPortsAllOrNothing(t *testing.T) {
	fw := &fakeFirewall{}
	n := New(0, Bridge{}, fw)
	n.Forwarding = filepath.Join(t.TempDir(), "ip_forward")
	n.reg = ipam.New([]ipam.Pool{{Name: "web", Type: ipam.TypeBridge, Bridge: "pvbr0",
		Subnet: ip4.MustParsePrefix("10.9.0.0/24"), Gateway: ip4.MustParseAddr("10.9.0.1")}})
	ctr := func(name string, ports ...state.Port) *state.Container {
		return &state.Container{Name: name, Network: &state.Network{Mode: state.NetPool, Pool: "web", Ports: ports}}
	}
	_, _, err := n.Plan(ctr("web", state.Port{Proto: "tcp", Port: 8080, To: 80}), &lxcconf.Config{})
	require.NoError(t, err)
	fw.calls, fw.fail = nil, errors.New("clash")
	_, _, err = n.Plan(ctr("web", state.Port{Proto: "tcp", Port: 8081, To: 80}, state.Port{Proto: "tcp", Port: 9000, To: 90}), &lxcconf.Config{})
	assert.EqualError(t, err, "network ports: clash")
	assert.Equal(t, []string{"replace 10.9.0.2; fib daddr type local tcp dport 8081 dnat to 10.9.0.2:80; " +
		"fib daddr type local tcp dport 9000 dnat to 10.9.0.2:90"}, fw.calls, "one call for all ports")
	fw.calls = nil
	n.Release("web")
	assert.Equal(t, []string{"unforward 10.9.0.2"}, fw.calls, "the earlier forwards are still the container's")

	nat := &nft.NAT{Apply: func(nft.Set) error { return nil }}
	n = New(0, Bridge{}, nat)
	n.Forwarding = filepath.Join(t.TempDir(), "ip_forward")
	n.reg = ipam.New([]ipam.Pool{{Name: "web", Type: ipam.TypeBridge, Bridge: "pvbr0",
		Subnet: ip4.MustParsePrefix("10.9.0.0/24"), Gateway: ip4.MustParseAddr("10.9.0.1")}})
	_, _, err = n.Plan(ctr("a", state.Port{Proto: "tcp", Port: 9000, To: 90}), &lxcconf.Config{})
	require.NoError(t, err)
	before := nat.Forwards()
	_, _, err = n.Plan(ctr("b", state.Port{Proto: "tcp", Port: 8080, To: 80}, state.Port{Proto: "tcp", Port: 9000, To: 90}), &lxcconf.Config{})
	assert.ErrorIs(t, err, nft.ErrInvalidRule)
	assert.Equal(t, before, nat.Forwards(), "b's port 8080 is not left behind")
	_, _, err = n.Plan(ctr("b", state.Port{Proto: "tcp", Port: 8080, To: 80}), &lxcconf.Config{})
	require.NoError(t, err)
	assert.Len(t, nat.Forwards(), 2)
	n.Release("b")
	assert.Equal(t, before, nat.Forwards())
}

// TestOwnsIsPlansOwn: Owns, which leases and links nothing, says what
// Plan's Own says for every kind of network a container may ask for.
func TestOwnsIsPlansOwn(t *testing.T) {
	n := New(0, Bridge{}, &fakeFirewall{})
	n.Forwarding = filepath.Join(t.TempDir(), "ip_forward")
	n.reg = ipam.New([]ipam.Pool{{Name: "web", Type: ipam.TypeBridge, Bridge: "pvbr0",
		Subnet: ip4.MustParsePrefix("10.9.0.0/24"), Gateway: ip4.MustParseAddr("10.9.0.1")}})
	pool := &state.Network{Mode: state.NetPool, Pool: "web"}
	for _, tc := range []struct {
		name string
		net  *state.Network
		devs []lxcconf.NetDev
		want bool
	}{
		{"no network", nil, nil, false},
		{"pool", pool, nil, true},
		{"lxc none", nil, []lxcconf.NetDev{{Type: "none"}}, false},
		{"lxc empty", nil, []lxcconf.NetDev{{Type: "empty"}}, true},
		{"lxc veth", nil, []lxcconf.NetDev{{Type: "veth", Link: "lxcbr1", Up: true}}, true},
		{"lxc macvlan", nil, []lxcconf.NetDev{{Type: "macvlan", Link: "eth0", Up: true}}, true},
		{"lxc none then veth", nil, []lxcconf.NetDev{{Type: "none"}, {Index: 1, Type: "veth", Link: "lxcbr1", Up: true}}, true},
	} {
		c := &state.Container{Name: "c", Network: tc.net}
		cfg := &lxcconf.Config{Net: tc.devs}
		p, _, err := n.Plan(c, cfg)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, p.Own, "%s: Plan's Own", tc.name)
		assert.Equal(t, tc.want, n.Owns(c, cfg), "%s: Owns", tc.name)
	}
}
