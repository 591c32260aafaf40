//go:build !nohub

package device

import "pantavisor/lib/engine"

// unclaim is pv-ctrl's UNCLAIM: the hub client drops the identity and
// registers again (hub.Agent.Unclaim). pv-ctrl answers 204 before this
// when the client does not know the device claimed.
func (d *Device) unclaim() {
	a, _ := d.hubAgent()
	if a == nil {
		d.log(engine.LevelWarn, "UNCLAIM: the hub client does not run")
		return
	}
	a.Unclaim()
}
