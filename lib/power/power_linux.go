// Package power ends the system: sync, then reboot(2) to power off or restart.
package power

import (
	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
)

// Action is what to do with the machine.
type Action int

// The actions, named as the console shows them.
const (
	PowerOff Action = iota
	Restart
)

// String names the action for the console; an unknown value shows as
// Action(N) rather than passing for one of the real ones.
func (a Action) String() string {
	switch a {
	case PowerOff:
		return "power off"
	case Restart:
		return "restart"
	}
	return printf.Sprintf("Action(%d)", int(a))
}

// cmd returns the reboot(2) command of a, or false for an unknown action.
// A switch rather than a map: a package-level map is built at init time,
// in every applet of the binary.
func (a Action) cmd() (int, bool) {
	switch a {
	case PowerOff:
		return unix.LINUX_REBOOT_CMD_POWER_OFF, true
	case Restart:
		return unix.LINUX_REBOOT_CMD_RESTART, true
	}
	return 0, false
}

// Do syncs the filesystems and asks the kernel for the action. It returns
// only on failure (EPERM outside PID 1's privileges, for example); an
// unknown action fails with EINVAL before anything is synced.
func Do(a Action) error {
	cmd, ok := a.cmd()
	if !ok {
		return printf.Errorf("reboot(%s): %w", a, unix.EINVAL)
	}
	unix.Sync()
	if err := unix.Reboot(cmd); err != nil {
		return printf.Errorf("reboot(%s): %w", a, err)
	}
	return nil
}

// DisableCtrlAltDel makes the kernel send SIGINT to PID 1 on Ctrl-Alt-Del
// instead of restarting at once, so the init can stop cleanly.
func DisableCtrlAltDel() error {
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF); err != nil {
		return printf.Errorf("reboot(CAD_OFF): %w", err)
	}
	return nil
}
