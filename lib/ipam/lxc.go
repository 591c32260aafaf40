package ipam

import (
	"strings"

	"pantavisor/lib/ip4"
	"pantavisor/lib/lxcconf"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
)

// ErrLXCNet is wrapped by CheckLXCNet's error.
var ErrLXCNet error = &sentinel.Error{Text: "a container on a pool must not set lxc.net.* in its LXC config"}

// CheckLXCNet refuses the LXC config of a container on a pool when it
// sets any lxc.net.<n>.* (or legacy lxc.network.*) network: pantavisor
// owns that container's network namespace, and upstream's LXC plugin
// (pv_validate_container_config) refuses the mix rather than overwrite
// part of it. lxc.namespace.keep = net is not a conflict: the launcher
// drops net from it for a pool container.
func CheckLXCNet(cfg *lxcconf.Config) error {
	if len(cfg.Net) == 0 {
		return nil
	}
	return printf.Errorf("ipam: lxc.net.%d.* is set: %w (remove the lxc.net keys or the pool)", cfg.Net[0].Index, ErrLXCNet)
}

// StaticAddrs returns the IPv4 addresses an LXC config hard-codes
// (lxc.net.<n>.ipv4.address "ADDR[/PREFIX] [BCAST]"), for
// Registry.ReserveStatic as upstream's pv_enumerate_static_ips does.
// LXC's "auto" and "dhcp" values and unreadable ones are skipped.
func StaticAddrs(cfg *lxcconf.Config) []ip4.Addr {
	var out []ip4.Addr
	for _, n := range cfg.Net {
		for _, v := range n.IPv4 {
			f := strings.Fields(v)
			if len(f) == 0 {
				continue
			}
			if a, _, err := state.ParseIPv4(f[0]); err == nil {
				out = append(out, a)
			}
		}
	}
	return out
}
