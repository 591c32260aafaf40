package device

import (
	"context"
	"errors"
	"path/filepath"

	"pantavisor/lib/cgroup"
	"pantavisor/lib/engine"
	"pantavisor/lib/instance"
	"pantavisor/lib/logs"
)

// lock takes the storage (and in appengine mode the cgroup parent) for
// this device: a second engine gets instance.ErrLocked. PID 1's
// containers live at the hierarchy root, which is not locked.
func lock(o Options) (*instance.Lock, error) {
	lo := instance.LockOptions{Storage: o.Paths.Storage}
	if o.AppEngine {
		lo.CgroupParent = o.Launch.CgroupParent
	}
	return instance.Acquire(lo)
}

// cleanLeftovers removes what a previous instance of the device left (it
// was killed, or PID 1 restarted its main loop): processes in the
// container cgroups, mounts below the launcher's dirs, loop devices of
// the storage, stale sockets; what it found is logged. Containers that
// survive the kill are an error: starting again would double them.
func (d *Device) cleanLeftovers(ctx context.Context) error {
	run := d.o.Launch.Host.Run()
	rep, err := instance.Cleanup(ctx, instance.Options{Storage: d.st.Root, CgroupParent: d.o.Launch.CgroupParent,
		MountDirs: d.o.Launch.MountDirs(),
		Sockets: []string{filepath.Join(run, CtrlSocketName), filepath.Join(run, logs.CtrlSocketName),
			filepath.Join(run, logs.FdSocketName)}})
	if !rep.Empty() {
		d.log(engine.LevelWarn, rep.String())
	}
	if errors.Is(err, cgroup.ErrKillTimeout) {
		return err
	}
	if err != nil {
		d.log(engine.LevelError, "cleaning what a previous instance left: "+err.Error())
	}
	return nil
}
