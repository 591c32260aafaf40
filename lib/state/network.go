package state

// Network is the container's "network" object.
type Network struct {
	Mode, Pool, Hostname, IP, MAC string
}

func (f *fields) network() *Network {
	v, ok := f.obj("network")
	if !ok {
		return nil
	}
	n := newFields(f.key, "network.", v)
	out := &Network{Mode: n.oneOf("mode", "host", "pool"), Pool: n.str("pool"), Hostname: n.str("hostname"),
		IP: n.str("ip"), MAC: n.str("mac")}
	if out.Mode == "pool" && out.Pool == "" {
		n.failf("pool", "missing for mode \"pool\"")
	}
	if n.err != nil && f.err == nil {
		f.err = n.err
	}
	return out
}
