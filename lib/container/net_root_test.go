package container

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"pantavisor/lib/ip4"
	"pantavisor/lib/rtnl"
	"pantavisor/lib/testenv"
)

// hostNet is a stand-in for the device's network namespace, made by the
// test, with the bridge pvbr0 at 10.213.0.1/24.
func hostNet(t *testing.T) (netns.NsHandle, *rtnl.Conn) {
	t.Helper()
	h := testenv.NewNetns(t)
	c, err := rtnl.DialNetns(rtnl.Netns(h))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	br, err := c.EnsureBridge("pvbr0")
	require.NoError(t, err)
	require.NoError(t, c.AddAddr(br, ip4.MustParsePrefix("10.213.0.1/24")))
	return h, c
}

// veths lists the veth links of a namespace.
func veths(t *testing.T, c *rtnl.Conn) []string {
	t.Helper()
	links, err := c.Links()
	require.NoError(t, err)
	var out []string
	for _, l := range links {
		if l.Kind == "veth" {
			out = append(out, l.Name)
		}
	}
	return out
}

// TestContainerVeth: a container on a bridge gets eth0 with its address,
// MAC and default route, reaches the gateway, and leaves no veth behind.
func TestContainerVeth(t *testing.T) {
	lower := mountImage(t, busyboxImage(t))
	hostNS, host := hostNet(t)
	spec := testSpec(t, lower, "/bin/sh", "-c", `cat /proc/net/route; busybox ip addr show eth0; `+
		`busybox ip link show lo; busybox ping -c1 -W5 10.213.0.1 >/dev/null && echo pinged`)
	spec.Caps = []int{unix.CAP_NET_RAW} // busybox ping's raw socket
	spec.Net = []NetIface{{TempName: "pvtmp0", Name: "eth0", MAC: "02:00:0a:d5:00:02", Addr: "10.213.0.2/24", Gateway: "10.213.0.1"}}
	var console bytes.Buffer
	opts := testOptions(&console)
	hostName := rtnl.HostName(spec.Name, 0)
	opts.Network = rtnl.Veth{Bridge: "pvbr0", HostName: hostName, PeerName: "pvtmp0", Netns: rtnl.Netns(hostNS)}
	p, err := Start(spec, opts)
	require.NoError(t, err)
	code := p.Wait()
	out := strings.ReplaceAll(console.String(), "\r\n", "\n")
	require.Equal(t, 0, code, out)
	assert.Regexp(t, `(?m)^eth0\s+00000000\s+0100D50A\s`, out, "default route via 10.213.0.1")
	assert.Contains(t, out, "inet 10.213.0.2/24 ")
	assert.Contains(t, out, "link/ether 02:00:0a:d5:00:02 ")
	assert.Regexp(t, `lo: <LOOPBACK,UP,LOWER_UP>`, out)
	assert.Contains(t, out, "pinged\n", "the gateway on the host's bridge answers")
	assert.NotContains(t, out, "pvtmp0", "renamed")

	// The pair goes with the container's namespace, which the kernel
	// tears down asynchronously.
	deadline := time.Now().Add(10 * time.Second)
	for len(veths(t, host)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	assert.Empty(t, veths(t, host), "no veth left in the host namespace")
}

func TestContainerNetworkErrors(t *testing.T) {
	lower := mountImage(t, busyboxImage(t))
	hostNS, host := hostNet(t)
	opts := testOptions(&bytes.Buffer{})
	opts.Network = rtnl.Veth{Bridge: "nobr0", HostName: "pvx0", PeerName: "eth0", Netns: rtnl.Netns(hostNS)}
	_, err := Start(testSpec(t, lower, "/bin/true"), opts)
	assert.ErrorIs(t, err, unix.ENODEV)
	assert.EqualError(t, err, "starting c1: attaching the network: rtnl: looking up link nobr0: no such device")

	opts.Cloneflags &^= unix.CLONE_NEWNET
	_, err = Start(testSpec(t, lower, "/bin/true"), opts)
	assert.ErrorIs(t, err, errNetworkNeedsNetns)

	spec := testSpec(t, lower, "/bin/true")
	spec.Net = []NetIface{{TempName: "eth0", Addr: "10.213.0.3/24", Gateway: "10.9.9.9"}}
	opts = testOptions(&bytes.Buffer{})
	opts.Network = rtnl.Veth{Bridge: "pvbr0", HostName: "pvx1", PeerName: "eth0", Netns: rtnl.Netns(hostNS)}
	_, err = Start(spec, opts)
	assert.ErrorContains(t, err, "c1: configuring the network: rtnl: adding a default route via 10.9.9.9: network is unreachable")
	deadline := time.Now().Add(10 * time.Second)
	for len(veths(t, host)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	assert.Empty(t, veths(t, host), "a failed start leaves no veth")
}
