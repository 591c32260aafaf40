package device

import (
	"strings"
	"sync/atomic"

	"pantavisor/lib/config"
	"pantavisor/lib/engine"
	"pantavisor/lib/meta"
	"pantavisor/lib/progress"
	"pantavisor/lib/update"
)

// remote is the device's remote mode (reference pantavisor-control
// §2.3, pantavisor-core §3.3): pantavisor.mode, pv-ctrl's Remote, and
// whether the hub client may run. Its hub client lives in hub_linux.go
// (nohub_linux.go: none).
type remote struct {
	on  atomic.Bool // remote mode
	hub hubLink     // the hub client, once started
}

// initRemote chooses the mode the revision starts in and publishes it:
// remote when PV_CONTROL_REMOTE is on, the build has a hub client and
// the revision is not a local one (unless PV_CONTROL_REMOTE_ALWAYS).
func (d *Device) initRemote() {
	local := strings.HasPrefix(d.rev, "locals/") && !d.cfg.Get(config.ControlRemoteAlways).Bool()
	d.remote.on.Store(d.cfg.Get(config.ControlRemote).Bool() && d.o.Hub != nil && !local)
	d.setMode(d.remote.on.Load())
}

// goRemote leaves local mode (GO_REMOTE) and starts the hub client when
// it may run.
func (d *Device) goRemote() {
	d.remote.on.Store(true)
	d.setMode(true)
	d.maybeStartHub()
}

// maybeStartHub starts the hub client once, in remote mode, when the
// running revision is a rollback point (DONE, or UPDATED: a swap the
// next boot commits) and no other update is under way, or when it is
// the revision under test after a reboot: upstream's hub client runs on
// a committed revision, and during a try so the hub sees its test (the
// try's status, recorded before the client ran, is sent at its start).
func (d *Device) maybeStartHub() {
	if !d.remote.on.Load() || d.o.Hub == nil || d.hubStarted() {
		return
	}
	rev := d.runningRev()
	data, err := d.st.Progress(rev)
	if err != nil || data == nil {
		return
	}
	p, err := progress.Parse(data)
	if err != nil {
		return
	}
	switch p.Status {
	case progress.Done, progress.Updated:
		if d.u.Updating() {
			return
		}
		d.startHub()
	case progress.InProgress, progress.Testing:
		if d.u.Rev() != rev {
			return
		}
		d.startHub()
		d.hubReport(rev, p)
	}
}

// runningRev is the revision that runs now (it moves with a swap).
func (d *Device) runningRev() string {
	if d.devmeta != nil {
		if rev, err := d.devmeta.Get(meta.KeyRevision); err == nil && rev != "" {
			return rev
		}
	}
	return d.rev
}

// Recorded forwards each progress the updater records to the hub client
// (update.Reporter); only a hub revision (a number) is the hub's.
func (d *Device) Recorded(rev string, p progress.Progress) {
	d.hubReport(rev, p)
}

var _ update.Reporter = (*Device)(nil)

// logHub logs a line of the hub client.
func (d *Device) logHub(msg string) { d.log(engine.LevelInfo, msg) }

// updateMetadata carries out UPDATE_METADATA (remote mode only, pv-ctrl
// checks): the payload's pairs, a JSON object, are set in device-meta as
// a client's (published keys refused), then the hub client uploads
// device-meta at once.
func (d *Device) updateMetadata(payload string) {
	if payload != "" {
		pairs, err := meta.DecodeObject([]byte(payload))
		if err != nil {
			d.log(engine.LevelWarn, "UPDATE_METADATA: "+err.Error())
		}
		for k, v := range pairs {
			if err := d.devmeta.ClientSet(k, v); err != nil {
				d.log(engine.LevelWarn, "UPDATE_METADATA: "+err.Error())
			}
		}
	}
	d.hubPushMeta()
}
