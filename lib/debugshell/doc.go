// Package debugshell is the embedded device's console debug shell
// (upstream's PV_DEBUG_SHELL, debug.c): Enter on the console opens a login
// shell in the mgmt container; while it is open the console's log view is
// held (View), and an end of the running revision (reboot, power-off,
// rollback) the device decides waits until the shell closes or
// PV_DEBUG_SHELL_TIMEOUT passes (Shell.Hold).
//
// One goroutine (Shell.Run) owns the state; the console is read by a
// second one only while no shell is open, so the shell and the watcher
// never compete for input. The console, the shell's start and the clock
// are seams (Options), so tests step the shell with fakes.
package debugshell
