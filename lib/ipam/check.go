package ipam

import (
	"pantavisor/lib/lxcconf"
	"pantavisor/lib/state"
)

// Check does, without touching the system, what a device does with a
// state's networks before its containers start, and returns the registry
// that results. Steps:
//  1. read device.json's pools (ParsePools);
//  2. reserve the addresses the LXC configs hard-code (StaticAddrs of
//     cfgs, container name to parsed config; nil when not at hand);
//  3. for each container on a pool, in state order: refuse its config if
//     it sets lxc.net.* (CheckLXCNet) and allocate its interfaces.
//
// Errors are *state.Error: the pool's (key device.json) or the
// container's (key "<c>/run.json", reason "network: " and the ipam error,
// which names the pool). Dynamic addresses depend on the start order; a
// device starts containers by group, so only static ones are predicted.
func Check(st *state.State, cfgs map[string]*lxcconf.Config) (*Registry, error) {
	pools, err := ParsePools(st.Device.Network)
	if err != nil {
		return nil, err
	}
	r := New(pools)
	for _, c := range st.Containers {
		if cfg := cfgs[c.Name]; cfg != nil {
			for _, a := range StaticAddrs(cfg) {
				_ = r.ReserveStatic(a, c.Name) // outside every pool or a gateway: upstream carries on
			}
		}
	}
	for _, c := range st.Containers {
		reqs := Requests(c.Network)
		if len(reqs) == 0 {
			continue
		}
		if cfg := cfgs[c.Name]; cfg != nil {
			if err := CheckLXCNet(cfg); err != nil {
				return nil, &state.Error{Key: c.Key, Reason: "network: " + err.Error()}
			}
		}
		if _, err := r.Allocate(c.Name, reqs); err != nil {
			return nil, &state.Error{Key: c.Key, Reason: "network: " + err.Error()}
		}
	}
	return r, nil
}
