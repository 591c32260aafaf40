package launch

import (
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netns"

	"pantavisor/lib/ip4"
	"pantavisor/lib/ipam"
	"pantavisor/lib/netpool"
	"pantavisor/lib/rtnl"
	"pantavisor/lib/testenv"
)

// TestPoolBridgeTwoContainers: two containers on a bridge pool get .2
// and .3 with the MACs 02:00:<octets>, reach each other and the gateway,
// have only the pool's subnet and the default route via the gateway, and
// do not reach a peer beyond another interface of the host (no NAT, no
// forwarding), nor the host's own address on that interface (the pool's
// isolation: neither a ping nor a listener of the host answers there,
// while the same listener answers at the gateway address); nothing is
// left after they stop.
func TestPoolBridgeTwoContainers(t *testing.T) {
	nf := newNetFixture(t, netpool.Bridge{})
	nf.outside(t, "pvout0", "192.0.2.1/30", "192.0.2.2/30")
	sysctl(t, nf.host, "net/ipv4/ip_forward", "0") // a new namespace may inherit the machine's 1
	warns := nf.setPools(t, `{"pools":{"internal":{"type":"bridge","bridge":"pvbr71","subnet":"10.71.0.0/24","gateway":"10.71.0.1"}}}`)
	require.Empty(t, warns)
	br, err := nf.rt.LinkByName("pvbr71")
	require.NoError(t, err, "SetPools creates the pool's bridge")
	addrs, err := nf.rt.IPv4Addrs(br)
	require.NoError(t, err)
	assert.Equal(t, []ip4.Prefix{ip4.MustParsePrefix("10.71.0.1/24")}, addrs, "with the gateway address")
	serveAddr(t, nf.host, "0.0.0.0:9071") // the host's service on all its addresses

	script := func(peer string) string {
		return showNet + ping(peer, "pinged-peer") + ping("10.71.0.1", "pinged-gateway") +
			"busybox ping -c1 -W2 192.0.2.2 >/dev/null 2>&1 || echo outside-unreachable\n" +
			"busybox ping -c1 -W2 192.0.2.1 >/dev/null 2>&1 || echo host-address-unpingable\n" +
			"busybox nc -w 2 10.71.0.1 9071 </dev/null; echo\n" +
			"busybox nc -w 2 192.0.2.1 9071 </dev/null; echo\n" + forever
	}
	pool := `{"mode":"pool","pool":"internal"}`
	nf.install(t, "0", netCtr{name: "c1", script: script("10.71.0.3"), network: pool},
		netCtr{name: "c2", script: script("10.71.0.2"), network: pool})
	before := testenv.TakeResources(t, nf.dir, nf.parent, nf.host)
	assert.Equal(t, []string{"lo", "pvbr71", "pvout0"}, before.Links)
	a, err := nf.start(t, "0", "c1")
	require.NoError(t, err)
	b, err := nf.start(t, "0", "c2")
	require.NoError(t, err)
	running := testenv.TakeResources(t, nf.dir, nf.parent, nf.host)
	assert.ElementsMatch(t, append(before.Links, rtnl.HostName("c1", 0), rtnl.HostName("c2", 0)), running.Links,
		"the leak check sees one host end per container")
	outA, outB := a.waitFor(t, "done"), b.waitFor(t, "done")

	for _, c := range []struct{ out, addr, mac string }{{outA, "10.71.0.2", "02:00:0a:47:00:02"}, {outB, "10.71.0.3", "02:00:0a:47:00:03"}} {
		assert.Contains(t, c.out, "inet "+c.addr+"/24 ", c.out)
		assert.Contains(t, c.out, "link/ether "+c.mac+" ", "upstream's MAC rule")
		assert.Contains(t, c.out, "pinged-peer\n", "the containers reach each other over the bridge")
		assert.Contains(t, c.out, "pinged-gateway\n", "and the gateway")
		assert.Contains(t, c.out, "outside-unreachable\n", "but not beyond the host without NAT")
		assert.Contains(t, c.out, "host-address-unpingable\n", "nor the host's address on another interface")
		assert.Contains(t, c.out, "served at 10.71.0.1\n", "the host's listener answers at the gateway")
		assert.NotContains(t, c.out, "served at 192.0.2.1", "but not at the host's other address")
		assert.ElementsMatch(t, []string{"eth0 00000000 0100470A 00000000", "eth0 0000470A 00000000 00FFFFFF"},
			routes(c.out), "the pool's subnet and the default route via the gateway only")
	}
	assert.Equal(t, "10.71.0.2/24", nf.nets.Leases("c1")[0].Addr.String())

	a.stop(t)
	b.stop(t)
	assert.Equal(t, before, testenv.WaitResources(t, before, nf.dir, nf.parent, nf.host),
		"nothing leaked: the containers' pairs are gone")
}

// TestPoolFixedAddressAndRestart: a fixed ip gets exactly that address
// and its MAC; a container keeps its allocated address across a stop and
// a start while another container took the next one; Release frees it.
func TestPoolFixedAddressAndRestart(t *testing.T) {
	nf := newNetFixture(t, netpool.Bridge{})
	require.Empty(t, nf.setPools(t, `{"pools":{"internal":{"bridge":"pvbr72","subnet":"10.72.0.0/24","gateway":"10.72.0.1"}}}`))
	nf.install(t, "0",
		netCtr{name: "fixed", script: showNet + forever, network: `{"mode":"pool","pool":"internal","ip":"10.72.0.9"}`},
		netCtr{name: "dyn", script: "busybox hostname\n" + showNet + forever, network: `{"pool":"internal","hostname":"dynhost"}`},
		netCtr{name: "other", script: showNet + forever, network: `{"pool":"internal"}`})
	for i := 0; i < 2; i++ { // start, stop, start again
		r, err := nf.start(t, "0", "fixed")
		require.NoError(t, err)
		out := r.waitFor(t, "done")
		assert.Contains(t, out, "inet 10.72.0.9/24 ", "run #%d:\n%s", i+1, out)
		assert.Contains(t, out, "link/ether 02:00:0a:48:00:09 ", "run #%d", i+1)
		r.stop(t)
	}

	r, err := nf.start(t, "0", "dyn")
	require.NoError(t, err)
	out := r.waitFor(t, "done")
	assert.Contains(t, out, "inet 10.72.0.2/24 ")
	assert.Regexp(t, `(?m)^dynhost$`, out, "run.json network.hostname")
	r.stop(t)
	r, err = nf.start(t, "0", "other")
	require.NoError(t, err)
	assert.Contains(t, r.waitFor(t, "done"), "inet 10.72.0.3/24 ", "dyn's stopped container keeps .2")
	r.stop(t)
	r, err = nf.start(t, "0", "dyn")
	require.NoError(t, err)
	assert.Contains(t, r.waitFor(t, "done"), "inet 10.72.0.2/24 ", "a restart keeps the address")
	r.stop(t)

	nf.nets.Release("dyn")
	assert.Empty(t, nf.nets.Leases("dyn"))
	assert.Len(t, nf.nets.Leases("fixed"), 1, "the others keep theirs")
}

// TestPoolMacvlan: a macvlan pool puts the container on the network of
// the parent interface (a veth end: this kernel may lack dummy), where
// the gateway, in the namespace beyond it, answers.
func TestPoolMacvlan(t *testing.T) {
	nf := newNetFixture(t, netpool.Bridge{})
	nf.outside(t, "pvmvp0", "", "10.73.0.1/24")
	require.Empty(t, nf.setPools(t, `{"pools":{"lan":{"type":"macvlan","parent":"pvmvp0","subnet":"10.73.0.0/24","gateway":"10.73.0.1"}}}`))
	nf.install(t, "0", netCtr{name: "c1", script: showNet + ping("10.73.0.1", "pinged-gateway") + forever,
		network: `{"mode":"pool","pool":"lan"}`})
	r, err := nf.start(t, "0", "c1")
	require.NoError(t, err)
	out := r.waitFor(t, "done")
	assert.Contains(t, out, "inet 10.73.0.2/24 ", out)
	assert.Contains(t, out, "link/ether 02:00:0a:49:00:02 ")
	assert.Regexp(t, `eth0@\w+: <BROADCAST,MULTICAST,UP,LOWER_UP>`, out, "a link over the parent")
	assert.Contains(t, out, "pinged-gateway\n", "the gateway beyond the parent answers")
	r.stop(t)
}

// TestPoolNAT: a container of a nat pool connects to a listener beyond
// another interface of the host, in a namespace with no route back to the
// pool: only the masquerade makes it work, and the listener sees the
// host's address.
func TestPoolNAT(t *testing.T) {
	nf := newNetFixture(t, netpool.Bridge{})
	o := nf.outside(t, "pvout0", "192.0.2.1/30", "192.0.2.2/30")
	sysctl(t, nf.host, "net/ipv4/ip_forward", "0")
	require.Empty(t, nf.setPools(t, `{"pools":{"nat":{"bridge":"pvbr74","subnet":"10.74.0.0/24","gateway":"10.74.0.1","nat":true}}}`))
	testenv.InNetns(t, nf.host, func() {
		b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
		require.NoError(t, err)
		assert.Equal(t, "1\n", string(b), "SetPools turned forwarding on in the host namespace it was given")
	})
	var ln net.Listener
	testenv.InNetns(t, o, func() {
		var err error
		ln, err = net.Listen("tcp4", "192.0.2.2:9000")
		require.NoError(t, err)
	})
	defer ln.Close()
	seen := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(seen)
			return
		}
		b, _ := io.ReadAll(io.LimitReader(c, 64))
		c.Close()
		seen <- c.RemoteAddr().(*net.TCPAddr).IP.String() + " " + strings.TrimSpace(string(b))
	}()
	nf.install(t, "0", netCtr{name: "c1", network: `{"mode":"pool","pool":"nat"}`,
		script: "echo hello | busybox nc -w 5 192.0.2.2 9000 && echo sent\n" + forever})
	r, err := nf.start(t, "0", "c1")
	require.NoError(t, err)
	out := r.waitFor(t, "done")
	select {
	case got := <-seen:
		assert.Equal(t, "192.0.2.1 hello", got, "the listener sees the host's address: masqueraded\n%s", out)
	case <-time.After(10 * time.Second):
		t.Fatalf("the listener saw no connection; console:\n%s", out)
	}
	r.stop(t)

	// The next revision's pools: the NAT pool turned to nat: false, then
	// gone. Each time the table holds exactly the current pools' rules.
	testenv.RequireCommand(t, "nft", "nftables")
	masq := `ip saddr 10.74.0.0/24 oifname != "pvbr74" masquerade`
	isolation := `iifname "pvbr74" ip daddr != 10.74.0.1 ct state ! established,related drop`
	assert.Contains(t, nftChain(t, nf.host, "postrouting"), masq)
	assert.Contains(t, nftChain(t, nf.host, "input"), isolation)
	require.Empty(t, nf.setPools(t, `{"pools":{"nat":{"bridge":"pvbr74","subnet":"10.74.0.0/24","gateway":"10.74.0.1","nat":false}}}`))
	assert.NotContains(t, nftChain(t, nf.host, "postrouting"), "masquerade", "nat: false drops the pool's masquerade rule")
	assert.Contains(t, nftChain(t, nf.host, "input"), isolation, "and keeps its isolation")
	require.Empty(t, nf.setPools(t, `{"pools":{"other":{"bridge":"pvbr79","subnet":"10.79.0.0/24","gateway":"10.79.0.1","nat":true}}}`))
	assert.NotContains(t, nftChain(t, nf.host, "postrouting"), "pvbr74", "a pool gone loses its rules")
	assert.NotContains(t, nftChain(t, nf.host, "input"), "pvbr74")
	assert.Contains(t, nftChain(t, nf.host, "postrouting"), `ip saddr 10.79.0.0/24 oifname != "pvbr79" masquerade`)
	assert.Equal(t, 1, strings.Count(nftChain(t, nf.host, "postrouting"), "masquerade"))
}

// TestPoolPortForward: run.json ports "8080:80" makes the container's
// httpd answer at the host's address, port 8080, from the namespace
// beyond the host; the next revision's ports replace it (8081), and
// Release removes the forward.
func TestPoolPortForward(t *testing.T) {
	nf := newNetFixture(t, netpool.Bridge{})
	o := nf.outside(t, "pvout0", "192.0.2.1/30", "192.0.2.2/30")
	require.Empty(t, nf.setPools(t, `{"pools":{"web":{"bridge":"pvbr75","subnet":"10.75.0.0/24","gateway":"10.75.0.1"}}}`))
	httpd := "mkdir -p /tmp/www; echo hello-web > /tmp/www/index.html; busybox httpd -p 80 -h /tmp/www && echo serving\n" + forever
	nf.install(t, "0", netCtr{name: "web", network: `{"mode":"pool","pool":"web","ports":["8080:80"]}`, script: httpd})
	nf.install(t, "1", netCtr{name: "web", network: `{"mode":"pool","pool":"web","ports":["8081:80"]}`, script: httpd})
	r, err := nf.start(t, "0", "web")
	require.NoError(t, err)
	require.Contains(t, r.waitFor(t, "done"), "serving")
	reply, err := get(t, o, "192.0.2.1:8080")
	require.NoError(t, err)
	assert.Contains(t, reply, "200 OK")
	assert.Contains(t, reply, "hello-web", "the container's page through the device's port 8080")
	r.stop(t)

	r, err = nf.start(t, "1", "web") // the device's next revision: same container, other ports
	require.NoError(t, err)
	require.Contains(t, r.waitFor(t, "done"), "serving")
	reply, err = get(t, o, "192.0.2.1:8081")
	require.NoError(t, err)
	assert.Contains(t, reply, "hello-web", "the new port answers")
	_, err = get(t, o, "192.0.2.1:8080")
	assert.ErrorIs(t, err, syscall.ECONNREFUSED, "the old port is no longer forwarded")
	r.stop(t)

	nf.nets.Release("web")
	_, err = get(t, o, "192.0.2.1:8081")
	assert.ErrorIs(t, err, syscall.ECONNREFUSED, "Release removes the forward")
}

// TestPoolRefusals: an unknown pool, an exhausted /30 and a macvlan pool
// whose parent is missing refuse the start, the error naming the pool,
// and leave nothing behind.
func TestPoolRefusals(t *testing.T) {
	nf := newNetFixture(t, netpool.Bridge{})
	warns := nf.setPools(t, `{"pools":{"tiny":{"bridge":"pvbr76","subnet":"10.76.0.0/30","gateway":"10.76.0.1"},`+
		`"mv":{"type":"macvlan","parent":"pvnosuch0","subnet":"10.77.0.0/24","gateway":"10.77.0.1"}}}`)
	require.Len(t, warns, 1)
	assert.Contains(t, warns[0], "network pool mv: parent interface pvnosuch0")
	nf.install(t, "0", netCtr{name: "nope", script: forever, network: `{"pool":"nowhere"}`},
		netCtr{name: "t1", script: forever, network: `{"pool":"tiny"}`},
		netCtr{name: "t2", script: forever, network: `{"pool":"tiny"}`},
		netCtr{name: "m1", script: forever, network: `{"pool":"mv"}`})
	before := testenv.TakeResources(t, nf.dir, nf.parent, nf.host)

	_, err := nf.start(t, "0", "nope")
	assert.ErrorIs(t, err, ipam.ErrUnknownPool)
	assert.ErrorContains(t, err, "nowhere")
	r, err := nf.start(t, "0", "t1")
	require.NoError(t, err, "a /30 has room for one container")
	_, err = nf.start(t, "0", "t2")
	assert.ErrorIs(t, err, ipam.ErrExhausted)
	assert.ErrorContains(t, err, "tiny")
	_, err = nf.start(t, "0", "m1")
	assert.ErrorContains(t, err, "network pool mv: parent interface pvnosuch0")
	r.stop(t)
	assert.Equal(t, before, testenv.WaitResources(t, before, nf.dir, nf.parent, nf.host), "refused starts leak nothing")
}

// TestLXCNetVeth: an LXC config's lxc.net.0 veth on the legacy bridge,
// with its address and gateway, gets them, and the bridge is made with
// its address on first use.
func TestLXCNetVeth(t *testing.T) {
	nf := newNetFixture(t, netpool.Bridge{Name: "pvlxcbr0", Addr: ip4.MustParsePrefix("10.78.0.1/24")})
	lxc := `lxc.net.0.type = veth
lxc.net.0.link = pvlxcbr0
lxc.net.0.flags = up
lxc.net.0.hwaddr = 02:00:00:78:00:05
lxc.net.0.ipv4.address = 10.78.0.5/24
lxc.net.0.ipv4.gateway = 10.78.0.1
`
	nf.install(t, "0", netCtr{name: "c1", script: showNet + ping("10.78.0.1", "pinged-gateway") + forever, lxc: lxc})
	r, err := nf.start(t, "0", "c1")
	require.NoError(t, err)
	out := r.waitFor(t, "done")
	assert.Contains(t, out, "inet 10.78.0.5/24 ", out)
	assert.Contains(t, out, "link/ether 02:00:00:78:00:05 ")
	assert.Contains(t, out, "pinged-gateway\n", "the legacy bridge answers at its address")
	assert.ElementsMatch(t, []string{"eth0 00000000 01004E0A 00000000", "eth0 00004E0A 00000000 00FFFFFF"}, routes(out))
	r.stop(t)
}

// TestPoolTwoInterfaces: run.json interfaces[] puts a container on two
// pools, each interface with its name, address (static on the second)
// and MAC; the default route is via the first interface's gateway.
func TestPoolTwoInterfaces(t *testing.T) {
	nf := newNetFixture(t, netpool.Bridge{})
	require.Empty(t, nf.setPools(t, `{"pools":{"front":{"bridge":"pvbr81","subnet":"10.81.0.0/24","gateway":"10.81.0.1"},`+
		`"back":{"bridge":"pvbr82","subnet":"10.82.0.0/24","gateway":"10.82.0.1"}}}`))
	before := testenv.TakeResources(t, nf.dir, nf.parent, nf.host)
	nf.install(t, "0", netCtr{name: "c1", network: `{"mode":"pool","interfaces":[{"name":"lan0","pool":"front"},` +
		`{"name":"lan1","pool":"back","ipv4_address":"10.82.0.7","mac_address":"02:aa:00:00:00:07"}]}`,
		script: "busybox ip -4 addr; busybox ip link; cat /proc/net/route\n" + ping("10.81.0.1", "pinged-front") +
			ping("10.82.0.1", "pinged-back") + forever})
	r, err := nf.start(t, "0", "c1")
	require.NoError(t, err)
	out := r.waitFor(t, "done")
	assert.Regexp(t, `lan0\s+inet 10\.81\.0\.2/24 |inet 10\.81\.0\.2/24 .*lan0`, out, out)
	assert.Regexp(t, `inet 10\.82\.0\.7/24 .*lan1`, out)
	assert.Contains(t, out, "link/ether 02:00:0a:51:00:02 ")
	assert.Contains(t, out, "link/ether 02:aa:00:00:00:07 ")
	assert.Contains(t, out, "pinged-front\n")
	assert.Contains(t, out, "pinged-back\n")
	assert.NotContains(t, out, "eth0", "both interfaces named as asked")
	assert.ElementsMatch(t, []string{"lan0 00000000 0100510A 00000000", "lan0 0000510A 00000000 00FFFFFF",
		"lan1 0000520A 00000000 00FFFFFF"}, routes(out), "one default route, via the first interface's gateway")
	running := testenv.TakeResources(t, nf.dir, nf.parent, nf.host)
	assert.ElementsMatch(t, append(before.Links, rtnl.HostName("c1", 0), rtnl.HostName("c1", 1)), running.Links)
	r.stop(t)
	assert.Equal(t, before, testenv.WaitResources(t, before, nf.dir, nf.parent, nf.host), "nothing leaked")
}

// serveAddr listens on addr in namespace h and writes "served at <the
// address connected to>" to every connection, until the test ends.
func serveAddr(t *testing.T, h netns.NsHandle, addr string) {
	t.Helper()
	var ln net.Listener
	testenv.InNetns(t, h, func() {
		var err error
		ln, err = net.Listen("tcp4", addr)
		require.NoError(t, err)
	})
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "served at "+c.LocalAddr().(*net.TCPAddr).IP.String()+"\n")
			c.Close()
		}
	}()
}

// nftChain is `nft list chain ip pantavisor CHAIN` in namespace h.
func nftChain(t *testing.T, h netns.NsHandle, chain string) string {
	t.Helper()
	var out []byte
	testenv.InNetns(t, h, func() {
		var err error
		out, err = exec.Command("nft", "list", "chain", "ip", "pantavisor", chain).CombinedOutput()
		require.NoError(t, err, "%s", out)
	})
	return string(out)
}
