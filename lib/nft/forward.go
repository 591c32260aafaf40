package nft

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"pantavisor/lib/ip4"
	"pantavisor/lib/printf"
)

// Forward sends connections to Port of the device's own addresses on to
// a container: a port forward (DNAT). Upstream Pantavisor has none; this
// is our extension for containers on network pools whose services must
// be reachable from outside the device. In nft syntax it is
//
//	fib daddr type local <Proto> dport <Port> dnat to <To>
//
// in base chain "prerouting" (type nat hook prerouting priority dstnat),
// for connections from elsewhere, and the same rule in base chain
// "output" (type nat hook output priority -100), for connections from the
// device itself. "fib daddr type local" keeps the rule to connections
// addressed to the device, so a container's or the device's own
// connections to Port on other hosts are left alone.
type Forward struct {
	Proto string       // "tcp" or "udp"
	Port  uint16       // on the device, not 0
	To    ip4.AddrPort // the container's IPv4 address and port, not 0
}

// Chains of our table that hold the forwards.
const (
	ChainPrerouting = "prerouting"
	ChainOutput     = "output"
)

// prioDstNAT is nft's "dstnat" priority (NF_IP_PRI_NAT_DST).
const prioDstNAT = -100

// String returns the rule in nft syntax.
func (f Forward) String() string {
	return printf.Sprintf("fib daddr type local %s dport %d dnat to %s", f.Proto, f.Port, f.To)
}

// protoNum returns the IP protocol number of a Forward's Proto.
func protoNum(proto string) (byte, bool) {
	switch proto {
	case "tcp":
		return unix.IPPROTO_TCP, true
	case "udp":
		return unix.IPPROTO_UDP, true
	}
	return 0, false
}

// check returns ErrInvalidRule, wrapped with the reason, for a forward
// that cannot be encoded.
func (f Forward) check() error {
	_, ok := protoNum(f.Proto)
	switch {
	case !ok:
		return printf.Errorf("%w: protocol %q is not tcp or udp", ErrInvalidRule, f.Proto)
	case f.Port == 0:
		return printf.Errorf("%w: forward of port 0", ErrInvalidRule)
	case !f.To.IsValid() || f.To.Port() == 0:
		return printf.Errorf("%w: forward target %v is not an IPv4 address and port", ErrInvalidRule, f.To)
	}
	return nil
}

// addForward appends f to fs unless it is there already. A forward of the
// same device port and protocol to another target is ErrInvalidRule,
// naming both targets.
func addForward(fs []Forward, f Forward) ([]Forward, error) {
	if err := f.check(); err != nil {
		return fs, err
	}
	for _, x := range fs {
		if x.Proto == f.Proto && x.Port == f.Port {
			if x.To != f.To {
				return fs, printf.Errorf("%w: %s port %d forwarded to both %s and %s", ErrInvalidRule, f.Proto, f.Port, x.To, f.To)
			}
			return fs, nil
		}
	}
	return append(fs[:len(fs):len(fs)], f), nil
}

// expressions writes the forward's expression list as nft 1.0 does for
// the same text:
//
//	[ fib daddr type => reg 1 ]
//	[ cmp eq reg 1 RTN_LOCAL (host byte order) ]
//	[ meta load l4proto => reg 1 ]
//	[ cmp eq reg 1 proto ]
//	[ payload load 2b @ transport header + 2 => reg 1 ]
//	[ cmp eq reg 1 port ]
//	[ immediate reg 1 address ]
//	[ immediate reg 2 port ]
//	[ nat dnat ip addr_min reg 1 proto_min reg 2 flags 0x2 ]
func (f Forward) expressions(e *enc) {
	proto, _ := protoNum(f.Proto)
	list := e.open(unix.NFTA_RULE_EXPRESSIONS)

	x := e.exprOpen("fib")
	e.be32(unix.NFTA_FIB_FLAGS, unix.NFTA_FIB_F_DADDR)
	e.be32(unix.NFTA_FIB_RESULT, unix.NFT_FIB_RESULT_ADDRTYPE)
	e.be32(unix.NFTA_FIB_DREG, unix.NFT_REG_1)
	e.exprClose(x)
	e.cmp(unix.NFT_CMP_EQ, binary.NativeEndian.AppendUint32(nil, unix.RTN_LOCAL))

	e.meta(unix.NFT_META_L4PROTO)
	e.cmp(unix.NFT_CMP_EQ, []byte{proto})
	e.load(unix.NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2) // struct tcphdr/udphdr.dest
	e.cmp(unix.NFT_CMP_EQ, binary.BigEndian.AppendUint16(nil, f.Port))

	addr := f.To.Addr().As4()
	e.immediate(unix.NFT_REG_1, addr[:])
	e.immediate(unix.NFT_REG_2, binary.BigEndian.AppendUint16(nil, f.To.Port()))

	x = e.exprOpen("nat")
	e.be32(unix.NFTA_NAT_TYPE, unix.NFT_NAT_DNAT)
	e.be32(unix.NFTA_NAT_FAMILY, unix.NFPROTO_IPV4)
	e.be32(unix.NFTA_NAT_REG_ADDR_MIN, unix.NFT_REG_1)
	e.be32(unix.NFTA_NAT_REG_PROTO_MIN, unix.NFT_REG_2)
	e.be32(unix.NFTA_NAT_FLAGS, unix.NF_NAT_RANGE_PROTO_SPECIFIED)
	e.exprClose(x)
	e.close(list)
}

// immediate loads data into register reg.
func (e *enc) immediate(reg uint32, data []byte) {
	x := e.exprOpen("immediate")
	e.be32(unix.NFTA_IMMEDIATE_DREG, reg)
	e.value(unix.NFTA_IMMEDIATE_DATA, data)
	e.exprClose(x)
}
