package rtnl

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"pantavisor/lib/ip4"
	"pantavisor/lib/testenv"
)

// dial opens a Conn in a network namespace of the test's own.
func dial(t *testing.T) (*Conn, netns.NsHandle) {
	t.Helper()
	h := testenv.NewNetns(t)
	c, err := DialNetns(Netns(h))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c, h
}

func TestEnsureBridgeIdempotent(t *testing.T) {
	c, _ := dial(t)
	gw := ip4.MustParsePrefix("10.213.0.1/24")
	var first Link
	for i := range 2 {
		br, err := c.EnsureBridge("pvbr0")
		require.NoError(t, err, "round %d", i)
		require.NoError(t, c.AddAddr(br, gw), "round %d", i)
		got, err := c.LinkByName("pvbr0")
		require.NoError(t, err)
		assert.Equal(t, "bridge", got.Kind)
		assert.True(t, got.Up())
		addrs, err := c.IPv4Addrs(got)
		require.NoError(t, err)
		assert.Equal(t, []ip4.Prefix{gw}, addrs, "round %d", i)
		if i == 0 {
			first = got
		}
		assert.Equal(t, first.Index, got.Index, "the same bridge")
	}
	_, err := c.EnsureBridge("lo")
	assert.ErrorIs(t, err, ErrNotBridge)
	assert.EqualError(t, err, `rtnl: bridge lo: not a bridge (kind "")`)
	_, err = c.EnsureBridge("a-name-longer-than-15")
	assert.ErrorIs(t, err, syscall.ERANGE)
	assert.ErrorContains(t, err, "rtnl: looking up link a-name-longer-than-15: ")
}

func TestLinkErrors(t *testing.T) {
	c, _ := dial(t)
	_, err := c.LinkByName("nosuch0")
	assert.ErrorIs(t, err, unix.ENODEV)
	assert.ErrorContains(t, err, "rtnl: looking up link nosuch0: no such device")
	require.NoError(t, c.create("creating bridge pvbr1", func(w *builder) {
		w.str(unix.IFLA_IFNAME, "pvbr1")
		linkInfo(w, "bridge", nil)
	}))
	err = c.create("creating bridge pvbr1", func(w *builder) {
		w.str(unix.IFLA_IFNAME, "pvbr1")
		linkInfo(w, "bridge", nil)
	})
	var e *Error
	require.True(t, errors.As(err, &e))
	assert.ErrorIs(t, err, syscall.EEXIST)
	assert.True(t, strings.HasPrefix(err.Error(), "rtnl: creating bridge pvbr1: file exists"), err.Error())
	err = c.AddDefaultRoute(ip4.MustParseAddr("10.1.2.3"))
	assert.ErrorIs(t, err, unix.ENETUNREACH, "no link reaches the gateway")
	assert.ErrorContains(t, err, "rtnl: adding a default route via 10.1.2.3: network is unreachable")
}

// TestVethIntoNetns: a pair from a "host" namespace with the peer created
// directly in a "container" namespace, configured there as the stage
// does, then removed with its host end.
func TestVethIntoNetns(t *testing.T) {
	host, _ := dial(t)
	ctr, ctrNS := dial(t)

	br, err := host.EnsureBridge("pvbr0")
	require.NoError(t, err)
	require.NoError(t, host.AddAddr(br, ip4.MustParsePrefix("10.213.0.1/24")))
	require.NoError(t, host.AddVeth("pvh0", "tmp0", int(ctrNS)))
	err = host.AddVeth("pvh0", "tmp1", int(ctrNS))
	assert.ErrorIs(t, err, unix.EEXIST)
	assert.ErrorContains(t, err, "rtnl: creating veth pvh0 (peer tmp1): file exists")

	_, err = host.LinkByName("tmp0")
	assert.ErrorIs(t, err, unix.ENODEV, "the peer is not in the host namespace")
	h, err := host.LinkByName("pvh0")
	require.NoError(t, err)
	assert.Equal(t, "veth", h.Kind)
	require.NoError(t, host.SetMaster(h, br))
	require.NoError(t, host.SetUp(h))
	h, err = host.LinkByName("pvh0")
	require.NoError(t, err)
	assert.Equal(t, br.Index, h.Master)

	// The container side, as the stage configures it.
	p, err := ctr.LinkByName("tmp0")
	require.NoError(t, err)
	assert.Equal(t, "veth", p.Kind)
	require.NoError(t, ctr.Rename(p, "eth0"))
	mac := []byte{2, 0, 10, 213, 0, 2}
	p.Name = "eth0"
	require.NoError(t, ctr.SetHWAddr(p, mac))
	require.NoError(t, ctr.AddAddr(p, ip4.MustParsePrefix("10.213.0.2/24")))
	require.NoError(t, ctr.SetUp(p))
	require.NoError(t, ctr.AddDefaultRoute(ip4.MustParseAddr("10.213.0.1")))
	require.NoError(t, ctr.AddDefaultRoute(ip4.MustParseAddr("10.213.0.1")), "again: replaced")

	p, err = ctr.LinkByName("eth0")
	require.NoError(t, err)
	assert.Equal(t, mac, p.MAC)
	assert.True(t, p.Up())
	addrs, err := ctr.IPv4Addrs(p)
	require.NoError(t, err)
	assert.Equal(t, []ip4.Prefix{ip4.MustParsePrefix("10.213.0.2/24")}, addrs)
	testenv.InNetns(t, ctrNS, func() {
		route, err := os.ReadFile("/proc/thread-self/net/route")
		require.NoError(t, err)
		// default route: destination 0, gateway 10.213.0.1 (little-endian hex), on eth0
		assert.Regexp(t, `(?m)^eth0\s+00000000\s+0100D50A\s`, string(route))
	})
	links, err := host.Links()
	require.NoError(t, err)
	var names []string
	for _, l := range links {
		names = append(names, l.Name)
	}
	assert.ElementsMatch(t, []string{"lo", "pvbr0", "pvh0"}, names)

	require.NoError(t, host.DelLink(h))
	_, err = ctr.LinkByName("eth0")
	assert.ErrorIs(t, err, unix.ENODEV, "deleting the host end removes the peer")
}

func TestMacvlanIntoNetns(t *testing.T) {
	host, _ := dial(t)
	ctr, ctrNS := dial(t)
	// The parent: one end of a pair kept in the host namespace (a
	// negative fd), as dummy devices may be missing from the kernel.
	require.NoError(t, host.AddVeth("up0", "up1", -1))
	_, err := host.LinkByName("up1")
	require.NoError(t, err, "both ends in the host namespace")
	parent, err := host.LinkByName("up0")
	require.NoError(t, err)
	require.NoError(t, host.AddMacvlan("mv0", parent, int(ctrNS)))
	_, err = host.LinkByName("mv0")
	assert.ErrorIs(t, err, unix.ENODEV)
	l, err := ctr.LinkByName("mv0")
	require.NoError(t, err)
	assert.Equal(t, "macvlan", l.Kind)
	require.NoError(t, ctr.AddAddr(l, ip4.MustParsePrefix("192.168.77.5/24")))
	addrs, err := ctr.IPv4Addrs(l)
	require.NoError(t, err)
	assert.Equal(t, []ip4.Prefix{ip4.MustParsePrefix("192.168.77.5/24")}, addrs)
}

// sleeper starts a process in a new network namespace, killed when t ends.
func sleeper(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNET}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd.Process.Pid
}

func TestVethAttach(t *testing.T) {
	host, hostNS := dial(t)
	pid := sleeper(t)
	name := HostName("c1", 0)
	v := Veth{Bridge: "pvbr0", HostName: name, PeerName: "eth0", Netns: Netns(hostNS)}
	err := v.Attach(pid)
	assert.ErrorIs(t, err, unix.ENODEV, "no bridge yet")
	assert.ErrorContains(t, err, "rtnl: looking up link pvbr0: no such device")
	br, err := host.EnsureBridge("pvbr0")
	require.NoError(t, err)
	require.NoError(t, v.Attach(pid))
	h, err := host.LinkByName(name)
	require.NoError(t, err)
	assert.Equal(t, br.Index, h.Master)
	assert.True(t, h.Up())

	ctrNS, err := netns.GetFromPid(pid)
	require.NoError(t, err)
	defer ctrNS.Close()
	ctr, err := DialNetns(Netns(ctrNS))
	require.NoError(t, err)
	defer ctr.Close()
	p, err := ctr.LinkByName("eth0")
	require.NoError(t, err)
	assert.Equal(t, "veth", p.Kind)
	assert.False(t, p.Up(), "the stage brings its end up")

	err = Veth{Bridge: "pvbr0", HostName: "pvother", PeerName: "eth0", Netns: Netns(hostNS)}.Attach(pid)
	assert.ErrorIs(t, err, unix.EEXIST, "eth0 exists in the container")
	_, err = host.LinkByName("pvother")
	assert.ErrorIs(t, err, unix.ENODEV, "nothing left behind")
}

func TestMacvlanAttach(t *testing.T) {
	host, hostNS := dial(t)
	pid := sleeper(t)
	m := Macvlan{Parent: "up0", PeerName: "eth1", Netns: Netns(hostNS)}
	assert.ErrorContains(t, m.Attach(pid), "rtnl: looking up link up0: no such device")
	require.NoError(t, host.AddVeth("up0", "up1", -1))
	require.NoError(t, m.Attach(pid))
	ctrNS, err := netns.GetFromPid(pid)
	require.NoError(t, err)
	defer ctrNS.Close()
	ctr, err := DialNetns(Netns(ctrNS))
	require.NoError(t, err)
	defer ctr.Close()
	l, err := ctr.LinkByName("eth1")
	require.NoError(t, err)
	assert.Equal(t, "macvlan", l.Kind)
}
