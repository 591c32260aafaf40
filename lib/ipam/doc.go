// Package ipam is IP address management for device.json network pools,
// as upstream Pantavisor's ipam.c: it reads and checks the pools, and
// hands each container interface an address of its pool (dynamic or
// static) with a MAC, keeping the lease while the revision runs. It is
// pure logic: bridges, veths, routes and NAT are set up elsewhere.
//
// Pools come from device.json "network": {"pools": {NAME: {"type":
// "bridge"|"macvlan", "bridge", "parent", "subnet", "gateway", "nat"}}}
// (ParsePools). A container's run.json "network" (lib/state Network)
// names a pool and optionally a static address and MAC per interface
// (Requests). A Registry (New) holds the leases, keyed by container and
// interface: Allocate, Leases, Release, and ReserveStatic for addresses
// that LXC configs hard-code (StaticAddrs). CheckLXCNet refuses a pool
// container whose LXC config sets lxc.net.* itself, as upstream's LXC
// plugin does.
package ipam
