package nft

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"pantavisor/lib/ip4"
	"pantavisor/lib/testenv"
)

// serveByte listens on addr in namespace h and writes b to every
// connection it accepts, until the test ends.
func serveByte(t *testing.T, h netns.NsHandle, addr string, b byte) {
	t.Helper()
	var ln net.Listener
	if err := inNS(t, h, func() (err error) {
		ln, err = net.Listen("tcp4", addr)
		return err
	}); err != nil {
		t.Fatalf("listening on %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte{b})
			c.Close()
		}
	}()
}

// dialByte connects from namespace h to addr, with short timeouts, and
// returns the first byte the peer writes.
func dialByte(t *testing.T, h netns.NsHandle, addr string) (byte, error) {
	t.Helper()
	var got [1]byte
	err := inNS(t, h, func() error {
		c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		_, err = io.ReadFull(c, got[:])
		return err
	})
	return got[0], err
}

// TestForwardRoot: in the topology of TestMasqueradeRoot, a forward of
// the host's port 8080 to the container's port 80 is reached from the
// outside namespace and from the host itself; connections to port 8080
// of another host are not diverted; once dropped, the port is refused.
func TestForwardRoot(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ip", "iproute2")
	tp := newTopology(t)
	serveByte(t, tp.ctr, "10.99.0.2:80", 'c')
	serveByte(t, tp.out, "192.0.2.2:8080", 'o') // the same port on a host elsewhere
	const device, elsewhere = "192.0.2.1:8080", "192.0.2.2:8080"
	refused := func(when string, h netns.NsHandle) {
		t.Helper()
		if b, err := dialByte(t, h, device); !errors.Is(err, unix.ECONNREFUSED) {
			t.Errorf("%s: connecting to %s: %q, %v; want connection refused", when, device, b, err)
		}
	}
	reaches := func(when string, h netns.NsHandle, addr string, want byte) {
		t.Helper()
		if b, err := dialByte(t, h, addr); err != nil || b != want {
			t.Errorf("%s: connecting to %s: %q, %v; want %q", when, addr, b, err, want)
		}
	}
	refused("before forwarding, from outside", tp.out)

	var nat NAT
	f := Forward{Proto: "tcp", Port: 8080, To: ip4.MustParseAddrPort("10.99.0.2:80")}
	for i := 0; i < 2; i++ { // the same forward twice: one rule per chain
		if err := inNS(t, tp.host, func() error { return nat.Forward(f) }); err != nil {
			t.Fatalf("Forward #%d: %v", i+1, err)
		}
		for _, chain := range []string{ChainPrerouting, ChainOutput} {
			if n, err := countRules(t, tp.host, chain); err != nil || n != 1 {
				t.Fatalf("after Forward #%d: %d rules in %s (%v), want 1", i+1, n, chain, err)
			}
		}
	}
	for chain, hook := range map[string]string{ChainPrerouting: "hook prerouting", ChainOutput: "hook output"} {
		if out, ok := nftList(t, tp.host, chain); ok && (!strings.Contains(out, "type nat "+hook) ||
			strings.Count(out, "dnat") != 1 || !strings.Contains(out, f.String())) {
			t.Errorf("nft list shows:\n%s\nwant one %q in a nat %s chain", out, f, hook)
		}
	}
	reaches("forwarded, from outside", tp.out, device, 'c')
	reaches("forwarded, from the host itself", tp.host, device, 'c')
	reaches("forwarded, from the container to another host", tp.ctr, elsewhere, 'o')
	reaches("forwarded, from the host to another host", tp.host, elsewhere, 'o')

	// Masquerade joins the same table; a conflicting forward is refused
	// and changes nothing.
	if err := inNS(t, tp.host, func() error { return nat.Masquerade(ip4.MustParsePrefix("10.99.0.0/24"), "pvbrT") }); err != nil {
		t.Fatal(err)
	}
	other := Forward{Proto: "tcp", Port: 8080, To: ip4.MustParseAddrPort("10.99.0.3:80")}
	if err := inNS(t, tp.host, func() error { return nat.Forward(other) }); !errors.Is(err, ErrInvalidRule) {
		t.Errorf("conflicting Forward: %v, want ErrInvalidRule", err)
	}
	reaches("forwarded and masqueraded, from outside", tp.out, device, 'c')

	if err := inNS(t, tp.host, func() error { return nat.Unforward(f.To.Addr()) }); err != nil {
		t.Fatalf("Unforward: %v", err)
	}
	for chain, want := range map[string]int{Chain: 1, ChainPrerouting: 0, ChainOutput: 0} {
		if n, err := countRules(t, tp.host, chain); err != nil || n != want {
			t.Errorf("after Unforward: %d rules in %s (%v), want %d", n, chain, err, want)
		}
	}
	refused("after Unforward, from outside", tp.out)
	refused("after Unforward, from the host itself", tp.host)
	if err := inNS(t, tp.host, nat.Remove); err != nil {
		t.Fatal(err)
	}
}

// TestIsolateRoot: in the topology of TestMasqueradeRoot, isolating
// pvbrT keeps the container from the host's address on another
// interface (192.0.2.1) while it still reaches the gateway address and
// other hosts; outside hosts still reach the host and its forwarded port,
// and so does the host itself through 192.0.2.1 (the container's replies
// come in on the bridge to that address). SetPools without the pool
// lifts it.
func TestIsolateRoot(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ip", "iproute2")
	tp := newTopology(t)
	serveByte(t, tp.host, "0.0.0.0:7070", 'h')
	serveByte(t, tp.ctr, "10.99.0.2:80", 'c')
	serveByte(t, tp.out, "192.0.2.2:8080", 'o')
	reaches := func(when string, h netns.NsHandle, addr string, want byte) {
		t.Helper()
		if b, err := dialByte(t, h, addr); err != nil || b != want {
			t.Errorf("%s: connecting to %s: %q, %v; want %q", when, addr, b, err, want)
		}
	}
	reaches("before isolation, from the container", tp.ctr, "192.0.2.1:7070", 'h')

	var nat NAT
	gw := Isolation{Bridge: "pvbrT", Gateway: ip4.MustParseAddr("10.99.0.1")}
	if err := inNS(t, tp.host, func() error { return nat.Forward(Forward{"tcp", 8080, ip4.MustParseAddrPort("10.99.0.2:80")}) }); err != nil {
		t.Fatal(err)
	}
	if err := inNS(t, tp.host, func() error { return nat.SetPools(nil, []Isolation{gw}) }); err != nil {
		t.Fatalf("SetPools: %v", err)
	}
	if n, err := countRules(t, tp.host, ChainInput); err != nil || n != 1 {
		t.Fatalf("isolated: %d rules in %s (%v), want 1", n, ChainInput, err)
	}
	if out, ok := nftList(t, tp.host, ChainInput); ok {
		if !strings.Contains(out, gw.String()) || !strings.Contains(out, "type filter hook input priority filter") {
			t.Errorf("nft list shows:\n%s\nwant %q in a filter input chain", out, gw)
		}
	}
	if b, err := dialByte(t, tp.ctr, "192.0.2.1:7070"); err == nil {
		t.Errorf("isolated: the container reached the host's 192.0.2.1:7070 (%q)", b)
	}
	reaches("isolated, from the container to the gateway", tp.ctr, "10.99.0.1:7070", 'h')
	reaches("isolated, from the container to another host", tp.ctr, "192.0.2.2:8080", 'o')
	reaches("isolated, from outside", tp.out, "192.0.2.1:7070", 'h')
	reaches("isolated, forwarded, from outside", tp.out, "192.0.2.1:8080", 'c')
	reaches("isolated, forwarded, from the host itself", tp.host, "192.0.2.1:8080", 'c')

	if err := inNS(t, tp.host, func() error { return nat.SetPools(nil, nil) }); err != nil {
		t.Fatalf("SetPools without the pool: %v", err)
	}
	for chain, want := range map[string]int{ChainInput: 0, ChainPrerouting: 1} {
		if n, err := countRules(t, tp.host, chain); err != nil || n != want {
			t.Errorf("pool dropped: %d rules in %s (%v), want %d", n, chain, err, want)
		}
	}
	reaches("pool dropped, from the container", tp.ctr, "192.0.2.1:7070", 'h')
	if err := inNS(t, tp.host, nat.Remove); err != nil {
		t.Fatal(err)
	}
}
