package nft

import (
	"errors"

	"golang.org/x/sys/unix"

	"pantavisor/lib/eintr"
	"pantavisor/lib/printf"
)

// Apply makes our table (table ip pantavisor) hold exactly set,
// duplicates dropped, in one atomic batch: the table and its chains are
// created if missing, each chain is flushed and its rules are appended
// (see applyBatch). Calling it again with the same set leaves the same
// single copy of each rule; if it fails, the table keeps what it held.
// Apply(Set{}) leaves the table and empty chains; Remove deletes them.
//
// It acts in the network namespace of the calling thread (lock the OS
// thread to act in another one). An invalid rule or forward fails with
// ErrInvalidRule before anything is sent. A kernel error names the step
// and wraps the errno, e.g. "nft: adding chain postrouting: operation not
// supported" (errors.Is(err, unix.EOPNOTSUPP)) on a kernel without
// nf_tables NAT support, which callers may treat as a warning as upstream
// does. Forwards need the kernel's nft_fib_ipv4 as well.
func Apply(set Set) error {
	set, err := set.clean()
	if err != nil {
		return printf.Errorf("nft: %w", err)
	}
	return run(applyBatch(1, set))
}

// Remove deletes our table, its chain and rules, in the calling thread's
// network namespace. A table that does not exist is not an error.
func Remove() error {
	err := run(removeBatch(1))
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

// run sends batch b on a new NETLINK_NETFILTER socket and checks the
// kernel's replies. The kernel handles a batch inside sendmsg (even when
// it loads a module and replays it), so by the time send returns every
// reply is queued and run reads them without blocking.
func run(b *batch) error {
	msg := b.end()
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return printf.Errorf("nft: opening netfilter netlink socket: %w", err)
	}
	defer unix.Close(fd)
	kernel := &unix.SockaddrNetlink{Family: unix.AF_NETLINK}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return printf.Errorf("nft: binding netfilter netlink socket: %w", err)
	}
	if err := eintr.Retry(func() error { return unix.Sendto(fd, msg, 0, kernel) }); err != nil {
		return printf.Errorf("nft: sending batch: %w", err)
	}
	acks, err := readAcks(fd)
	if err != nil {
		return err
	}
	return b.check(acks)
}

// readAcks reads the replies queued on fd until none is left.
func readAcks(fd int) ([]ack, error) {
	var acks []ack
	buf := make([]byte, 1<<16)
	for {
		n, err := eintr.Value(func() (int, error) {
			n, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
			return n, err
		})
		if errors.Is(err, unix.EAGAIN) {
			return acks, nil
		}
		if err != nil {
			return acks, printf.Errorf("nft: reading replies: %w", err)
		}
		more, err := parseAcks(buf[:n])
		acks = append(acks, more...)
		if err != nil {
			return acks, printf.Errorf("nft: reading replies: %w", err)
		}
	}
}
