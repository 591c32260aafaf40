package device

import (
	"strconv"
	"time"

	"pantavisor/lib/engine"
)

// Holder is an Observer that can make the end of the running revision
// wait: the console debug shell (lib/debugshell), open while the device
// decides to reboot, power off or roll back. An end asked for (a
// command, an update's reboot or failure) goes through HoldEnd on a
// goroutine of its own, the engine running meanwhile; a failure the
// engine finds (a container that exits) goes through it on the engine's
// loop (engine.Options.BeforeStop), which waits. Either way the
// containers stop once it returns, so HoldEnd feeds the watchdog itself
// while it waits.
type Holder interface {
	// HoldEnd returns when the revision may end with out.
	HoldEnd(out engine.Outcome)
	// DeferEnd gives a HoldEnd in progress d more (DEFER_REBOOT).
	DeferEnd(d time.Duration)
}

// Mgmt returns the first container of the running revision with the mgmt
// role, "" when it has none (or none runs yet).
func (d *Device) Mgmt() string {
	p := d.mgmt.Load()
	if p == nil || len(*p) == 0 {
		return ""
	}
	return (*p)[0]
}

// deferEnd carries out DEFER_REBOOT (payload: seconds, upstream's
// pv_debug_defer_reboot_shell; "" is ignored as upstream does).
func (d *Device) deferEnd(payload string) {
	h, ok := d.obs.(Holder)
	if !ok || payload == "" {
		d.log(engine.LevelWarn, "command DEFER_REBOOT "+payload+": no debug shell: ignoring")
		return
	}
	n, err := strconv.Atoi(payload)
	if err != nil || n < 0 {
		d.log(engine.LevelWarn, "command DEFER_REBOOT: bad timeout "+strconv.Quote(payload)+": want seconds")
		return
	}
	h.DeferEnd(time.Duration(n) * time.Second)
}
