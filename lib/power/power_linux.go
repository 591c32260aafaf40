// Package power ends the system: sync, then reboot(2) to power off or restart.
package power

import (
	"fmt"

	"golang.org/x/sys/unix"
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
	return fmt.Sprintf("Action(%d)", int(a))
}

var cmds = map[Action]int{
	PowerOff: unix.LINUX_REBOOT_CMD_POWER_OFF,
	Restart:  unix.LINUX_REBOOT_CMD_RESTART,
}

// Do syncs the filesystems and asks the kernel for the action. It returns
// only on failure (EPERM outside PID 1's privileges, for example).
func Do(a Action) error {
	unix.Sync()
	if err := unix.Reboot(cmds[a]); err != nil {
		return fmt.Errorf("reboot(%s): %w", a, err)
	}
	return nil
}

// DisableCtrlAltDel makes the kernel send SIGINT to PID 1 on Ctrl-Alt-Del
// instead of restarting at once, so the init can stop cleanly.
func DisableCtrlAltDel() error {
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF); err != nil {
		return fmt.Errorf("reboot(CAD_OFF): %w", err)
	}
	return nil
}
