package rtnl

import (
	"encoding/binary"
	"errors"
	"syscall"

	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
)

// Parse errors (the reply is not what the kernel writes).
var (
	ErrTruncated       = errors.New("rtnl: truncated netlink message")
	ErrDumpInterrupted = errors.New("rtnl: dump interrupted (the table changed while it was read)")
)

// message is one netlink message of a reply, its payload after the header.
type message struct {
	Type, Flags uint16
	Seq         uint32
	Data        []byte
}

// Error is a negative acknowledgement: the kernel's errno and, when the
// kernel gave one (NETLINK_EXT_ACK), its extended message. It unwraps to
// the syscall.Errno, so errors.Is(err, unix.EEXIST) works.
type Error struct {
	Errno syscall.Errno
	Msg   string // extended ack text, "" when the kernel gave none
}

func (e *Error) Error() string {
	if e.Msg == "" {
		return e.Errno.Error()
	}
	return e.Errno.Error() + " (" + e.Msg + ")"
}

func (e *Error) Unwrap() error { return e.Errno }

// parse reads one datagram of replies to the request numbered seq
// (messages with another number, left over from an earlier request, are
// skipped). It returns the data messages (dump parts, or the reply to a
// get; reserved control types such as NLMSG_NOOP are skipped) and done once the request is complete: an ack (NLMSG_ERROR with
// error 0), NLMSG_DONE, or a reply that is not part of a multipart dump.
// A negative ack, or an NLMSG_DONE carrying an error, returns an *Error.
func parse(b []byte, seq uint32) (msgs []message, done bool, err error) {
	for len(b) > 0 {
		if len(b) < unix.NLMSG_HDRLEN {
			return nil, false, ErrTruncated
		}
		n := binary.NativeEndian.Uint32(b[0:4])
		if n < unix.NLMSG_HDRLEN || uint64(n) > uint64(len(b)) {
			return nil, false, ErrTruncated
		}
		m := message{Type: binary.NativeEndian.Uint16(b[4:6]), Flags: binary.NativeEndian.Uint16(b[6:8]),
			Seq: binary.NativeEndian.Uint32(b[8:12]), Data: b[unix.NLMSG_HDRLEN:n]}
		b = b[min(uint64(align(int(n))), uint64(len(b))):]
		if m.Seq != seq {
			continue
		}
		if m.Flags&unix.NLM_F_DUMP_INTR != 0 {
			return nil, false, ErrDumpInterrupted
		}
		switch m.Type {
		case unix.NLMSG_ERROR:
			return msgs, true, parseAck(m)
		case unix.NLMSG_DONE:
			if len(m.Data) >= 4 {
				if e := int32(binary.NativeEndian.Uint32(m.Data)); e < 0 {
					return msgs, true, &Error{Errno: syscall.Errno(-e)}
				}
			}
			return msgs, true, nil
		}
		if m.Type < unix.NLMSG_MIN_TYPE { // NLMSG_NOOP and other reserved control messages
			continue
		}
		msgs = append(msgs, m)
		if m.Flags&unix.NLM_F_MULTI == 0 {
			done = true
		}
	}
	return msgs, done, nil
}

// parseAck reads an NLMSG_ERROR: a negative errno, or 0 for an ack. With
// NLM_F_CAPPED the original request follows only as its header; with
// NLM_F_ACK_TLVS extended-ack attributes follow it.
func parseAck(m message) error {
	if len(m.Data) < 4 {
		return ErrTruncated
	}
	e := int32(binary.NativeEndian.Uint32(m.Data))
	if e == 0 {
		return nil
	}
	if e > 0 {
		return printf.Errorf("%w: positive error %d", ErrTruncated, e)
	}
	out := &Error{Errno: syscall.Errno(-e)}
	if m.Flags&unix.NLM_F_ACK_TLVS == 0 {
		return out
	}
	rest := m.Data[4:]
	if len(rest) < unix.NLMSG_HDRLEN {
		return out
	}
	reqLen := int(binary.NativeEndian.Uint32(rest))
	skip := unix.NLMSG_HDRLEN
	if m.Flags&unix.NLM_F_CAPPED == 0 {
		skip = align(reqLen)
	}
	if skip < unix.NLMSG_HDRLEN || skip > len(rest) {
		return out
	}
	for _, a := range parseAttrs(rest[skip:]) {
		if a.Type == unix.NLMSGERR_ATTR_MSG {
			out.Msg = cString(a.Value)
		}
	}
	return out
}

// attr is one rtnetlink attribute (nla_type without its flag bits).
type attr struct {
	Type  uint16
	Value []byte
}

// parseAttrs splits a run of attributes; a malformed tail is dropped, as
// the kernel's nla_for_each_attr does.
func parseAttrs(b []byte) []attr {
	var out []attr
	for len(b) >= unix.SizeofRtAttr {
		n := int(binary.NativeEndian.Uint16(b[0:2]))
		if n < unix.SizeofRtAttr || n > len(b) {
			break
		}
		out = append(out, attr{Type: binary.NativeEndian.Uint16(b[2:4]) & nlaTypeMask, Value: b[unix.SizeofRtAttr:n]})
		b = b[min(align(n), len(b)):]
	}
	return out
}

// align rounds n up to the 4-byte netlink alignment.
func align(n int) int { return (n + 3) &^ 3 }

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
