package device

import (
	"pantavisor/lib/drivers"
	"pantavisor/lib/engine"
	"pantavisor/lib/state"
)

// newDrivers is the driver manager of the loaded revision: the aliases
// of its bsp/drivers.json, loaded by o.Drivers, with the user-meta store
// for ${user-meta:KEY}. It logs every alias a container names that the
// BSP does not define. The manager lives for the whole Run: a revision
// swapped in without a reboot has the same bsp/drivers.json (a change
// there reboots).
func (d *Device) newDrivers() *drivers.Manager {
	for _, w := range drivers.Check(d.cur) {
		d.log(engine.LevelWarn, w)
	}
	return &drivers.Manager{Aliases: drivers.Resolve(d.cur.Drivers), Loader: d.o.Drivers,
		UserMeta: drivers.MetaFunc(d.userMeta)}
}

// userMeta is a user-meta value, if set.
func (d *Device) userMeta(key string) (string, bool) {
	v, err := d.usrmeta.Get(key)
	return v, err == nil
}

// startDrivers loads container c's drivers before it starts, as upstream
// (after its volumes there, before them here: both come before the
// container's init): the required aliases, whose failure fails the start
// naming the alias and the module, then the optional ones, whose
// failures are only logged.
func (r *runner) startDrivers(c *state.Container) error {
	if r.drv == nil || c == nil {
		return nil
	}
	if err := r.drv.Require(c.Name, c.Drivers.Required); err != nil {
		return err
	}
	for _, w := range r.drv.Optional(c.Name, c.Drivers.Optional) {
		r.log(engine.LevelWarn, "container "+c.Name+": "+w.Error())
	}
	return nil
}

// releasedUnit releases a container's driver holds once it is closed
// (stopped); the modules stay loaded (drivers.Manager.Release).
type releasedUnit struct {
	engine.Unit
	release func()
}

func (u releasedUnit) Close() error {
	err := u.Unit.Close()
	u.release()
	return err
}
