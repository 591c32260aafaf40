package nft

import (
	"encoding/binary"
	"syscall"

	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// ErrMalformedReply is wrapped when the kernel's reply cannot be parsed.
var ErrMalformedReply error = &sentinel.Error{Text: "malformed netlink reply"}

// ErrNoAck is wrapped when a message of a batch got neither an
// acknowledgement nor an error from the kernel.
var ErrNoAck error = &sentinel.Error{Text: "no acknowledgement from the kernel"}

// ack is one NLMSG_ERROR reply: errno 0 acknowledges message seq, anything
// else is the reason it failed.
type ack struct {
	seq   uint32
	errno syscall.Errno
}

// parseAcks reads the NLMSG_ERROR replies out of one or more netlink
// messages (as received from the socket) and skips any other message
// type. Each reply's payload is a negative errno (int32, host order)
// followed by the header of the message it answers, whose sequence number
// is the reply's own.
func parseAcks(b []byte) ([]ack, error) {
	var acks []ack
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			return acks, printf.Errorf("%w: %d bytes left, less than a header", ErrMalformedReply, len(b))
		}
		n := int(binary.NativeEndian.Uint32(b[0:4]))
		if n < nlmsgHdrLen || n > len(b) {
			return acks, printf.Errorf("%w: message length %d with %d bytes left", ErrMalformedReply, n, len(b))
		}
		typ, seq := binary.NativeEndian.Uint16(b[4:6]), binary.NativeEndian.Uint32(b[8:12])
		if typ == unix.NLMSG_ERROR {
			if n < nlmsgHdrLen+4 {
				return acks, printf.Errorf("%w: error message of %d bytes", ErrMalformedReply, n)
			}
			code := int32(binary.NativeEndian.Uint32(b[nlmsgHdrLen:]))
			acks = append(acks, ack{seq: seq, errno: syscall.Errno(-code)})
		}
		n = (n + 3) &^ 3 // NLMSG_ALIGN
		if n > len(b) {
			n = len(b)
		}
		b = b[n:]
	}
	return acks, nil
}

// check turns the replies to batch b into one error: the first failed
// message (in batch order) named with its errno, or ErrNoAck for the
// first message that got no reply; nil when every message but the batch
// framing was acknowledged.
func (b *batch) check(acks []ack) error {
	got := make(map[uint32]bool, len(acks))
	var failed *ack
	for i, a := range acks {
		got[a.seq] = true
		if a.errno != 0 && (failed == nil || a.seq-b.first < failed.seq-b.first) {
			failed = &acks[i]
		}
	}
	if failed != nil {
		return printf.Errorf("nft: %s: %w", b.describe(failed.seq), failed.errno)
	}
	// The begin and end messages carry no NLM_F_ACK and get no reply.
	for i := 1; i < len(b.what)-1; i++ {
		if seq := b.first + uint32(i); !got[seq] {
			return printf.Errorf("nft: %s: %w", b.describe(seq), ErrNoAck)
		}
	}
	return nil
}
