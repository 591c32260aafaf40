//go:build nohub

package device

import (
	"io"

	"pantavisor/lib/config"
	"pantavisor/lib/engine"
	"pantavisor/lib/update"
)

// HubOptions configure the device's hub client; the nohub build has none.
type HubOptions struct{}

// hubOptions is nil: this build has no hub client.
func hubOptions(*config.Config, config.Paths, string, io.Writer) *HubOptions { return nil }

// remote is the device's remote mode; without a hub client the device
// stays local.
type remote struct{}

// initRemote publishes local mode and says once, when the configuration
// asks for remote mode, that this build cannot follow it.
func (d *Device) initRemote() {
	d.setMode(false)
	if d.cfg.Get(config.ControlRemote).Bool() {
		d.log(engine.LevelInfo, "remote mode: this build has no hub client (nohub): the device stays in local mode")
	}
}

// goRemote publishes remote mode (GO_REMOTE); there is no client to start.
func (d *Device) goRemote() { d.setMode(true) }

// ctrlRemote: pv-ctrl sees neither remote mode nor a claim.
func (d *Device) ctrlRemote() (remote, claimed func() bool) { return nil, nil }

// reporter: no hub client to tell.
func (d *Device) reporter() update.Reporter { return nil }

// hubRemote: no hub link; no update depends on one.
func (d *Device) hubRemote() update.Remote { return nil }

// updateMetadata: UPDATE_METADATA has no hub client to push to here
// (pv-ctrl refuses it in local mode, which this build never leaves).
func (d *Device) updateMetadata(string) {}

// unclaim: no claim to drop (pv-ctrl answers UNCLAIM with 204 "Device is
// already unclaimed" in this build).
func (d *Device) unclaim() {}

func (d *Device) startHub()      {}
func (d *Device) stopHub()       {}
func (d *Device) publishHub()    {}
func (d *Device) maybeStartHub() {}

// commands runs pv-ctrl's commands one at a time.
func (c *control) commands() {
	defer c.wg.Done()
	for cmd := range c.srv.Commands {
		c.run(cmd)
		c.srv.Done()
	}
}
