package tcpdial

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// echoServer accepts connections on ln and echoes them; it returns the
// port.
func echoServer(t *testing.T, network, addr string) string {
	ln, err := net.Listen(network, addr)
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func echo(t *testing.T, c net.Conn) {
	t.Helper()
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	_, err := c.Write([]byte("ping"))
	require.NoError(t, err)
	b := make([]byte, 4)
	_, err = io.ReadFull(c, b)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(b))
}

func TestDialAddress(t *testing.T) {
	port := echoServer(t, "tcp4", "127.0.0.1:0")
	c, err := (&Dialer{}).DialContext(context.Background(), "tcp", "127.0.0.1:"+port)
	require.NoError(t, err)
	defer c.Close()
	echo(t, c)
	assert.Equal(t, "127.0.0.1:"+port, c.RemoteAddr().String())
	assert.Equal(t, "tcp", c.RemoteAddr().Network())
	assert.True(t, strings.HasPrefix(c.LocalAddr().String(), "127.0.0.1:"), c.LocalAddr().String())

	_, err = (&Dialer{}).DialContext(context.Background(), "tcp6", "127.0.0.1:"+port)
	assert.ErrorIs(t, err, ErrNoAddress, "tcp6 to an IPv4 address")
}

func TestDialIPv6(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("SKIP: no IPv6 loopback on this machine (%v): IPv6 dials untested here", err)
	}
	ln.Close()
	port := echoServer(t, "tcp6", "[::1]:0")
	c, err := (&Dialer{}).DialContext(context.Background(), "tcp6", "[::1]:"+port)
	require.NoError(t, err)
	defer c.Close()
	echo(t, c)
	assert.Equal(t, "[::1]:"+port, c.RemoteAddr().String())
}

func TestDialErrors(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	ln.Close()
	d := &Dialer{Hosts: filepath.Join(t.TempDir(), "hosts")}
	for _, tc := range []struct {
		addr    string
		network string
		want    error
	}{
		{closed, "tcp", unix.ECONNREFUSED},
		{"127.0.0.1", "tcp", nil}, // no port: net.SplitHostPort's error
		{"127.0.0.1:http", "tcp", ErrBadPort},
		{"127.0.0.1:65536", "tcp", ErrBadPort},
		{"127.0.0.1:1", "udp", ErrNetwork},
		{"bad..name:1", "tcp", ErrBadName},
	} {
		_, err := d.DialContext(context.Background(), tc.network, tc.addr)
		require.Error(t, err, tc.addr)
		var de *Error
		assert.ErrorAs(t, err, &de, tc.addr)
		if tc.want != nil {
			assert.ErrorIs(t, err, tc.want, tc.addr)
		}
	}
}

// TestDialDeadline dials a listener whose backlog is full, so the SYN
// waits unanswered: the context's deadline ends the connect.
func TestDialDeadline(t *testing.T) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(fd)
	require.NoError(t, unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, unix.Listen(fd, 0))
	sa, err := unix.Getsockname(fd)
	require.NoError(t, err)
	addr := "127.0.0.1:" + strconv.Itoa(sa.(*unix.SockaddrInet4).Port)
	// Fill the accept queue (backlog 0 holds one) with connections never
	// accepted; the next connect's SYN is dropped.
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range 4 {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		c, err := (&Dialer{}).DialContext(ctx, "tcp", addr)
		cancel()
		if err != nil {
			assert.ErrorIs(t, err, context.DeadlineExceeded, "the connect waited until the deadline")
			return
		}
		held = append(held, c)
	}
	t.Fatal("every connect was accepted: the backlog never filled")
}

func TestDialCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := (&Dialer{}).DialContext(ctx, "tcp", "127.0.0.1:1")
	require.Error(t, err)
}

func TestHostsFile(t *testing.T) {
	port := echoServer(t, "tcp4", "127.0.0.1:0")
	hosts := filepath.Join(t.TempDir(), "hosts")
	require.NoError(t, os.WriteFile(hosts, []byte("# comment\n10.9.9.9 other\n127.0.0.1\tlocalhost MyHub.example # the hub\nnot-an-ip x\n"), 0o644))
	d := &Dialer{Hosts: hosts, ResolvConf: filepath.Join(t.TempDir(), "none")}
	c, err := d.DialContext(context.Background(), "tcp", "myhub.example:"+port)
	require.NoError(t, err, "found case-insensitively, after a comment")
	defer c.Close()
	echo(t, c)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("10.9.9.9")}, lookupHosts(hosts, "other."))
	assert.Empty(t, lookupHosts(hosts, "x"), "a line whose address does not parse")
}

// fakeDNS answers queries on a UDP port of 127.0.0.1 from records:
// name -> type -> addresses; a name in nx gets NXDOMAIN; silent drops
// every query. It records the queries' names.
type fakeDNS struct {
	conn    *net.UDPConn
	records map[string]map[uint16][]string
	cname   map[string]string
	nx      map[string]bool
	silent  bool
	asked   chan string
}

func newFakeDNS(t *testing.T) *fakeDNS {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	f := &fakeDNS{conn: c, records: map[string]map[uint16][]string{}, cname: map[string]string{},
		nx: map[string]bool{}, asked: make(chan string, 100)}
	t.Cleanup(func() { c.Close() })
	go f.serve(t)
	return f
}

func (f *fakeDNS) port() int { return f.conn.LocalAddr().(*net.UDPAddr).Port }

func (f *fakeDNS) serve(t *testing.T) {
	buf := make([]byte, 2048)
	for {
		n, from, err := f.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		q := buf[:n]
		name, off, ok := readName(q, 12)
		if !ok {
			continue
		}
		qtype := binary.BigEndian.Uint16(q[off:])
		f.asked <- name + " " + strconv.Itoa(int(qtype))
		if f.silent {
			continue
		}
		// The answer: header with QR, RD, RA; the question; a CNAME (a
		// compressed pointer to the question's name) when the name has
		// one, then the records of its target.
		a := append([]byte(nil), q[:2]...)
		rcode := byte(0)
		if f.nx[name] {
			rcode = 3
		}
		a = append(a, 0x81, 0x80|rcode, 0, 1, 0, 0, 0, 0, 0, 0)
		a = append(a, q[12:off+4]...)
		var answers int
		target := name
		if cn, ok := f.cname[name]; ok {
			a = append(a, 0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60)
			rd := appendQuery(nil, 0, cn, 1)[12:] // the name's labels, then type/class
			rd = rd[:len(rd)-4-11]
			a = binary.BigEndian.AppendUint16(a, uint16(len(rd)))
			a = append(a, rd...)
			answers++
			target = cn
		}
		for _, s := range f.records[target][qtype] {
			ip := netip.MustParseAddr(s)
			a = append(a, 0xc0, 12)
			a = binary.BigEndian.AppendUint16(a, qtype)
			a = append(a, 0, 1, 0, 0, 0, 60)
			a = binary.BigEndian.AppendUint16(a, uint16(ip.BitLen()/8))
			a = append(a, ip.AsSlice()...)
			answers++
		}
		binary.BigEndian.PutUint16(a[6:], uint16(answers))
		_, _ = f.conn.WriteToUDP(a, from)
	}
}

func (f *fakeDNS) queries() []string {
	var out []string
	for {
		select {
		case q := <-f.asked:
			out = append(out, q)
		default:
			return out
		}
	}
}

func resolvConfFile(t *testing.T, text string) string {
	p := filepath.Join(t.TempDir(), "resolv.conf")
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

func TestDNS(t *testing.T) {
	port := echoServer(t, "tcp4", "127.0.0.1:0")
	dns := newFakeDNS(t)
	dns.cname["api.hub.example."] = "lb.cloud.example."
	dns.records["lb.cloud.example."] = map[uint16][]string{typeA: {"127.0.0.1", "127.0.0.2"}}
	dns.records["v6.hub.example."] = map[uint16][]string{typeAAAA: {"::1"}}
	dns.records["hub.corp.example."] = map[uint16][]string{typeA: {"127.0.0.1"}}
	dns.nx["gone.example."] = true
	d := &Dialer{Hosts: filepath.Join(t.TempDir(), "hosts"), DNSPort: dns.port(),
		ResolvConf: resolvConfFile(t, "; comment\nnameserver 127.0.0.1\nsearch corp.example\noptions ndots:1 timeout:2 attempts:1\n")}

	c, err := d.DialContext(context.Background(), "tcp", "api.hub.example:"+port)
	require.NoError(t, err, "A records behind a CNAME")
	echo(t, c)
	c.Close()
	assert.Equal(t, []string{"api.hub.example. 1"}, dns.queries(), "2 dots >= ndots: the name alone first")

	addrs, err := d.resolve(context.Background(), "v6.hub.example")
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{netip.IPv6Loopback()}, addrs, "no A record: AAAA")
	assert.Equal(t, []string{"v6.hub.example. 1", "v6.hub.example. 28"}, dns.queries())

	c, err = d.DialContext(context.Background(), "tcp", "hub:"+port)
	require.NoError(t, err, "a single label: the search domain first")
	c.Close()
	assert.Equal(t, []string{"hub.corp.example. 1"}, dns.queries())

	_, err = d.DialContext(context.Background(), "tcp", "gone.example:1")
	assert.ErrorIs(t, err, ErrNoSuchHost)
	assert.Equal(t, []string{"gone.example. 1", "gone.example.corp.example. 1", "gone.example.corp.example. 28"},
		dns.queries(), "NXDOMAIN: no AAAA query for the name, then the search domain")
}

func TestDNSNoAnswer(t *testing.T) {
	dns := newFakeDNS(t)
	dns.silent = true
	d := &Dialer{Hosts: filepath.Join(t.TempDir(), "hosts"), DNSPort: dns.port(),
		ResolvConf: resolvConfFile(t, "nameserver 127.0.0.1\noptions timeout:1 attempts:2\n")}
	_, err := d.DialContext(context.Background(), "tcp", "quiet.example:1")
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "each try timed out")
	assert.Equal(t, []string{"quiet.example. 1", "quiet.example. 1"}, dns.queries(),
		"two attempts of the A query; no AAAA query after no answer")

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = d.DialContext(ctx, "tcp", "quiet.example:1")
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "the context's deadline wins: %v", err)
}

func TestResolvConf(t *testing.T) {
	c := readResolvConf(resolvConfFile(t, "nameserver 10.0.0.1\nnameserver fe80::1\nnameserver bad\n"+
		"nameserver 10.0.0.3\nnameserver 10.0.0.4\ndomain a.example\nsearch b.example c.example.\n"+
		"options ndots:3 timeout:0 attempts:9 rotate\n"))
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fe80::1"),
		netip.MustParseAddr("10.0.0.3")}, c.servers, "three at most, the bad one skipped")
	assert.Equal(t, []string{"b.example", "c.example."}, c.search, "the last of search and domain wins")
	assert.Equal(t, 3, c.ndots)
	assert.Equal(t, time.Second, c.timeout, "timeout:0 is one second, as glibc")
	assert.Equal(t, 5, c.attempts, "attempts at most 5, as glibc")
	assert.Equal(t, []string{"x.b.example.", "x.c.example.", "x."}, c.names("x"))
	assert.Equal(t, []string{"x.y."}, c.names("x.y."), "fully qualified: alone")

	def := readResolvConf(filepath.Join(t.TempDir(), "missing"))
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}, def.servers)
	assert.Equal(t, 1, def.ndots)
	assert.Equal(t, 5*time.Second, def.timeout)
	assert.Equal(t, 2, def.attempts)
}

func TestParseAnswer(t *testing.T) {
	q := appendQuery(nil, 7, "a.example.", typeA)
	head := func(id uint16, flags1, flags2 byte, an uint16) []byte {
		b := binary.BigEndian.AppendUint16(nil, id)
		b = append(b, flags1, flags2, 0, 1)
		b = binary.BigEndian.AppendUint16(b, an)
		return append(b, 0, 0, 0, 0)
	}
	question := q[12 : len(q)-11]
	rr := []byte{0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 10, 1, 2, 3}
	msg := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	for _, tc := range []struct {
		name  string
		msg   []byte
		addrs []netip.Addr
		err   error
		ours  bool
	}{
		{"answer", msg(head(7, 0x81, 0x80, 1), question, rr), []netip.Addr{netip.MustParseAddr("10.1.2.3")}, nil, true},
		{"other id", msg(head(8, 0x81, 0x80, 1), question, rr), nil, nil, false},
		{"a query, not an answer", msg(head(7, 0x01, 0x00, 1), question, rr), nil, nil, false},
		{"other name", msg(head(7, 0x81, 0x80, 0), appendQuery(nil, 7, "b.example.", typeA)[12:len(q)-11]), nil, nil, false},
		{"NXDOMAIN", msg(head(7, 0x81, 0x83, 0), question), nil, ErrNoSuchHost, true},
		{"SERVFAIL", msg(head(7, 0x81, 0x82, 0), question), nil, errServer, true},
		{"no data", msg(head(7, 0x81, 0x80, 0), question), nil, nil, true},
		{"truncated", msg(head(7, 0x83, 0x80, 1), question), nil, errTruncated, true},
		{"record cut short", msg(head(7, 0x81, 0x80, 1), question, rr[:14]), nil, errMalformed, true},
		{"short header", []byte{0, 7, 0x81}, nil, nil, false},
	} {
		addrs, err, ours := parseAnswer(tc.msg, 7, "a.example.", typeA)
		assert.Equal(t, tc.ours, ours, tc.name)
		assert.Equal(t, tc.err, err, tc.name)
		assert.Equal(t, tc.addrs, addrs, tc.name)
	}
}

func TestReadName(t *testing.T) {
	msg := []byte{3, 'F', 'o', 'o', 0, 3, 'b', 'a', 'r', 0xc0, 0, 0xc0, 11}
	name, end, ok := readName(msg, 5)
	assert.True(t, ok)
	assert.Equal(t, "bar.foo.", name, "lower case, through the pointer")
	assert.Equal(t, 11, end, "after the pointer")
	_, _, ok = readName(msg, 11)
	assert.False(t, ok, "a pointer loop")
	_, _, ok = readName([]byte{5, 'a'}, 0)
	assert.False(t, ok, "a label past the end")
	name, _, ok = readName([]byte{0}, 0)
	assert.True(t, ok)
	assert.Equal(t, ".", name)
}

// FuzzParseAnswer: any datagram is read without a panic, and whatever it
// yields is an address of the asked family.
func FuzzParseAnswer(f *testing.F) {
	q := appendQuery(nil, 7, "a.example.", typeA)
	f.Add(append(append([]byte{0, 7, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0}, q[12:len(q)-11]...),
		0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 10, 1, 2, 3))
	f.Fuzz(func(t *testing.T, msg []byte) {
		addrs, _, _ := parseAnswer(msg, 7, "a.example.", typeA)
		for _, a := range addrs {
			if !a.Is4() {
				t.Fatalf("%v from an A query", a)
			}
		}
	})
}

func TestZone(t *testing.T) {
	_, sa := sockaddr(netip.MustParseAddrPort("[fe80::1%7]:53"))
	assert.Equal(t, uint32(7), sa.(*unix.SockaddrInet6).ZoneId, "a numeric zone")
	_, sa = sockaddr(netip.MustParseAddrPort("[fe80::1%lo]:53"))
	assert.Equal(t, uint32(1), sa.(*unix.SockaddrInet6).ZoneId, "lo is interface 1")
	assert.Equal(t, uint32(0), zoneIndex("no-such-if"))
	assert.Equal(t, uint32(0), zoneIndex(""))
}
