//go:build nohub

package device

import (
	"io"

	"pantavisor/lib/config"
	"pantavisor/lib/engine"
	"pantavisor/lib/progress"
)

// HubOptions configure the device's hub client; the nohub build has none.
type HubOptions struct{}

// hubOptions is nil: this build has no hub client.
func hubOptions(*config.Config, config.Paths, string, io.Writer) *HubOptions { return nil }

// hubLink is the hub client; the nohub build has none.
type hubLink struct{}

// hubUnavailable says once, when the configuration asks for remote mode,
// that this build cannot follow it.
func (d *Device) hubUnavailable() {
	if d.cfg.Get(config.ControlRemote).Bool() {
		d.log(engine.LevelInfo, "remote mode: this build has no hub client (nohub): the device stays in local mode")
	}
}

func (d *Device) hubStarted() bool                    { return false }
func (d *Device) startHub()                           {}
func (d *Device) stopHub()                            {}
func (d *Device) hubClaimed() bool                    { return false }
func (d *Device) hubReport(string, progress.Progress) {}
func (d *Device) hubPushMeta()                        {}
func (d *Device) publishHub()                         {}
