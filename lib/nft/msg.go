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

// attr writes one attribute with raw data.
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

// be32 writes a big-endian 32-bit attribute.
func (e *enc) be32(typ uint16, v uint32) {
	e.attr(typ, binary.BigEndian.AppendUint32(nil, v))
}

// nest writes a nested attribute whose content fill writes.
func (e *enc) nest(typ uint16, fill func()) {
	start := len(e.b)
	e.b = append(e.b, 0, 0, 0, 0)
	fill()
	binary.NativeEndian.PutUint16(e.b[start:], uint16(len(e.b)-start))
	binary.NativeEndian.PutUint16(e.b[start+2:], typ|unix.NLA_F_NESTED)
}

// msg writes one nfnetlink message: nlmsghdr, nfgenmsg (family, version
// 0, resource id big-endian) and the attributes fill writes.
func (e *enc) msg(typ, flags uint16, seq uint32, family uint8, resID uint16, fill func()) {
	start := len(e.b)
	e.b = append(e.b, make([]byte, nlmsgHdrLen)...)
	e.b = append(e.b, family, unix.NFNETLINK_V0)
	e.b = binary.BigEndian.AppendUint16(e.b, resID)
	if fill != nil {
		fill()
	}
	h := e.b[start:]
	binary.NativeEndian.PutUint32(h[0:], uint32(len(e.b)-start))
	binary.NativeEndian.PutUint16(h[4:], typ)
	binary.NativeEndian.PutUint16(h[6:], flags)
	binary.NativeEndian.PutUint32(h[8:], seq)
	// h[12:16], the port id, stays 0: the kernel fills it in.
}

// nftMsg writes one nf_tables message (subsystem NFTABLES) for family
// IPv4 with NLM_F_REQUEST|NLM_F_ACK and the given extra flags.
func (e *enc) nftMsg(typ uint16, flags uint16, seq uint32, fill func()) {
	e.msg(unix.NFNL_SUBSYS_NFTABLES<<8|typ, unix.NLM_F_REQUEST|unix.NLM_F_ACK|flags,
		seq, unix.NFPROTO_IPV4, 0, fill)
}

// batchBegin and batchEnd frame a transaction: the kernel applies the
// messages between them all or none.
func (e *enc) batchBegin(seq uint32) {
	e.msg(unix.NFNL_MSG_BATCH_BEGIN, unix.NLM_F_REQUEST, seq, unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES, nil)
}

func (e *enc) batchEnd(seq uint32) {
	e.msg(unix.NFNL_MSG_BATCH_END, unix.NLM_F_REQUEST, seq, unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES, nil)
}
