package nft

import (
	"golang.org/x/sys/unix"

	"pantavisor/lib/ip4"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// Table and Chain name where our rules live: "table ip pantavisor", base
// chain "postrouting" (type nat hook postrouting priority srcnat).
const (
	Table = "pantavisor"
	Chain = "postrouting"
)

// prioSrcNAT is nft's "srcnat" priority (NF_IP_PRI_NAT_SRC), upstream's 100.
const prioSrcNAT = 100

// ErrInvalidRule is wrapped by Apply and the NAT methods for a rule that
// cannot be written: a masquerade Rule whose subnet is not an IPv4 prefix
// or whose bridge name is empty or longer than an interface name may be
// (IFNAMSIZ-1 bytes); an Isolation with such a bridge name or a gateway
// that is not an IPv4 address; a Forward with an unknown protocol, port
// 0 or a target that is not an IPv4 address and port; or two Forwards of
// the same device port and protocol to different targets.
var ErrInvalidRule error = &sentinel.Error{Text: "invalid nat rule"}

// Rule masquerades IPv4 traffic from Subnet that leaves through any
// interface except Bridge:
//
//	ip saddr <Subnet> oifname != "<Bridge>" masquerade
type Rule struct {
	Subnet ip4.Prefix
	Bridge string
}

// String returns the rule in nft syntax, with the subnet masked.
func (r Rule) String() string {
	return printf.Sprintf("ip saddr %s oifname != %q masquerade", r.Subnet.Masked(), r.Bridge)
}

// check returns ErrInvalidRule, wrapped with the reason, for a rule that
// cannot be encoded.
func (r Rule) check() error {
	switch {
	case !r.Subnet.IsValid():
		return printf.Errorf("%w: subnet %v is not an IPv4 prefix", ErrInvalidRule, r.Subnet)
	case r.Bridge == "" || len(r.Bridge) >= unix.IFNAMSIZ:
		return printf.Errorf("%w: bridge name %q must be 1 to %d bytes", ErrInvalidRule, r.Bridge, unix.IFNAMSIZ-1)
	}
	return nil
}

// expressions writes the rule's expression list as nft 1.0 does for the
// same text (so `nft list` shows it back as that text):
//
//	[ payload load Nb @ network header + 12 => reg 1 ]
//	[ bitwise reg 1 = ( reg 1 & mask ) ^ 0 ]   (only for a prefix not on a byte boundary)
//	[ cmp eq reg 1 network ]
//	[ meta load oifname => reg 1 ]
//	[ cmp neq reg 1 bridge, NUL-padded to IFNAMSIZ ]
//	[ masq ]
//
// A prefix on a byte boundary loads just its bytes of the source address
// (3 for a /24); any other loads all 4 and masks them.
func (r Rule) expressions(e *enc) {
	p := r.Subnet.Masked()
	net4 := p.Addr().As4()
	n := 4
	if bits := p.Bits(); bits%8 == 0 && bits > 0 {
		n = bits / 8
	}
	list := e.open(unix.NFTA_RULE_EXPRESSIONS)

	e.load(unix.NFT_PAYLOAD_NETWORK_HEADER, 12, uint32(n)) // struct iphdr.saddr

	if n == 4 && p.Bits() < 32 {
		m := prefixMask(p.Bits())
		e.bitwise(m[:])
	}
	e.cmp(unix.NFT_CMP_EQ, net4[:n])

	e.meta(unix.NFT_META_OIFNAME)
	var name [unix.IFNAMSIZ]byte
	copy(name[:], r.Bridge)
	e.cmp(unix.NFT_CMP_NEQ, name[:])

	e.exprClose(e.exprOpen("masq"))
	e.close(list)
}

// exprOpen starts one list element: the expression's name, then its data,
// which the caller writes before exprClose. Like exprClose, not inlined.
//
//go:noinline
func (e *enc) exprOpen(name string) [2]int {
	elem := e.open(unix.NFTA_LIST_ELEM)
	e.str(unix.NFTA_EXPR_NAME, name)
	return [2]int{elem, e.open(unix.NFTA_EXPR_DATA)}
}

//go:noinline
func (e *enc) exprClose(x [2]int) {
	e.close(x[1])
	e.close(x[0])
}

// load copies n bytes at offset of a packet header (an
// NFT_PAYLOAD_*_HEADER base) into register 1.
func (e *enc) load(base, offset, n uint32) {
	x := e.exprOpen("payload")
	e.be32(unix.NFTA_PAYLOAD_DREG, unix.NFT_REG_1)
	e.be32(unix.NFTA_PAYLOAD_BASE, base)
	e.be32(unix.NFTA_PAYLOAD_OFFSET, offset)
	e.be32(unix.NFTA_PAYLOAD_LEN, n)
	e.exprClose(x)
}

// meta loads the packet's meta data key (an NFT_META_* value) into
// register 1.
func (e *enc) meta(key uint32) {
	x := e.exprOpen("meta")
	e.be32(unix.NFTA_META_KEY, key)
	e.be32(unix.NFTA_META_DREG, unix.NFT_REG_1)
	e.exprClose(x)
}

// bitwise masks the 4 bytes of register 1 with mask (and xor 0).
func (e *enc) bitwise(mask []byte) {
	x := e.exprOpen("bitwise")
	e.be32(unix.NFTA_BITWISE_SREG, unix.NFT_REG_1)
	e.be32(unix.NFTA_BITWISE_DREG, unix.NFT_REG_1)
	e.be32(unix.NFTA_BITWISE_LEN, 4)
	e.value(unix.NFTA_BITWISE_MASK, mask)
	e.value(unix.NFTA_BITWISE_XOR, make([]byte, 4))
	e.exprClose(x)
}

// value writes data as a nested NFTA_DATA_VALUE (struct nft_data).
func (e *enc) value(typ uint16, data []byte) {
	v := e.open(typ)
	e.attr(unix.NFTA_DATA_VALUE, data)
	e.close(v)
}

// cmp compares register 1 with data.
func (e *enc) cmp(op uint32, data []byte) {
	x := e.exprOpen("cmp")
	e.be32(unix.NFTA_CMP_SREG, unix.NFT_REG_1)
	e.be32(unix.NFTA_CMP_OP, op)
	e.value(unix.NFTA_CMP_DATA, data)
	e.exprClose(x)
}

// prefixMask returns the IPv4 netmask of a prefix length (0..32).
func prefixMask(bits int) [4]byte {
	var m [4]byte
	for i := range m {
		switch {
		case bits >= 8:
			m[i] = 0xff
		case bits > 0:
			m[i] = byte(0xff << (8 - bits))
		}
		bits -= 8
	}
	return m
}
