package rtnl

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Values the unix package does not name (linux/netlink.h, if_link.h).
const (
	nlaTypeMask       = 0x3fff // nla_type without NLA_F_NESTED and NLA_F_NET_BYTEORDER
	vethInfoPeer      = 1      // VETH_INFO_PEER
	macvlanModeBridge = 4      // MACVLAN_MODE_BRIDGE
)

// builder writes one request's payload: a fixed header (ifinfomsg,
// ifaddrmsg, rtmsg) then attributes, nests included.
type builder struct{ b []byte }

// attr appends one attribute, padded to the netlink alignment.
func (w *builder) attr(typ uint16, value []byte) {
	w.b = binary.NativeEndian.AppendUint16(w.b, uint16(unix.SizeofRtAttr+len(value)))
	w.b = binary.NativeEndian.AppendUint16(w.b, typ)
	w.b = append(w.b, value...)
	w.pad()
}

func (w *builder) pad() {
	for len(w.b)%4 != 0 {
		w.b = append(w.b, 0)
	}
}

func (w *builder) str(typ uint16, s string) { w.attr(typ, append([]byte(s), 0)) }

func (w *builder) u32(typ uint16, v uint32) {
	w.attr(typ, binary.NativeEndian.AppendUint32(nil, v))
}

// nest starts a nested attribute; end closes it with its final length.
func (w *builder) nest(typ uint16) int {
	at := len(w.b)
	w.attr(typ|unix.NLA_F_NESTED, nil)
	return at
}

func (w *builder) end(at int) {
	binary.NativeEndian.PutUint16(w.b[at:], uint16(len(w.b)-at))
}

// ifinfomsg appends struct ifinfomsg (family AF_UNSPEC).
func (w *builder) ifinfomsg(index int, flags, change uint32) {
	var h [unix.SizeofIfInfomsg]byte
	binary.NativeEndian.PutUint32(h[4:], uint32(int32(index)))
	binary.NativeEndian.PutUint32(h[8:], flags)
	binary.NativeEndian.PutUint32(h[12:], change)
	w.b = append(w.b, h[:]...)
}

// header prefixes payload with an nlmsghdr.
func header(typ, flags uint16, seq uint32, payload []byte) []byte {
	b := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(payload))
	binary.NativeEndian.PutUint32(b[0:], uint32(unix.NLMSG_HDRLEN+len(payload)))
	binary.NativeEndian.PutUint16(b[4:], typ)
	binary.NativeEndian.PutUint16(b[6:], flags)
	binary.NativeEndian.PutUint32(b[8:], seq)
	return append(b, payload...)
}
