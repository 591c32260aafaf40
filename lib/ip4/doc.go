// Package ip4 is a small IPv4-only stand-in for net/netip: addresses,
// prefixes and address:port pairs as comparable values, parsed as strictly
// as netip parses IPv4. The device's network code is IPv4-only, and
// net/netip would link unique and weak and do init work at every start.
package ip4
