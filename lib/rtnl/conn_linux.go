package rtnl

import (
	"errors"
	"runtime"

	"golang.org/x/sys/unix"

	"pantavisor/lib/eintr"
	"pantavisor/lib/printf"
)

// Conn is a NETLINK_ROUTE socket in one network namespace: the one it was
// opened in, whatever thread later uses it. It is not safe for concurrent
// use; Close releases it.
type Conn struct {
	fd  int
	seq uint32
	buf []byte
}

// recvSize holds any datagram the kernel sends: dump parts are at most
// 32 KiB (or a page, if larger), acks and gets are smaller.
const recvSize = 1 << 16

// Dial opens a Conn in the calling thread's network namespace.
func Dial() (*Conn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, printf.Errorf("rtnl: opening netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, printf.Errorf("rtnl: binding netlink socket: %w", err)
	}
	// Best effort, both since Linux 4.12 or older: the kernel's text for
	// a refused request, and acks without a copy of the request.
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	return &Conn{fd: fd, buf: make([]byte, recvSize)}, nil
}

// DialNetns opens a Conn inside the network namespace h: a socket belongs
// to the namespace it was created in. Steps: lock the OS thread, enter h,
// open the socket, return to the thread's namespace. If the way back
// fails the thread stays locked, so Go retires it with its goroutine
// rather than running other goroutines in the wrong namespace.
func DialNetns(h Netns) (c *Conn, err error) {
	runtime.LockOSThread()
	orig, err := CurrentNetns()
	if err != nil {
		runtime.UnlockOSThread()
		return nil, printf.Errorf("rtnl: current network namespace: %w", err)
	}
	defer orig.Close()
	if err := h.Enter(); err != nil {
		runtime.UnlockOSThread()
		return nil, printf.Errorf("rtnl: entering network namespace (fd %d): %w", int(h), err)
	}
	c, err = Dial()
	if back := orig.Enter(); back != nil {
		if c != nil {
			c.Close()
		}
		return nil, printf.Errorf("rtnl: returning to network namespace (fd %d): %w", int(orig), back)
	}
	runtime.UnlockOSThread()
	return c, err
}

// Close closes the socket.
func (c *Conn) Close() error { return unix.Close(c.fd) }

// request sends one request and reads its replies until it completes. Ack
// asks for an acknowledgement (set for every change); a dump flag in
// flags reads all parts. Errors are "rtnl: <op>: <cause>".
func (c *Conn) request(op string, typ, flags uint16, payload []byte) ([]message, error) {
	msgs, err := c.exchange(typ, flags, payload)
	if err != nil {
		return nil, printf.Errorf("rtnl: %s: %w", op, err)
	}
	return msgs, nil
}

func (c *Conn) exchange(typ, flags uint16, payload []byte) ([]message, error) {
	c.seq++
	req := header(typ, flags|unix.NLM_F_REQUEST, c.seq, payload)
	if err := eintr.Retry(func() error {
		return unix.Sendto(c.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	}); err != nil {
		return nil, err
	}
	var out []message
	for {
		n, err := eintr.Value(func() (int, error) {
			n, _, err := unix.Recvfrom(c.fd, c.buf, unix.MSG_TRUNC)
			return n, err
		})
		if err != nil {
			return nil, err
		}
		if n > len(c.buf) {
			return nil, errors.New("reply larger than the receive buffer")
		}
		msgs, done, err := parse(c.buf[:n], c.seq)
		for _, m := range msgs { // c.buf is reused by the next read
			m.Data = append([]byte(nil), m.Data...)
			out = append(out, m)
		}
		if err != nil || done {
			return out, err
		}
	}
}
