// Package nft programs the kernel's nftables over netlink (no nft or
// iptables binary needed) with what Pantavisor's network pools need:
// masquerade rules for NAT pools, port forwards to containers and the
// isolation of bridge pools, kept in a table of our own.
//
// Upstream's ipam.c shells out to
//
//	nft add table nat
//	nft add chain nat postrouting { type nat hook postrouting priority 100 \; }
//	nft add rule nat postrouting ip saddr <subnet> oifname != "<bridge>" masquerade
//
// (or to iptables -t nat ... -j MASQUERADE) for every pool with nat: true.
// This package writes the same rule, but into "table ip pantavisor", chain
// "postrouting", so it never touches anybody else's tables, and it rebuilds
// the table from the full set in one atomic batch, so adding a pool twice
// does not duplicate its rule.
//
// Port forwards (Forward: DNAT from a port of the device to a container,
// in chains "prerouting" and "output") and the isolation of a bridge
// pool's containers from the device's addresses other than the pool's
// gateway (Isolation, in filter chain "input") are our extensions;
// upstream Pantavisor has neither.
package nft
