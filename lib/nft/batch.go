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

// add writes one nf_tables message with the next sequence number.
func (b *batch) add(what string, typ, flags uint16, fill func()) {
	b.nftMsg(typ, flags, b.first+uint32(len(b.what)), fill)
	b.what = append(b.what, what)
}

// newBatch starts a batch whose first message has sequence number seq.
func newBatch(seq uint32) *batch {
	b := &batch{first: seq}
	b.batchBegin(seq)
	b.what = append(b.what, "starting batch")
	return b
}

// end closes the batch and returns its bytes.
func (b *batch) end() []byte {
	b.batchEnd(b.first + uint32(len(b.what)))
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
	b.add("adding table "+Table, unix.NFT_MSG_NEWTABLE, unix.NLM_F_CREATE, func() {
		b.str(unix.NFTA_TABLE_NAME, Table)
		b.be32(unix.NFTA_TABLE_FLAGS, 0)
	})
	b.add("adding chain "+Chain, unix.NFT_MSG_NEWCHAIN, unix.NLM_F_CREATE, func() {
		b.str(unix.NFTA_CHAIN_TABLE, Table)
		b.str(unix.NFTA_CHAIN_NAME, Chain)
		b.str(unix.NFTA_CHAIN_TYPE, "nat")
		b.nest(unix.NFTA_CHAIN_HOOK, func() {
			b.be32(unix.NFTA_HOOK_HOOKNUM, unix.NF_INET_POST_ROUTING)
			b.be32(unix.NFTA_HOOK_PRIORITY, prioSrcNAT)
		})
	})
	b.add("flushing chain "+Chain, unix.NFT_MSG_DELRULE, 0, func() {
		b.str(unix.NFTA_RULE_TABLE, Table)
		b.str(unix.NFTA_RULE_CHAIN, Chain)
	})
	for _, r := range rules {
		b.add("adding rule "+r.String(), unix.NFT_MSG_NEWRULE, unix.NLM_F_CREATE|unix.NLM_F_APPEND, func() {
			b.str(unix.NFTA_RULE_TABLE, Table)
			b.str(unix.NFTA_RULE_CHAIN, Chain)
			r.expressions(&b.enc)
		})
	}
	return b
}

// removeBatch builds the transaction that deletes our table, and with it
// the chain and its rules.
func removeBatch(seq uint32) *batch {
	b := newBatch(seq)
	b.add("deleting table "+Table, unix.NFT_MSG_DELTABLE, 0, func() {
		b.str(unix.NFTA_TABLE_NAME, Table)
	})
	return b
}
