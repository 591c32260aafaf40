package nft

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"pantavisor/lib/ip4"
	"pantavisor/lib/printf"
)

// ChainInput is the chain of our table that holds the Isolation rules:
// base chain "input" (type filter hook input priority filter, 0).
const ChainInput = "input"

// Isolation keeps the containers on a pool's bridge away from the
// device's own addresses other than the pool's gateway. Linux answers
// for all its local addresses on any interface, so without it a
// container could reach a service the device binds to another
// interface's address. In nft syntax it is
//
//	iifname "<Bridge>" ip daddr != <Gateway> ct state ! established,related drop
//
// in base chain "input". What it leaves alone:
//   - traffic between the pool's containers, and from them to other
//     hosts: bridged or routed, it never reaches the input hook;
//   - anything to the gateway address (e.g. a DNS forwarder there);
//   - replies to connections the device opened: a connection of the
//     device to its own forwarded port (Forward, chain "output") leaves
//     with the source address it was sent to, say 192.0.2.1, so the
//     container's replies come in on the bridge to that address;
//   - port forwards from outside: they come in on other interfaces.
//
// What it drops: broadcasts and multicasts from the containers to the
// device (the device serves no DHCP or other discovery on a pool; the
// containers still see each other's, across the bridge), and a
// container's connections to the device's other addresses, the device's
// own port forwards through them included (use the gateway address).
// Needs the kernel's nft_ct (conntrack), as NAT does.
//
// A macvlan pool needs none: its containers' traffic leaves through the
// parent interface without passing a bridge of the device, and the
// kernel does not pass frames between a macvlan child and its parent at
// all, so they cannot reach the device through the parent.
type Isolation struct {
	Bridge  string
	Gateway ip4.Addr
}

// String returns the rule in nft syntax.
func (i Isolation) String() string {
	return printf.Sprintf("iifname %q ip daddr != %s ct state ! established,related drop", i.Bridge, i.Gateway)
}

// check returns ErrInvalidRule, wrapped with the reason, for an isolation
// that cannot be encoded.
func (i Isolation) check() error {
	switch {
	case !i.Gateway.IsValid():
		return printf.Errorf("%w: gateway %v is not an IPv4 address", ErrInvalidRule, i.Gateway)
	case i.Bridge == "" || len(i.Bridge) >= unix.IFNAMSIZ:
		return printf.Errorf("%w: bridge name %q must be 1 to %d bytes", ErrInvalidRule, i.Bridge, unix.IFNAMSIZ-1)
	}
	return nil
}

// expressions writes the rule's expression list as nft 1.0 does for the
// same text:
//
//	[ meta load iifname => reg 1 ]
//	[ cmp eq reg 1 bridge, NUL-padded to IFNAMSIZ ]
//	[ payload load 4b @ network header + 16 => reg 1 ]
//	[ cmp neq reg 1 gateway ]
//	[ ct load state => reg 1 ]
//	[ bitwise reg 1 = ( reg 1 & established|related ) ^ 0 ]
//	[ cmp eq reg 1 0 ]
//	[ immediate reg 0 drop ]
func (i Isolation) expressions(e *enc) {
	list := e.open(unix.NFTA_RULE_EXPRESSIONS)
	e.meta(unix.NFT_META_IIFNAME)
	var name [unix.IFNAMSIZ]byte
	copy(name[:], i.Bridge)
	e.cmp(unix.NFT_CMP_EQ, name[:])

	gw := i.Gateway.As4()
	e.load(unix.NFT_PAYLOAD_NETWORK_HEADER, 16, 4) // struct iphdr.daddr
	e.cmp(unix.NFT_CMP_NEQ, gw[:])

	x := e.exprOpen("ct")
	e.be32(unix.NFTA_CT_KEY, unix.NFT_CT_STATE)
	e.be32(unix.NFTA_CT_DREG, unix.NFT_REG_1)
	e.exprClose(x)
	// The kernel's ct state bits are a host byte order u32.
	e.bitwise(binary.NativeEndian.AppendUint32(nil, ctStateEstablished|ctStateRelated))
	e.cmp(unix.NFT_CMP_EQ, make([]byte, 4))

	x = e.exprOpen("immediate")
	e.be32(unix.NFTA_IMMEDIATE_DREG, unix.NFT_REG_VERDICT)
	d := e.open(unix.NFTA_IMMEDIATE_DATA)
	v := e.open(unix.NFTA_DATA_VERDICT)
	e.be32(unix.NFTA_VERDICT_CODE, nfDrop)
	e.close(v)
	e.close(d)
	e.exprClose(x)
	e.close(list)
}

// nfDrop is the drop verdict (NF_DROP of linux/netfilter.h).
const nfDrop = 0

// The ct state bits (NF_CT_STATE_BIT(IP_CT_ESTABLISHED), ...(IP_CT_RELATED)).
const (
	ctStateEstablished = 1 << 1
	ctStateRelated     = 1 << 2
)
