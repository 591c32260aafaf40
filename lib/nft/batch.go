package nft

import (
	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
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

// names writes our table's and the given chain's names as attributes of
// those types.
func (b *batch) names(tableAttr, chainAttr uint16, chain string) {
	b.str(tableAttr, Table)
	b.str(chainAttr, chain)
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
	return printf.Sprintf("message %d", seq)
}

// applyBatch builds the transaction that makes our table hold exactly
// set, in order:
//  1. add table ip pantavisor (a no-op if it exists);
//  2. add its base chain postrouting, type nat, hook postrouting,
//     priority srcnat (a no-op if it exists), flush it, and append one
//     rule per masquerade Rule;
//  3. the same for base chain prerouting (hook prerouting, priority
//     dstnat) with one rule per Forward;
//  4. the same for base chain output (hook output, priority -100) with
//     the same Forward rules;
//  5. the same for base chain input, type filter, hook input, priority
//     filter (0), with one rule per Isolation.
//
// The kernel applies all of it or nothing, so the table is never seen
// half-built. set must have been checked.
func applyBatch(seq uint32, set Set) *batch {
	b := newBatch(seq)
	m := b.add("adding table "+Table, unix.NFT_MSG_NEWTABLE, unix.NLM_F_CREATE)
	b.str(unix.NFTA_TABLE_NAME, Table)
	b.be32(unix.NFTA_TABLE_FLAGS, 0)
	b.msgClose(m)

	b.chain(Chain, "nat", unix.NF_INET_POST_ROUTING, prioSrcNAT)
	for _, r := range set.Masquerade {
		m = b.rule(Chain, r.String())
		r.expressions(&b.enc)
		b.msgClose(m)
	}
	for _, c := range [...]struct {
		name string
		hook uint32
	}{{ChainPrerouting, unix.NF_INET_PRE_ROUTING}, {ChainOutput, unix.NF_INET_LOCAL_OUT}} {
		b.chain(c.name, "nat", c.hook, prioDstNAT)
		for _, f := range set.Forwards {
			m = b.rule(c.name, f.String()+" in "+c.name)
			f.expressions(&b.enc)
			b.msgClose(m)
		}
	}
	b.chain(ChainInput, "filter", unix.NF_INET_LOCAL_IN, 0)
	for _, i := range set.Isolate {
		m = b.rule(ChainInput, i.String())
		i.expressions(&b.enc)
		b.msgClose(m)
	}
	return b
}

// chain adds base chain name of type typ ("nat", "filter") on hook with
// priority prio (a no-op if it exists), then flushes it.
func (b *batch) chain(name, typ string, hook uint32, prio int32) {
	m := b.add("adding chain "+name, unix.NFT_MSG_NEWCHAIN, unix.NLM_F_CREATE)
	b.names(unix.NFTA_CHAIN_TABLE, unix.NFTA_CHAIN_NAME, name)
	b.str(unix.NFTA_CHAIN_TYPE, typ)
	h := b.open(unix.NFTA_CHAIN_HOOK)
	b.be32(unix.NFTA_HOOK_HOOKNUM, hook)
	b.be32(unix.NFTA_HOOK_PRIORITY, uint32(prio))
	b.close(h)
	b.msgClose(m)

	m = b.add("flushing chain "+name, unix.NFT_MSG_DELRULE, 0)
	b.names(unix.NFTA_RULE_TABLE, unix.NFTA_RULE_CHAIN, name)
	b.msgClose(m)
}

// rule starts a message appending a rule, described by text, to chain;
// the caller writes its expressions and calls msgClose.
func (b *batch) rule(chain, text string) int {
	m := b.add("adding rule "+text, unix.NFT_MSG_NEWRULE, unix.NLM_F_CREATE|unix.NLM_F_APPEND)
	b.names(unix.NFTA_RULE_TABLE, unix.NFTA_RULE_CHAIN, chain)
	return m
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
