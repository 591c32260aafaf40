package device

import (
	"pantavisor/lib/disk"
	"pantavisor/lib/engine"
	"pantavisor/lib/state"
	"pantavisor/lib/volume"
)

// setupDisks sets up the disks of the running state (device.json), as
// upstream does at RUN. Steps: turn on every swap disk; set up each disk
// a volume of the revision uses (its containers' storage volumes and
// device.json's volumes; the default disk takes those that name none),
// so that a disk that cannot be set up fails the revision with the
// reason (a try rolls back) and never leaves a volume on plain storage;
// mount device.json's volumes at <volumes>/bsp/<name>; hand the Set to
// the launcher for later starts. Warnings are logged. The returned undo
// unmounts all of it in reverse order; out is the revision's failure.
func (d *Device) setupDisks() (undo func(), out *engine.Outcome) {
	set := &disk.Set{Disks: d.cur.Device.Disks, Options: d.o.Disks}
	undo = func() {
		if err := set.Close(); err != nil {
			d.log(engine.LevelError, "disks: "+err.Error())
		}
	}
	fail := func(err error) (func(), *engine.Outcome) {
		undo()
		return nil, engine.Failure(engine.SetupFailed, "disks: "+err.Error())
	}
	warn, err := set.SwapOn()
	d.logWarnings(warn)
	if err != nil {
		return fail(err)
	}
	for _, v := range revisionVolumes(d.cur) {
		_, warn, err := set.Mount(v.Disk)
		d.logWarnings(warn)
		if err != nil {
			return fail(err)
		}
	}
	if len(d.cur.Device.Volumes) > 0 {
		vols, err := volume.Mount(volume.Set{Container: "bsp", Dir: d.bspVolumesDir(),
			Storage: d.cur.Device.Volumes, Disks: set, Revision: d.rev,
			Perm: d.st.VolumePath("permanent", d.rev, "bsp", ""), Rev: d.st.VolumePath("revision", d.rev, "bsp", "")})
		if err != nil {
			return fail(err)
		}
		d.logWarnings(vols.Warnings)
		closeDisks := undo
		undo = func() {
			if err := vols.Unmount(); err != nil {
				d.log(engine.LevelError, "device volumes: "+err.Error())
			}
			closeDisks()
		}
	}
	d.o.Launch.Disks = set
	return undo, nil
}

// revisionVolumes are the storage volumes of s: device.json's and its
// containers'.
func revisionVolumes(s *state.State) []state.Volume {
	vols := append([]state.Volume(nil), s.Device.Volumes...)
	for _, c := range s.Containers {
		vols = append(vols, c.Storage...)
	}
	return vols
}

func (d *Device) logWarnings(ws []string) {
	for _, w := range ws {
		d.log(engine.LevelWarn, w)
	}
}
