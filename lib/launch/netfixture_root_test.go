package launch

import (
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netns"

	"pantavisor/lib/ip4"
	"pantavisor/lib/ipam"
	"pantavisor/lib/netpool"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/rtnl"
	"pantavisor/lib/testenv"
)

// netLXCConf is the LXC config of a networked test container NAME: the
// pvr layout, sharing the host's network namespace unless its run.json
// network or its lxc.net keys give it one, with the capabilities ping
// (raw socket) and httpd (port 80) need. EXTRA is replaced by more keys.
const netLXCConf = `lxc.tty.max = 8
lxc.pty.max = 1024
lxc.rootfs.path = overlayfs:/volumes/NAME/root.squashfs:/volumes/NAME/lxc-overlay/upper
lxc.init.cmd = /bin/sh /app/script
lxc.environment = PATH=/bin
lxc.namespace.keep = user net ipc
lxc.mount.auto = proc sys:rw cgroup
lxc.cap.keep = chown net_admin net_raw net_bind_service
EXTRA`

// netCtr is one container of a networked test revision.
type netCtr struct {
	name, script string
	network      string // run.json "network" value; "" = none
	lxc          string // extra LXC keys
}

// netFixture runs containers whose networks come from a netpool working
// in a network namespace the test made (host), never the machine's.
type netFixture struct {
	*fixture
	host netns.NsHandle
	rt   *rtnl.Conn // in host
	nets *netpool.Networks
}

// newNetFixture makes the host namespace with lo up and the device's
// networks in it, with legacy as the LXC bridge. Its cleanup checks that
// no veth is left in host once the test's containers are gone (the
// kernel deletes a pair with the container's namespace, asynchronously).
func newNetFixture(t testing.TB, legacy netpool.Bridge) *netFixture {
	t.Helper()
	f := newFixture(t)
	h := testenv.NewNetns(t)
	rt, err := rtnl.DialNetns(rtnl.Netns(h))
	require.NoError(t, err)
	t.Cleanup(func() { rt.Close() })
	lo, err := rt.LinkByName("lo")
	require.NoError(t, err)
	require.NoError(t, rt.SetUp(lo))
	nf := &netFixture{fixture: f, host: h, rt: rt, nets: netpool.New(rtnl.Netns(h), legacy, nil)}
	f.opts.Networks = nf.nets
	t.Cleanup(func() { assert.Empty(t, nf.vethsGone(t), "no veth left in the host namespace") })
	return nf
}

// setPools gives the networks the pools of a device.json "network" value.
func (nf *netFixture) setPools(t testing.TB, network string) []string {
	t.Helper()
	v, err := rawjson.Parse([]byte(network))
	require.NoError(t, err)
	pools, err := ipam.ParsePools(v)
	require.NoError(t, err)
	return nf.nets.SetPools(pools)
}

// install installs revision rev holding ctrs.
func (nf *netFixture) install(t testing.TB, rev string, ctrs ...netCtr) {
	t.Helper()
	img, err := os.ReadFile(testenv.BusyboxRootfs(t))
	require.NoError(t, err)
	objects := map[string][]byte{}
	runs := map[string]string{}
	for _, c := range ctrs {
		conf := strings.ReplaceAll(strings.Replace(netLXCConf, "EXTRA", c.lxc, 1), "NAME", c.name)
		objects[c.name+"/lxc.container.conf"] = []byte(conf)
		objects[c.name+"/root.squashfs"] = img
		objects["_config/"+c.name+"/app/script"] = []byte(c.script)
		run := `{"name":"` + c.name + `","type":"lxc","config":"lxc.container.conf","root-volume":"root.squashfs",` +
			`"storage":{"lxc-overlay":{"persistence":"boot"}}`
		if c.network != "" {
			run += `,"network":` + c.network
		}
		runs[c.name+"/run.json"] = run + "}"
	}
	testenv.InstallRevision(t, nf.st, rev, objects, runs)
}

// running is a started container with its console.
type running struct {
	in  *Instance
	out *testenv.Buffer
}

// start starts container name of revision rev.
func (nf *netFixture) start(t testing.TB, rev, name string) (*running, error) {
	t.Helper()
	r := &running{out: &testenv.Buffer{}}
	o := nf.opts
	o.Console = r.out
	in, err := StartRevision(nf.st, rev, name, o)
	if err != nil {
		return nil, err
	}
	r.in = in
	t.Cleanup(func() { r.stop(t) }) // a failed test leaks no container either
	return r, nil
}

// stop stops the container (sh as PID 1 ignores SIGTERM: killed) and
// cleans up after it; again is a no-op.
func (r *running) stop(t testing.TB) {
	t.Helper()
	if r.in == nil {
		return
	}
	_, err := r.in.Stop(200 * time.Millisecond)
	assert.NoError(t, err)
	assert.NoError(t, r.in.Close())
	r.in = nil
}

// waitFor waits until the console shows mark and returns the console.
func (r *running) waitFor(t *testing.T, mark string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(console(r.out), mark) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	out := console(r.out)
	require.Contains(t, out, mark, "console:\n%s", out)
	return out
}

// vethsGone polls host for its veths to go (for up to 10 s) and returns
// those left.
func (nf *netFixture) vethsGone(t testing.TB) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := veths(t, nf.rt)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// veths lists the veth links of the namespace c works in.
func veths(t testing.TB, c *rtnl.Conn) []string {
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

// outside makes a second namespace linked to host by a veth: hostEnd in
// host with hostAddr, eth0 in the new namespace with outAddr, both up.
// It stands for the network beyond one of the device's interfaces.
func (nf *netFixture) outside(t *testing.T, hostEnd, hostAddr, outAddr string) netns.NsHandle {
	t.Helper()
	o := testenv.NewNetns(t)
	require.NoError(t, nf.rt.AddVeth(hostEnd, "eth0", int(o)))
	oc, err := rtnl.DialNetns(rtnl.Netns(o))
	require.NoError(t, err)
	defer oc.Close()
	for _, s := range []struct {
		c          *rtnl.Conn
		name, addr string
	}{{nf.rt, hostEnd, hostAddr}, {oc, "eth0", outAddr}, {oc, "lo", ""}} {
		l, err := s.c.LinkByName(s.name)
		require.NoError(t, err)
		if s.addr != "" {
			require.NoError(t, s.c.AddAddr(l, ip4.MustParsePrefix(s.addr)))
		}
		require.NoError(t, s.c.SetUp(l))
	}
	return o
}

// sysctl writes value to /proc/sys/<key> in namespace h (/proc/sys/net is
// the opening thread's namespace's).
func sysctl(t *testing.T, h netns.NsHandle, key, value string) {
	t.Helper()
	testenv.InNetns(t, h, func() {
		require.NoError(t, os.WriteFile("/proc/sys/"+key, []byte(value+"\n"), 0o644))
	})
}

// routes lists a /proc/net/route dump as "iface dest gateway mask" rows,
// the header dropped.
func routes(out string) []string {
	var rows []string
	re := regexp.MustCompile(`(?m)^(\w+)\s+([0-9A-F]{8})\s+([0-9A-F]{8})\s+\d+\s+\d+\s+\d+\s+\d+\s+([0-9A-F]{8})\s`)
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		rows = append(rows, strings.Join(m[1:], " "))
	}
	return rows
}

// showNet prints what the network tests read back: eth0's addresses and
// MAC, the routing table.
const showNet = `busybox ip -4 addr show eth0; busybox ip link show eth0; cat /proc/net/route
`

// pingLoop pings ADDR until it answers (10 s at most) and prints MARK.
const pingLoop = `i=0; while [ $i -lt 100 ]; do busybox ping -c1 -W1 ADDR >/dev/null 2>&1 && { echo MARK; break; }; i=$((i+1)); sleep 0.1; done
`

func ping(addr, mark string) string {
	return strings.NewReplacer("ADDR", addr, "MARK", mark).Replace(pingLoop)
}

const forever = "echo done\nwhile true; do sleep 1; done\n"

// get sends an HTTP/1.0 GET / to addr from namespace h and returns the
// reply.
func get(t *testing.T, h netns.NsHandle, addr string) (string, error) {
	t.Helper()
	var reply []byte
	var err error
	testenv.InNetns(t, h, func() {
		var c net.Conn
		if c, err = net.DialTimeout("tcp4", addr, 5*time.Second); err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err = c.Write([]byte("GET /index.html HTTP/1.0\r\n\r\n")); err == nil {
			reply, err = io.ReadAll(c)
		}
	})
	return string(reply), err
}
