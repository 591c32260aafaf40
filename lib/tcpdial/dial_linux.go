// Package tcpdial opens TCP connections for the hub client without
// package net's dialer. That dialer brings net's resolver (its DNS
// client, address sorting, nsswitch and cgo paths): about 150 KB of the
// full binary's symbols, 84 KB of its xz (README "Size budget").
//
// A name resolves from the hosts file, else by DNS over UDP (A records,
// then AAAA) with the servers, search domains and options (ndots, timeout,
// attempts) of resolv.conf, as glibc and package net do; the addresses
// are tried in turn. Connections are pollable *os.File sockets, so
// deadlines work as on a net.Conn.
package tcpdial

import (
	"cmp"
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/eintr"
	"pantavisor/lib/sentinel"
)

// Dialer opens TCP connections. The zero value reads /etc/hosts and
// /etc/resolv.conf at each dial and asks DNS servers on port 53.
type Dialer struct {
	Hosts      string // hosts file; "": /etc/hosts
	ResolvConf string // resolver configuration; "": /etc/resolv.conf
	DNSPort    int    // the servers' port; 0: 53 (tests run theirs elsewhere)
}

// DialContext connects to address ("host:port", the host a name or an IP
// address, IPv6 in brackets) over network "tcp", "tcp4" or "tcp6". The
// context bounds the resolution and the connects; the connection returned
// has no deadline.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return nil, &Error{Op: "dial", Addr: address, Err: err}
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, &Error{Op: "dial", Addr: address, Err: ErrBadPort}
	}
	var want func(netip.Addr) bool
	switch network {
	case "tcp":
		want = func(netip.Addr) bool { return true }
	case "tcp4":
		want = netip.Addr.Is4
	case "tcp6":
		want = func(a netip.Addr) bool { return a.Is6() && !a.Is4In6() }
	default:
		return nil, &Error{Op: "dial", Addr: address, Err: ErrNetwork}
	}
	addrs, err := d.resolve(ctx, host)
	if err != nil {
		return nil, &Error{Op: "lookup", Addr: host, Err: err}
	}
	err = ErrNoAddress
	for _, a := range addrs {
		if !want(a) {
			continue
		}
		var c net.Conn
		to := netip.AddrPortFrom(a.Unmap(), uint16(port))
		if c, err = connect(ctx, to); err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, &Error{Op: "dial", Addr: address, Err: err}
}

// Error is a failed dial or lookup: errors.Is sees through it to the
// errno (unix.ECONNREFUSED, ...), ErrNoSuchHost, os.ErrDeadlineExceeded
// or the context's error.
type Error struct {
	Op   string // "dial" or "lookup"
	Addr string
	Err  error
}

func (e *Error) Error() string { return "tcpdial: " + e.Op + " " + e.Addr + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errors of a dial.
var (
	ErrBadPort   error = &sentinel.Error{Text: "port not a number from 0 to 65535"}
	ErrNetwork   error = &sentinel.Error{Text: "network not tcp, tcp4 or tcp6"}
	ErrNoAddress error = &sentinel.Error{Text: "no address of the network asked for"}
)

// connect opens a non-blocking socket to a and waits for the connect
// within ctx.
func connect(ctx context.Context, a netip.AddrPort) (net.Conn, error) {
	fd, inProgress, err := openSocket(a, unix.SOCK_STREAM)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), a.String()) // pollable: the socket is non-blocking
	if inProgress {
		if err := waitConnected(ctx, f); err != nil {
			f.Close()
			return nil, err
		}
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1) // as package net does
	local := ""
	if sa, err := unix.Getsockname(fd); err == nil {
		local = sockaddrString(sa)
	}
	return &conn{File: f, local: addr(local), remote: addr(a.String())}, nil
}

// openSocket opens a non-blocking socket of type typ (SOCK_STREAM,
// SOCK_DGRAM) and connects it to a; inProgress is a TCP connect not
// finished yet (EINPROGRESS).
func openSocket(a netip.AddrPort, typ int) (fd int, inProgress bool, err error) {
	family, sa := sockaddr(a)
	fd, err = unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, false, os.NewSyscallError("socket", err)
	}
	err = eintr.Retry(func() error { return unix.Connect(fd, sa) })
	if err != nil && err != unix.EINPROGRESS {
		unix.Close(fd)
		return -1, false, os.NewSyscallError("connect", err)
	}
	return fd, err == unix.EINPROGRESS, nil
}

// waitConnected waits until the connect in progress on f ends, or ctx does.
func waitConnected(ctx context.Context, f *os.File) error {
	// The context's end (its deadline too) puts the write deadline in the
	// past: the wait then fails with ctx.Err() already set.
	stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var result error
	err = rc.Write(func(fd uintptr) bool {
		// Writable means the connect ended. The poller reports edges
		// after this call only (it cleared what it had), so look first.
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		if n, err := unix.Poll(pfd, 0); err == nil && n == 0 {
			return false
		}
		v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		switch {
		case err != nil:
			result = os.NewSyscallError("getsockopt", err)
		case v == int(unix.EINPROGRESS) || v == int(unix.EALREADY) || v == int(unix.EINTR):
			return false
		case v != 0:
			result = os.NewSyscallError("connect", unix.Errno(v))
		}
		return true
	})
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	return cmp.Or(result, f.SetWriteDeadline(time.Time{}))
}

// sockaddr returns a's address family and socket address; the zone of
// a link-local IPv6 address (a resolv.conf nameserver fe80::1%eth0) is an
// interface index or name.
func sockaddr(a netip.AddrPort) (int, unix.Sockaddr) {
	if a.Addr().Is4() {
		return unix.AF_INET, &unix.SockaddrInet4{Port: int(a.Port()), Addr: a.Addr().As4()}
	}
	return unix.AF_INET6, &unix.SockaddrInet6{Port: int(a.Port()), Addr: a.Addr().As16(), ZoneId: zoneIndex(a.Addr().Zone())}
}

// zoneIndex is the interface index a zone names (0: none or unknown).
func zoneIndex(zone string) uint32 {
	if zone == "" {
		return 0
	}
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n)
	}
	b, err := os.ReadFile("/sys/class/net/" + filepath.Base(zone) + "/ifindex")
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	return uint32(n)
}

func sockaddrString(sa unix.Sockaddr) string {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)).String()
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port)).String()
	}
	return ""
}

// conn is a connected socket as a net.Conn: *os.File has its reads,
// writes, deadlines and Close.
type conn struct {
	*os.File
	local, remote addr
}

func (c *conn) LocalAddr() net.Addr  { return c.local }
func (c *conn) RemoteAddr() net.Addr { return c.remote }

// addr is a TCP address as "ip:port".
type addr string

func (a addr) Network() string { return "tcp" }
func (a addr) String() string  { return string(a) }
