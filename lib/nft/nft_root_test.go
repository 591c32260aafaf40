package nft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"pantavisor/lib/ip4"
	"pantavisor/lib/testenv"
)

// inNS runs f on a thread switched into network namespace h, and switches
// back. If switching back fails the thread stays locked, so the runtime
// throws it away instead of reusing it in the wrong namespace.
func inNS(t *testing.T, h netns.NsHandle, f func() error) error {
	t.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("getting current netns: %v", err)
	}
	defer orig.Close()
	if err := netns.Set(h); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("entering netns: %v", err)
	}
	ferr := f()
	if err := netns.Set(orig); err != nil {
		t.Fatalf("leaving netns: %v", err) // thread stays locked and dies
	}
	runtime.UnlockOSThread()
	return ferr
}

// newNS makes a fresh, unnamed network namespace with lo up, closed at
// the end of the test (and gone once nothing holds it).
func newNS(t *testing.T) netns.NsHandle {
	t.Helper()
	var h netns.NsHandle
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer orig.Close()
	h, err = netns.New() // unshares the calling thread
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("creating netns: %v", err)
	}
	if err := netns.Set(orig); err != nil {
		t.Fatalf("leaving new netns: %v", err)
	}
	runtime.UnlockOSThread()
	t.Cleanup(func() { h.Close() })
	ipIn(t, h, "link set lo up")
	return h
}

// nsPath names h for `ip ... netns PATH` (iproute2 takes a path with '/').
func nsPath(h netns.NsHandle) string {
	return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(h))
}

// ipIn runs `ip <args>` inside h: the child is forked from the thread
// that is in h.
func ipIn(t *testing.T, h netns.NsHandle, args string) {
	t.Helper()
	var out []byte
	err := inNS(t, h, func() (err error) {
		out, err = exec.Command("ip", strings.Fields(args)...).CombinedOutput()
		return err
	})
	if err != nil {
		t.Fatalf("ip %s: %v: %s", args, err, out)
	}
}

// topology is the test network: a container on bridge pvbrT of the host,
// and an outside peer reached from the host over a veth. The outside
// namespace routes 10.99.0.0/24 back via the host, so without masquerade
// the connection works and shows the container's own address.
type topology struct {
	host, ctr, out netns.NsHandle
}

func newTopology(t *testing.T) topology {
	t.Helper()
	tp := topology{host: newNS(t), ctr: newNS(t), out: newNS(t)}
	ipIn(t, tp.host, "link add pvbrT type bridge")
	ipIn(t, tp.host, "addr add 10.99.0.1/24 dev pvbrT")
	ipIn(t, tp.host, "link set pvbrT up")
	ipIn(t, tp.host, "link add vethc type veth peer name eth0 netns "+nsPath(tp.ctr))
	ipIn(t, tp.host, "link set vethc master pvbrT up")
	ipIn(t, tp.ctr, "addr add 10.99.0.2/24 dev eth0")
	ipIn(t, tp.ctr, "link set eth0 up")
	ipIn(t, tp.ctr, "route add default via 10.99.0.1")
	ipIn(t, tp.host, "link add vetho type veth peer name eth0 netns "+nsPath(tp.out))
	ipIn(t, tp.host, "addr add 192.0.2.1/30 dev vetho")
	ipIn(t, tp.host, "link set vetho up")
	ipIn(t, tp.out, "addr add 192.0.2.2/30 dev eth0")
	ipIn(t, tp.out, "link set eth0 up")
	ipIn(t, tp.out, "route add 10.99.0.0/24 via 192.0.2.1")
	// /proc/sys/net follows the network namespace of the opening thread.
	err := inNS(t, tp.host, func() error {
		return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0)
	})
	if err != nil {
		t.Fatalf("enabling forwarding in the host netns: %v", err)
	}
	return tp
}

// peerSeen connects from the container to a listener in the outside
// namespace and returns the source address the listener saw.
func (tp topology) peerSeen(t *testing.T) ip4.Addr {
	t.Helper()
	var ln net.Listener
	if err := inNS(t, tp.out, func() (err error) {
		ln, err = net.Listen("tcp4", "192.0.2.2:0")
		return err
	}); err != nil {
		t.Fatalf("listening in outside netns: %v", err)
	}
	defer ln.Close()
	seen := make(chan netip.Addr, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(seen)
			return
		}
		c.Close()
		seen <- c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr()
	}()
	if err := inNS(t, tp.ctr, func() error {
		c, err := net.DialTimeout("tcp4", ln.Addr().String(), 5*time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}); err != nil {
		t.Fatalf("connecting from container to %s: %v", ln.Addr(), err)
	}
	select {
	case a, ok := <-seen:
		if !ok {
			t.Fatal("accept failed")
		}
		return ip4.AddrFrom4(a.Unmap().As4())
	case <-time.After(5 * time.Second):
		t.Fatal("listener saw no connection")
	}
	return ip4.Addr{}
}

// countRules dumps our chain with NFT_MSG_GETRULE and counts its rules
// (a missing table dumps as no rules).
func countRules(t *testing.T, h netns.NsHandle, chain string) (int, error) {
	t.Helper()
	var n int
	err := inNS(t, h, func() error {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		var e enc
		m := e.msgOpen(nftType|unix.NFT_MSG_GETRULE, unix.NLM_F_REQUEST|unix.NLM_F_DUMP, 1, unix.NFPROTO_IPV4, 0)
		e.str(unix.NFTA_RULE_TABLE, Table)
		e.str(unix.NFTA_RULE_CHAIN, chain)
		e.msgClose(m)
		if err := unix.Sendto(fd, e.b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return err
		}
		buf := make([]byte, 1<<16)
		for {
			m, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				return err
			}
			for b := buf[:m]; len(b) >= nlmsgHdrLen; {
				l := int(binary.NativeEndian.Uint32(b))
				if l < nlmsgHdrLen || l > len(b) {
					return fmt.Errorf("bad dump message length %d", l)
				}
				switch binary.NativeEndian.Uint16(b[4:]) {
				case unix.NLMSG_DONE:
					return nil
				case unix.NLMSG_ERROR:
					acks, err := parseAcks(b[:l])
					if err != nil {
						return err
					}
					return acks[0].errno
				case nftType | unix.NFT_MSG_NEWRULE:
					n++
				}
				b = b[(l+3)&^3:]
			}
		}
	})
	return n, err
}

// nftList returns `nft list chain ...` of our chain when nft is installed
// (a cross-check that nft reads our rules back as the text we meant).
func nftList(t *testing.T, h netns.NsHandle, chain string) (string, bool) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		return "", false
	}
	var out []byte
	if err := inNS(t, h, func() (err error) {
		out, err = exec.Command("nft", "list", "chain", "ip", Table, chain).CombinedOutput()
		return err
	}); err != nil {
		t.Fatalf("nft list: %v: %s", err, out)
	}
	return string(out), true
}

func TestMasqueradeRoot(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ip", "iproute2")
	tp := newTopology(t)
	ctrAddr, hostAddr := ip4.MustParseAddr("10.99.0.2"), ip4.MustParseAddr("192.0.2.1")

	if got := tp.peerSeen(t); got != ctrAddr {
		t.Fatalf("before masquerade the outside saw %v, want %v", got, ctrAddr)
	}

	pool := ip4.MustParsePrefix("10.99.0.0/24")
	var nat NAT
	for i := 0; i < 2; i++ { // the same pool twice: one rule
		if err := inNS(t, tp.host, func() error { return nat.Masquerade(pool, "pvbrT") }); err != nil {
			t.Fatalf("Masquerade #%d: %v", i+1, err)
		}
		if n, err := countRules(t, tp.host, Chain); err != nil || n != 1 {
			t.Fatalf("after Masquerade #%d: %d rules (%v), want 1", i+1, n, err)
		}
	}
	if out, ok := nftList(t, tp.host, Chain); ok {
		want := `ip saddr 10.99.0.0/24 oifname != "pvbrT" masquerade`
		if strings.Count(out, "masquerade") != 1 || !strings.Contains(out, want) ||
			!strings.Contains(out, "type nat hook postrouting priority srcnat") {
			t.Errorf("nft list shows:\n%s\nwant one %q in a srcnat postrouting chain", out, want)
		}
	}
	if got := tp.peerSeen(t); got != hostAddr {
		t.Fatalf("with masquerade the outside saw %v, want %v", got, hostAddr)
	}

	// A second pool joins the first; applying the set again keeps two.
	if err := inNS(t, tp.host, func() error { return nat.Masquerade(ip4.MustParsePrefix("10.98.0.0/16"), "pvbrU") }); err != nil {
		t.Fatal(err)
	}
	if err := inNS(t, tp.host, func() error { return Apply(Set{Masquerade: nat.Rules()}) }); err != nil {
		t.Fatal(err)
	}
	if n, err := countRules(t, tp.host, Chain); err != nil || n != 2 {
		t.Fatalf("two pools: %d rules (%v), want 2", n, err)
	}

	for i := 0; i < 2; i++ { // Remove twice: the second finds no table and is fine
		if err := inNS(t, tp.host, nat.Remove); err != nil {
			t.Fatalf("Remove #%d: %v", i+1, err)
		}
	}
	// Deleting the table once more, without Remove's tolerance, proves it is gone.
	if err := inNS(t, tp.host, func() error { return run(removeBatch(1)) }); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("deleting the table after Remove: %v, want ENOENT", err)
	}
	if n, err := countRules(t, tp.host, Chain); err != nil || n != 0 {
		t.Fatalf("after Remove: %d rules (%v), want 0", n, err)
	}
	if got := tp.peerSeen(t); got != ctrAddr {
		t.Fatalf("after Remove the outside saw %v, want %v", got, ctrAddr)
	}
}

// TestApplyErrorRoot: a kernel refusal comes back naming the step with
// its errno. Replacing our chain with one of the wrong type (filter) makes
// the kernel refuse to re-add it as nat (EEXIST or EOPNOTSUPP depending on
// the kernel), and the error says it was the chain.
func TestApplyErrorRoot(t *testing.T) {
	testenv.RequireRoot(t)
	h := newNS(t)
	err := inNS(t, h, func() error {
		b := newBatch(1)
		m := b.add("adding table", unix.NFT_MSG_NEWTABLE, unix.NLM_F_CREATE)
		b.str(unix.NFTA_TABLE_NAME, Table)
		b.msgClose(m)
		m = b.add("adding filter chain", unix.NFT_MSG_NEWCHAIN, unix.NLM_F_CREATE)
		b.names(unix.NFTA_CHAIN_TABLE, unix.NFTA_CHAIN_NAME, Chain)
		b.str(unix.NFTA_CHAIN_TYPE, "filter")
		hook := b.open(unix.NFTA_CHAIN_HOOK)
		b.be32(unix.NFTA_HOOK_HOOKNUM, unix.NF_INET_POST_ROUTING)
		b.be32(unix.NFTA_HOOK_PRIORITY, 0)
		b.close(hook)
		b.msgClose(m)
		return run(b)
	})
	if err != nil {
		t.Fatalf("making a filter chain: %v", err)
	}
	err = inNS(t, h, func() error { return Apply(Set{Masquerade: []Rule{{ip4.MustParsePrefix("10.99.0.0/24"), "pvbrT"}}}) })
	var errno unix.Errno
	if err == nil || !errors.As(err, &errno) || !strings.HasPrefix(err.Error(), "nft: adding chain postrouting: ") {
		t.Fatalf("Apply over a filter chain: %v, want \"nft: adding chain postrouting: <errno>\"", err)
	}
	t.Logf("kernel said: %v", err)
}
