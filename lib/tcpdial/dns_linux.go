package tcpdial

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/sentinel"
)

// Record types and class of the queries (RFC 1035 3.2, RFC 3596, RFC 6891).
const (
	typeA    = 1
	typeAAAA = 28
	typeOPT  = 41
	classIN  = 1
	// maxUDP is the answer size offered with EDNS(0), the one DNS flag
	// day 2020 settled on (package net offers it too).
	maxUDP = 1232
)

// Errors of one exchange, after which the next server is asked.
var (
	errServer    error = &sentinel.Error{Text: "DNS server failure"}
	errTruncated error = &sentinel.Error{Text: "DNS answer truncated"}
	errMalformed error = &sentinel.Error{Text: "malformed DNS answer"}
)

// query asks the servers in turn, attempts times over, for the records
// of qtype of name (fully qualified). No records of that type is no
// address and no error; NXDOMAIN is ErrNoSuchHost.
func (c *resolvConf) query(ctx context.Context, name string, qtype uint16, port int) ([]netip.Addr, error) {
	var last error = ErrNoAnswer
	for range c.attempts {
		for _, s := range c.servers {
			addrs, err := exchange(ctx, netip.AddrPortFrom(s, uint16(port)), name, qtype, c.timeout)
			if err == nil || err == ErrNoSuchHost {
				return addrs, err
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			last = err
		}
	}
	return nil, last
}

// exchange sends one query over UDP to server and waits up to timeout,
// or until ctx ends, for its answer; datagrams that do not answer it are
// skipped.
func exchange(ctx context.Context, server netip.AddrPort, name string, qtype uint16, timeout time.Duration) ([]netip.Addr, error) {
	f, err := udpSocket(server)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := f.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	// The context's end puts the deadline in the past (query then sees
	// ctx.Err()).
	stop := context.AfterFunc(ctx, func() { _ = f.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	id := uint16(rand.Uint32())
	if _, err := f.Write(appendQuery(nil, id, name, qtype)); err != nil {
		return nil, err
	}
	buf := make([]byte, maxUDP)
	for {
		n, err := f.Read(buf)
		if err != nil {
			return nil, err
		}
		addrs, err, ours := parseAnswer(buf[:n], id, name, qtype)
		if ours {
			return addrs, err
		}
	}
}

// udpSocket returns a non-blocking UDP socket connected to server, as a
// pollable file: only server's datagrams reach it.
func udpSocket(server netip.AddrPort) (*os.File, error) {
	fd, _, err := openSocket(server, unix.SOCK_DGRAM)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), server.String()), nil
}
