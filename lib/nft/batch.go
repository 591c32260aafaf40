package nft

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// batch is one nfnetlink transaction and what each of its messages does,
// so a kernel error names the step that failed.
type batch struct {
	enc
	first uint32   // sequence number of the batch-begin message
	what  []string // what[i] describes the message with sequence first+i
}

// add starts one nf_tables message for family IPv4 with the next
// sequence number, NLM_F_REQUEST|NLM_F_ACK and the given extra flags;
// what describes it for errors. The caller writes the attributes, then
// calls msgClose with the returned offset.
func (b *batch) add(what string, typ, flags uint16) int {
	seq := b.first + uint32(len(b.what))
	b.what = append(b.what, what)
	return b.msgOpen(unix.NFNL_SUBSYS_NFTABLES<<8|typ, unix.NLM_F_REQUEST|unix.NLM_F_ACK|flags, seq, unix.NFPROTO_IPV4, 0)
}

// names writes our table's and chain's names as attributes of those types.
func (b *batch) names(tableAttr, chainAttr uint16) {
	b.str(tableAttr, Table)
	b.str(chainAttr, Chain)
}

// newBatch starts a batch whose first message has sequence number seq.
func newBatch(seq uint32) *batch {
	b := &batch{first: seq}
	b.batchMsg(unix.NFNL_MSG_BATCH_BEGIN, seq)
	b.what = append(b.what, "starting batch")
	return b
}

// end closes the batch and returns its bytes.
func (b *batch) end() []byte {
	b.batchMsg(unix.NFNL_MSG_BATCH_END, b.first+uint32(len(b.what)))
	b.what = append(b.what, "ending batch")
	return b.b
}

// describe names the message with sequence number seq.
func (b *batch) describe(seq uint32) string {
	if i := seq - b.first; seq >= b.first && i < uint32(len(b.what)) {
		return b.what[i]
	}
	return fmt.Sprintf("message %d", seq)
}

// applyBatch builds the transaction that makes our chain hold exactly
// rules, in order:
//  1. add table ip pantavisor (a no-op if it exists);
//  2. add its base chain postrouting, type nat, hook postrouting,
//     priority srcnat (a no-op if it exists);
//  3. flush that chain;
//  4. append one rule per entry of rules.
//
// The kernel applies all of it or nothing, so the chain is never seen
// half-built. rules must have been checked.
func applyBatch(seq uint32, rules []Rule) *batch {
	b := newBatch(seq)
	m := b.add("adding table "+Table, unix.NFT_MSG_NEWTABLE, unix.NLM_F_CREATE)
	b.str(unix.NFTA_TABLE_NAME, Table)
	b.be32(unix.NFTA_TABLE_FLAGS, 0)
	b.msgClose(m)

	m = b.add("adding chain "+Chain, unix.NFT_MSG_NEWCHAIN, unix.NLM_F_CREATE)
	b.names(unix.NFTA_CHAIN_TABLE, unix.NFTA_CHAIN_NAME)
	b.str(unix.NFTA_CHAIN_TYPE, "nat")
	hook := b.open(unix.NFTA_CHAIN_HOOK)
	b.be32(unix.NFTA_HOOK_HOOKNUM, unix.NF_INET_POST_ROUTING)
	b.be32(unix.NFTA_HOOK_PRIORITY, prioSrcNAT)
	b.close(hook)
	b.msgClose(m)

	m = b.add("flushing chain "+Chain, unix.NFT_MSG_DELRULE, 0)
	b.names(unix.NFTA_RULE_TABLE, unix.NFTA_RULE_CHAIN)
	b.msgClose(m)

	for _, r := range rules {
		m = b.add("adding rule "+r.String(), unix.NFT_MSG_NEWRULE, unix.NLM_F_CREATE|unix.NLM_F_APPEND)
		b.names(unix.NFTA_RULE_TABLE, unix.NFTA_RULE_CHAIN)
		r.expressions(&b.enc)
		b.msgClose(m)
	}
	return b
}

// removeBatch builds the transaction that deletes our table, and with it
// the chain and its rules.
func removeBatch(seq uint32) *batch {
	b := newBatch(seq)
	m := b.add("deleting table "+Table, unix.NFT_MSG_DELTABLE, 0)
	b.str(unix.NFTA_TABLE_NAME, Table)
	b.msgClose(m)
	return b
}
