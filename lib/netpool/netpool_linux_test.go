package netpool

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/ipam"
	"pantavisor/lib/lxcconf"
	"pantavisor/lib/nft"
	"pantavisor/lib/state"
)

// fakeFirewall records what Networks asks of the firewall.
type fakeFirewall struct{ calls []string }

func (f *fakeFirewall) Masquerade(subnet netip.Prefix, bridge string) error {
	f.calls = append(f.calls, "masquerade "+subnet.String()+" "+bridge)
	return nil
}

func (f *fakeFirewall) Forward(fw nft.Forward) error {
	f.calls = append(f.calls, "forward "+fw.String())
	return nil
}

func (f *fakeFirewall) Unforward(to netip.Addr) error {
	f.calls = append(f.calls, "unforward "+to.String())
	return nil
}

// TestPlanPorts: a container's forwards follow its run.json of the
// start: new ports replace the old ones, no ports drop them, Release
// drops them, and a container that never had any costs no firewall call.
func TestPlanPorts(t *testing.T) {
	fw := &fakeFirewall{}
	n := New(0, Bridge{}, fw)
	n.Forwarding = filepath.Join(t.TempDir(), "ip_forward") // never the machine's
	n.reg = ipam.New([]ipam.Pool{{Name: "web", Type: ipam.TypeBridge, Bridge: "pvbr0",
		Subnet: netip.MustParsePrefix("10.9.0.0/24"), Gateway: netip.MustParseAddr("10.9.0.1")}})
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
	step("forward fib daddr type local tcp dport 8080 dnat to 10.9.0.3:80")
	fwd, err := os.ReadFile(n.Forwarding)
	require.NoError(t, err)
	assert.Equal(t, "1\n", string(fwd), "forwarding on")
	plan("web", state.Port{Proto: "tcp", Port: 8081, To: 80}, state.Port{Proto: "udp", Port: 53, To: 53})
	step("unforward 10.9.0.3", "forward fib daddr type local tcp dport 8081 dnat to 10.9.0.3:80",
		"forward fib daddr type local udp dport 53 dnat to 10.9.0.3:53")
	plan("web")
	step("unforward 10.9.0.3")
	plan("web", state.Port{Proto: "tcp", Port: 8080, To: 80})
	step("forward fib daddr type local tcp dport 8080 dnat to 10.9.0.3:80")
	n.Release("web")
	step("unforward 10.9.0.3")
	assert.Empty(t, n.Leases("web"))
	assert.Len(t, n.Leases("plain"), 1, "the others keep theirs")
	n.Release("plain")
	step()
	assert.Empty(t, n.Leases("plain"))
}
