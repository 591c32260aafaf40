package nft

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Netlink framing sizes: struct nlmsghdr, struct nfgenmsg, struct nlattr.
const (
	nlmsgHdrLen = unix.NLMSG_HDRLEN
	nfgenLen    = 4
	attrHdrLen  = 4
)

// enc appends netlink messages and attributes to one buffer. Attribute
// headers are in host byte order (as the kernel reads them); nftables
// numbers inside attributes are big-endian (NLA_BE32), as nft sends them.
type enc struct {
	b []byte
}

// pad grows b with zeros to a 4-byte boundary (NLA_ALIGN, NLMSG_ALIGN).
func (e *enc) pad() {
	for len(e.b)%4 != 0 {
		e.b = append(e.b, 0)
	}
}

// attr writes one attribute with raw data. It is not inlined: the
// encoder calls it from many places and the device binary is size-bound.
//
//go:noinline
func (e *enc) attr(typ uint16, data []byte) {
	e.b = binary.NativeEndian.AppendUint16(e.b, uint16(attrHdrLen+len(data)))
	e.b = binary.NativeEndian.AppendUint16(e.b, typ)
	e.b = append(e.b, data...)
	e.pad()
}

// str writes a NUL-terminated string attribute (NLA_STRING as nft sends it).
func (e *enc) str(typ uint16, s string) {
	e.attr(typ, append([]byte(s), 0))
}

// be32 writes a big-endian 32-bit attribute. Not inlined, as attr.
//
//go:noinline
func (e *enc) be32(typ uint16, v uint32) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	e.attr(typ, b[:])
}

// open starts a nested attribute and returns its offset for close.
func (e *enc) open(typ uint16) int {
	start := len(e.b)
	e.b = binary.NativeEndian.AppendUint16(e.b, 0)
	e.b = binary.NativeEndian.AppendUint16(e.b, typ|unix.NLA_F_NESTED)
	return start
}

// close ends the nested attribute (or message) that starts at start by
// writing its length.
func (e *enc) close(start int) {
	binary.NativeEndian.PutUint16(e.b[start:], uint16(len(e.b)-start))
}

// msgOpen starts one nfnetlink message: nlmsghdr, then nfgenmsg (family,
// version 0, resource id big-endian). The caller writes the attributes
// and calls msgClose with the returned offset.
func (e *enc) msgOpen(typ, flags uint16, seq uint32, family uint8, resID uint16) int {
	start := len(e.b)
	e.b = binary.NativeEndian.AppendUint32(e.b, 0) // length, set by msgClose
	e.b = binary.NativeEndian.AppendUint16(e.b, typ)
	e.b = binary.NativeEndian.AppendUint16(e.b, flags)
	e.b = binary.NativeEndian.AppendUint32(e.b, seq)
	e.b = binary.NativeEndian.AppendUint32(e.b, 0) // port id: the kernel fills it in
	e.b = append(e.b, family, unix.NFNETLINK_V0)
	e.b = binary.BigEndian.AppendUint16(e.b, resID)
	return start
}

// msgClose ends the message that starts at start.
func (e *enc) msgClose(start int) {
	binary.NativeEndian.PutUint32(e.b[start:], uint32(len(e.b)-start))
}

// batchMsg writes a NFNL_MSG_BATCH_BEGIN or _END message: the kernel
// applies the messages between them all or none.
func (e *enc) batchMsg(typ uint16, seq uint32) {
	e.msgClose(e.msgOpen(typ, unix.NLM_F_REQUEST, seq, unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES))
}
