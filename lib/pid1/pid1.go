// Package pid1 is PID 1's policy: it starts the main loop, re-executes
// itself as the main loop's supervisor, reaps every child, turns the main
// loop's end into a power action, drives the watchdog per PV_WDT_MODE and
// chooses the revision the bootloader asks for.
//
// It never exits and never prints on its own: every message goes to the
// console writer its caller passes (PID 1's console is the device's user
// interface), and every kernel call goes through a seam that defaults to
// the real system.
package pid1

import (
	"io"

	"pantavisor/lib/printf"
)

// MainLoopArg runs the main loop: PID 1 forks it and only reaps, as upstream
// forks pv-main-loop. Containers are the main loop's children, so PID 1's
// wait4(-1) reaper never steals an exit status os/exec waits for.
const MainLoopArg = "--main-loop"

// SuperviseArg re-executes PID 1 as the supervisor of a running main
// loop: "--supervise <pid>".
const SuperviseArg = "--supervise"

// Exit codes of the main loop, read by PID 1 (see ExitAction).
const (
	MainPowerOff = 0 // stop requested and done (pv_test=ready-poweroff)
	MainReboot   = 3 // the engine asks for a reboot
	MainRollback = 4 // the revision under test failed
)

// say prints one "pantavisor: " line to console; a nil console drops it.
// Not inlined: its 22 callers would each carry the concatenation (1.5 KB).
//
//go:noinline
func say(console io.Writer, format string, args ...any) {
	if console == nil {
		return
	}
	printf.Fprintf(console, "pantavisor: "+format+"\n", args...)
}
