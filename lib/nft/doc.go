// Package nft programs the kernel's nftables over netlink (no nft or
// iptables binary needed) with the one thing Pantavisor needs: masquerade
// rules for NAT network pools, kept in a table of our own.
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
// that chain from the full set of pools in one atomic batch, so adding a
// pool twice does not duplicate its rule.
package nft
